"""The reproduction verdict rule (ptbench.report.verdicts) on hand-made cells, and the summaries."""
import numpy as np
import pytest

from ptbench.report.cells import Cell, Ours
from ptbench.report.verdicts import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, STAND_IN, Judged, band, summaries,
                                     summary_line, to_csv, to_markdown, verdict)


def ours(per_seed, interval=(70.0, 80.0), stand_in=None):
    """Replicates whose 2.5/97.5 percentiles are exactly ``interval`` (a uniform grid between them)."""
    replicates = None if interval is None else np.linspace(interval[0], interval[1], 10_001)
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None
    return Ours(mean=float(np.mean(per_seed)), std=std, per_seed=list(per_seed), replicates=replicates,
                confidence=None if interval is None else 1.0, dagger=False, original_t5=False, sources=[], pairing=None,
                stand_in=stand_in)


@pytest.mark.parametrize("per_seed, paper, paper_text, expected", [
    ([75.0], 78.0, "78.0", REPRODUCED),  # inside the interval
    ([75.0], 85.0, "85.0", INCONCLUSIVE),  # outside, one seed: seed variance unmeasured
    ([74.0, 76.0], 85.0, "85.0", NOT_REPRODUCED),  # outside [70 - 1.41, 80 + 1.41] with two seeds
    ([74.0, 76.0], 81.0, "81.0", REPRODUCED),  # inside once widened by the seeds' std (1.41)
    ([75.0], 82.0, "82.0 ± 2.5", REPRODUCED),  # inside once widened by the paper's printed std
    ([75.0], 83.0, "83.0 ± 2.5", INCONCLUSIVE),
])
def test_the_rule_on_hand_made_cells(per_seed, paper, paper_text, expected):
    cell = Cell({}, ours=ours(per_seed), paper=paper, paper_text=paper_text)
    assert verdict(cell) == expected


def test_the_band_is_the_interval_widened_by_both_stds():
    cell = Cell({}, ours=ours([74.0, 76.0]), paper=90.0, paper_text="90.0 ± 1.0")
    low, high = band(cell)
    assert low == pytest.approx(70.0 - 2 ** 0.5 - 1.0) and high == pytest.approx(80.0 + 2 ** 0.5 + 1.0)


def test_no_verdict_without_a_run_a_paper_value_or_for_a_dagger_and_stand_ins_are_counted_apart():
    assert verdict(Cell({}, ours=None, paper=80.0)) is None
    assert verdict(Cell({}, ours=ours([75.0]), paper=None)) is None
    assert verdict(Cell({}, ours=ours([75.0]), paper=0.0, paper_flag="†")) is None
    assert verdict(Cell({}, ours=ours([75.0], stand_in="tiny-t5"), paper=75.0)) == STAND_IN
    assert verdict(Cell({}, ours=ours([75.0], interval=None), paper=75.0)) == INCONCLUSIVE


def test_summaries_count_per_paper_and_table_and_the_files_list_every_cell():
    judged = [Judged("seed003_table1", "003", "T5-Base", "EPT", "RTE Acc", 75.0, 1, (70.0, 80.0), 78.0, REPRODUCED),
              Judged("seed003_table1", "003", "T5-Base", "PT", "RTE Acc", 60.0, 2, (55.0, 65.0), 70.0, NOT_REPRODUCED),
              Judged("seed004_table1", "004", "T5-Base", "PT", "RTE Acc", 60.0, 1, None, 70.0, STAND_IN)]
    apart = "1 paper values beside a stand-in run (§), not judged"
    assert summary_line(judged) == f"1 reproduced of 2 run (1 not reproduced, 0 inconclusive); {apart}"
    assert summaries(judged) == [  # named as a reader knows them, not by table id
        ("Seed 003", "1 reproduced of 2 run (1 not reproduced, 0 inconclusive)"),
        ("Seed 004", f"0 reproduced of 0 run (0 not reproduced, 0 inconclusive); {apart}"),
        ("Seed 003 Table 1", "1 reproduced of 2 run (1 not reproduced, 0 inconclusive)"),
        ("Seed 004 Table 1", f"0 reproduced of 0 run (0 not reproduced, 0 inconclusive); {apart}")]
    assert to_markdown(judged).count("| Seed 00") == 3 and "seed003_table1" not in to_markdown(judged)
    assert len(to_csv(judged).splitlines()) == 4
