"""The seed papers' printed numbers (reference/paper_results.csv), looked up by cell key."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

RESULTS_CSV = Path(__file__).parent / "reference" / "paper_results.csv"
KEY = ("paper", "table", "backbone", "method", "variant", "task", "metric")


@lru_cache(maxsize=4)
def paper_values(path: Path = RESULTS_CSV) -> dict[tuple[str, ...], tuple[str, str, str]]:
    """(paper, table, backbone, method, variant, task, metric) -> (printed value, flag, note)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return {tuple(row[k] for k in KEY): (row["value"], row["flag"], row["note"]) for row in csv.DictReader(handle)}


def lookup(paper: str | None, table: str | None, key: dict, metric: str | None = None,
           task: str | None = None) -> tuple[str, str] | None:
    """The printed (value, flag) of one cell, or None when the paper prints none."""
    if not paper:
        return None
    found = paper_values().get((paper, table, key.get("backbone") or "", key.get("method") or "",
                                key.get("variant") or "", task or key.get("task") or "", metric or key.get("metric") or ""))
    return None if found is None else found[:2]


def claims(paper: str) -> list[dict[str, str]]:
    """A seed's numbers stated in prose (table "Text"), e.g. seed 001's relative improvements."""
    return [dict(zip(KEY, key), value=value, note=note) for key, (value, _, note) in paper_values().items()
            if key[0] == paper and key[1] == "Text"]
