"""The protocol figures (docs/protocols.md): the optimism gap per method, score against tuning budget, and the
efficiency frontier (parameters against the fair score, the Pareto front marked). Drawn from the selections of
report/protocols.py; a backbone that stands in for the papers' (report.stand_in) says so in the title."""
from __future__ import annotations

import statistics
from pathlib import Path

from ptbench.report.figure_style import FigureResult, Styles, legend_outside, listing, panels, readable_log_axis, save
from ptbench.report.protocols import Cell

MAX_BUDGET_PANELS = 8


def _stood(backbone: str, stand_in: dict[str, list[str]]) -> str:
    return f"{backbone} (stand-in)" if backbone in stand_in else backbone


def optimism_gap(found: list[Cell], out_dir: Path, styles: Styles, stand_in: dict[str, list[str]]) -> FigureResult:
    """Per backbone, per method: the paper protocol's score minus the fair one on each task (dots) and their
    mean (a bar)."""
    result = FigureResult("optimism_gap", "Optimism gap: the paper protocol's score minus the fair protocol's",
                          "issue 29 (beyond the seeds)", reason="needs cells both selections can read (grid runs "
                          "with a test curve: train.test_curve)")
    read = [c for c in found if c.gap is not None]
    if not read:
        return result
    backbones = sorted({c.backbone for c in read})
    plt, fig, axes = panels(len(backbones), 4.2, 0.32 * max(len({c.method for c in read}), 4) + 1.2, columns=2)
    for ax, backbone in zip(axes, backbones):
        mine = [c for c in read if c.backbone == backbone]
        methods = styles.order({c.method for c in mine})[::-1]
        for y, method in enumerate(methods):
            gaps = [c.gap for c in mine if c.method == method]
            colour = styles(method)["color"]
            ax.barh(y, statistics.fmean(gaps), color=colour, alpha=0.35, height=0.6)
            ax.scatter(gaps, [y] * len(gaps), color=colour, marker=styles(method)["marker"], s=18, zorder=3)
        ax.axvline(0, color="#444444", linewidth=0.8)
        ax.set_yticks(range(len(methods)), methods)
        ax.set(xlabel="paper - fair (points)", title=_stood(backbone, stand_in))
    tasks = sorted({c.task for c in read})
    caption = (f"Per method, the paper protocol's score minus the fair protocol's on each task (dots; {len(tasks)} "
               f"task{'s' if len(tasks) != 1 else ''}: {listing(tasks)}) and their mean (bar), read from the same runs "
               f"(results/tables/protocols.md); right of 0 the paper protocol reads higher.")
    return result.done(save(plt, fig, out_dir, result.name), caption, tasks)


def budget_curves(curves: dict[tuple[str, str, str], list[tuple[int, float]]], out_dir: Path, styles: Styles,
                  stand_in: dict[str, list[str]]) -> FigureResult:
    """Per (backbone, task): each method's expected fair score of the validation-chosen best of b trials."""
    result = FigureResult("budget_curves", "Score against tuning budget (equal trials per method)",
                          "issue 29 (beyond the seeds)", reason="needs every drawn trial of a method on a task "
                          "(params.yaml tuning: trial stages)")
    keys = sorted({(b, t) for b, _, t in curves})
    if not keys:
        return result
    shown = keys[:MAX_BUDGET_PANELS]
    plt, fig, axes = panels(len(shown), 2.8, 2.3, extra_width=1.6)
    for ax, (backbone, task) in zip(axes, shown):
        for method in styles.order({m for b, m, t in curves if (b, t) == (backbone, task)}):
            points = curves[(backbone, method, task)]
            ax.plot([b for b, _ in points], [v for _, v in points], label=method, **styles(method), markersize=4)
        ax.set_xscale("log", base=2)
        ax.set_xticks([b for b, _ in points], [str(b) for b, _ in points])
        ax.set(title=f"{task} ({_stood(backbone, stand_in)})", xlabel="trials", ylabel="expected fair score")
    legend_outside(fig, axes, order=styles.order)
    budget = max(b for points in curves.values() for b, _ in points)
    caption = (f"The expected test score of the validation-chosen best of b trials drawn from each method's {budget} "
               "equal-budget trials (exact over every draw without replacement; Dodge et al. 2019), mean over the "
               "comparison's common seeds. A method that only wins when tuned harder rises late.")
    result.done(save(plt, fig, out_dir, result.name), caption, [t for _, t in shown])
    result.note = f"not shown: {listing(f'{t} ({b})' for b, t in keys[len(shown):])}" if len(keys) > len(shown) else ""
    return result


def pareto(points: list[tuple[float, float, str]]) -> list[str]:
    """The names on the frontier of (cost, score, name): no other point costs no more and scores higher, or
    costs less and scores as high."""
    front = []
    for cost, score, name in points:
        beaten = any((c <= cost and s > score) or (c < cost and s >= score) for c, s, _ in points)
        if not beaten:
            front.append(name)
    return front


def frontier_points(found: list[Cell]) -> dict[str, list[tuple[float, float, str]]]:
    """Per backbone: (trainable parameters, mean fair score, method), both means over the tasks every plotted
    method has, of the runs the fair rule chose (a tuned knob such as superpos's m may change the count)."""
    out = {}
    for backbone in sorted({c.backbone for c in found}):
        mine = [c for c in found if c.backbone == backbone and c.fair is not None
                and c.fair.row.get("trainable_parameters")]
        per_method: dict[str, dict[str, Cell]] = {}
        for c in mine:
            per_method.setdefault(c.method, {})[c.task] = c
        if not per_method:
            continue
        common = sorted(set.intersection(*(set(tasks) for tasks in per_method.values())))
        if not common:
            continue
        out[backbone] = [(statistics.fmean(cells[t].fair.row["trainable_parameters"] for t in common),
                          statistics.fmean(cells[t].fair.score for t in common), method)
                         for method, cells in sorted(per_method.items())]
    return out


def efficiency_frontier(found: list[Cell], out_dir: Path, styles: Styles,
                        stand_in: dict[str, list[str]]) -> FigureResult:
    result = FigureResult("efficiency_frontier", "Efficiency frontier: trainable parameters against the fair score",
                          "issue 29 (beyond the seeds)", reason="needs fair selections with parameter counts")
    points = frontier_points(found)
    if not points:
        return result
    plt, fig, axes = panels(len(points), 3.6, 2.8, columns=2, extra_width=1.6)
    for ax, (backbone, mine) in zip(axes, points.items()):
        front = set(pareto(mine))
        for cost, score, method in mine:
            ax.scatter([cost], [score], label=method, color=styles(method)["color"], marker=styles(method)["marker"],
                       s=36 if method in front else 18, edgecolors="black" if method in front else "none")
        line = sorted((c, s) for c, s, m in mine if m in front)
        ax.plot([c for c, _ in line], [s for _, s in line], color="#444444", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        readable_log_axis(ax.xaxis)
        ax.set(title=_stood(backbone, stand_in), xlabel="trainable parameters", ylabel="mean fair score")
    legend_outside(fig, axes, order=styles.order)
    caption = ("Each method's trainable parameters against its mean fair score over the tasks every method shown "
               "has (outlined and joined: the Pareto front, where nothing trains fewer parameters and scores higher). "
               "The other costs (stored parameters, peak memory, time to the chosen checkpoint, the tokens a prompt "
               "adds to every input) are in results/tables/efficiency.csv.")
    return result.done(save(plt, fig, out_dir, result.name), caption, sorted({c.task for c in found}))
