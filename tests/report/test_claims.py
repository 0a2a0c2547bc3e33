"""The seeds' headline claims as checks: the rule on hand-made cells, the paper's gap from its table,
and every claim pointing at a row and a column its table has."""
import numpy as np
import pytest

from ptbench.report.cells import Cell, Ours
from ptbench.report.claims import (CLAIMS, NOT_RUN, POINTS, RELATIVE, SAME_SCORE_CLAIMS, TIME_CLAIMS, Claim, check,
                                   check_all, check_same, check_time,
                                   sign_test_p, summary_line)
from ptbench.report.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, STAND_IN

CLAIM = Claim("x", "003", "A beats B", "t", "blk", "Avg", "A", "B", POINTS)
PAIRING = (("hash",), ("settings",))


def ours(per_seed, replicates, stand_in=None):
    return Ours(mean=float(np.mean(per_seed)), std=float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None,
                per_seed=list(per_seed), replicates=None if replicates is None else np.asarray(replicates, float),
                confidence=0.95, dagger=False, original_t5=False, sources=[], pairing=PAIRING, stand_in=stand_in)


def cells(a, b, paper=(None, None)):
    return {("blk", "A", "Avg"): Cell({}, a, paper[0]), ("blk", "B", "Avg"): Cell({}, b, paper[1])}


UP = np.linspace(60, 70, 200)  # A's replicates; B's below: every paired gap is 5
DOWN = UP - 5


@pytest.mark.parametrize("a, b, expected", [
    (ours([65, 66], UP), ours([60, 61], DOWN), REPRODUCED),
    (ours([60, 61], DOWN), ours([65, 66], UP), NOT_REPRODUCED),  # the opposite direction, 2 seeds
    (ours([60], DOWN), ours([65], UP), INCONCLUSIVE),  # opposite, but one seed: seed variance unmeasured
    (ours([65, 66], UP), ours([65, 66], UP[::-1]), INCONCLUSIVE),  # the paired gaps straddle 0
    (ours([65], None), ours([60], None), INCONCLUSIVE),  # no interval
    (ours([65], UP, stand_in="tiny-t5"), ours([60], DOWN), STAND_IN),
    (ours([65], UP), None, NOT_RUN),
])
def test_the_rule_on_hand_made_cells(a, b, expected):
    assert check(CLAIM, cells(a, b)).verdict == expected


def test_the_gap_in_points_and_relative_and_the_papers_from_its_table():
    checked = check(CLAIM, cells(ours([66], UP), ours([60], DOWN), paper=(80.0, 75.0)))
    assert checked.ours == pytest.approx(6.0) and checked.paper_value == 5.0
    assert checked.interval == pytest.approx((5.0, 5.0))
    relative = Claim("y", "001", "A beats B by 10%", "t", "blk", "Avg", "A", "B", RELATIVE, 10.0)
    checked = check(relative, cells(ours([66], UP), ours([60], DOWN), paper=(80.0, 75.0)))
    assert checked.ours == pytest.approx(10.0) and checked.paper_value == 10.0  # the text's number wins


def test_every_claim_names_a_cell_of_its_table_and_the_printed_tables_agree_with_it():
    """Built from no runs: the paper's own values. Each claim's rows and column exist, and where the
    seed's table is transcribed its printed gap is in the claimed direction."""
    from ptbench.report.cells import RunIndex
    from ptbench.report.layouts import TABLES
    from ptbench.report.tables import build_table

    tables = [build_table(spec, RunIndex([], 0.5)) for spec in TABLES]
    labels = {t.spec["id"]: {(b, r, c) for b, r, c, _ in t.cells} for t in tables}
    for claim in CLAIMS:
        for row in (claim.better, claim.worse):
            assert (claim.block, row, claim.column) in labels[claim.table], (claim.id, row)
    checked = check_all(tables)
    assert all(c.verdict == NOT_RUN and c.paper_value is not None and (c.paper_value > 0 or c.claim in SAME_SCORE_CLAIMS)
               for c in checked)  # a same-score claim's paper gap is 0
    total = len(CLAIMS) + len(TIME_CLAIMS) + len(SAME_SCORE_CLAIMS)
    assert summary_line(checked).endswith(f"{total} not run, of {total} claims")


CPU = {"type": "cpu", "threads": 1}


def timed(method, task, seconds, config, device=CPU, stand_in=None, seeds=2):
    return {"kind": "grid", "backbone": "t5-base", "method": method, "task": task, "train_seconds": seconds,
            "config": config, "device": device, "stand_in": stand_in, "primary_metric": "accuracy",
            "metrics": {"accuracy": {"per_seed": [50.0] * seeds}}}


EPT_60, PT_100 = {"length": 100, "short_length": 60, "rank": 30}, {"length": 100}
GLUE = TIME_CLAIMS[0].tasks


def test_the_time_claim_is_a_sign_test_over_the_tasks_and_reports_the_relative_cut():
    claim = TIME_CLAIMS[0]
    assert sign_test_p(8, 8) == pytest.approx(2 / 256) and sign_test_p(7, 8) == pytest.approx(18 / 256)
    # EPT 86 s against PT's 100 s on every GLUE task: 14% less, 8 of 8 faster (p = 0.008)
    rows = [timed("ept_msp", t, 86.0, EPT_60) for t in GLUE] + [timed("pt", t, 100.0, PT_100) for t in GLUE]
    checked = check_time(claim, rows)
    assert checked.ours == pytest.approx(14.0) and checked.paper_value == 14.0 and checked.verdict == REPRODUCED
    assert checked.basis == "faster on 8 of 8 tasks" and checked.seeds == 2
    # slower everywhere: not reproduced; faster on 6 of 8 (p = 0.29): inconclusive although the total is lower
    slower = [{**r, "train_seconds": 120.0} if r["method"] == "ept_msp" else r for r in rows]
    assert check_time(claim, slower).verdict == NOT_REPRODUCED
    mixed = [{**r, "train_seconds": 150.0} if r["method"] == "pt" and r["task"] in GLUE[:6] else r for r in rows]
    mixed = [{**r, "train_seconds": 101.0} if r["method"] == "ept_msp" and r["task"] in GLUE[6:] else r for r in mixed]
    assert check_time(claim, mixed).verdict == INCONCLUSIVE and check_time(claim, mixed).ours > 0


