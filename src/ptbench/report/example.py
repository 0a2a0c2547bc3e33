"""The browsable example report (docs/example/): the smoke's page, its screenshot, and the browser check.

``make smoke`` ends with ``ptbench example``: the smoke's self-contained page is copied to
docs/example/index.html (committed, so the report can be seen without running anything) and, where a
Chromium is installed, a screenshot of its first screen is taken for the README. A test checks that the
copy is the page the committed dvc.lock records (tests/report/test_example.py), and the browser test
renders it in a real headless Chromium: every image loads, nothing overflows its box.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ptbench.errors import PtbenchError

REPORT_PAGE = Path("results/report/index.html")
EXAMPLE_DIR = Path("docs/example")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREEN = (1280, 1400)  # the first screen a reader sees: title, banner, contents, verdicts
# Flags for a headless run as root in a container (no sandbox, no GPU) that leaves nothing behind.
HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--mute-audio")

# Run in the page after it loaded: which images failed, which boxes stick out of their parent, whether the
# page itself scrolls sideways. A wide table scrolls inside its own box (div.wide), which is what it is
# allowed to do; that box, the images, headings and paragraphs must fit.
CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var out = {images: 0, broken: [], overflowing: [], page_overflow: false, scrolling_tables: 0};
  for (var i = 0; i < document.images.length; i++) {
    var img = document.images[i]; out.images++;
    if (!(img.complete && img.naturalWidth > 0)) out.broken.push(img.alt);
  }
  var boxes = document.querySelectorAll('img, div.wide, h1, h2, h3, p, ul');
  for (var j = 0; j < boxes.length; j++) {
    var el = boxes[j], box = el.getBoundingClientRect(), parent = el.parentElement.getBoundingClientRect();
    if (box.right > parent.right + 1 || box.left < parent.left - 1)
      out.overflowing.push(el.tagName + ' ' + (el.id || el.alt || el.textContent.slice(0, 60)));
  }
  var wide = document.querySelectorAll('div.wide');
  for (var k = 0; k < wide.length; k++) if (wide[k].scrollWidth > wide[k].clientWidth) out.scrolling_tables++;
  out.page_overflow = document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;
  var pre = document.createElement('pre'); pre.id = 'ptbench-check'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def find_browser() -> str | None:
    """A Chromium on PATH (the system's package), or None."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def run_headless(browser: str, *arguments: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile: no state shared between runs
        return subprocess.run([browser, *HEADLESS, f"--user-data-dir={profile}", *arguments],
                              capture_output=True, text=True, timeout=180)


def screenshot(page: Path, png: Path, browser: str, size: tuple[int, int] = SCREEN) -> Path:
    done = run_headless(browser, f"--window-size={size[0]},{size[1]}", f"--screenshot={Path(png).resolve()}",
                Path(page).resolve().as_uri())
    if done.returncode != 0 or not Path(png).is_file():
        raise PtbenchError(f"{browser} could not take a screenshot of {page}: {done.stderr.strip()[-300:]}")
    return Path(png)


def check_in_browser(page: Path, browser: str, width: int = SCREEN[0]) -> dict:
    """The page rendered at ``width`` CSS pixels: images loaded and broken, boxes that overflow their parent,
    sideways scrolling of the page, tables that scroll inside their own box."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "index.html"
        copy.write_text(Path(page).read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"),
                        encoding="utf-8")
        done = run_headless(browser, f"--window-size={width},1000", "--virtual-time-budget=20000", "--dump-dom", copy.as_uri())
    found = re.search(r'<pre id="ptbench-check">(.*?)</pre>', done.stdout, re.S)
    if not found:
        raise PtbenchError(f"{browser} rendered no check result for {page}: {done.stderr.strip()[-300:]}")
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def publish(report: Path = REPORT_PAGE, out_dir: Path = EXAMPLE_DIR) -> list[str]:
    """Copy the smoke's page into docs/example/ and, with a Chromium at hand, retake the screenshot.
    Returns what it did, a line each."""
    if not Path(report).is_file():
        raise PtbenchError(f"{report}: no report page; run the smoke first (make smoke)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report, out_dir / "index.html")
    done = [f"{out_dir / 'index.html'}: the smoke's report"]
    browser = find_browser()
    if browser is None:
        done.append(f"{out_dir / 'screenshot.png'}: not retaken (no Chromium on PATH: apt-get install chromium)")
    else:
        screenshot(out_dir / "index.html", out_dir / "screenshot.png", browser)
        done.append(f"{out_dir / 'screenshot.png'}: its first screen, by {browser}")
    return done
