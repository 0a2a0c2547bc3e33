"""Figures (PNG + PDF) drawn only from data that exists: each returns what it drew or what it needs.

A figure with no data is not drawn and its ``FigureResult.reason`` says which runs would draw it;
the report page lists them. A drawn figure has a caption written from what it drew (its tasks, lines
and points). Nothing is filled in from the papers or made up; the papers' own printed values are
overlaid, hollow, where a seed prints the numbers behind its figure (seed 003 Table 1: parameters
against the GLUE / SuperGLUE averages, its Fig. 1; Table 3: the k-shot averages), on the backbone
they were printed for (never on a stand-in's panel). Styles: report/figure_style.py.
"""
from __future__ import annotations

import statistics
import textwrap
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ptbench.report.figure_style import (
    MAX_LINES, SEQUENCE_COLOURS, SEQUENCE_MARKERS, FigureResult, Styles, group_legends, integer_ticks, legend_outside, line_panels, listing,
    not_shown, panels, readable_log_axis, save, value_ticks,
)
from ptbench.report.layouts import GLUE_003, SUPERGLUE_003
from ptbench.report.paper import parse_count, printed_points
from ptbench.report.sweeps import SWEEPS, primary_score, sweep_points, training_time
from ptbench.report.task_figures import cross_task_similarity, zero_shot_transfer

__all__ = ["FigureResult", "draw_all", "mean_series"]

# A benchmark panel: its name, its tasks, the papers' name for its average.
BENCHMARKS = (("GLUE", frozenset(t for t, _ in GLUE_003), "glue_avg"),
              ("SuperGLUE", frozenset(t for t, _ in SUPERGLUE_003), "superglue_avg"))
PAPER_MARK = {"facecolors": "none", "s": 45, "linewidths": 1.2}  # hollow: the paper's printed value
PAPER_LABEL = "hollow: the paper's printed value"


def mean_series(history: dict[str, dict[str, list]], key: str) -> list[tuple[float, float]]:
    """A logged quantity averaged over seeds at the steps every seed logged."""
    per_seed = [dict(map(tuple, h[key])) for h in history.values() if key in h]
    if not per_seed:
        return []
    steps = sorted(set.intersection(*(set(s) for s in per_seed)))
    return [(step, statistics.fmean(s[step] for s in per_seed)) for step in steps]


def _sources(printed: list[dict[str, str]]) -> str:
    return listing(" ".join((point["paper"], point["table"])) for point in printed)


def _runs(rows: list[dict[str, Any]]) -> str:
    return listing("{method} on {task} ({backbone})".format(**r) for r in rows)


def _paper_proxy(ax) -> None:
    """A legend entry for the hollow markers."""
    ax.scatter([], [], color="#555555", marker="o", label=PAPER_LABEL, **PAPER_MARK)


def _paper_point(ax, x: float, point: dict[str, str], styles: Styles, ours: set[str], result: FigureResult) -> None:
    """One printed value, hollow, in its method's colour and marker; a method we did not run gets its own
    legend entry."""
    colour, marker = styles.colour_marker(point["method"])
    result.styles[point["method"]] = (colour, marker)
    ax.scatter(x, float(point["value"]), edgecolors=colour, marker=marker,
               label=None if point["method"] in ours else f"{point['method']} (paper only)", **PAPER_MARK)


def _panels_of(scores: dict[str, dict[str, float]]) -> list[tuple[str, frozenset, str | None, list[str]]]:
    """(name, tasks, papers' average, methods) per benchmark some method ran in full; else one panel
    of the tasks every method ran."""
    out = [(name, tasks, average, sorted(m for m, s in scores.items() if tasks <= set(s)))
           for name, tasks, average in BENCHMARKS]
    out = [panel for panel in out if panel[3]]
    common = frozenset.intersection(*(frozenset(s) for s in scores.values())) if scores else frozenset()
    return out or ([("tasks every method ran", common, None, sorted(scores))] if common else [])


