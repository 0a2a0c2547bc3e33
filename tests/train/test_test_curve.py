"""``train.test_curve``: each validation also scores the test split into the history, and the run learns the
same bits as without it (selection.paper reads the curve's peak; docs/protocols.md)."""
import dataclasses
import json

import torch

from ptbench.artifacts import STATE_FILE, load_state
from ptbench.report.rows import decode_rate
from ptbench.run.experiment import evaluate_run, train_run


def with_curve(params, on: bool):
    return dataclasses.replace(params, train=dataclasses.replace(params.train, test_curve=on, steps=20,
                                                                 eval_interval=10))


def test_the_curve_changes_no_learned_bit_and_its_best_step_is_the_reported_score(smoke_params, rte_data, tmp_path):
    plain = train_run(with_curve(smoke_params, False), "pt", "rte", rte_data, tmp_path / "plain")[0]
    params = with_curve(smoke_params, True)
    curved = train_run(params, "pt", "rte", rte_data, tmp_path / "curved")[0]
    evaluations = [e for e in curved["history"] if "validation_accuracy" in e]
    assert [e["step"] for e in evaluations] == [10, 20]
    assert all("test_accuracy" in e and "test_invalid_rate" in e for e in evaluations)
    without_test = [{k: v for k, v in e.items() if not k.startswith("test_")} for e in curved["history"]]
    assert without_test == plain["history"] and curved["best_step"] == plain["best_step"]
    a, b = load_state(tmp_path / "plain/seed0" / STATE_FILE), load_state(tmp_path / "curved/seed0" / STATE_FILE)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    timing = json.loads((tmp_path / "curved/seed0/timing.json").read_text())
    assert timing["test_curve_seconds"] > 0 and "test_curve_seconds" not in json.loads(
        (tmp_path / "plain/seed0/timing.json").read_text())
    # the evaluate stage's score of the kept (best-validation) state is the curve's point at that step
    predictions = tmp_path / "predictions/rte.json"
    payload = evaluate_run(params, "pt", "rte", rte_data, tmp_path / "curved", tmp_path / "metrics/rte.json",
                           predictions_path=predictions)
    at_best = next(e for e in evaluations if e["step"] == curved["best_step"])
    assert payload["per_seed"]["0"]["accuracy"] == at_best["test_accuracy"]
    # the decoding's own seconds beside the predictions (the efficiency table's inference cost), not in the record
    written = json.loads(predictions.read_text())
    assert set(written["decode_seconds"]) == {"0"} and written["decode_seconds"]["0"] > 0
    assert "decode_seconds" not in json.dumps(payload)
    assert decode_rate(written) == round(len(written["references"]) / written["decode_seconds"]["0"], 2)
