"""`dvc plots show` works offline: .dvc/config points DVC at a page template that carries vega, vega-lite
and vega-embed itself (DVC's own page loads them from a CDN and is blank offline). The template is the
repository's; the test renders a plot with it through the real `dvc plots show` and, with a Chromium, checks
that the chart is drawn with no network."""
import os
import shutil
import subprocess
import sys

from conftest import REPO
from ptbench.report.example import run_headless


def dvc(*args, cwd):
    binary = os.path.join(os.path.dirname(sys.executable), "dvc")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})


def test_the_repository_points_dvc_plots_at_the_offline_template():
    config = (REPO / ".dvc" / "config").read_text()
    assert "html_template = plots/offline.html" in config
    template = (REPO / ".dvc" / "plots" / "offline.html").read_text()
    assert "{plot_divs}" in template and "vegaEmbed" in template
    assert "<script src=" not in template and "cdn." not in template  # nothing fetched


def test_dvc_plots_show_draws_offline(tmp_path, request):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert dvc("init", "--no-scm", "-q", cwd=repo).returncode == 0
    shutil.copy(REPO / ".dvc" / "config", repo / ".dvc" / "config")
    shutil.copytree(REPO / ".dvc" / "plots", repo / ".dvc" / "plots")
    (repo / "curve.csv").write_text("step,loss\n" + "".join(f"{i},{1 / (i + 1):.4f}\n" for i in range(10)))
    shown = dvc("plots", "show", "curve.csv", "-o", "out", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    page = (repo / "out" / "index.html").read_text()
    assert "cdn.jsdelivr" not in page and "vegaEmbed(" in page
    chromium = request.getfixturevalue("chromium")  # the page checks above hold without a browser too
    dom = run_headless(chromium, "--virtual-time-budget=20000", "--dump-dom", (repo / "out" / "index.html").as_uri()).stdout
    assert "<canvas" in dom or "<svg" in dom  # vega-embed drew the chart from the page's own scripts
