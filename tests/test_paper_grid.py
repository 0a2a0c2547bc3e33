"""The paper profile's grid, resolved by DVC itself without running anything: every
(backbone, method, task) cell the seeds report (src/ptbench/report/reference/paper_results.csv)
has its stage, few-shot cells included, and every stage kind the pipeline has is present."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from ptbench.methods import METHODS
from ptbench.tasks import all_tasks

REFERENCE = REPO / "src" / "ptbench" / "report" / "reference" / "paper_results.csv"
FEW_SHOT_TABLES = {("003", "Table 3")}  # k-shot rows: variant "k=<k>"


@pytest.fixture(scope="module")
def paper_stages(tmp_path_factory) -> set[str]:
    work = tmp_path_factory.mktemp("paper-grid")
    for name in ("dvc.yaml", "pipelines", "params.yaml", "profiles"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    (work / ".dvc").mkdir()
    shutil.copy(REPO / ".dvc" / "config", work / ".dvc" / "config")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    run = dict(cwd=work, capture_output=True, text=True, timeout=600)
    assert subprocess.run([sys.executable, "-m", "ptbench.cli", "profile", "paper"], **run).returncode == 0
    dvc = Path(sys.executable).with_name("dvc")
    listed = subprocess.run([str(dvc), "stage", "list", "--all"], **run, env={"DVC_NO_ANALYTICS": "1", "PATH": str(dvc.parent)})
    assert listed.returncode == 0, listed.stderr[-2000:]
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def reported_cells() -> pd.DataFrame:
    """Rows of the seeds' tables that name a registered method on a registered task."""
    table = pd.read_csv(REFERENCE, dtype=str)
    return table[table["method"].isin(METHODS) & table["task"].isin(all_tasks())].drop_duplicates(
        ["paper", "table", "backbone", "method", "task", "variant"])


def stage_address(backbone: str, method: str, name: str) -> str:
    return f"pipelines/{backbone}/{method}/dvc.yaml:{name}"


def expected_stage(row) -> str:
    if (row.paper.zfill(3), row.table) in FEW_SHOT_TABLES:
        return stage_address(row.backbone, row.method, f"fewshot@{row.task}-{row.variant.split('=')[1]}")
    return stage_address(row.backbone, row.method, f"train@{row.task}")


def test_every_reported_cell_has_a_stage(paper_stages):
    cells = reported_cells()
    assert len(cells) > 600  # the three seeds' tables, not a filtered-away remnant
    missing = sorted({expected_stage(row) for row in cells.itertuples()} - paper_stages)
    assert not missing, f"{len(missing)} reported cells without a stage, e.g. {missing[:10]}"


def test_every_cell_trains_and_is_evaluated(paper_stages):
    for name in [s for s in paper_stages if ":train@" in s]:
        assert name.replace(":train@", ":evaluate@") in paper_stages, name


def test_the_grid_covers_every_stage_kind_and_backbone(paper_stages):
    kinds = {name.split(":")[-1].split("@")[0] for name in paper_stages}
    assert kinds == {"platform", "code", "mirror", "data", "source_prompt", "transfer_source", "train", "evaluate", "knob", "fewshot",
                     "zeroshot", "trial", "variant", "rows", "rows_fewshot", "tables"}
    assert stage_address("t5-base", "ept_star", "zeroshot") in paper_stages  # seed 003 Fig. 10 (right)
    trials = [s for s in paper_stages if ":trial@" in s]  # the equal-budget trials, on their own backbone
    assert trials and all(s.startswith("pipelines/t5-base/") for s in trials), trials[:3]
    for backbone in ("t5-small", "t5-base", "t5-large", "t5-small-lm-adapt", "t5-base-lm-adapt", "t5-3b", "t5-11b",
                     "llama-2-7b"):
        assert stage_address(backbone, "pt", "evaluate@rte") in paper_stages
