"""The seeds' one-knob figures as data, and the points our runs give for them.

A sweep draws a method's test score against one knob of its configuration (``x``: a value computed
from the configuration), from runs that differ in that knob only, and in the knobs it lists as
``free`` (same backbone, task, dropout and every other knob): the grid's run and the
``knob_runs`` points of params.yaml (kind ``knob`` rows, src/ptbench/pipeline/knobs.py). A figure whose runs
do not exist is listed in the report with the runs it needs. ``knobs`` names each method's configuration
key (the caption quotes it), ``axis`` is the x axis's label for a reader.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

SWEEPS: list[dict[str, Any]] = [
    {"name": "number_of_spaces", "title": "Number of spaces of the multi-space projection", "mirrors": "seed 001 Fig. 5",
     "knobs": {"ept_msp": "num_experts"}, "axis": "number of spaces",
     "needs": "runs of the projection-only variant (ept_msp_no_fusion) at N = 2..8, other knobs equal"},
    # Fig. 4b holds 76,800 parameters while s moves, so the rank moves with it (and s = 100 is EPT without
    # A B): those knobs are ``free``; x is the prompt actually prepended (EPT: s, or l with decomposition
    # off). Fig. 7 shows the same runs per task (CoLA, BoolQ); PT's line is vanilla PT of length s. Whether
    # our points hold the count depends on the knob_runs: the title does not claim it, the caption gives
    # each line's trainable and stored parameters (figures.sweep_figures).
    {"name": "short_prompt_length", "title": "Short-prompt length: score and training time",
     "mirrors": "seed 001 Fig. 4b, Fig. 7",
     "knobs": {"ept_msp": "short_length", "dept": "length", "pt": "length"}, "axis": "prompt tokens prepended",
     "x": {"ept_msp": lambda config: config["short_length"] if config.get("decomposition", True) else config["length"]},
     "free": {"ept_msp": ["rank", "decomposition", "fusion"], "dept": ["rank"]}, "time": True,
     "needs": "ept_msp, dept and pt runs at several short-prompt lengths (knob_runs)"},
    {"name": "broadcast_length", "title": "EPT broadcast length", "mirrors": "seed 003 Fig. 7",
     "knobs": {"ept": "broadcast_length", "ept_star": "broadcast_length"}, "axis": "broadcast length",
     "needs": "ept runs at broadcast_length 1..10 (MultiRC, CoLA)"},
    {"name": "ept_hidden_size", "title": "EPT hidden size", "mirrors": "seed 003 Fig. 5, Fig. 12",
     "knobs": {"ept": "hidden_size"}, "axis": "hidden size", "xscale": "log",
     "needs": "ept runs at hidden_size 1..1000 (BoolQ, RTE, WSC, CB, WiC)"},
    {"name": "lr_robustness", "title": "Learning-rate robustness", "mirrors": "seed 003 Fig. 8",
     "knobs": {m: "lr" for m in ("pt", "residual", "p_tuning", "ept", "ept_star")},
     "axis": "learning rate", "xscale": "log",
     "needs": "pt, residual, p_tuning, ept, ept_star runs at several lr on the 5 SuperGLUE tasks"},
    {"name": "superpos_tokens", "title": "SuperPos sampled token count m", "mirrors": "seed 004 Fig. 2c",
     "knobs": {"superpos": "num_tokens"}, "axis": "sampled tokens m", "xscale": "log",
     "needs": "superpos runs at several num_tokens"},
]


def primary_score(row: dict[str, Any]) -> float | None:
    return row["metrics"].get(row["primary_metric"], {}).get("mean")


def training_time(row: dict[str, Any]) -> float | None:
    return row.get("train_seconds")  # mean wall-clock seconds over seeds (rows.train_seconds)


def sweep_points(rows: list[dict[str, Any]], sweep: dict[str, Any],
                 measure=primary_score) -> dict[str, dict[str, list[tuple]]]:
    """{panel "task (backbone)": {line label: [(knob value, measure), ...]}} for every group of runs
    that differ only in the sweep's knob and have at least two values of it."""
    groups: dict[tuple, dict[Any, float]] = defaultdict(dict)
    for row in rows:
        method = row.get("registered_method") or row["method"]  # a variant: its method's knob
        knob = sweep["knobs"].get(method)
        measured = measure(row)
        if row.get("kind") not in ("grid", "knob") or knob is None or measured is None:
            continue
        value = sweep.get("x", {}).get(method, lambda config: config.get(knob))(row["config"])
        if value is None:
            continue
        varying = {knob, *sweep.get("free", {}).get(method, [])}
        rest = json.dumps({k: v for k, v in row["config"].items() if k not in varying}, sort_keys=True, default=str)
        groups[(row["task"], row["backbone"], row["method"], row.get("dropout"), rest)][value] = measured
    points: dict[str, dict[str, list[tuple]]] = defaultdict(dict)
    for (task, backbone, method, dropout, rest), by_value in sorted(groups.items(), key=lambda g: str(g[0])):
        if len(by_value) < 2:
            continue
        panel = points[f"{task} ({backbone})"]
        label = method if method not in panel else f"{method} #{sum(k.startswith(method) for k in panel) + 1}"
        panel[label] = sorted(by_value.items())
    return dict(points)
