import json
import re

import pytest
import torch
from report_fixtures import labels, report_settings, write_fewshot, write_run

from ptbench.report.rows import build_rows, read_rows, thin, write_rows

SETTINGS = report_settings(50)
GOLD = [["1"]] * 40
HISTORY = [{"step": s, "loss": 1.0 / s, "prompt_norm": 10.0 + s} for s in (10, 20, 30)] + [
    {"step": 30, "validation_accuracy": 70.0}]


def test_a_rows_file_summarises_seeds_bootstraps_predictions_and_keeps_histories(tmp_path):
    results = tmp_path / "results"
    embedding = torch.randn(10, 512)  # t5-small: d = 512 (bundled config)
    write_run(results, "pt", "rte", {"0": labels(30, 40), "1": labels(34, 40)}, GOLD, history=HISTORY,
              state={"embedding": embedding}, config={"length": 10})
    write_run(results, "ept", "rte", {"0": labels(20, 40)}, GOLD)  # another method: not in pt's rows
    payload = build_rows(results, "pt", SETTINGS, max_length=64)
    (row,) = payload["results"]
    accuracy = row["metrics"]["accuracy"]
    assert accuracy["per_seed"] == [75.0, 85.0] and accuracy["mean"] == 80.0
    assert accuracy["std"] == pytest.approx(7.0711, abs=1e-4)
    assert len(accuracy["replicates"]) == 50 and accuracy["ci"][0] < 80.0 < accuracy["ci"][1]
    assert row["backbone"] == "t5-small" and row["config"]["length"] == 10 and row["config"]["init"] == "vocab"
    assert re.fullmatch(r"[0-9a-f]{16}", row["references_hash"]) and row["notes"] == []
    # the hash is what pairs two methods' bootstrap replicates: equal on the same test set, else different
    (ept,) = build_rows(results, "ept", SETTINGS, max_length=64)["results"]
    assert ept["references_hash"] == row["references_hash"]
    write_run(results, "ept", "mrpc", {"0": labels(20, 40)}, [["0"]] * 40)
    other = next(r for r in build_rows(results, "ept", SETTINGS, 64)["results"] if r["task"] == "mrpc")
    assert re.fullmatch(r"[0-9a-f]{16}", other["references_hash"]) and other["references_hash"] != row["references_hash"]
    assert row["history"]["0"]["prompt_norm"] == [[10, 20.0], [20, 30.0], [30, 40.0]]
    assert row["history"]["1"]["validation_accuracy"] == [[30, 70.0]]
    matrix = torch.tensor(row["prompt_similarity"]["matrix"])
    assert matrix.shape == (10, 10) and torch.allclose(matrix.diagonal(), torch.ones(10), atol=1e-3)
    unit = torch.nn.functional.normalize(embedding, dim=-1)
    assert torch.allclose(matrix, unit @ unit.T, atol=1e-3)  # pt's prompt is its embedding


def test_rows_follow_content_not_folders_and_flag_stale_predictions(tmp_path):
    results = tmp_path / "results"
    path = write_run(results, "pt", "rte", {"0": labels(30, 40)}, GOLD, rel="some/deeper/layout/pt-rte")
    record = json.loads(path.read_text())
    record["per_seed"]["0"]["accuracy"] = 50.0  # the metrics file no longer matches its predictions
    path.write_text(json.dumps(record))
    (row,) = build_rows(results, "pt", SETTINGS, 64)["results"]
    assert row["source"].endswith("some/deeper/layout/pt-rte.json")
    assert any("predictions score 75.0000" in note for note in row["notes"])
    assert row["history"] == {} and "reason" in row["prompt_similarity"]


def test_backbone_filter_and_missing_predictions_give_no_interval(tmp_path):
    results = tmp_path / "results"
    write_run(results, "pt", "rte", {"0": labels(30, 40)}, GOLD, backbone="t5-base", with_predictions=False)
    write_run(results, "pt", "rte", {"0": labels(10, 40)}, GOLD, backbone="t5-small")
    (row,) = build_rows(results, "pt", SETTINGS, 64, backbone="t5-base")["results"]
    assert row["backbone"] == "t5-base" and "replicates" not in row["metrics"]["accuracy"]


def test_fewshot_samples_pool_into_one_result_per_k(tmp_path):
    results = tmp_path / "results"
    write_fewshot(results, "pt", "rte", 4, 0, {"0": 50.0, "1": 60.0})
    write_fewshot(results, "pt", "rte", 4, 1, {"0": 70.0})
    write_fewshot(results, "pt", "rte", 16, 0, {"0": 80.0})
    rows = build_rows(results, "pt", SETTINGS, 64, kind="fewshot")["results"]
    by_k = {r["k"]: r for r in rows}
    assert by_k[4]["metrics"]["accuracy"]["per_seed"] == [50.0, 60.0, 70.0] and by_k[4]["seeds"] == ["s0/0", "s0/1", "s1/0"]
    assert by_k[16]["metrics"]["accuracy"]["mean"] == 80.0 and all(r["kind"] == "fewshot" for r in rows)


