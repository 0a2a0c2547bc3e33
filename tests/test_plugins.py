"""Methods as plugins (docs/plugins.md): the example package in examples/ptbench-plugin-example, installed
with pip into a temporary folder, is found through its entry point, passes its own tests and runs
through `dvc repro` on a smoke task; broken plugins (an import error, a taken name, an invalid config)
each give one line naming their package while the built-in methods keep working."""
import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO
from repo_copy import copy_repository, edit_params, place_committed_mirror, sh

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "ptbench-plugin-example"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """The example plugin installed (a real wheel build and install, offline, without dependencies)."""
    target = tmp_path_factory.mktemp("plugin-site")
    build = tmp_path_factory.mktemp("plugin-src")
    shutil.copytree(EXAMPLE, build / "example", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    sh(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
       "--target", str(target), str(build / "example"), cwd=build)
    assert list(target.glob("ptbench_plugin_example-0.1.0.dist-info"))
    return target


def cli(*args, cwd, check=True):
    return sh(sys.executable, "-m", "ptbench.cli", *args, cwd=cwd, check=check)


def test_the_installed_plugin_is_listed_with_its_package_and_passes_its_own_tests(plugin_path, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(plugin_path))
    listed = cli("methods", cwd=tmp_path).stdout
    assert "gated_pt" in listed and "[plugin: ptbench-plugin-example]" in listed and "pt " in listed
    counted = json.loads(cli("params", "--method", "gated_pt", "--backbone", "t5-base", cwd=tmp_path).stdout)
    assert counted["trainable"] == 10 * 768 + 1
    sh(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests"), cwd=tmp_path)
    # the parameter audit of the report has its line (the main table's rows are the grid's methods)
    audited = sh(sys.executable, "-c", "from ptbench.report.audit import grid_rows; "
                 "rows = grid_rows(['t5-base']); print(rows[rows.method == 'gated_pt'].trainable.tolist())", cwd=tmp_path)
    assert audited.stdout.strip() == f"[{10 * 768 + 1}]"


def test_the_plugin_runs_through_dvc_repro_on_a_smoke_task(committed_platform, plugin_path, smoke_mirror, monkeypatch,
                                                          tmp_path):
    """(committed_platform first: the committed mirror below is this platform's only if the bits agree.)"""
    monkeypatch.setenv("PYTHONPATH", str(plugin_path))
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_repository(repo)

    def add_plugin(raw):
        raw["methods"]["gated_pt"] = {"length": 10, "lr": 0.03, "gate_init": 1.0}
        raw["grid"]["methods"].append("gated_pt")
        raw["runtime"]["task_workers"] = 1
        raw["tasks"] = ["rte", "mnli", "boolq"]  # the source tasks must stay
    edit_params(repo / "params.yaml", add_plugin)
    cli("pipelines", cwd=repo)
    assert "ok" in cli("validate", cwd=repo).stdout
    sh("git", "init", "-q", cwd=repo)
    place_committed_mirror(repo, smoke_mirror)  # the committed mirror: DVC skips its stage
    sh("dvc", "repro", "pipelines/tiny-t5/gated_pt/dvc.yaml:cells", cwd=repo, timeout=900)
    result = json.loads((repo / "results" / "records" / "tiny-t5" / "gated_pt" / "rte.json").read_text())
    assert result["trainable_parameters"] == 10 * 64 + 1 and 0 <= result["metrics"]["accuracy"] <= 100
    assert result["provenance"]["method_package"] == {"name": "ptbench-plugin-example", "version": "0.1.0"}
    bad = cli("params", "--method", "gated_pt", "--backbone", "t5-base", "--set", "gate_init=.nan", cwd=repo, check=False)
    assert bad.returncode == 2 and "methods.gated_pt.gate_init" in bad.stderr


def fake_distribution(site: Path, package: str, module: str, source: str) -> None:
    """An installed distribution as importlib.metadata finds it: a dist-info with an entry point."""
    info = site / f"{package.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ptbench.methods]\nbroken = {module}\n")
    (site / f"{module}.py").write_text(source)


BAD_PLUGINS = {
    "import-error": ("raise ImportError('needs a library that is not installed')\n", "failed to import"),
    "taken-name": ("from ptbench.methods.pt import PromptTuning, PromptTuningConfig\n"
                   "ENTRIES = {'pt': (PromptTuning, PromptTuningConfig, 'a second pt')}\n",
                   "method 'pt' is already registered by ptbench"),
    "invalid-config": ("from dataclasses import dataclass\n"
                       "from ptbench.methods.pt import PromptTuning, PromptTuningConfig\n"
                       "@dataclass\nclass Bad(PromptTuningConfig):\n    length: int = 0\n"
                       "ENTRIES = {'zero_pt': (PromptTuning, Bad, 'a prompt of length 0')}\n",
                       "the default config of 'zero_pt' is invalid"),
}


@pytest.mark.parametrize("kind", sorted(BAD_PLUGINS))
def test_a_broken_plugin_is_one_line_naming_its_package_and_the_builtins_work(kind, monkeypatch, tmp_path):
    source, message = BAD_PLUGINS[kind]
    package = f"bad-plugin-{kind}"
    fake_distribution(tmp_path / "site", package, f"bad_plugin_{kind.replace('-', '_')}", source)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    listed = cli("methods", cwd=tmp_path)
    assert "pt " in listed.stdout and "ept_msp" in listed.stdout  # the built-ins are all there
    warnings = [line for line in listed.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and package in warnings[0] and message in warnings[0], listed.stderr
    assert json.loads(cli("params", "--method", "pt", "--backbone", "t5-base", cwd=tmp_path).stdout)["trainable"] > 0
    missing = cli("params", "--method", "zero_pt" if kind == "invalid-config" else "broken", "--backbone", "t5-base",
                  cwd=tmp_path, check=False)
    assert missing.returncode == 2 and package in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
