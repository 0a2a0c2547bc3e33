"""The committed smoke results discriminate: the backbone alone is at chance on every smoke task,
the control row sits at that floor, and the methods spread out instead of all saturating.
(tests/test_pipeline.py checks that a fresh run reproduces these files exactly.)"""
import json
from pathlib import Path

from conftest import REPO
from ptbench.config import load_params

RECORDS = REPO / "results" / "records"  # each result whole; results/metrics holds its numbers alone


def primary_scores() -> dict[tuple[str, str], float]:
    params = load_params(REPO / "params.yaml")
    scores = {}
    for backbone in params.backbones:
        for method in [*params.grid.methods, *params.grid.transfer]:
            for task in params.tasks:
                payload = json.loads((RECORDS / backbone / method / f"{task}.json").read_text())
                scores[method, task] = payload["metrics"][payload["primary_metric"]]
    return scores


def test_the_backbone_without_prefix_is_near_chance_on_every_smoke_task():
    mirror = json.loads((REPO / "results" / "mirror.json").read_text())
    for task in load_params(REPO / "params.yaml").tasks:
        chance = mirror["probe_chance"][task]
        assert mirror["probe_accuracy_without_prefix"][task] <= chance + 10.0, task


def test_at_most_a_third_of_the_smoke_cells_are_at_100():
    scores = primary_scores()
    saturated = sorted(cell for cell, value in scores.items() if value == 100.0)
    assert len(scores) >= 60 and len(saturated) <= len(scores) / 3, saturated


def test_the_control_row_is_the_floor_and_training_rises_above_it():
    mirror = json.loads((REPO / "results" / "mirror.json").read_text())
    scores = primary_scores()
    tasks = load_params(REPO / "params.yaml").tasks
    for task in tasks:
        assert scores["control", task] <= mirror["probe_chance"][task] + 10.0, task
    best = {task: max(v for (m, t), v in scores.items() if t == task) for task in tasks}
    assert all(best[task] >= scores["control", task] + 40.0 for task in tasks), best


def test_dvc_metrics_hold_numbers_only():
    """DVC's convention: metrics files hold the numbers (every metric, invalid rate, per-seed values,
    parameter counts), so that `dvc metrics show` and `dvc exp show` list numbers; what made them (the
    provenance) is in each result's record beside them (results/records/...), still checked by the
    provenance tests."""
    import subprocess
    import sys
    from pathlib import Path

    dvc = Path(sys.executable).with_name("dvc")
    shown = subprocess.run([str(dvc), "metrics", "show", "--json"], cwd=REPO, capture_output=True, text=True,
                           timeout=300, env={"DVC_NO_ANALYTICS": "1", "PATH": str(dvc.parent)})
    assert shown.returncode == 0, shown.stderr[-2000:]
    leaves = []

    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")
        else:
            leaves.append((where, value))
    data = json.loads(shown.stdout)
    for revision in data.values():
        walk(revision.get("data", {}), "")
    assert len(leaves) > 500  # every committed result is listed (953 on the smoke)
    wrong = [(where, value) for where, value in leaves
             if isinstance(value, bool) or not isinstance(value, (int, float))]
    assert not wrong, f"{len(wrong)} non-numeric metric values, e.g. {wrong[:5]}"
    for record in RECORDS.rglob("*.json"):  # and the records keep what the numbers alone do not say
        payload = json.loads(record.read_text())
        assert {"method", "task", "primary_metric", "provenance"} <= set(payload), record


def test_the_smokes_s0_pair_trained_the_same_seed_for_seed():
    """Seed 001's s = 0 claim on the smoke: EPT at s = 0 with DePT's A, B init and DePT at length 0 (knob_runs)
    end with the same per-seed record, training loss included (a leak of EPT's network init into the dropout
    stream moved the loss from 1.751169 to 1.713123)."""
    knobs = REPO / "results" / "knobs" / "metrics" / "tiny-t5"
    ept = json.loads((knobs / "ept_msp" / "short_length=0,low_rank_init=dept" / "rte.json").read_text())
    dept = json.loads((knobs / "dept" / "length=0" / "rte.json").read_text())
    assert ept["per_seed"] == dept["per_seed"] and "train_loss" in ept["per_seed"]["0"]



def test_every_drawn_trial_ran_on_the_smoke():
    """The committed trial records (results/trials/records/): one per drawn configuration and tuning task, but
    the grid's own configuration, which is the grid run (pipeline/tuning.py)."""
    from ptbench.pipeline.tuning import point_text, trial_points, trials

    params = load_params(REPO / "params.yaml")
    root = REPO / "results/trials/records"
    found = {path.relative_to(root) for path in root.rglob("*.json")}
    wanted = {Path(b, m, point, f"{task}.json") for b in params.tuning["backbones"] for m in params.tuning["spaces"]
              for point in trial_points(params, m, b) for task in params.tuning["tasks"]}
    assert found == wanted and len(wanted) == 18
    drawn = sum(len(trials(params.tuning, m)) for m in params.tuning["spaces"]) * len(params.tuning["tasks"])
    assert drawn == 20  # pt's and ept's draws include their own configuration
    assert point_text({"lr": 0.03, "init": "vocab"}) in [point_text(k) for k in trials(params.tuning, "pt")]