def test_rows_files_round_trip_with_their_bootstrap_settings(tmp_path):
    results = tmp_path / "results"
    write_run(results, "pt", "rte", {"0": labels(30, 40)}, GOLD)
    write_rows(build_rows(results, "pt", SETTINGS, 64), tmp_path / "rows" / "t5-small" / "pt.json")
    (row,) = read_rows(tmp_path / "rows")
    assert row["bootstrap"] == {"iterations": 50, "seed": 0, "confidence": 0.95}
    assert not list((tmp_path / "rows").rglob("*.partial"))


def test_thin_keeps_the_ends_and_bounds_the_length():
    points = [[i, float(i)] for i in range(1001)]
    thinned = thin(points, 100)
    assert len(thinned) <= 101 and thinned[0] == [0, 0.0] and thinned[-1] == [1000, 1000.0]


def test_fewshot_intervals_bootstrap_the_pooled_predictions_of_every_sample(tmp_path):
    results = tmp_path / "results"
    write_fewshot(results, "pt", "rte", 4, 0, {}, predictions={"0": labels(20, 40)}, references=GOLD)
    write_fewshot(results, "pt", "rte", 4, 1, {}, predictions={"0": labels(30, 40)}, references=GOLD)
    (row,) = build_rows(results, "pt", SETTINGS, 64, kind="fewshot")["results"]
    summary = row["metrics"]["accuracy"]
    assert row["seeds"] == ["s0/0", "s1/0"] and summary["mean"] == 62.5
    assert len(summary["replicates"]) == 50 and summary["ci"][0] < 62.5 < summary["ci"][1]
    assert row["references_hash"] and not row["notes"]
    # one sample without predictions: no interval, and the row says why
    (results / "fewshot/t5-base/pt/rte/k4/predictions_sample1.json").unlink()
    (row,) = build_rows(results, "pt", SETTINGS, 64, kind="fewshot")["results"]
    assert "replicates" not in row["metrics"]["accuracy"] and row["notes"]


def test_training_time_is_the_seed_mean_of_timing_files(tmp_path):
    results = tmp_path / "results"
    write_run(results, "pt", "rte", {"0": labels(30, 40), "1": labels(30, 40)}, GOLD, history=HISTORY)
    run_dir = results / "runs" / "t5-small" / "pt" / "rte"
    assert build_rows(results, "pt", SETTINGS, 64)["results"][0]["train_seconds"] is None
    for seed, seconds in (("0", 10.0), ("1", 14.0)):
        (run_dir / f"seed{seed}" / "timing.json").write_text(json.dumps({"train_seconds": seconds}))
    assert build_rows(results, "pt", SETTINGS, 64)["results"][0]["train_seconds"] == 12.0


def test_an_ept_msp_row_carries_its_gate_weight_per_prompt_token(tmp_path):
    """Seed 001 Fig. 8 reads the gate of the trained state: one softmax over the spaces per token."""
    from ptbench.report.figure_style import Styles
    from ptbench.report.figures import gate_weights_per_token
    from ptbench.report.prompts import rebuilt_method

    config = {"length": 20, "short_length": 12, "rank": 4, "num_experts": 3}
    state = {k: v.clone() for k, v in rebuilt_method("ept_msp", config, {}, 512, 64).state_dict().items()}
    results = tmp_path / "results"
    write_run(results, "ept_msp", "rte", {"0": labels(30, 40)}, GOLD, config=config, state=state, history=HISTORY)
    (row,) = build_rows(results, "ept_msp", SETTINGS, 64)["results"]
    gates = row["gate_weights"]
    assert len(gates) == 12 and all(len(g) == 3 and abs(sum(g) - 1) < 1e-3 for g in gates)
    (tmp_path / "figures").mkdir()
    assert gate_weights_per_token([row], tmp_path / "figures", Styles(["ept_msp"])).drawn
    write_run(results, "pt", "rte", {"0": labels(30, 40)}, GOLD, state={"embedding": torch.randn(10, 512)})
    assert build_rows(results, "pt", SETTINGS, 64)["results"][0]["gate_weights"] is None


def test_run_costs_summarise_the_seeds_timing_records(tmp_path):
    import json

    from ptbench.report.rows import run_costs

    for seed, seconds, rate, memory in ((0, 10.0, 96.0, 800.0), (1, 14.0, 68.6, 900.0)):
        (tmp_path / f"seed{seed}").mkdir()
        (tmp_path / f"seed{seed}" / "timing.json").write_text(json.dumps(
            {"train_seconds": seconds, "steps": 30, "examples": 960, "examples_per_second": rate,
             "device": {"type": "cpu", "threads": 1}, "peak_memory_mb": memory}))
    costs = run_costs(tmp_path)
    assert (costs["train_seconds"], costs["train_seconds_total"]) == (12.0, 24.0)
    assert costs["examples_per_second"] == pytest.approx(82.3) and costs["peak_memory_mb"] == 900.0
    assert costs["device"] == {"type": "cpu", "threads": 1} and costs["gpu_hours"] is None
    assert run_costs(None)["train_seconds"] is None  # a run without records: no cost, never 0
