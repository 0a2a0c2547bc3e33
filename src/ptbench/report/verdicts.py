"""Did it reproduce? A verdict per cell with a paper value, and a summary per table and per paper.

The rule (docs/report.md), for our mean m over seeds and the paper's printed value P:
- the band: our test-set bootstrap interval [lo, hi] (the cell's 95% CI), widened on each side by our
  seeds' standard deviation s (0 with one seed) and by the paper's own std where it prints one (± q);
- **reproduced**: P lies in [lo - s - q, hi + s + q];
- **not reproduced**: P lies outside it, with at least two seeds (the spread over seeds is measured);
- **inconclusive**: P lies outside it but we ran one seed (seed variance unmeasured), or the cell has
  no bootstrap interval;
- no verdict: a stand-in run (another backbone: counted as ``stand-in``, never judged), a paper value
  marked † (invalid labels scored 0), no run, or no paper value.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ptbench.report.cells import Cell

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, STAND_IN = "reproduced", "not reproduced", "inconclusive", "stand-in"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, STAND_IN)
RULE_TEXT = ("Rule: the band is our 95% bootstrap interval over test examples, widened on each side by our "
             "seeds' std and the paper's printed std (if any). Reproduced: the paper's value lies in the band. Not "
             "reproduced: outside it, with >= 2 seeds. Inconclusive: outside it with one seed, or no interval. "
             "Stand-in runs (§) and paper values marked † get no verdict.")
_PAPER_STD = re.compile(r"±\s*([0-9]+(?:\.[0-9]+)?)")


def paper_std(cell: Cell) -> float:
    """The std the paper prints beside its value (seed 004: "85.2 ± 0.3"), else 0."""
    found = _PAPER_STD.search(cell.paper_text or "")
    return float(found.group(1)) if found else 0.0


def band(cell: Cell) -> tuple[float, float] | None:
    ours = cell.ours
    if ours is None or ours.ci is None:
        return None
    widen = (ours.std or 0.0) + paper_std(cell)
    low, high = ours.ci
    return low - widen, high + widen


def verdict(cell: Cell) -> str | None:
    """The cell's verdict under the module's rule, or None where the rule gives none."""
    if cell.ours is None or cell.paper is None or cell.paper_flag:
        return None
    if cell.ours.stand_in:
        return STAND_IN
    interval = band(cell)
    if interval is None:
        return INCONCLUSIVE
    if interval[0] <= cell.paper <= interval[1]:
        return REPRODUCED
    return NOT_REPRODUCED if len(cell.ours.per_seed) >= 2 else INCONCLUSIVE


@dataclass(frozen=True)
class Judged:
    table: str
    paper: str
    block: str
    row: str
    column: str
    ours: float
    seeds: int
    band: tuple[float, float] | None
    paper_value: float
    verdict: str


def judge(tables) -> list[Judged]:
    """Every cell of the tables that gets a verdict."""
    judged = []
    for table in tables:
        for block, row, column, cell in table.cells:
            found = verdict(cell)
            if found is not None:
                judged.append(Judged(table.spec["id"], table.spec.get("paper") or "", block, row, column,
                                     cell.ours.mean, len(cell.ours.per_seed), band(cell), cell.paper, found))
    return judged


def summary_line(judged: list[Judged]) -> str:
    counts = Counter(j.verdict for j in judged)
    run = counts[REPRODUCED] + counts[NOT_REPRODUCED] + counts[INCONCLUSIVE]
    text = (f"{counts[REPRODUCED]} reproduced of {run} run ({counts[NOT_REPRODUCED]} not reproduced, "
            f"{counts[INCONCLUSIVE]} inconclusive)")
    return text + (f"; {counts[STAND_IN]} paper values beside a stand-in run (§), not judged" if counts[STAND_IN] else "")


def summaries(judged: list[Judged]) -> list[tuple[str, str]]:
    """(scope, line): per paper, then per table, in first-seen order."""
    out = []
    from ptbench.report.layouts import short_title

    for key, name in (("paper", lambda scope: f"Seed {scope}"), ("table", short_title)):
        for scope in dict.fromkeys(getattr(j, key) for j in judged):
            out.append((name(scope), summary_line([j for j in judged if getattr(j, key) == scope])))
    return out


def to_markdown(judged: list[Judged]) -> str:
    from ptbench.report.layouts import short_title

    lines = ["# Reproduction verdicts", "", RULE_TEXT, "", f"All: {summary_line(judged)}", ""]
    lines += [f"- {scope}: {line}" for scope, line in summaries(judged)]
    lines += ["", "| table | block | row | column | ours | seeds | band | paper | verdict |", "|---" * 9 + "|"]
    for j in judged:
        shown = "" if j.band is None else f"[{j.band[0]:.1f}, {j.band[1]:.1f}]"
        lines.append(f"| {short_title(j.table)} | {j.block} | {j.row} | {j.column} | {j.ours:.1f} | {j.seeds} | {shown} | "
                     f"{j.paper_value:g} | {j.verdict} |")
    return "\n".join(lines) + "\n"


def to_csv(judged: list[Judged]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "paper", "block", "row", "column", "ours", "seeds", "band_low", "band_high", "paper_value",
                     "verdict"])
    for j in judged:
        low, high = j.band if j.band is not None else ("", "")
        writer.writerow([j.table, j.paper, j.block, j.row, j.column, f"{j.ours:.4f}", j.seeds,
                         "" if low == "" else f"{low:.4f}", "" if high == "" else f"{high:.4f}", j.paper_value, j.verdict])
    return buffer.getvalue()
