"""The DVC pipeline on a temporary copy of the repository, with a budget of a few steps.

Proves the caching contract: a second `dvc repro` does nothing; editing one value of
methods.ept_star (or of the transfer method methods.attempt) dirties only that method's stages, all in
its own pipelines/<backbone>/<method>/dvc.yaml;
`dvc exp run -S method=ept_star` runs only the variant stages.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow


def sh(*args, cwd, check=True):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "ptbench", "GIT_AUTHOR_EMAIL": "ci@ptbench", "GIT_COMMITTER_NAME": "ptbench",
           "GIT_COMMITTER_EMAIL": "ci@ptbench"}
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_repository(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        source = REPO / name
        if source.is_file() and not name.endswith("dvc.lock") and not name.startswith(("results/", "tests/", "benchmarks/")):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def edit_params(path: Path, edit) -> None:
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def tiny_budget(raw):
    raw["tasks"] = ["rte", "mnli"]  # one pair-format target and the source task keep the grid small
    raw["grid"] = {"methods": ["pt", "ept_star"], "transfer": ["attempt", "mpt"]}  # the contract, not the zoo
    raw["source_prompts"].update(methods=["pt"], tasks=["mnli"])
    raw["methods"]["mpt"]["sources"] = ["mnli"]
    raw["few_shot"].update(methods=["pt"], transfer=["mpt"], tasks=["rte"], ks=[4], steps=2)
    raw["mirror"]["rows"] = {"train": 1100, "validation": 60, "test": 60}
    raw["mirror"]["pretrain"].update(steps=20, rows_per_rule=200)
    raw["train"].update(steps=2, eval_interval=2, log_interval=1)
    raw["source_prompts"]["steps"] = 2
    raw["knob_runs"] = {"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["rte"], "points": ["lr=0.1"]}}}


def regenerate(repo: Path) -> None:
    """`ptbench pipelines`: the grid's lists changed, so do the generated dvc.yaml files."""
    sh(sys.executable, "-m", "ptbench.cli", "pipelines", cwd=repo)


def kind(address: str) -> str:
    """pipelines/tiny-t5/pt/dvc.yaml:train@rte -> train"""
    return address.split(":")[-1].split("@")[0]


def address(method: str, name: str, backbone: str = "tiny-t5") -> str:
    return f"pipelines/{backbone}/{method}/dvc.yaml:{name}"


@pytest.fixture(scope="module")
def pipeline_copy(tmp_path_factory):
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    repo.mkdir()
    copy_repository(repo)
    edit_params(repo / "params.yaml", tiny_budget)
    regenerate(repo)
    sh("git", "init", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "copy", cwd=repo)
    first = sh("dvc", "repro", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "repro", cwd=repo)
    return repo, first.stdout


def stages_run(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


def test_first_repro_runs_every_stage_kind_and_writes_tables(pipeline_copy):
    repo, output = pipeline_copy
    ran = stages_run(output)
    assert {kind(name) for name in ran} == {"mirror", "data", "source_prompt", "transfer_source", "train", "evaluate",
                                            "knob", "fewshot", "variant", "rows", "rows_fewshot", "tables"}
    assert address("mpt", "fewshot@rte-4") in ran and address("pt", "knob@lr=0.1-rte") in ran
    assert (repo / "results" / "knobs" / "metrics" / "tiny-t5" / "pt" / "lr=0.1" / "rte.json").exists()
    assert (repo / "results" / "predictions" / "tiny-t5" / "mpt" / "rte.json").exists()
    for suffix in ("md", "csv", "tex"):
        assert (repo / "results" / "tables" / f"main.{suffix}").exists()
    assert (repo / "results" / "figures" / "params_vs_score.png").exists()
    assert (repo / "results" / "report" / "index.html").exists()
    assert (repo / "results" / "tables" / "seed003_table1.md").exists()


def test_dvc_metrics_and_plots_show_the_outputs(pipeline_copy):
    repo, _ = pipeline_copy
    metrics = json.loads(sh("dvc", "metrics", "show", "--json", cwd=repo).stdout)
    files = {name for workspace in metrics.values() for name in workspace["data"]}
    assert "results/metrics/tiny-t5/pt/rte.json" in files
    plots = sh("dvc", "plots", "show", "--json", cwd=repo).stdout
    assert "learning_curves" in plots and "tiny-t5-pt-rte.csv" in plots


def test_second_repro_does_nothing(pipeline_copy):
    repo, _ = pipeline_copy
    assert stages_run(sh("dvc", "repro", cwd=repo).stdout) == set()
    assert "up to date" in sh("dvc", "status", cwd=repo).stdout


@pytest.mark.parametrize("method, kinds", [("ept_star", ("train", "evaluate")),
                                           ("attempt", ("transfer_source", "train", "evaluate"))])
def test_editing_one_method_dirties_only_its_stages(pipeline_copy, method, kinds):
    repo, _ = pipeline_copy
    params = repo / "params.yaml"
    original = params.read_text()
    try:
        edit_params(params, lambda raw: raw["methods"][method].update(lr=0.25))
        dirty = set(yaml.safe_load(sh("dvc", "status", "--json", cwd=repo).stdout or "{}"))
        assert dirty and {kind(name) for name in dirty} == set(kinds), sorted(dirty)
        assert all(name.startswith(f"pipelines/tiny-t5/{method}/dvc.yaml:") for name in dirty), sorted(dirty)
        tasks = yaml.safe_load(original)["tasks"]
        assert {address(method, f"train@{task}") for task in tasks} <= dirty
    finally:
        params.write_text(original)


def test_adding_a_backbone_dirties_only_its_own_stages(pipeline_copy):
    repo, _ = pipeline_copy
    params = repo / "params.yaml"
    original = params.read_text()
    try:
        edit_params(params, lambda raw: raw.update(backbones=["tiny-t5", "t5-small"]))
        regenerate(repo)
        dirty = set(yaml.safe_load(sh("dvc", "status", "--json", cwd=repo).stdout or "{}"))
        own = [name for name in dirty if name.startswith(("pipelines/t5-small/", "variant@t5-small-"))]
        assert own and set(own) == dirty - {"tables"}, sorted(dirty)
        assert address("pt", "train@rte", "t5-small") in dirty
    finally:
        params.write_text(original)
        regenerate(repo)


def test_exp_run_with_another_method_runs_only_the_variant_stages(pipeline_copy):
    repo, _ = pipeline_copy
    result = sh("dvc", "exp", "run", "-S", "method=ept_star", cwd=repo)
    ran = stages_run(result.stdout)
    assert ran and {kind(name) for name in ran} == {"variant"}