def test_the_time_claim_needs_the_papers_setting_one_device_and_no_stand_in():
    claim = TIME_CLAIMS[0]
    rows = [timed("ept_msp", t, 86.0, EPT_60) for t in GLUE] + [timed("pt", t, 100.0, PT_100) for t in GLUE]
    other_setting = [{**r, "config": {"length": 20, "short_length": 10}} if r["method"] == "ept_msp" else r for r in rows]
    assert check_time(claim, other_setting).verdict == NOT_RUN
    gpu = [{**r, "device": {"type": "cuda", "name": "A100", "count": 1}} if r["method"] == "pt" else r for r in rows]
    assert check_time(claim, gpu).verdict == INCONCLUSIVE and "different devices" in check_time(claim, gpu).basis
    stand_in = [{**r, "stand_in": "tiny-t5"} for r in rows]
    assert check_time(claim, stand_in).verdict == STAND_IN
    assert check_time(claim, rows + stand_in).verdict == REPRODUCED  # real runs first (with_stand_ins): they win
    assert check_time(claim, [{**r, "kind": "knob"} for r in rows]).verdict == NOT_RUN


def test_a_claim_not_run_says_why():
    """An average prints only with every member task: the reason names what ran and what is missing."""
    members = [("rte", "accuracy"), ("mnli", "accuracy"), ("cola", "matthews")]
    partial = Cell({"members": members}, None, 80.0, missing_members=["cola"])
    none_ran = Cell({"members": members}, None, 70.0, missing_members=["rte", "mnli", "cola"])
    checked = check(CLAIM, {("blk", "A", "Avg"): partial, ("blk", "B", "Avg"): none_ran})
    assert checked.verdict == NOT_RUN
    assert checked.basis == ("A's Avg needs all 3 member tasks: 2 ran, missing cola; "
                             "B: none of the 3 member tasks of Avg ran in this setting")


def scored(method, task, per_seed, config, kind="knob", stand_in=None):
    return {"kind": kind, "backbone": "t5-base", "method": method, "task": task, "config": config, "stand_in": stand_in,
            "primary_metric": "accuracy", "metrics": {"accuracy": {"per_seed": per_seed, "mean": sum(per_seed) / 3}}}


EPT_0 = {"short_length": 0, "rank": 75, "low_rank_init": "dept"}
DEPT_0 = {"length": 0, "rank": 75}


def test_the_same_score_claim_holds_only_seed_for_seed_and_a_one_sided_difference_refutes_it():
    claim = SAME_SCORE_CLAIMS[0]
    rows = [scored("ept_msp", t, [70.0, 71.0, 72.0], EPT_0) for t in GLUE] + \
           [scored("dept", t, [70.0, 71.0, 72.0], DEPT_0) for t in GLUE]
    same = check_same(claim, rows)
    assert same.verdict == REPRODUCED and same.ours == 0.0 and same.seeds == 3
    assert same.basis == "the same, seed for seed, on 8 of 8 tasks"
    # equal means but other seeds: not the same computation; lower on every task: not reproduced
    shuffled = [{**r, "metrics": {"accuracy": {"per_seed": [72.0, 71.0, 70.0]}}} if r["method"] == "dept" else r
                for r in rows]
    assert check_same(claim, shuffled).verdict == INCONCLUSIVE
    lower = [scored("ept_msp", t, [60.0, 61.0, 62.0], EPT_0) for t in GLUE] + rows[8:]
    checked = check_same(claim, lower)
    assert checked.verdict == NOT_REPRODUCED and checked.ours == pytest.approx(-10.0)
    assert checked.basis == "the same, seed for seed, on 0 of 8 tasks; ept_msp higher on 0 of the 8 whose means differ"
    stand_ins = [{**r, "stand_in": "tiny-t5"} for r in lower]
    assert check_same(claim, stand_ins).verdict == STAND_IN
    assert check_same(claim, rows + stand_ins).verdict == REPRODUCED  # real runs first (with_stand_ins): they win


def test_the_same_score_claim_pairs_runs_of_the_claims_setting_and_equal_rank():
    claim = SAME_SCORE_CLAIMS[0]
    svd = [scored("ept_msp", t, [70.0] * 3, {**EPT_0, "low_rank_init": "svd"}) for t in GLUE]
    dept = [scored("dept", t, [70.0] * 3, DEPT_0) for t in GLUE]
    assert check_same(claim, svd + dept).verdict == NOT_RUN  # EPT's own init: not the claim's reading
    other_rank = [scored("ept_msp", t, [70.0] * 3, {**EPT_0, "rank": 5}) for t in GLUE]
    assert check_same(claim, other_rank + dept).verdict == NOT_RUN
    assert "equal rank" in check_same(claim, other_rank + dept).basis
    paired = other_rank[:1] + [scored("dept", "cola", [70.0] * 3, {**DEPT_0, "rank": 5})]
    assert check_same(claim, paired).basis == "the same, seed for seed, on 1 of 1 tasks"