def _method_of(label: str) -> str:
    """The method a legend label names: "ept_msp #2", "pt: training time", "ft (paper only)" -> the method."""
    return label.split(" #")[0].split(": ")[0].split(" (")[0]


def _legend_order(styles: Styles) -> Callable[[Any], list[str]]:
    """Legend labels family by family (``Styles.order``), the hollow markers' entry last."""
    def order(labels) -> list[str]:
        labels = list(labels)
        methods = styles.order({_method_of(label) for label in labels if label != PAPER_LABEL})
        return sorted(labels, key=lambda label: (label == PAPER_LABEL,
                                                 methods.index(_method_of(label)) if label != PAPER_LABEL else 0, label))
    return order


def _legend_by_family(fig, axes, styles: Styles) -> None:
    """The figure's legend right of its panels, family by family; past MAX_LINES entries each family
    under its name."""
    order = _legend_order(styles)
    labels = order({label for ax in axes for label in ax.get_legend_handles_labels()[1]})
    headers: dict[str, str] = {}
    if len(labels) > MAX_LINES:
        for label in (label for label in labels if label != PAPER_LABEL):
            if styles.family(_method_of(label)) not in headers.values():
                headers[label] = styles.family(_method_of(label))
    legend_outside(fig, axes, order=order, headers=headers)


