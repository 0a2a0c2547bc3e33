"""Seed 004 Table 2: "standardized overall scoring" (Yu et al. 2023) over its Table 1.

Per task (a two-metric task scored as the mean of its two metrics), the scores of every row of
both backbones are min-max scaled to 0-100; a row's value is the mean ± population std of its
scaled task scores. Recomputed from the printed Table 1 this gives the printed Table 2 within 0.07
(tests/report/test_reference_results.py), which is how the pooling and the std were pinned down.

The table is about stability: the paper bolds the lowest std of each column (fine-tuning left out), and
so does our ranking of our lines (the spec's ``rank_order`` / ``rank_places``); the std alone is marked.
"""
from __future__ import annotations

import numpy as np

from ptbench.report.cells import Cell, RunIndex, merge_keys
from ptbench.report.layouts import TABLES
from ptbench.report.paper import lookup


def standardize(scores: dict[tuple, list[float]]) -> dict[tuple, tuple[float, float]]:
    """{entry: per-task scores (same task order)} -> {entry: (mean, population std)} of the
    per-task min-max scaled scores (a task where every entry ties scales to 100)."""
    if not scores:
        return {}
    matrix = np.array(list(scores.values()), dtype=float)
    low, high = matrix.min(axis=0), matrix.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = np.where(high > low, (matrix - low) / span * 100.0, 100.0)
    return {entry: (float(row.mean()), float(row.std())) for entry, row in zip(scores, scaled)}


def build_standardized(spec: dict, index: RunIndex):
    from ptbench.report.tables import STAND_IN, BuiltTable, Line, fmt, rank

    source = next(t for t in TABLES if t["id"] == spec["source"])
    members = next(c for c in source["columns"] if "members" in c)["members"]
    ours: dict[tuple, list[float]] = {}
    stand_in: set[tuple] = set()  # entries with a stand-in task score: marked, never ranked, no Δ
    for row in spec["rows"]:
        for column in spec["columns"]:
            values = [index.ours(merge_keys(source.get("fixed", {}), column, row, {"task": t, "metric": m}), [])
                      for t, m in members]
            if all(v is not None for v in values):
                ours[(row["label"], column["label"])] = [v.mean for v in values]
                if any(v.stand_in for v in values):
                    stand_in.add((row["label"], column["label"]))
    scaled = standardize(ours)
    lines, cells = [], []
    for row in spec["rows"]:
        texts = {"ours": [], "paper": [], "delta": []}
        values = {"ours": [], "paper": []}  # the stds: what the ranking compares
        emphasis = []
        for column in spec["columns"]:
            key = merge_keys(row, column)
            mean_std = scaled.get((row["label"], column["label"]))
            substitute = (row["label"], column["label"]) in stand_in
            printed = [lookup(spec["paper"], spec["paper_table"], {**key, "task": "avg"}, f"standardized_{k}")
                       for k in ("mean", "std")]
            paper = tuple(float(p[0]) for p in printed) if all(printed) else None
            texts["ours"].append(f"{mean_std[0]:.1f} ± {mean_std[1]:.1f}{' ' + STAND_IN if substitute else ''}"
                                 if mean_std else "–")
            texts["paper"].append(f"{paper[0]:.1f} ± {paper[1]:.1f}" if paper else "–")
            texts["delta"].append(fmt(mean_std[0] - paper[0], signed=True) if mean_std and paper and not substitute else "")
            values["ours"].append(mean_std[1] if mean_std and not substitute else None)
            values["paper"].append(paper[1] if paper else None)
            emphasis.append(printed[1].emphasis if printed[1] else "")
            cells.append(("", row["label"], column["label"],
                          Cell(key, paper=paper[0] if paper else None, paper_text=texts["paper"][-1],
                               ours_text=texts["ours"][-1])))
        for kind, label in (("ours", "ours"), ("paper", "paper"), ("delta", "Δ")):
            if kind != "delta" or any(texts["delta"]):
                lines.append(Line("", f"{row['label']} ({label})", kind, texts[kind],
                                  values.get(kind, [None] * len(texts[kind])), row["method"],
                                  emphasis=emphasis if kind == "paper" else [], marks="std"))
    notes = list(spec.get("notes", []))
    notes.append(f"our rows with all {len(members)} tasks: {len(ours)} of {len(spec['rows']) * len(spec['columns'])}")
    if len(ours) < len(spec["rows"]) * len(spec["columns"]):  # say what the empty ones need
        from ptbench.report.schedule import empty_row_note

        source_spec = {**source, "rows": spec["rows"], "columns": [*spec["columns"]]}
        for row in spec["rows"]:
            for column in spec["columns"]:
                if (row["label"], column["label"]) not in ours:
                    keys_spec = {**source_spec, "columns": [{**c, **column, "label": c["label"]}
                                                             for c in source["columns"] if "members" in c]}
                    notes.append(f"{column['label']} / {empty_row_note(keys_spec, {}, row)} "
                                 f"(all {len(members)} tasks of seed 004 Table 1)")
    table = BuiltTable({**spec, "columns": spec["columns"], "blocks": [{"label": ""}]},
                       [c["label"] for c in spec["columns"]], lines, cells, notes)
    rank(table)
    return table
