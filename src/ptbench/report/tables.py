"""Tables in the seed papers' layouts (report/layouts.py), filled from the rows files.

Each (block, row) of a table prints as up to five lines: ours (mean ± std over seeds, with † when
a seed's invalid outputs exceed ``invalid_threshold`` or it diverged, and ‡ on an original-T5
checkpoint), our 95% bootstrap interval, the paper's value, Δ = ours − paper, and for a seed
method the paired-bootstrap p-value against its baseline. A run that does not exist is "–",
never 0; the paper's values print whether or not we have a run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ptbench.report.cells import Cell, RunIndex, merge_keys, paired_test, replace_method
from ptbench.report.layouts import BASELINES, LABELS
from ptbench.report.paper import lookup

MISSING = "–"
DAGGER, ORIGINAL, STAND_IN = "†", "‡", "§"
MEAN_OF_TWO = "(mean of 2)"  # a two-metric task's one number, under the first metric's column


@dataclass
class Line:
    block: str
    row: str
    kind: str  # ours | ci | paper | delta | p
    cells: list[str]
    values: list[float | None]  # what our bold/underline ranking compares (our lines)
    method: str | None = None  # the row's method (None when the columns are methods)
    ranks: list[int | None] = field(default_factory=list)  # 1 bold, 2 underline
    emphasis: list[str] = field(default_factory=list)  # a paper line: the paper's own, as printed
    marks: str = "value"  # what a rank marks: the whole text, or "std": the part after "± "


@dataclass
class BuiltTable:
    spec: dict[str, Any]
    header: list[str]
    lines: list[Line]
    cells: list[tuple[str, str, str, Cell]]  # block, row, column labels and the cell
    notes: list[str]

    @property
    def stand_ins(self) -> int:
        """How many of the values shown are stand-in runs (§; a computed value: its text says so)."""
        return sum(1 for *_, cell in self.cells if (cell.ours is not None and cell.ours.stand_in)
                   or (cell.ours_text or "").endswith(STAND_IN))


def fmt(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def fmt_p(p: float | None) -> str:
    return "" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def count(n: int | None) -> str:
    if not n:
        return MISSING
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0" + unit, unit)
    return str(n)


def baseline_key(spec: dict, parts: list[dict], baseline: str) -> dict:
    """The same cell for the baseline: its own row (or column) of this table if it has one."""
    i = next(i for i in range(len(parts) - 1, -1, -1) if parts[i].get("method"))  # the part naming the method
    siblings = spec.get("rows", []) + spec.get("columns", [])
    own = next((p for p in siblings if p.get("method") == baseline and p.get("variant") == parts[i].get("variant")), None)
    if own is not None:
        return merge_keys(*parts[:i], own, *parts[i + 1:])
    return replace_method(merge_keys(*parts), baseline)


def resolve(spec: dict, parts: list[dict], index: RunIndex) -> Cell:
    key = merge_keys(*parts)
    cell = Cell(key)
    if "params" in key:
        return _params_cell(spec, parts, index, cell)
    excluded = spec.get("excluded", {}).get(key.get("method"))
    if excluded:  # tasks the paper leaves out of a method's evaluation (its source tasks): not scored here either
        if key.get("task") in excluded["tasks"]:
            cell.notes.append(excluded["why"])
            return cell
        if "members" in key:
            key = cell.key = {**key, "members": [m for m in key["members"] if m[0] not in excluded["tasks"]]}
            cell.notes.append(f"{key['task']}: the {len(key['members'])} tasks evaluated ({excluded['why']})")
    cell.ours = index.ours(key, cell.notes)
    if cell.ours is None and "members" in key:
        cell.missing_members = index.missing_members(key)
    printed = lookup(spec.get("paper"), spec.get("paper_table"), key)
    averaged = (lookup(spec.get("paper"), spec.get("paper_table"), key, "mean_of_two")
                if key.get("paper_fallback") else None)
    if printed is None and averaged:  # one number for a two-metric task, stated to be their mean: compare the mean
        printed, cell.mean_of_two = averaged, True
        cell.ours = index.ours({**key, "metric": "mean_of_two"}, cell.notes)
        cell.notes.append(f"paper: the mean of {key['task']}'s two metrics (its caption), printed under the first "
                          f"metric's column and marked 'mean of 2'; ours: the same mean")
    if printed is None and key.get("paper_fallback"):
        printed = lookup(spec.get("paper"), spec.get("paper_table"), key, key["paper_fallback"])
        if printed:
            cell.notes.append(f"paper: one number for {key['task']}'s metrics (which, or their mean, unstated)")
    if printed:
        cell.paper_text, cell.paper_flag, cell.paper_emphasis = printed
        cell.paper = float(printed.value)
    if cell.ours is not None and not cell.ours.stand_in:  # a stand-in run is not the paper's setting: no test
        tested = comparisons(spec, parts)
        cell.comparisons = [(label, _paired(cell, other, index)) for label, other in tested]
        cell.notes += [note for label, other in tested if (note := rates_note(key, other, label, index))]
    return cell


def learning_rates(key: dict, index: RunIndex) -> dict[str, float]:
    """The learning rates (``lr*`` knobs) of the run behind a cell (an average's: its first member's)."""
    probe = {**key, "task": key["members"][0][0]} if "members" in key else key
    row = index.find(probe)
    return {} if row is None else {k: v for k, v in sorted(row.get("config", {}).items())
                                   if k.startswith("lr") and v is not None}


def rates_note(key: dict, other: dict, label: str, index: RunIndex) -> str | None:
    """When a paired test compares runs trained at different learning rates, the table says which: the
    profiles fix each method's rates (ept_msp 0.3 against DePT's 0.4 in seed 001's), none is chosen on validation."""
    mine, theirs = learning_rates(key, index), learning_rates(other, index)
    if not mine or not theirs or mine == theirs:
        return None
    spell = lambda rates: ", ".join(f"{k} {v:g}" for k, v in rates.items())  # noqa: E731
    return (f"vs {label}: trained at {spell(mine)} against {spell(theirs)}, each method's fixed rates in this profile "
            "(neither selected on validation)")