def params_vs_score(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("params_vs_score", "Trainable parameters vs average score", "seed 001 Fig. 1, seed 003 Fig. 1",
                          reason="needs evaluated runs (results/records)")
    scores: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    params: dict[tuple[str, str], int] = {}
    for r in rows:
        if r["kind"] == "grid" and primary_score(r) is not None:
            scores[r["backbone"]][r["method"]][r["task"]] = primary_score(r)
            params[(r["backbone"], r["method"])] = r["trainable_parameters"]
    plotted = [(backbone, panel) for backbone in sorted(scores) for panel in _panels_of(scores[backbone])]
    if not plotted:
        return result
    plt, fig, axes = panels(len(plotted), 3.8, 3.4, columns=2, extra_width=2.4)
    tasks, parts, untrained, uncounted = set(), [], set(), set()
    for ax, (backbone, (name, members, average, methods)) in zip(axes, plotted):
        for method in styles.order(methods):
            score = statistics.fmean(scores[backbone][method][t] for t in members)
            colour, marker = styles.colour_marker(method)
            if params[(backbone, method)] is None:  # its metrics file records no count: no x to draw it at
                uncounted.add(f"{method} ({backbone})")
                continue
            result.styles[method] = (colour, marker)
            if params[(backbone, method)]:
                ax.scatter(params[(backbone, method)], score, label=method, color=colour, marker=marker, s=40, zorder=3)
            else:  # no point on a log axis at 0: a dotted line at its score across the panel, named on it
                untrained.add(method)
                ax.axhline(score, color=colour, linestyle=":", linewidth=1.2, label=method)
                ax.annotate(f"{method}: 0 trained", (0.02, score), xycoords=("axes fraction", "data"),
                            xytext=(0, 2), textcoords="offset points", va="bottom", color=colour)
        printed = [p for p in printed_points(backbone, average) if not p["variant"] and parse_count(p["params"])] \
            if average else []
        for point in printed:
            _paper_point(ax, parse_count(point["params"]), point, styles, set(methods), result)
        if printed:
            _paper_proxy(ax)
            result.paper_points += len(printed)
        ax.set(xscale="log", xlabel="trainable parameters", ylabel=f"mean test score ({len(members)} tasks)",
               title=textwrap.fill(f"{backbone}: {name}", 34))
        readable_log_axis(ax.xaxis)
        tasks |= members
        source = f"; hollow: seed {_sources(printed)}'s printed {average}" if printed else ""
        parts.append(f"{backbone}, {name} ({listing(members)}): {len(methods)} methods{source}")
    _legend_by_family(fig, axes, styles)
    zero = (f" {listing(untrained)} trains no parameters: a dotted horizontal line at its score (a log axis has "
            f"no 0)." if untrained else "")
    caption = ("Each method's trainable parameters (log scale) against its test score averaged over a panel's tasks "
               "(mean over seeds). " + "; ".join(parts) + "." + zero)
    result.done(save(plt, fig, out_dir, result.name), caption, tasks)
    result.note = f"not shown: {listing(uncounted)}, no trainable-parameter count recorded" if uncounted else ""
    return result


def _group_of(groups: list[tuple[str, list[str]]]) -> Callable[[str], int]:
    index = {method: g for g, (_, members) in enumerate(groups) for method in members}
    return lambda label: index.get(_method_of(label), 0)


def _groups_phrase(groups: list[tuple[str, list[str]]]) -> str:
    if len(groups) == 1:
        return ""
    return (f"; the methods in {len(groups)} columns of at most {MAX_LINES} lines: "
            + "; ".join(f"{title} ({', '.join(members)})" for title, members in groups))


def _bottom_row_labels(grid, keys: list[str], xlabel: str, ylabel: str) -> None:
    """With several groups, a row per key: x labels under the last row, y labels (and tick labels, the
    row shares its axis) on the first column only."""
    several = len(grid.groups) > 1
    for (key, g), ax in grid.axes.items():
        ax.set_xlabel(xlabel if not several or key == keys[-1] else "")
        ax.set_ylabel(ylabel if not several or g == 0 else "")
        if several and g:
            ax.tick_params(labelleft=False)


def _curves(rows, out_dir: Path, result: FigureResult, styles: Styles, key_of: Callable[[dict], str | None],
            ylabel: str, what: str, log: bool = False) -> FigureResult:
    """One panel per task and backbone (and group of methods, past MAX_LINES); one line per method of the
    seed-mean of a logged quantity."""
    series = [(r, key_of(r)) for r in rows if r["kind"] == "grid" and r.get("history")]
    series = [(r, k, mean_series(r["history"], k)) for r, k in series if k]
    series = [s for s in series if s[2]]
    if not series:
        return result
    keys = sorted({f"{r['task']} ({r['backbone']})" for r, _, _ in series})
    groups = styles.groups({r["method"] for r, _, _ in series})
    plt, grid = line_panels(keys, groups, max(len(members) for _, members in groups))
    for (key, g), ax in grid.axes.items():
        drawn = 0
        for r, _, points in series:
            if f"{r['task']} ({r['backbone']})" == key and r["method"] in groups[g][1]:
                ax.plot(*zip(*points), label=r["method"], linewidth=1.2, markersize=4,
                        markevery=max(1, len(points) // 8), **styles(r["method"]))
                result.styles[r["method"]] = styles.colour_marker(r["method"])
                drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, "none logged", ha="center", va="center", transform=ax.transAxes, color="#555555")
        ax.set(title=key, yscale="log" if log else "linear")
        if log:
            readable_log_axis(ax.yaxis)
    _bottom_row_labels(grid, keys, "training step", ylabel)
    group_legends(grid, _group_of(groups), _legend_order(styles))
    methods = {r["method"] for r, _, _ in series}
    tasks = {r["task"] for r, _, _ in series}
    caption = (f"{what}, mean over seeds, against the training step; one panel per task and backbone "
               f"({listing(keys)}), one line per method that logged it ({len(series)} lines in all; methods: "
               f"{listing(methods)}){_groups_phrase(groups)}.")
    return result.done(save(plt, grid.fig, out_dir, result.name), caption, tasks)


def prompt_norm(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("prompt_norm", "Average prompt norm over training steps", "seed 003 Fig. 2a, Fig. 11a",
                          reason="needs training records with prompt_norm (results/runs/**/train.json)")
    return _curves(rows, out_dir, result, styles, lambda r: "prompt_norm", "mean token norm",
                   "Average L2 norm of the prompt tokens (log scale)", log=True)


def learning_curves(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("learning_curves", "Training loss", "seed 004 Fig. 2a-b",
                          reason="needs training records (results/runs/**/train.json)")
    return _curves(rows, out_dir, result, styles, lambda r: "loss", "training loss", "Training loss (log scale)", log=True)


def validation_curves(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("validation_curves", "Validation score during training", "seed 003 Fig. 2b, seed 004 Fig. 2",
                          reason="needs training records with validation scores")
    return _curves(rows, out_dir, result, styles, lambda r: f"validation_{r['primary_metric']}", "validation score",
                   "Validation score (each task's primary metric)")


def _run_panels(runs: list[dict[str, Any]], styles: Styles) -> list[dict[str, Any]]:
    """Runs in reading order: a row per method (family order) and backbone, a column per task."""
    methods = styles.order({r["method"] for r in runs})
    return sorted(runs, key=lambda r: (methods.index(r["method"]), r["backbone"], r["task"]))


def _run_title(r: dict[str, Any]) -> str:
    return f"{r['method']}\n{r['task']} ({r['backbone']})"


def gate_weights(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("gate_weights", "Multi-space projection gate weights over steps", "seed 001 Fig. 8",
                          reason="needs ept_msp training records with gate_mean_* (projection on)")
    gated = [r for r in rows if r["kind"] == "grid" and any(k.startswith("gate_mean_") for h in r.get("history", {}).values()
                                                             for k in h)]
    if not gated:
        return result
    gated = _run_panels(gated, styles)
    columns = len({r["task"] for r in gated})
    plt, fig, axes = panels(len(gated), 2.1, 2.0, columns=min(5, columns), extra_width=1.0)
    for ax, r in zip(axes, gated):
        gates = sorted({k for h in r["history"].values() for k in h if k.startswith("gate_mean_")},
                       key=lambda k: int(k.removeprefix("gate_mean_")))
        for i, gate in enumerate(gates):
            ax.plot(*zip(*mean_series(r["history"], gate)), label=f"space {gate.removeprefix('gate_mean_')}",
                    linewidth=1.2, markersize=4, color=SEQUENCE_COLOURS[i % len(SEQUENCE_COLOURS)],
                    marker=SEQUENCE_MARKERS[i % len(SEQUENCE_MARKERS)])
        ax.set(title=_run_title(r), xlabel="training step", ylabel="mean gate weight")
    legend_outside(fig, axes, order=lambda labels: sorted(labels, key=lambda label: int(label.split()[-1])))
    caption = (f"Mean gate weight of each space of the multi-space projection, mean over seeds, against the training "
               f"step; one panel per run: {_runs(gated)}.")
    return result.done(save(plt, fig, out_dir, result.name), caption, [r["task"] for r in gated])


FIG8_TASKS = ("cola", "boolq", "cb", "rte")  # seed 001 Fig. 8: "on four datasets (i.e., CoLA, BoolQ, CB, and RTE)"


def gate_weights_per_token(rows, out_dir: Path, styles: Styles) -> FigureResult:
    """Seed 001 Fig. 8: the gate's weight of each space for each token of the learned short prompt."""
    result = FigureResult("gate_weights_per_token", "Multi-space projection gate weight per prompt token",
                          "seed 001 Fig. 8", reason="needs trained ept_msp states (projection on)")
    # the seed's own setting when it ran: a short prompt of 20 (knob runs) on its four tasks; else the grid's
    short_20 = [r for r in rows if r["kind"] == "knob" and r.get("gate_weights") and r["task"] in FIG8_TASKS
                and r["config"].get("short_length") == 20]
    gated = short_20 or [r for r in rows if r["kind"] == "grid" and r.get("gate_weights")]
    if not gated:
        return result
    gated = _run_panels(gated, styles)
    # the seed compares each trained gate with the gate at initialisation: that panel first, where recorded
    shown = [(r, stage) for r in gated for stage in (("initial", "trained") if r.get("initial_gate_weights")
                                                     else ("trained",))]
    per_run = 2 if any(stage == "initial" for _, stage in shown) else 1
    columns = per_run * len({r["task"] for r in gated})
    plt, fig, axes = panels(len(shown), 2.1, 1.9, columns=min(4 if per_run == 2 else 5, columns), extra_width=0.8)
    for ax, (r, stage) in zip(axes, shown):
        gates = r["initial_gate_weights"] if stage == "initial" else r["gate_weights"]
        image = ax.imshow([list(column) for column in zip(*gates)], vmin=0, vmax=1, aspect="auto",
                          cmap="viridis")  # spaces x tokens
        ax.set(title=f"{_run_title(r)}, {stage}" if per_run == 2 else _run_title(r), xlabel="prompt token",
               ylabel="space")
        integer_ticks(ax.xaxis)
        integer_ticks(ax.yaxis)
    fig.colorbar(image, ax=axes, shrink=0.8, label="gate weight")
    initial = [r for r in gated if r.get("initial_gate_weights")]
    caption = (f"The gate's weight of each space (rows) for each token of the short prompt (columns), first seed, "
               f"{'at initialisation and trained' if initial else 'trained'}; "
               f"{'two panels' if per_run == 2 else 'one panel'} per run: {_runs(gated)}"
               + (" (short prompt 20, the seed's)." if short_20 else " (the grid's short prompt; the seed's 20 has no "
                  "run here).")
               + ("" if len(initial) == len(gated) else " Runs without an initial panel recorded none (runs trained "
                  "before the training record kept it)."))
    return result.done(save(plt, fig, out_dir, result.name), caption, [r["task"] for r in gated])


def _fewshot_panels(by_task, averages) -> list[tuple[str, str, str, dict]]:
    """(key, y label, method -> k -> (mean, std)) per task, then per benchmark average (std 0: a mean of means)."""
    out = [(f"{task} ({backbone})", "test score", {m: points for m, points in lines.items()})
           for (backbone, task), lines in sorted(by_task.items())]
    out += [(f"{name} ({backbone})", f"mean test score, {name}", {m: {k: (v, 0.0) for k, v in points.items()}
                                                                   for m, points in means.items()})
            for backbone, name, _, means in averages]
    return out


def fewshot_curves(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("fewshot_curves", "k-shot score", "seed 001 Fig. 4a, seed 003 Table 3",
                          reason="needs k-shot runs (results/fewshot) at two or more k")
    few = [r for r in rows if r["kind"] == "fewshot" and primary_score(r) is not None]
    by_task = defaultdict(lambda: defaultdict(dict))  # (backbone, task) -> method -> k -> (mean, std)
    for r in few:
        summary = r["metrics"][r["primary_metric"]]
        by_task[(r["backbone"], r["task"])][r["method"]][r["k"]] = (summary["mean"], summary["std"] or 0.0)
    averages = []  # (backbone, benchmark, its average's name, method -> k -> mean over the benchmark's tasks)
    for backbone in sorted({b for b, _ in by_task}):
        for name, members, average in BENCHMARKS:
            means = {}
            for method in sorted({m for (b, t), lines in by_task.items() if b == backbone for m in lines}):
                ks = set.intersection(*(set(by_task.get((backbone, t), {}).get(method, {})) for t in members))
                if ks:
                    means[method] = {k: statistics.fmean(by_task[(backbone, t)][method][k][0] for t in members) for k in ks}
            if means:
                averages.append((backbone, name, average, means))
    if not by_task:
        return result
    shown = _fewshot_panels(by_task, averages)
    groups = styles.groups({m for _, _, lines in shown for m in lines})
    plt, grid = line_panels([key for key, _, _ in shown], groups, max(len(members) for _, members in groups) + 1,
                            width=3.2, height=2.4)
    benchmark_of = {f"{name} ({backbone})": (backbone, name, average) for backbone, name, average, _ in averages}
    group_of = _group_of(groups)
    overlaid = []
    for key, ylabel, lines in shown:
        for g, (_, members) in enumerate(groups):
            ax = grid.axes[(key, g)]
            for method in (m for m in members if m in lines):
                ks = sorted(lines[method])
                ax.errorbar(ks, [lines[method][k][0] for k in ks], yerr=[lines[method][k][1] for k in ks], capsize=2,
                            label=method, **styles(method))
                result.styles[method] = styles.colour_marker(method)
            drawn_ks = {k for points in lines.values() for k in points}
            if key in benchmark_of:  # each printed value in its method's group; a method we did not run: the first
                backbone, name, average = benchmark_of[key]
                printed = [p for p in printed_points(backbone, average) if p["variant"].startswith("k=")
                           and group_of(p["method"]) == g]
                for point in printed:
                    _paper_point(ax, int(point["variant"][2:]), point, styles, set(lines), result)
                if printed:
                    _paper_proxy(ax)
                    result.paper_points += len(printed)
                    overlaid.append(f"{name} on {backbone} (seed {_sources(printed)})")
                drawn_ks |= {int(p["variant"][2:]) for p in printed}
            ax.set_xscale("log")
            value_ticks(ax.xaxis, drawn_ks, log=True)
            ax.set(xlabel="k (training examples)", ylabel=ylabel, title=key)
    group_legends(grid, group_of, _legend_order(styles))
    members_of = {name: members for name, members, _ in BENCHMARKS}
    tasks = {t for _, t in by_task} | {t for _, name, _, _ in averages for t in members_of[name]}
    panel_names = listing("{1} ({0})".format(*key) for key in by_task)
    benchmark_names = listing("{1} ({0})".format(*entry) for entry in averages)
    caption = (f"k-shot test score (mean ± std over sampling seeds) against k; one panel per task: {panel_names}"
               + (f"; benchmark panels average their tasks at each k: {benchmark_names}" if averages else "")
               + (f"; hollow: the paper's printed k-shot averages, {'; '.join(dict.fromkeys(overlaid))}" if overlaid else "")
               + _groups_phrase(groups) + ".")
    return result.done(save(plt, grid.fig, out_dir, result.name), caption, tasks)


def prompt_similarity(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("prompt_similarity", "Cosine similarity between learned prompt tokens", "seed 003 Fig. 3")
    grid = [r for r in rows if r["kind"] == "grid"]
    tasks = sorted({r["task"] for r in grid if "matrix" in r.get("prompt_similarity", {})})
    if not tasks:
        reasons = sorted({f"{r['method']}: {r['prompt_similarity']['reason']}" for r in grid
                          if r.get("prompt_similarity", {}).get("reason")})
        result.reason = "no learned prompt states: " + ("; ".join(reasons[:5]) or "no runs")
        return result
    task = "boolq" if "boolq" in tasks else tasks[0]  # seed 003 shows BoolQ
    shown = [r for r in grid if r["task"] == task and "matrix" in r["prompt_similarity"]
             and len(r["prompt_similarity"]["matrix"]) > 1]
    skipped = [f"{r['method']}: {r['prompt_similarity'].get('reason', 'one-token prompt')}" for r in grid
               if r["task"] == task and r not in shown]
    if not shown:
        result.reason = f"{task}: every prompt has one token or none; " + "; ".join(skipped)
        return result
    shown = _run_panels(shown, styles)
    plt, fig, axes = panels(len(shown), 2.0, 2.2, columns=5, extra_width=0.8)
    for ax, r in zip(axes, shown):
        image = ax.imshow(r["prompt_similarity"]["matrix"], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set(title=f"{r['method']}\n({r['backbone']})", xlabel="token", ylabel="token")
        integer_ticks(ax.xaxis)
        integer_ticks(ax.yaxis)
    fig.colorbar(image, ax=axes, shrink=0.8, label="cosine similarity")
    fig.suptitle(f"{task}: cosine similarity between the tokens of each learned prompt")
    methods = listing("{method} ({backbone})".format(**r) for r in shown)
    caption = (f"Cosine similarity between the tokens of each learned prompt (first seed) on {task}; one panel per "
               f"method: {methods}.")
    result.done(save(plt, fig, out_dir, result.name), caption, [task])
    result.note = not_shown(skipped, "; ")
    return result


def superposition_similarity(rows, out_dir: Path, styles: Styles) -> FigureResult:
    """Seed 004 Fig. 2d: per task, the cosine similarity between the mixing weights p'_i of the learned prompt's
    tokens (SuperPos's superposition weights), one panel per task, on one backbone."""
    result = FigureResult("superposition_similarity", "Cosine similarity between SuperPos tokens' mixing weights",
                          "seed 004 Fig. 2d", reason="needs grid runs of superpos (their trained states)")
    mixed = [r for r in rows if r["kind"] == "grid" and (r.get("weight_similarity") or {}).get("matrix")
             and r.get("registered_method") == "superpos"]
    if not mixed:
        return result
    # the seed's own setting first: no dropout, no softmax (its main runs); then the most tasks, one backbone
    def rank(r):
        return (r["dropout"], bool(r["config"].get("softmax")), r["method"] != "superpos")
    best = min(mixed, key=rank)
    shown = sorted([r for r in mixed if (r["method"], r["backbone"]) == (best["method"], best["backbone"])],
                   key=lambda r: r["task"])
    plt, fig, axes = panels(len(shown), 2.0, 2.7, columns=5, extra_width=0.8)
    for ax, r in zip(axes, shown):
        image = ax.imshow(r["weight_similarity"]["matrix"], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set(title=r["task"], xlabel="token", ylabel="token")
        integer_ticks(ax.xaxis)
        integer_ticks(ax.yaxis)
    fig.colorbar(image, ax=axes, shrink=0.8, label="cosine similarity")
    fig.suptitle(f"{best['method']} ({best['backbone']}): similarity of the tokens' weights p'_i")
    caption = (f"Cosine similarity between the superposition weights p'_i of each pair of prompt tokens (first seed), "
               f"one panel per task: {best['method']} on {best['backbone']}"
               f"{', without dropout' if not best['dropout'] else ', with dropout'}.")
    result.done(save(plt, fig, out_dir, result.name), caption, [r["task"] for r in shown])
    others = sorted({f"{r['method']} ({r['backbone']})" for r in mixed} - {f"{best['method']} ({best['backbone']})"})
    result.note = not_shown(others)
    return result


def _count_phrase(counts: dict[str, dict[str, list[tuple]]], what: str) -> str:
    """Each method's ``what`` parameters over its points: whether each line holds its count (seed 001
    Fig. 4b holds 76,800 stored while s moves) or not, and the range."""
    per_method: dict[str, list[set]] = defaultdict(list)
    for lines in counts.values():
        for label, xy in lines.items():
            per_method[_method_of(label)].append({count for _, count in xy if count is not None})
    parts = []
    for method, lines in sorted(per_method.items()):
        values = set().union(*lines)
        if not values:
            continue
        low, high = f"{min(values):,}", f"{max(values):,}"
        if len(values) == 1:
            parts.append(f"{method} {low} at every point")
        elif all(len(line) == 1 for line in lines):
            parts.append(f"{method} constant along each line ({low} to {high} between lines)")
        else:
            parts.append(f"{method} not constant along its line ({low} to {high})")
    return (f"; {what} parameters: " + "; ".join(parts)) if parts else ""


def sweep_figures(rows, out_dir: Path, styles: Styles) -> list[FigureResult]:
    out = []
    for sweep in SWEEPS:
        result = FigureResult(sweep["name"], sweep["title"], sweep["mirrors"], reason=sweep["needs"])
        points = sweep_points(rows, sweep)
        times = sweep_points(rows, sweep, training_time) if sweep.get("time") else {}
        trainable = sweep_points(rows, sweep, lambda row: row.get("trainable_parameters"))
        stored = sweep_points(rows, sweep, lambda row: row.get("stored_parameters"))
        if points:
            keys = sorted(points)
            groups = styles.groups({_method_of(label) for lines in points.values() for label in lines})
            entries = max(len(members) for _, members in groups) * (2 if times else 1)
            plt, grid = line_panels(keys, groups, entries, width=3.2, height=2.4)
            log = sweep.get("xscale") == "log"
            for (panel, g), ax in grid.axes.items():
                members = groups[g][1]
                lines = {label: xy for label, xy in points[panel].items() if _method_of(label) in members}
                for label, xy in sorted(lines.items()):
                    method = _method_of(label)
                    ax.plot(*zip(*sorted(xy)), label=label, **styles(method))
                    result.styles[method] = styles.colour_marker(method)
                if log:
                    ax.set_xscale("log")
                value_ticks(ax.xaxis, [x for xy in lines.values() for x, _ in xy], log)
                ax.set(title=panel, xlabel=sweep["axis"], ylabel="test score")
                timed = {label: xy for label, xy in times.get(panel, {}).items() if _method_of(label) in members}
                if timed:  # seed 001 Fig. 4b: training time on a second axis, dashed and hollow
                    twin = ax.twinx()
                    for label, xy in sorted(timed.items()):
                        style = {**styles(_method_of(label)), "linestyle": "--"}
                        twin.plot(*zip(*sorted(xy)), label=f"{label}: training time", markerfacecolor="none", **style)
                    twin.set_ylabel("training time (s)")
            group_legends(grid, _group_of(groups), _legend_order(styles))
            tasks = {panel.split(" (")[0] for panel in points}
            n_points = sum(len(xy) for lines in points.values() for xy in lines.values())
            drawn = {_method_of(label) for lines in points.values() for label in lines}
            keys_varied = listing(sweep["knobs"][r.get("registered_method") or r["method"]] for r in rows
                                  if r["method"] in drawn and (r.get("registered_method") or r["method"]) in sweep["knobs"])
            caption = (f"Test score against the {sweep['axis']} (configuration: {keys_varied}) for runs that differ "
                       f"in it alone; one panel per task and backbone ({listing(points)}), {n_points} points"
                       + ("; dashed, hollow, right axis: each run's training seconds (mean over seeds)" if times else "")
                       + _count_phrase(trainable, "trainable")
                       + (_count_phrase(stored, "stored") if stored != trainable else "") + _groups_phrase(groups) + ".")
            result.done(save(plt, grid.fig, out_dir, result.name), caption, tasks)
        out.append(result)
    return out


def draw_all(rows: list[dict[str, Any]], out_dir: Path) -> list[FigureResult]:
    """Every figure, one method style map for all of them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = Styles({r["method"] for r in rows},
                    {r["method"]: r["registered_method"] for r in rows if r.get("registered_method")})
    return [params_vs_score(rows, out_dir, styles), fewshot_curves(rows, out_dir, styles),
            prompt_norm(rows, out_dir, styles), learning_curves(rows, out_dir, styles),
            validation_curves(rows, out_dir, styles), gate_weights(rows, out_dir, styles),
            gate_weights_per_token(rows, out_dir, styles), prompt_similarity(rows, out_dir, styles),
            superposition_similarity(rows, out_dir, styles), cross_task_similarity(rows, out_dir, styles),
            zero_shot_transfer(rows, out_dir, styles),
            *sweep_figures(rows, out_dir, styles)]
