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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ptbench.report.figure_style import FigureResult, Styles, legend_outside, listing, panels, save
from ptbench.report.layouts import GLUE_003, SUPERGLUE_003
from ptbench.report.paper import parse_count, printed_points
from ptbench.report.sweeps import SWEEPS, primary_score, sweep_points, training_time

__all__ = ["FigureResult", "draw_all", "mean_series"]

# A benchmark panel: its name, its tasks, the papers' name for its average.
BENCHMARKS = (("GLUE", frozenset(t for t, _ in GLUE_003), "glue_avg"),
              ("SuperGLUE", frozenset(t for t, _ in SUPERGLUE_003), "superglue_avg"))
PAPER_MARK = {"facecolors": "none", "s": 45, "linewidths": 1.2}  # hollow: the paper's printed value


def _label(row: dict[str, Any], many_backbones: bool) -> str:
    return f"{row['method']} ({row['backbone']})" if many_backbones else row["method"]


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
    ax.scatter([], [], color="#555555", marker="o", label="hollow: the paper's printed value", **PAPER_MARK)


def _paper_point(ax, x: float, point: dict[str, str], styles: Styles, ours: set[str], result: FigureResult) -> None:
    """One printed value, hollow, in its method's colour and marker; a method we did not run gets its own
    legend entry."""
    colour, marker = styles.colour_marker(point["method"])
    result.styles[point["method"]] = (colour, marker)
    ax.scatter(x, float(point["value"]), edgecolors=colour, marker=marker,
               label=None if point["method"] in ours else f"{point['method']} (paper only)", **PAPER_MARK)


def _k_axis(ax, ks) -> None:
    """A log k axis labelled at the k values drawn."""
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(ks), [str(k) for k in sorted(ks)])


def _panels_of(scores: dict[str, dict[str, float]]) -> list[tuple[str, frozenset, str | None, list[str]]]:
    """(name, tasks, papers' average, methods) per benchmark some method ran in full; else one panel
    of the tasks every method ran."""
    out = [(name, tasks, average, sorted(m for m, s in scores.items() if tasks <= set(s)))
           for name, tasks, average in BENCHMARKS]
    out = [panel for panel in out if panel[3]]
    common = frozenset.intersection(*(frozenset(s) for s in scores.values())) if scores else frozenset()
    return out or ([("tasks every method ran", common, None, sorted(scores))] if common else [])


