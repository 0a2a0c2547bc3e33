"""Parameter audit: our trained / stored counts beside the counts the seeds print.

Counts are taken on the ``meta`` device from the bundled architecture configs, with each
row's method config (the paper's setting, e.g. ``length=100``) on top of the config defaults.
A row whose ``paper_counts`` is ``stored`` is a paper that calls "trainable" what we call stored
(seed 001's 76,800 for EPT: the folded prompt and A, B, not the experts and gate that also train):
its printed trainable count is checked against our stored one, and both of ours are shown.
"""
from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import pandas as pd
import yaml

from ptbench.backbones import BACKBONES
from ptbench.check.counting import count_parameters
from ptbench.methods import METHODS, method_config

REFERENCE = Path(__file__).parent / "reference" / "param_counts.csv"
UNITS = {"K": 1e3, "M": 1e6, "B": 1e9}


def parse_config(text: str) -> dict:
    pairs = [item.split("=", 1) for item in text.split(";") if item]
    return {key: yaml.safe_load(value) for key, value in pairs}


def printed_matches(printed: str, value: int) -> bool:
    """Does ``value`` print as ``printed`` ("5.1K", "624K", "1.7M") truncated or rounded?"""
    unit = printed[-1] if printed[-1] in UNITS else ""
    mantissa = printed[:-1] if unit else printed
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    scaled = value / UNITS.get(unit, 1)
    factor = 10 ** decimals
    return float(mantissa) in (math.floor(scaled * factor) / factor, round(scaled, decimals))


@functools.lru_cache(maxsize=1)
def paper_conventions(reference: Path = REFERENCE) -> dict[tuple[str, str], str]:
    """(paper, method) -> how the paper counts ("stored": its "trainable" is our stored count)."""
    with reference.open() as handle:
        return {(ref["paper"], ref["method"]): ref["paper_counts"] for ref in csv.DictReader(handle) if ref["paper_counts"]}


def seed_rows(reference: Path = REFERENCE) -> pd.DataFrame:
    rows = []
    with reference.open() as handle:
        for ref in csv.DictReader(handle):
            counts = count_parameters(ref["method"], method_config(ref["method"], parse_config(ref["config"])),
                                      ref["backbone"])
            row = {**ref, "trainable": counts["trainable"], "stored": counts["stored"]}
            for kind in ("trainable", "stored"):
                printed = ref[f"{kind}_printed"]
                ours = counts[ref.get("paper_counts") or kind] if kind == "trainable" else counts[kind]
                row[f"{kind}_match"] = printed_matches(printed, ours) if printed else None
            rows.append(row)
    return pd.DataFrame(rows)


def grid_rows(backbones: list[str] | None = None) -> pd.DataFrame:
    """Every registered method at its config defaults on every hub backbone."""
    rows = []
    for method in sorted(METHODS):
        for backbone in backbones or [b for b, info in BACKBONES.items() if not info.mirror_only]:
            counts = count_parameters(method, method_config(method, {}), backbone)
            rows.append({"method": method, "backbone": backbone, "trainable": counts["trainable"],
                         "stored": counts["stored"], "backbone_parameters": counts["backbone_parameters"]})
    return pd.DataFrame(rows)


def _mark(match) -> str:
    return "" if match is None or (isinstance(match, float) and math.isnan(match)) else ("✓" if match else "✗")


def write_audit(out_dir: Path) -> pd.DataFrame:
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = seed_rows()
    grid = grid_rows()
    seeds.to_csv(out_dir / "params_seeds.csv", index=False)
    grid.to_csv(out_dir / "params.csv", index=False)
    lines = ["# Parameter audit", "", "Counts the seeds print, beside ours (meta device, bundled configs).", "",
             "| paper | table | backbone | method | config | trainable (paper) | trainable (ours) | stored (paper) | stored (ours) | match |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in seeds.itertuples():
        marks = "".join(_mark(m) for m in (r.trainable_match, r.stored_match))
        trainable = f"{r.trainable:,}" + (f" (the paper's convention: {r.stored:,})" if r.paper_counts == "stored" else "")
        lines.append(f"| {r.paper} | {r.table} | {r.backbone} | {r.method} | {r.config or 'defaults'} | "
                     f"{r.trainable_printed or '–'} | {trainable} | {r.stored_printed or '–'} | {r.stored:,} | {marks} |")
    lines += ["", "Every method at its config defaults:", "",
              "| method | " + " | ".join(sorted(set(grid.backbone), key=list(BACKBONES).index)) + " |",
              "|---|" + "---|" * grid.backbone.nunique()]
    for method, group in grid.groupby("method"):
        cells = {r.backbone: f"{r.trainable:,} / {r.stored:,}" for r in group.itertuples()}
        lines.append(f"| {method} | " + " | ".join(cells[b] for b in sorted(cells, key=list(BACKBONES).index)) + " |")
    lines += ["", "Cells: trainable / stored (kept after training). A paper convention differs where marked: "
              "seed 001 counts EPT's stored parameters (76,800) as its trainable ones."]
    (out_dir / "params.md").write_text("\n".join(lines) + "\n")
    return seeds