def comparisons(spec: dict, parts: list[dict]) -> list[tuple[str, dict]]:
    """(label, key) of each cell this one is tested against: the comparisons the paper makes. A table's
    ``compare`` (row label -> row labels of the same table) names them; otherwise a seed method is tested
    against the baseline it is built on (layouts.BASELINES), and nothing else is tested."""
    fixed, block, row, column = parts
    if "compare" in spec:
        rows = {r["label"]: r for r in spec["rows"]}
        return [(label, merge_keys(fixed, block, rows[label], column)) for label in spec["compare"].get(row["label"], [])]
    baseline = BASELINES.get(merge_keys(*parts).get("method"))
    return [(LABELS.get(baseline, baseline), baseline_key(spec, parts, baseline))] if baseline else []


def _paired(cell: Cell, other: dict, index: RunIndex) -> float | None:
    p, why = paired_test(cell.ours, index.ours(other, []))
    if why:
        cell.notes.append(f"p vs {other.get('method')}: {why}")
    return p


def _params_cell(spec: dict, parts: list[dict], index: RunIndex, cell: Cell) -> Cell:
    kinds = cell.key["params"].split("/")
    printed = [lookup(spec.get("paper"), spec.get("paper_table"), cell.key, f"{k}_params", "params") for k in kinds]
    if any(printed):
        cell.paper_text = "/".join(p[0] if p else "-" for p in printed)
    for column in spec["columns"]:
        if "task" in column and "members" not in column:
            row = index.find(merge_keys(*parts[:-1], column))
            if row is not None:
                cell.params = "/".join(count(row.get(f"{k}_parameters")) for k in kinds)
                if row.get("stand_in"):  # counted on the stand-in backbone, not the paper's
                    cell.params += f" {STAND_IN}"
                if kinds == ["trainable"] and paper_counts_stored(spec.get("paper"), row.get("registered_method")
                                                                 or row["method"]):
                    cell.params += f" ({count(row.get('stored_parameters'))} as the paper counts)"
                    cell.notes.append("the paper counts the stored parameters as trainable (parameter audit)")
                break
    return cell


def paper_counts_stored(paper: str | None, method: str) -> bool:
    """Does ``paper`` call "trainable" what we call stored for ``method`` (reference/param_counts.csv)?"""
    from ptbench.report.audit import paper_conventions

    return paper_conventions().get((paper, method)) == "stored"


def build_table(spec: dict[str, Any], index: RunIndex) -> BuiltTable:
    if spec.get("kind") == "standardized":
        from ptbench.report.standardized import build_standardized

        return build_standardized(spec, index)
    header, lines, cells, notes = [c["label"] for c in spec["columns"]], [], [], list(spec.get("notes", []))
    for block in spec["blocks"]:
        for row in spec["rows"]:
            if "backbones" in row and block.get("backbone") not in row["backbones"]:
                continue  # a row the paper prints under some blocks only
            row_cells = [resolve(spec, [spec.get("fixed", {}), block, row, column], index) for column in spec["columns"]]
            cells += [(block["label"], row["label"], c["label"], cell) for c, cell in zip(spec["columns"], row_cells)]
            method = row.get("method") or spec.get("fixed", {}).get("method")
            lines += _lines(block["label"], row["label"], method, row_cells, with_paper=bool(spec.get("paper")))
            notes += [f"{block['label']} / {row['label']}: {n}" for cell in row_cells for n in cell.notes]
            if spec.get("paper") and all(c.ours is None for c in row_cells if "params" not in c.key):
                from ptbench.report.schedule import empty_row_note

                notes.append(f"{block['label']} / {empty_row_note(spec, block, row)}")
    table = BuiltTable(spec, header, lines, cells, sorted(set(notes), key=notes.index))
    rank(table)
    return table


