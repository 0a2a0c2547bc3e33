"""`ptbench plan`: a calibration is measured once per machine and reused; a plan prints every group
and the totals, for the smoke and for the paper grid (no hub, no weights: bundled configs)."""
import json

from conftest import REPO
from ptbench.planning.calibration import calibrate, machine_key, shape_key
from ptbench.planning.plan import calibration_shapes, make_plan, profile_params, render

FILLED = {"training_process_seconds": 5.0, "report_process_seconds": 2.0, "zygote_client_process_seconds": 0.05,
          "tokenize_seconds_per_row": 4e-5}


def entry(name, shape, parameters):
    return {"backbone": name, "parameters": parameters, "lengths": list(shape["lengths"]), "rows": shape["rows"],
            "frozen_step_seconds_per_row": [0.001, 0.002], "full_step_seconds_per_row": 0.003,
            "target_tokens": shape["target_tokens"], "decode_seconds_per_example_token": 1e-4}


def test_a_calibration_measures_what_is_missing_once_and_is_reused(tmp_path, raw_params):
    from ptbench.config import parse_params

    params = parse_params(raw_params)
    path = tmp_path / "calibration.json"
    key = machine_key(params.runtime.cpu_threads)
    path.write_text(json.dumps({key: {**FILLED, "backbones": {}}}))
    shape = {"lengths": (8, 16), "rows": 4, "target_tokens": 3, "decode_batch": 4}
    logged = []
    record = calibrate({"tiny-t5": shape}, 1, path, params.mirror.backbone, logged.append)
    measured = record["backbones"][shape_key("tiny-t5", shape)]
    assert len(logged) == 1 and "tiny-t5" in logged[0]  # the stored rates were not measured again
    assert measured["frozen_step_seconds_per_row"][0] > 0 and measured["decode_seconds_per_example_token"] > 0
    assert measured["parameters"] > 0
    stored = path.read_text()
    logged.clear()
    assert calibrate({"tiny-t5": shape}, 1, path, params.mirror.backbone, logged.append) == record
    assert logged == [] and path.read_text() == stored


def filled_calibration(tmp_path, profile, sizes):
    params = profile_params(profile, REPO / "params.yaml")
    shapes = calibration_shapes(params)
    backbones = {shape_key(name, shape): entry(name, shape, sizes[name]) for name, shape in shapes.items() if name in sizes}
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({machine_key(params.runtime.cpu_threads): {**FILLED, "backbones": backbones}}))
    return path


def test_the_smoke_plan_prints_each_method_and_the_total(tmp_path):
    path = filled_calibration(tmp_path, "smoke", {"tiny-t5": 258_816})
    plan = make_plan("smoke", REPO / "params.yaml", path, check_cache=False, log=lambda line: None)
    text = render(plan)
    assert "plan: profile smoke, 63 stages, 129 training runs, 20 scoring-only runs" in text and "tiny-t5: measured" in text
    for method in ("pt", "dept", "ept_msp_no_fusion", "mpt", "dept (trials)"):
        assert f" {method} " in text
    # the equal-budget trials apart: 5 methods x 4 drawn, but pt's and ept's own configurations (the grid runs)
    assert "equal-budget trials (tuning; docs/protocols.md): 5 stages, 18 runs, " in text
    assert plan.total() > 0 and "total:" in text and "cached: not checked (--no-cache-check)" in text
    plain = make_plan("smoke", REPO / "params.yaml", path, check_cache=False, zygote=False, log=lambda line: None)
    assert plain.total() > plan.total()  # without the warm process every stage imports on its own


def test_the_paper_plan_scales_the_large_backbones_from_a_calibrated_one(tmp_path):
    sizes = {"t5-small": 60_506_624, "t5-small-lm-adapt": 76_961_152}  # the two small enough for 2 cores
    path = filled_calibration(tmp_path, "paper", sizes)
    logged = []
    plan = make_plan("paper", REPO / "params.yaml", path, check_cache=False, log=logged.append)
    assert logged == []  # nothing left to measure: no model built beyond meta, no hub
    assert plan.estimated_from["t5-small"] == "measured"
    assert plan.estimated_from["t5-11b"] == "scaled from t5-small-lm-adapt by parameter count"
    by_backbone = {}
    for stage in plan.stages:
        by_backbone[stage.backbone] = by_backbone.get(stage.backbone, 0.0) + plan.seconds[stage.address]
    assert by_backbone["t5-11b"] > by_backbone["t5-base"] > by_backbone["t5-small"] > 0


def test_the_cost_tables_estimates_and_counts_cover_the_runs_that_write_results(tmp_path):
    """What the tables stage asks the plan (stages/tables.py): per (backbone, method) the estimated training
    seconds of the runs that write results rows, and how many runs those are."""
    from ptbench.planning.plan import estimated_training_seconds, planned_run_counts

    path = filled_calibration(tmp_path, "smoke", {"tiny-t5": 258_816})
    params = profile_params("smoke", REPO / "params.yaml")
    estimates = estimated_training_seconds(params, path)
    assert set(estimates) == {("tiny-t5", m) for m in [*params.grid.methods, *params.grid.transfer]}
    assert all(seconds > 0 for seconds in estimates.values())
    assert estimated_training_seconds(params, tmp_path / "none.json") == {}  # no calibration: nothing estimated
    counts = planned_run_counts(params)
    assert 0 < counts["with_results"] < counts["all"] == 129  # the zero-shot stage's 20 scoring runs train nothing


def test_the_disk_estimate_counts_each_runs_state_the_data_and_the_downloads():
    """One pt run on t5-base keeps its 10 x 768 prompt in fp32; T5-base's hub files are fp32; the data
    are token ids; checkpoints (state and AdamW's two moments) are a peak, not a total."""
    from ptbench.check.counting import backbone_size
    from ptbench.planning.disk import TOKEN_BYTES, estimate_disk
    from ptbench.planning.workload import Run, Stage, split_sizes

    params = profile_params("paper-003", REPO / "params.yaml")
    run = Run("t5-base", "pt", "rte", 10, 16, 10, 1, 10)
    disk = estimate_disk(params, [Stage("x", "train", "t5-base", "pt", (run, run, run))])
    assert params.method_config("pt").length == 10
    assert disk.states == 3 * 10 * 768 * 4 and disk.checkpoint_peak == 3 * 10 * 768 * 4
    assert disk.backbones == sum(backbone_size(b) * 4 for b in params.backbones)
    rows = sum(sum(split_sizes(params, t).values()) * params.data.input_length(t) for t in params.tasks)
    assert disk.data == rows * TOKEN_BYTES * len(params.backbones)
    assert disk.line().startswith("disk: ") and "an estimate" in disk.line()
