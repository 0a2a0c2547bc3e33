import csv

import pytest

import ptbench.report.audit as audit
from ptbench.report.audit import REFERENCE, grid_rows, printed_matches, seed_rows


@pytest.mark.parametrize("printed, value, ok", [("5.1K", 5120, True), ("7.6K", 7680, True), ("1.7M", 1_779_456, True),
                                                ("77K", 76_800, True), ("3K", 3072, True), ("624K", 624_784, True),
                                                ("2.3K", 2400, False), ("768", 768, True), ("768", 769, False)])
def test_printed_matches_truncation_or_rounding(printed, value, ok):
    assert printed_matches(printed, value) is ok


def test_every_count_the_seeds_print_matches():
    rows = seed_rows()
    checked = []
    for row in rows.itertuples():
        for kind in ("trainable", "stored"):
            match = getattr(row, f"{kind}_match")
            if getattr(row, f"{kind}_printed"):
                assert match, (row.paper, row.table, row.backbone, row.method, kind, getattr(row, kind))
                checked.append((row.Index, kind))
    # "every": as many checks as printed counts in the reference file, read here without the audit code
    with REFERENCE.open() as handle:
        reference = list(csv.DictReader(handle))
    printed = [(i, kind) for i, ref in enumerate(reference) for kind in ("trainable", "stored") if ref[f"{kind}_printed"]]
    assert len(rows) == len(reference) == 29  # 28 printed rows + AdaMix's convention (seed 001: an image)
    assert checked == printed and len(printed) == 32  # 28 trainable + 4 stored counts in the seeds


def test_adamix_in_seed_001_is_shown_as_its_own_paper_counts_it():
    """AdaMix's paper counts the merged adapter (what is kept), not the mixtures that train: the Params cell of
    seed 001 Table 1 shows both, saying which is the paper's convention."""
    row = next(r for r in seed_rows().itertuples() if r.paper == "001" and r.method == "adamix")
    assert (row.trainable_printed, row.paper_counts) == ("", "stored")
    assert (row.trainable, row.stored) == (4_446_720, 1_789_056)
    assert audit.paper_conventions()[("001", "adamix")] == "stored"


def test_seed_001_counts_epts_stored_parameters_as_trainable_and_the_audit_shows_both():
    """"the same number of trainable parameters (76,800)": what enters the model (P_new, A, B); the experts
    and the gate train too. The printed count is checked against our stored count, both are shown."""
    row = next(r for r in seed_rows().itertuples() if r.paper == "001" and r.method == "ept_msp")
    assert (row.trainable_printed, row.paper_counts, row.stored) == ("76.8K", "stored", 76_800)
    assert row.trainable_match and row.trainable > 1_600_000  # what actually trains: 1,656,836 on T5-base
    assert audit.paper_conventions()[("001", "ept_msp")] == "stored"


