"""The seeds' headline claims as checks: the rule on hand-made cells, the paper's gap from its table,
and every claim pointing at a row and a column its table has."""
import numpy as np
import pytest

from ptbench.report.cells import Cell, Ours
from ptbench.report.claims import CLAIMS, NOT_RUN, POINTS, RELATIVE, Claim, check, check_all, summary_line
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
    assert all(c.verdict == NOT_RUN and c.paper_value is not None and c.paper_value > 0 for c in checked)
    assert summary_line(checked).endswith(f"{len(CLAIMS)} not run, of {len(CLAIMS)} claims")