def ours_text(cell: Cell) -> str:
    if cell.params is not None or "params" in cell.key:
        return cell.params or MISSING
    ours = cell.ours
    if ours is None:
        return MISSING
    text = fmt(ours.mean) + ("" if ours.std is None else f" ± {ours.std:.1f}") + (f" {MEAN_OF_TWO}" if cell.mean_of_two else "")
    return (text + (f" {DAGGER}" if ours.dagger else "") + (f" {ORIGINAL}" if ours.original_t5 else "")
            + (f" {STAND_IN}" if ours.stand_in else ""))


def _lines(block: str, label: str, method: str | None, cells: list[Cell], with_paper: bool = True) -> list[Line]:
    def line(kind: str, text: str, texts: list[str], values: list[float | None]) -> Line:
        return Line(block, text, kind, texts, values, method)

    ci = [c.ours.ci if c.ours is not None else None for c in cells]
    paper = [(c.paper_text or MISSING) + (f" {DAGGER}" if c.paper_flag else "")
             + (f" {MEAN_OF_TWO}" if c.mean_of_two and c.paper_text else "") for c in cells]
    # a stand-in value is shown, never ranked
    out = [line("ours", f"{label} (ours)", [ours_text(c) for c in cells],
                [c.ours.mean if c.ours is not None and not c.ours.stand_in else None for c in cells]),
           line("ci", f"{label} (95% CI)", [f"[{lo:.1f}, {hi:.1f}]" if lo is not None else "" for lo, hi in
                                            (i or (None, None) for i in ci)], [None] * len(cells)),
           Line(block, f"{label} (paper)", "paper", paper, [c.paper for c in cells], method,
                emphasis=[c.paper_emphasis for c in cells]),
           line("delta", f"{label} (Δ)", [fmt(c.delta, signed=True) if c.delta is not None else "" for c in cells],
                [None] * len(cells))]
    for against in dict.fromkeys(label for c in cells for label, _ in c.comparisons):  # one line per comparison
        p_values = [dict(c.comparisons).get(against) for c in cells]
        out.append(line("p", f"{label} (p vs {against})", [fmt_p(p) for p in p_values], [None] * len(cells)))
    return [ln for ln in out if (ln.kind == "ours" or (ln.kind == "paper" and with_paper)
                                 or any(t not in ("", MISSING) for t in ln.cells))]


def _unranked(spec: dict, line: Line, column: int | None = None) -> bool:
    method = line.method
    if column is not None and "method" in spec["columns"][column]:
        method = spec["columns"][column]["method"]
    return method in spec.get("unranked", [])


EMPHASIS_RANK = {"bold": 1, "underline": 2}


def rank(table: BuiltTable) -> None:
    """Our lines: best (1) and second best (2) per column within a block, or per line (spec rank: rows);
    the spec's ``rank_order`` "ascending" makes the lowest value best (seed 004 Table 2 ranks stds) and
    ``rank_places`` 1 marks the best only. The paper's lines keep the paper's own emphasis as printed."""
    spec = table.spec
    for line in table.lines:
        line.ranks = ([EMPHASIS_RANK.get(e) for e in line.emphasis] if line.kind == "paper" and line.emphasis
                      else [None] * len(line.cells))
    skip = {i for i, c in enumerate(spec.get("columns", [])) if "params" in c}
    groups: list[list[tuple[Line, int]]] = []
    lines = [ln for ln in table.lines if ln.kind == "ours"]
    if spec.get("rank") == "rows":
        groups = [[(ln, i) for i in range(len(ln.cells)) if i not in skip and not _unranked(spec, ln, i)] for ln in lines]
    else:
        for block in dict.fromkeys(ln.block for ln in lines):
            members = [ln for ln in lines if ln.block == block and not _unranked(spec, ln)]
            groups += [[(ln, i) for ln in members] for i in range(len(table.header)) if i not in skip]
    ascending = spec.get("rank_order", "descending") == "ascending"
    for group in groups:  # ranked as printed (one decimal): equal-looking values share a rank
        shown = [(ln, i, round(ln.values[i], 1)) for ln, i in group if ln.values[i] is not None]
        best = sorted({value for _, _, value in shown}, reverse=not ascending)[:spec.get("rank_places", 2)]
        for ln, i, value in shown:
            ln.ranks[i] = best.index(value) + 1 if value in best else None
