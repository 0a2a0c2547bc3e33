import pytest

from ptbench.report.audit import grid_rows, printed_matches, seed_rows


@pytest.mark.parametrize("printed, value, ok", [("5.1K", 5120, True), ("7.6K", 7680, True), ("1.7M", 1_779_456, True),
                                                ("77K", 76_800, True), ("3K", 3072, True), ("624K", 624_784, True),
                                                ("2.3K", 2400, False), ("768", 768, True), ("768", 769, False)])
def test_printed_matches_truncation_or_rounding(printed, value, ok):
    assert printed_matches(printed, value) is ok


def test_every_count_the_seeds_print_matches():
    rows = seed_rows()
    for row in rows.itertuples():
        for kind in ("trainable", "stored"):
            match = getattr(row, f"{kind}_match")
            if getattr(row, f"{kind}_printed"):
                assert match, (row.paper, row.table, row.backbone, row.method, kind, getattr(row, kind))


def test_grid_covers_every_method_and_hub_backbone():
    grid = grid_rows(["t5-small", "llama-2-7b"])
    assert set(grid.backbone) == {"t5-small", "llama-2-7b"}
    assert (grid.trainable > 0).all() and (grid.stored > 0).all()