def params_vs_score(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("params_vs_score", "Trainable parameters vs average score", "seed 001 Fig. 1, seed 003 Fig. 1",
                          reason="needs evaluated runs (results/metrics)")
    scores: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    params: dict[tuple[str, str], int] = {}
    for r in rows:
        if r["kind"] == "grid" and primary_score(r) is not None:
            scores[r["backbone"]][r["method"]][r["task"]] = primary_score(r)
            params[(r["backbone"], r["method"])] = r["trainable_parameters"]
    plotted = [(backbone, panel) for backbone in sorted(scores) for panel in _panels_of(scores[backbone])]
    if not plotted:
        return result
    plt, fig, axes = panels(len(plotted), 4.0, 3.2)
    tasks, parts = set(), []
    for ax, (backbone, (name, members, average, methods)) in zip(axes, plotted):
        for method in methods:
            ax.scatter(params[(backbone, method)], statistics.fmean(scores[backbone][method][t] for t in members),
                       label=method, **{k: v for k, v in styles(method).items() if k != "linestyle"})
            result.styles[method] = styles.colour_marker(method)
        printed = [p for p in printed_points(backbone, average) if not p["variant"] and parse_count(p["params"])] \
            if average else []
        for point in printed:
            _paper_point(ax, parse_count(point["params"]), point, styles, set(methods), result)
        if printed:
            _paper_proxy(ax)
            result.paper_points += len(printed)
        ax.set(xscale="log", xlabel="trainable parameters", ylabel=f"mean score, {name} ({len(members)} tasks)",
               title=f"{backbone}: {name}")
        tasks |= members
        source = f"; hollow: seed {_sources(printed)}'s printed {average}" if printed else ""
        parts.append(f"{backbone}, {name} ({listing(members)}): {len(methods)} methods{source}")
    legend_outside(fig, axes)
    caption = ("Each method's trainable parameters (log scale) against its test score averaged over a panel's tasks "
               "(mean over seeds). " + "; ".join(parts) + ".")
    return result.done(save(plt, fig, out_dir, result.name), caption, tasks)


def _curves(rows, out_dir: Path, result: FigureResult, styles: Styles, key_of: Callable[[dict], str | None],
            ylabel: str, what: str, log: bool = False) -> FigureResult:
    """One panel per task; one line per (method, backbone) of the seed-mean of a logged quantity."""
    series = [(r, key_of(r)) for r in rows if r["kind"] == "grid" and r.get("history")]
    series = [(r, k, mean_series(r["history"], k)) for r, k in series if k]
    series = [s for s in series if s[2]]
    if not series:
        return result
    tasks = sorted({r["task"] for r, _, _ in series})
    many = len({r["backbone"] for r, _, _ in series}) > 1
    plt, fig, axes = panels(len(tasks))
    for ax, task in zip(axes, tasks):
        for r, _, points in series:
            if r["task"] == task:
                style = styles(r["method"], r["backbone"])
                ax.plot(*zip(*points), label=_label(r, many), linewidth=1, markersize=3,
                        markevery=max(1, len(points) // 8), **style)
                result.styles[r["method"]] = styles.colour_marker(r["method"])
        ax.set(title=task, xlabel="training step", ylabel=ylabel, yscale="log" if log else "linear")
    legend_outside(fig, axes)
    methods = {r["method"] for r, _, _ in series}
    caption = (f"{what}, mean over seeds, against the training step; one panel per task ({listing(tasks)}), one line "
               f"per method{' and backbone' if many else ''} that logged it ({len(series)} lines in all; methods: "
               f"{listing(methods)}).")
    return result.done(save(plt, fig, out_dir, result.name), caption, tasks)


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


def gate_weights(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("gate_weights", "Multi-space projection gate weights over steps", "seed 001 Fig. 8",
                          reason="needs ept_msp training records with gate_mean_* (projection on)")
    gated = [r for r in rows if r["kind"] == "grid" and any(k.startswith("gate_mean_") for h in r.get("history", {}).values()
                                                             for k in h)]
    if not gated:
        return result
    plt, fig, axes = panels(len(gated))
    gate_styles = Styles(sorted({k for r in gated for h in r["history"].values() for k in h if k.startswith("gate_mean_")}))
    for ax, r in zip(axes, gated):
        gates = sorted({k for h in r["history"].values() for k in h if k.startswith("gate_mean_")})
        for gate in gates:
            ax.plot(*zip(*mean_series(r["history"], gate)), label=f"space {gate.removeprefix('gate_mean_')}",
                    linewidth=1, markersize=3, **gate_styles(gate))
        ax.set(title=f"{r['method']} {r['task']} ({r['backbone']})", xlabel="training step", ylabel="mean gate weight")
    legend_outside(fig, axes)
    caption = (f"Mean gate weight of each space of the multi-space projection, mean over seeds, against the training "
               f"step; one panel per run: {_runs(gated)}.")
    return result.done(save(plt, fig, out_dir, result.name), caption, [r["task"] for r in gated])


def gate_weights_per_token(rows, out_dir: Path, styles: Styles) -> FigureResult:
    """Seed 001 Fig. 8: the gate's weight of each space for each token of the learned short prompt."""
    result = FigureResult("gate_weights_per_token", "Multi-space projection gate weight per prompt token",
                          "seed 001 Fig. 8", reason="needs trained ept_msp states (projection on)")
    gated = [r for r in rows if r["kind"] == "grid" and r.get("gate_weights")]
    if not gated:
        return result
    plt, fig, axes = panels(len(gated), 4.2, 2.4)
    for ax, r in zip(axes, gated):
        image = ax.imshow([list(column) for column in zip(*r["gate_weights"])], vmin=0, vmax=1, aspect="auto",
                          cmap="viridis")  # spaces x tokens
        ax.set(title=f"{r['method']} {r['task']} ({r['backbone']})", xlabel="prompt token", ylabel="space")
    fig.colorbar(image, ax=axes, shrink=0.8, label="gate weight")
    caption = (f"The trained gate's weight of each space (rows) for each token of the short prompt (columns), first "
               f"seed; one panel per run: {_runs(gated)}.")
    return result.done(save(plt, fig, out_dir, result.name), caption, [r["task"] for r in gated])


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
    n = len(by_task) + len(averages)
    plt, fig, axes = panels(n)
    for ax, ((backbone, task), lines) in zip(axes, sorted(by_task.items())):
        for method, points in sorted(lines.items()):
            ks = sorted(points)
            ax.errorbar(ks, [points[k][0] for k in ks], yerr=[points[k][1] for k in ks], capsize=2, label=method,
                        **styles(method))
            result.styles[method] = styles.colour_marker(method)
        _k_axis(ax, {k for points in lines.values() for k in points})
        ax.set(xlabel="k (training examples)", ylabel="test score", title=f"{task} ({backbone})")
    overlaid = []
    for ax, (backbone, name, average, means) in zip(axes[len(by_task):], averages):
        for method, points in sorted(means.items()):
            ks = sorted(points)
            ax.plot(ks, [points[k] for k in ks], label=method, **styles(method))
        printed = [p for p in printed_points(backbone, average) if p["variant"].startswith("k=")]
        for point in printed:
            _paper_point(ax, int(point["variant"][2:]), point, styles, set(means), result)
        if printed:
            _paper_proxy(ax)
            result.paper_points += len(printed)
            overlaid.append(f"{name} on {backbone} (seed {_sources(printed)})")
        _k_axis(ax, {k for points in means.values() for k in points} | {int(p["variant"][2:]) for p in printed})
        ax.set(xlabel="k (training examples)", ylabel=f"mean test score, {name}", title=f"{name} ({backbone})")
    legend_outside(fig, axes)
    members_of = {name: members for name, members, _ in BENCHMARKS}
    tasks = {t for _, t in by_task} | {t for _, name, _, _ in averages for t in members_of[name]}
    panel_names = listing("{1} ({0})".format(*key) for key in by_task)
    benchmark_names = listing("{1} ({0})".format(*entry) for entry in averages)
    caption = (f"k-shot test score (mean ± std over sampling seeds) against k; one panel per task: {panel_names}"
               + (f"; benchmark panels average their tasks at each k: {benchmark_names}" if averages else "")
               + (f"; hollow: the paper's printed k-shot averages, {'; '.join(overlaid)}" if overlaid else "") + ".")
    return result.done(save(plt, fig, out_dir, result.name), caption, tasks)


def prompt_similarity(rows, out_dir: Path, styles: Styles) -> FigureResult:
    result = FigureResult("prompt_similarity", "Cosine similarity between learned prompt tokens", "seed 003 Fig. 3")
    grid = [r for r in rows if r["kind"] == "grid"]
    tasks = sorted({r["task"] for r in grid if "matrix" in r.get("prompt_similarity", {})})
    if not tasks:
        reasons = sorted({r.get("prompt_similarity", {}).get("reason", "") for r in grid} - {""})
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
    plt, fig, axes = panels(len(shown), 3.0, 2.8)
    for ax, r in zip(axes, shown):
        image = ax.imshow(r["prompt_similarity"]["matrix"], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set(title=f"{r['method']} ({r['backbone']})", xlabel="token", ylabel="token")
    fig.colorbar(image, ax=axes, shrink=0.8)
    fig.suptitle(task, fontsize=9)
    methods = listing("{method} ({backbone})".format(**r) for r in shown)
    caption = (f"Cosine similarity between the tokens of each learned prompt (first seed) on {task}; one panel per "
               f"method: {methods}.")
    result.done(save(plt, fig, out_dir, result.name), caption, [task])
    result.note = ("not shown: " + "; ".join(skipped)) if skipped else ""
    return result


def sweep_figures(rows, out_dir: Path, styles: Styles) -> list[FigureResult]:
    out = []
    for sweep in SWEEPS:
        result = FigureResult(sweep["name"], sweep["title"], sweep["mirrors"], reason=sweep["needs"])
        points = sweep_points(rows, sweep)
        times = sweep_points(rows, sweep, training_time) if sweep.get("time") else {}
        if points:
            plt, fig, axes = panels(len(points))
            for ax, (panel, lines) in zip(axes, sorted(points.items())):
                for label, xy in sorted(lines.items()):
                    method = label.split(" #")[0]
                    ax.plot(*zip(*sorted(xy)), label=label, **styles(method))
                    result.styles[method] = styles.colour_marker(method)
                ax.set(title=panel, xlabel=sweep["knob"], ylabel="test score", xscale=sweep.get("xscale", "linear"))
                if times.get(panel):  # seed 001 Fig. 4b: training time on a second axis, dashed and hollow
                    twin = ax.twinx()
                    for label, xy in sorted(times[panel].items()):
                        style = {**styles(label.split(" #")[0]), "linestyle": "--"}
                        twin.plot(*zip(*sorted(xy)), label=f"{label}: training time", markerfacecolor="none", **style)
                    twin.set_ylabel("training time (s)")
            legend_outside(fig, axes)
            tasks = {panel.split(" (")[0] for panel in points}
            n_points = sum(len(xy) for lines in points.values() for xy in lines.values())
            caption = (f"Test score against {sweep['knob']} for runs that differ in it alone; one panel per task and "
                       f"backbone ({listing(points)}), {n_points} points"
                       + ("; dashed, hollow, right axis: each run's training seconds (mean over seeds)" if times else "")
                       + ".")
            result.done(save(plt, fig, out_dir, result.name), caption, tasks)
        out.append(result)
    return out


def draw_all(rows: list[dict[str, Any]], out_dir: Path) -> list[FigureResult]:
    """Every figure, one method style map for all of them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = Styles({r["method"] for r in rows}, {r["backbone"] for r in rows})
    return [params_vs_score(rows, out_dir, styles), fewshot_curves(rows, out_dir, styles),
            prompt_norm(rows, out_dir, styles), learning_curves(rows, out_dir, styles),
            validation_curves(rows, out_dir, styles), gate_weights(rows, out_dir, styles),
            gate_weights_per_token(rows, out_dir, styles), prompt_similarity(rows, out_dir, styles),
            *sweep_figures(rows, out_dir, styles)]
