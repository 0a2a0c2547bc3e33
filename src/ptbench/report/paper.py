"""The seed papers' printed numbers (reference/paper_results.csv), looked up by cell key.

The CSV's ``emphasis`` column is the paper's own bold / underline as our copy of its text shows it
(``<b>``/``**``: bold, ``<u>``: underline; tests/report/test_reference_text.py checks each against the
seed): seed 003's Tables 1-2 keep their underlines (their bold did not survive the text extraction),
seed 004's Table 2 bolds the lowest std; seed 001's text carries no emphasis. The report prints it on
the paper's lines, apart from our ranking of our lines.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

RESULTS_CSV = Path(__file__).parent / "reference" / "paper_results.csv"
KEY = ("paper", "table", "backbone", "method", "variant", "task", "metric")


class Printed(NamedTuple):
    value: str  # as printed
    flag: str  # "†": the paper's invalid-label zero
    emphasis: str  # "bold" | "underline" | "": as the paper prints it


@lru_cache(maxsize=4)
def paper_values(path: Path = RESULTS_CSV) -> dict[tuple[str, ...], tuple[str, str, str, str]]:
    """(paper, table, backbone, method, variant, task, metric) -> (printed value, flag, note, emphasis)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return {tuple(row[k] for k in KEY): (row["value"], row["flag"], row["note"], row["emphasis"])
                for row in csv.DictReader(handle)}


def lookup(paper: str | None, table: str | None, key: dict, metric: str | None = None,
           task: str | None = None) -> Printed | None:
    """What the paper prints in one cell, or None when it prints nothing there."""
    if not paper:
        return None
    found = paper_values().get((paper, table, key.get("backbone") or "", key.get("method") or "",
                                key.get("variant") or "", task or key.get("task") or "", metric or key.get("metric") or ""))
    return None if found is None else Printed(found[0], found[1], found[3])


def claims(paper: str) -> list[dict[str, str]]:
    """A seed's numbers stated in prose (table "Text"), e.g. seed 001's relative improvements."""
    return [dict(zip(KEY, key), value=value, note=note) for key, (value, _, note, _) in paper_values().items()
            if key[0] == paper and key[1] == "Text"]


def parse_count(printed: str) -> float | None:
    """A printed parameter count ("7.6K", "1.7M", "220M", "768") as a number; None if not one."""
    scale = {"K": 1e3, "M": 1e6, "B": 1e9}.get(printed[-1:].upper(), 1.0)
    try:
        return float(printed[:-1] if scale != 1.0 else printed) * scale
    except ValueError:
        return None


def printed_points(backbone: str, task: str, metric: str = "score") -> list[dict[str, str]]:
    """Every value the seeds print for (backbone, task, metric) in a table, with its paper, table, method,
    variant and the method's printed trainable-parameter count in that table ("" when none): what a
    figure overlays as the paper's points (e.g. seed 003 Table 1's SuperGLUE averages, Table 3's k-shot)."""
    values = paper_values()
    out = []
    for (paper, table, back, method, variant, printed_task, printed_metric), entry in values.items():
        if (back, printed_task, printed_metric) == (backbone, task, metric) and table != "Text":
            params = values.get((paper, table, back, method, "", "params", "trainable_params"))
            out.append({"paper": paper, "table": table, "method": method, "variant": variant, "value": entry[0],
                        "params": params[0] if params else ""})
    return out
