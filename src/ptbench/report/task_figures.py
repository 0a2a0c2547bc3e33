"""Seed 003 Fig. 10's two task x task figures: how alike the prompts EPT* learned on each task are (left), and
how each task's prompt scores, unchanged, on the other tasks (right; the ``zeroshot`` stage's rows)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ptbench.report.figure_style import FigureResult, Styles, listing, not_shown, panels, save
from ptbench.report.sweeps import primary_score


def _task_by_task(tasks: list[str], matrix, scale: tuple[float, float, str], label: str, title: str,
                  axis_labels: tuple[str, str] | None = None):
    """One heatmap of a task x task matrix (seed 003 Fig. 10's two panels): ``scale`` is (vmin, vmax, colour map)."""
    plt, fig, axes = panels(1, 0.45 * len(tasks) + 2.2, 0.45 * len(tasks) + 1.8, columns=1, extra_width=0.8)
    vmin, vmax, cmap = scale
    image = axes[0].imshow(matrix, vmin=vmin, vmax=vmax, cmap=cmap)
    axes[0].set_xticks(range(len(tasks)), tasks, rotation=90)
    axes[0].set_yticks(range(len(tasks)), tasks)
    if axis_labels:
        axes[0].set(xlabel=axis_labels[0], ylabel=axis_labels[1])
    fig.colorbar(image, ax=axes, shrink=0.8, label=label)
    fig.suptitle(title)
    return plt, fig


def cross_task_matrix(rows) -> tuple[str, list[str], list[list[float]], list[str]] | None:
    """(backbone, tasks, their cosine similarity matrix, backbones not shown) of EPT*'s grid prompts, each as its
    mean token, on t5-base when it has two tasks or more, else the backbone with the most; None: no such backbone."""
    per_backbone = defaultdict(dict)
    for r in rows:
        if r["kind"] == "grid" and r["method"] == "ept_star" and r.get("prompt_mean"):
            per_backbone[r["backbone"]].setdefault(r["task"], r["prompt_mean"])
    wide_enough = {b: tasks for b, tasks in per_backbone.items() if len(tasks) > 1}
    if not wide_enough:
        return None
    backbone = "t5-base" if "t5-base" in wide_enough else max(sorted(wide_enough), key=lambda b: len(wide_enough[b]))
    tasks = sorted(wide_enough[backbone])
    vectors = np.asarray([wide_enough[backbone][t] for t in tasks], dtype=float)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return backbone, tasks, (unit @ unit.T).tolist(), sorted(set(wide_enough) - {backbone})


def cross_task_similarity(rows, out_dir: Path, styles: Styles) -> FigureResult:
    """Seed 003 Fig. 10 (left): the cosine similarity between tasks of the prompts EPT* learned on them, each
    prompt as its mean token (EPT*'s tokens are one prompt broadcast: the mean is that prompt), one backbone."""
    result = FigureResult("cross_task_similarity", "Cosine similarity between the prompts learned on each task",
                          "seed 003 Fig. 10 (left)", reason="needs grid runs of ept_star on two tasks or more "
                          "(their trained states)")
    found = cross_task_matrix(rows)
    if found is None:
        return result
    backbone, tasks, matrix, others = found
    plt, fig = _task_by_task(tasks, matrix, (-1, 1, "RdBu_r"), "cosine similarity",
                             f"ept_star ({backbone}): similarity between tasks' prompts")
    caption = (f"Cosine similarity between the prompts EPT* learned on each pair of tasks (first seed; each prompt "
               f"as its mean token) on {backbone}, {len(tasks)} tasks. The seed's right panel is the zero-shot "
               f"transfer figure.")
    result.done(save(plt, fig, out_dir, result.name), caption, tasks)
    result.note = not_shown(others)
    return result


def zero_shot_matrix(rows) -> tuple[str, str, list[str], list[list[float | None]], list[str]] | None:
    """(method, backbone, tasks, ratio[source][target], not shown) of the zero-shot rows: the score of the state
    trained on ``source`` on ``target``'s test split over the target's own grid run's score (1 on the diagonal);
    EPT* on t5-base first, else the (method, backbone) with the most tasks; None without zero-shot rows."""
    zero = [r for r in rows if r["kind"] == "zeroshot" and r.get("source_task") and primary_score(r) is not None]
    if not zero:
        return None
    groups = sorted({(r["method"], r["backbone"]) for r in zero},
                    key=lambda g: (g != ("ept_star", "t5-base"), -sum((r["method"], r["backbone"]) == g for r in zero), g))
    method, backbone = groups[0]
    own = {r["task"]: primary_score(r) for r in rows if r["kind"] == "grid" and (r["method"], r["backbone"]) == groups[0]
           and primary_score(r) is not None}
    shown = [r for r in zero if (r["method"], r["backbone"]) == groups[0]]
    tasks = sorted(set(own) | {r["task"] for r in shown} | {r["source_task"] for r in shown})
    ratio = {(r["source_task"], r["task"]): primary_score(r) / own[r["task"]] if own.get(r["task"]) else None
             for r in shown}
    matrix = [[1.0 if s == t and own.get(t) else ratio.get((s, t)) for t in tasks] for s in tasks]
    return method, backbone, tasks, matrix, [f"{m} ({b})" for m, b in groups[1:]]


def zero_shot_transfer(rows, out_dir: Path, styles: Styles) -> FigureResult:
    """Seed 003 Fig. 10 (right): each task's prompt scored on the other tasks, as a share of their own score."""
    result = FigureResult("zero_shot_transfer", "Zero-shot transfer of each task's prompt to the other tasks",
                          "seed 003 Fig. 10 (right)", reason="needs zero_shot runs (params.yaml zero_shot: the "
                          "grid's states scored on the other tasks)")
    found = zero_shot_matrix(rows)
    if found is None:
        return result
    method, backbone, tasks, matrix, others = found
    shown = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    plt, fig = _task_by_task(tasks, shown, (0, 1, "viridis"), "share of the target's own score",
                             f"{method} ({backbone}): zero-shot transfer",
                             ("target task (scored on)", "source task (prompt trained on)"))
    above = int(np.nansum(shown > 1))
    blank = [t for i, t in enumerate(tasks) if matrix[i][i] is None]  # no own score to divide by
    caption = (f"The {method} state trained on each source task (rows) scored, unchanged, on each target task's test "
               f"split (columns), as a share of the target's own {method} score (mean over seeds; 1 on the diagonal; "
               f"the colour scale stops at 1{f', which {above} transfers exceed' if above else ''}) on {backbone}, "
               f"{len(tasks)} tasks."
               + (f" Blank columns: {listing(blank)}, whose own score is 0 or missing (no share)." if blank else ""))
    result.done(save(plt, fig, out_dir, result.name), caption, tasks)
    result.note = not_shown(others)
    return result