# Default configs of every registered method, by hand from the architectures: t5-small (d 512, 6 + 6 blocks,
# d_ff 2048, vocab 32,128) and llama-2-7b (d 4096, 32 layers, d_ff 11,008, vocab 32,000). m = 256 (max length).
# (trainable, stored) per backbone; the same formulas are pinned method by method in tests/methods/.
S, L = 512, 4096
EVERY_METHOD = {
    "pt": ((10 * S,) * 2, (10 * L,) * 2),  # 10 tokens
    "ept": ((3 * S, S), (3 * L, L)),  # p (d) + down, up (d x 1 each); stores the projected prompt
    "ept_star": ((3 * S, S), (3 * L, L)),
    "spot": ((100 * S,) * 2, (100 * L,) * 2),  # 100 tokens
    "attempt": ((3 * 100 * S,) * 2, (3 * 100 * L,) * 2),  # P_t, W_down, W_up: 100 x d each
    "mpt": ((100 * S + 100 + S,) * 2, (100 * L + 100 + L,) * 2),  # l d + l r + r d, r = 1
    "dpt": (((100 + S) * 10,) * 2, ((100 + L) * 10,) * 2),  # (l + d) b, b = 10
    "dept": ((60 * S + (256 + S) * 30,) * 2, (60 * L + (256 + L) * 30,) * 2),  # s d + (m + d) r
    # DePT's budget + 4 experts (d -> 256 -> d, with biases) + a gate (d -> 4)
    "ept_msp": ((60 * S + (256 + S) * 30 + 4 * (2 * 256 * S + 256 + S) + 4 * S + 4, 60 * S + (256 + S) * 30),
                (60 * L + (256 + L) * 30 + 4 * (2 * 256 * L + 256 + L) + 4 * L + 4, 60 * L + (256 + L) * 30)),
    "p_tuning": ((10 * S + 3 * (S * S + S), 10 * S), (10 * L + 3 * (L * L + L), 10 * L)),  # 3-layer MLP, h = d
    "residual": ((10 * S + 2 * S * 400 + 400 + S + 2 * S, 10 * S), (10 * L + 2 * L * 400 + 400 + L + 2 * L, 10 * L)),
    "superpos": ((10 * 128 + 10 * S * 128, 10 * S), (10 * 128 + 10 * L * 128, 10 * L)),  # 128 sampled embeddings
    "prefix": ((20 * 2 * 6 * S,) * 2, (20 * 2 * 32 * L,) * 2),  # 20 tokens x (key, value) x decoder layers x d
    "lora": ((36 * 8 * 2 * S,) * 2, (64 * 8 * 2 * L,) * 2),  # r 8 on q, v of every attention block
    "ia3": ((36 * S + 12 * 2048,) * 2, (64 * L + 32 * 11_008,) * 2),  # k, v vectors + the d_ff input of wo / down
    # a bias on every linear output (T5 encoder: q, k, v, o, wi, wo; decoder adds cross-attention's four;
    # Llama: q, k, v, o, gate, up, down) + the norms inside the blocks + the LM head
    "bitfit": ((6 * (4 * S + 2048 + S) + 6 * (8 * S + 2048 + S) + (2 * 6 + 3 * 6) * S + 32_128,) * 2,
               (32 * (4 * L + 2 * 11_008 + L) + 2 * 32 * L + 32_000,) * 2),
    # bottleneck d / 32 after every attention and feed-forward sub-layer, + the trained norms
    "adapter": ((24 * (2 * S * 16 + 16 + S) + 32 * S,) * 2, (64 * (2 * L * 128 + 128 + L) + 65 * L,) * 2),
    "adapter_drop": ((4 * (2 * S * 16 + 16 + S) + 32 * S,) * 2,  # blocks 5.. only
                     (54 * (2 * L * 128 + 128 + L) + 65 * L,) * 2),
    # 4 down experts + 1 shared up (r = d / 16) after every feed-forward; one merged adapter kept
    "adamix": ((12 * (4 * (S * 32 + 32) + 32 * S + S), 12 * (2 * S * 32 + 32 + S)),
               (32 * (4 * (L * 256 + 256) + 256 * L + L), 32 * (2 * L * 256 + 256 + L))),
    "ft": ((60_506_624,) * 2, (6_738_415_616,) * 2),  # the whole backbone
    "control": ((0, 0), (0, 0)),  # pt's initial prompt as a buffer: nothing trained, nothing stored
}


def test_grid_covers_every_method_and_hub_backbone():
    grid = grid_rows(["t5-small", "llama-2-7b"])
    # the method list is written out: a method dropped from (or added to) the registry shows here
    assert sorted(grid.method.unique()) == sorted(EVERY_METHOD)
    assert len(grid) == len(EVERY_METHOD) * 2 and not grid.duplicated(["method", "backbone"]).any()
    found = {(r.method, r.backbone): (r.trainable, r.stored) for r in grid.itertuples()}
    for method, (small, llama) in EVERY_METHOD.items():
        assert found[(method, "t5-small")] == small, method
        assert found[(method, "llama-2-7b")] == llama, method
    assert set(grid[grid.backbone == "t5-small"].backbone_parameters) == {60_506_624}
    assert set(grid[grid.backbone == "llama-2-7b"].backbone_parameters) == {6_738_415_616}


def test_the_default_grid_is_every_hub_backbone_and_no_mirror_one(monkeypatch):
    """Without a list, the audit covers the hub backbones; the mirror's tiny-t5 is not a paper backbone.
    (Counts stubbed: this is about which rows exist, the counts are checked above.)"""
    monkeypatch.setattr(audit, "count_parameters", lambda method, config, backbone: {
        "trainable": 1, "stored": 1, "backbone_parameters": 1})
    grid = grid_rows()
    assert set(grid.backbone) == {"t5-small", "t5-base", "t5-large", "t5-3b", "t5-11b", "t5-small-lm-adapt",
                                  "t5-base-lm-adapt", "llama-2-7b"}
    assert len(grid) == len(EVERY_METHOD) * 8 and not grid.duplicated(["method", "backbone"]).any()
