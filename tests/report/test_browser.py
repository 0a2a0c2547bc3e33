"""The example report in a real headless browser (Chromium from the system's packages; `.ci/run`
installs it when absent): every image loads, no figure, table or text box overflows its box, and the page
never scrolls sideways. Without a Chromium the test skips, except under CI, where it must run."""
from pathlib import Path

from conftest import REPO
from ptbench.report.example import check_in_browser

EXAMPLE = REPO / "docs" / "example" / "index.html"


def test_the_example_report_renders_whole(chromium):
    result = check_in_browser(EXAMPLE, chromium)
    assert result["images"] >= 10 and result["broken"] == [], result
    assert result["overflowing"] == [] and not result["page_overflow"], result


def test_the_browser_check_sees_a_broken_image_and_an_overflowing_box(chromium, tmp_path: Path):
    page = tmp_path / "index.html"
    page.write_text('<!DOCTYPE html><html><body style="max-width:600px"><h1>t</h1>'
                    '<img src="data:image/png;base64,AAAA" alt="broken">'
                    '<p style="width:3000px">too wide</p></body></html>')
    result = check_in_browser(page, chromium)
    assert result["broken"] == ["broken"] and result["page_overflow"]
    assert any(entry.startswith("P") for entry in result["overflowing"])
