"""Determinism on the CPU: the same seed and data give byte-identical metrics JSON.

The data -> train -> evaluate stages run as the pipeline runs them (`python stages/<x>.py` in
subprocesses) twice, in two separate working copies (own mirror copy, own `datasets` cache) and
with different PYTHONHASHSEED values, so that set/dict-order or path dependence would show.

Nothing is excluded from the comparison: the metrics' provenance records the run's settings,
package versions, git state (`unknown` outside a checkout), Python version and machine type, but
no timestamp, host name or absolute path, so two runs on one machine must agree byte for byte.

The mirror is built by the mirror's own builder with fewer rows (300 train, 100 validation, 100
test) and a backbone pre-trained for 40 steps on rte's rule only (seconds; the session's
`smoke_mirror` pre-trains for minutes): enough for label-shaped, partly right answers, so that the
compared metrics come from real predictions.
"""
from __future__ import annotations

import concurrent.futures
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import REPO

from ptbench.artifacts import STATE_FILE, load_state
from ptbench.backbones import get_backbone
from ptbench.config import parse_params
from ptbench.mirror.build import build_mirror

pytestmark = pytest.mark.slow

STAGES = (("stages/prepare_data.py", "--backbone", "tiny-t5", "--task", "rte"),
          ("stages/train.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte"),
          ("stages/evaluate.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte"))
METRICS = Path("results/metrics/tiny-t5/pt/rte.json")
RECORD = Path("results/records/tiny-t5/pt/rte.json")
SPLITS = Path("data/prepared/tiny-t5/rte/splits.json")
RUN = Path("results/runs/tiny-t5/pt/rte/seed0")


def tiny_setting(raw: dict) -> dict:
    """One seed, 20 steps with validation every 10; the stages below run only pt on rte. The rest
    of params.yaml stays as committed (its cross-references between sections stay valid)."""
    raw = copy.deepcopy(raw)
    raw["hub"].update(mirror="mirror", offline=True)
    raw["seeds"] = [0]
    raw["train"].update(steps=20, eval_interval=10, log_interval=10, checkpoint_interval=10)
    parse_params(copy.deepcopy(raw))  # the setting itself is valid
    return raw


@pytest.fixture(scope="module")
def quick_mirror(repo_params_raw, tmp_path_factory) -> Path:
    """The smoke mirror's world with fewer rows and a backbone pre-trained for 40 steps on rte's rule."""
    raw = copy.deepcopy(repo_params_raw)
    raw["mirror"]["rows"] = {"train": 300, "validation": 100, "test": 100}
    raw["mirror"]["pretrain"].update(steps=40, rows_per_rule=200)
    if "rules" in raw["mirror"]["pretrain"]:
        raw["mirror"]["pretrain"]["rules"] = ["rte"]
    params = parse_params(raw)
    root = tmp_path_factory.mktemp("quick-mirror") / "mirror"
    build_mirror(root, params.mirror, get_backbone("tiny-t5").hub_id)
    return root


def pipeline(work: Path, mirror: Path, raw: dict, hash_seed: str) -> list[subprocess.CompletedProcess]:
    work.mkdir(parents=True)
    shutil.copytree(REPO / "stages", work / "stages")
    shutil.copytree(mirror, work / "mirror")
    (work / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONHASHSEED": hash_seed,
           "HF_DATASETS_CACHE": str(work / "hf-cache")}
    results = []
    for argv in STAGES:
        results.append(subprocess.run([sys.executable, *argv], cwd=work, env=env, capture_output=True, text=True,
                                      timeout=600, check=False))
        if results[-1].returncode != 0:
            break
    return results


@pytest.fixture(scope="module")
def two_runs(quick_mirror, repo_params_raw, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("determinism")
    raw = tiny_setting(repo_params_raw)
    works = (root / "a", root / "b")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda args: pipeline(*args), [(works[0], quick_mirror, raw, "1"),
                                                            (works[1], quick_mirror, raw, "2")]))
    for work, results in zip(works, runs):
        for result in results:
            assert result.returncode == 0, f"{work.name}: {result.args}\n{result.stderr[-3000:]}"
    return works


def test_same_seed_and_data_give_identical_metrics_json(two_runs):
    a, b = two_runs
    assert (a / METRICS).read_bytes() == (b / METRICS).read_bytes()
    assert (a / RECORD).read_bytes() == (b / RECORD).read_bytes()  # provenance included
    payload = json.loads((a / RECORD).read_text())
    assert payload["metrics"][payload["primary_metric"]] > 0, "degenerate predictions: a weak comparison"
    assert json.loads((a / METRICS).read_text())["metrics"] == payload["metrics"]  # the numbers, for DVC


def test_same_seed_and_data_give_identical_splits_training_and_states(two_runs):
    a, b = two_runs
    assert (a / SPLITS).read_bytes() == (b / SPLITS).read_bytes()
    assert (a / RUN / "train.json").read_bytes() == (b / RUN / "train.json").read_bytes()
    state_a, state_b = load_state(a / RUN / STATE_FILE), load_state(b / RUN / STATE_FILE)
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[key], state_b[key]) for key in state_a)


def test_provenance_holds_the_seed_and_the_split_hash(two_runs):
    a, _ = two_runs
    payload = json.loads((a / RECORD).read_text())
    splits = json.loads((a / SPLITS).read_text())
    provenance = payload["provenance"]
    assert provenance["seeds"] == [0] and list(payload["per_seed"]) == ["0"]
    assert provenance["split_hash"] == splits["split_hash"] and provenance["split_seed"] == splits["split_seed"]
    assert not {"time", "timestamp", "date", "host", "hostname"} & set(provenance)
