"""The smoke cells, trained and scored as the pipeline does, against the committed baseline.

Smoke results are deterministic on the CPU: metrics must equal tests/baselines/smoke_metrics.json.
An intended change regenerates the baseline in the same commit, with the reason in the message:
    PTBENCH_UPDATE_BASELINE=1 python -m pytest tests/train/test_smoke_regression.py
"""
import json
import os
from pathlib import Path

import pytest

from ptbench import hub
from ptbench.data.prepare import prepare_task
from ptbench.experiment import evaluate_run, train_run
from ptbench.tasks import get_task

BASELINE = Path(__file__).resolve().parents[1] / "baselines" / "smoke_metrics.json"
CELLS = [("pt", "rte"), ("ept_star", "rte"), ("pt", "squad"), ("ept_star", "squad")]
CHANCE = {"rte": 50.0, "squad": 50.0}  # rte: 2 balanced labels; squad: 2 answer-set words in every context


@pytest.fixture(scope="module")
def smoke_results(smoke_params, tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    results = {}
    for task in sorted({t for _, t in CELLS}):
        spec = get_task(task)
        dataset = hub.load_hub_dataset(spec.hub.path, spec.hub.name, spec.hub.revision, smoke_params.hub.mirror, True)
        tokenizer = hub.load_tokenizer("ptbench-mirror/tiny-t5", smoke_params.hub.mirror, True)
        prepare_task(spec, dataset, tokenizer, smoke_params.data, root / "data" / task)
    for method, task in CELLS:
        runs = root / "runs" / method / task
        train_run(smoke_params, method, task, root / "data" / task, runs)
        payload = evaluate_run(smoke_params, method, task, root / "data" / task, runs, root / f"{method}-{task}.json")
        results[f"{method}/{task}"] = payload
    return results


def test_training_beats_chance_on_the_synthetic_tasks(smoke_results):
    for cell, payload in smoke_results.items():
        task = cell.split("/")[1]
        primary = payload["metrics"][payload["primary_metric"]]
        assert primary >= CHANCE[task] + 25.0, (cell, primary)


def test_metrics_carry_provenance(smoke_results):
    record = smoke_results["pt/rte"]
    provenance = record["provenance"]
    for key in ("packages", "git", "seeds", "split_hash", "split_protocol", "backbone", "backbone_hub_id"):
        assert key in provenance
    assert provenance["packages"]["torch"].startswith("2.")
    assert record["trainable_parameters"] == 10 * 64


def test_smoke_metrics_match_the_committed_baseline(smoke_results):
    observed = {cell: payload["metrics"] for cell, payload in smoke_results.items()}
    if os.environ.get("PTBENCH_UPDATE_BASELINE"):
        BASELINE.write_text(json.dumps(observed, indent=1, sort_keys=True) + "\n")
    expected = json.loads(BASELINE.read_text())
    assert observed == expected
