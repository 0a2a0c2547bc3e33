"""Figures (PNG + PDF) drawn only from data that exists: each returns what it drew or what it needs.

A figure with no data is not drawn and its ``FigureResult.reason`` says which runs would draw it;
the report page lists them. Nothing is ever filled in from the papers or made up.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptbench.report.sweeps import SWEEPS, sweep_points, training_time


@dataclass
class FigureResult:
    name: str
    title: str
    mirrors: str  # the seed figure it corresponds to
    files: list[Path] = field(default_factory=list)
    reason: str = ""  # why it was not drawn: the runs it needs

    @property
    def drawn(self) -> bool:
        return bool(self.files)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display in a pipeline
    import matplotlib.pyplot as plt

    return plt


def _panels(n: int, width: float = 3.6, height: float = 2.8):
    plt = _pyplot()
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:n])


def _save(plt, fig, out_dir: Path, name: str) -> list[Path]:
    files = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in files:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return files


def _label(row: dict[str, Any], many_backbones: bool) -> str:
    return f"{row['method']} ({row['backbone']})" if many_backbones else row["method"]


def mean_series(history: dict[str, dict[str, list]], key: str) -> list[tuple[float, float]]:
    """A logged quantity averaged over seeds at the steps every seed logged."""
    per_seed = [dict(map(tuple, h[key])) for h in history.values() if key in h]
    if not per_seed:
        return []
    steps = sorted(set.intersection(*(set(s) for s in per_seed)))
    return [(step, statistics.fmean(s[step] for s in per_seed)) for step in steps]


def params_vs_score(rows, out_dir: Path) -> FigureResult:
    result = FigureResult("params_vs_score", "Trainable parameters vs average score", "seed 001 Fig. 1, seed 003 Fig. 1")
    grid = [r for r in rows if r["kind"] == "grid"]
    backbones = sorted({r["backbone"] for r in grid})
    if not backbones:
        result.reason = "needs evaluated runs (results/metrics)"
        return result
    plt, fig, axes = _panels(len(backbones), 4.5, 3.5)
    for ax, backbone in zip(axes, backbones):
        by_method = defaultdict(dict)
        for r in grid:
            if r["backbone"] == backbone and r["metrics"].get(r["primary_metric"], {}).get("mean") is not None:
                by_method[r["method"]][r["task"]] = (r["metrics"][r["primary_metric"]]["mean"], r["trainable_parameters"])
        tasks = set.intersection(*(set(t) for t in by_method.values())) if by_method else set()
        for method, scores in sorted(by_method.items()) if tasks else []:
            ax.scatter(next(iter(scores.values()))[1], statistics.fmean(scores[t][0] for t in tasks), label=method)
        ax.set(xscale="log", xlabel="trainable parameters", ylabel=f"mean over {len(tasks)} tasks", title=backbone)
        ax.legend(fontsize=6)
    result.files = _save(plt, fig, out_dir, result.name)
    return result


def _curves(rows, out_dir: Path, result: FigureResult, key_of: Callable[[dict], str | None], ylabel: str,
            log: bool = False) -> FigureResult:
    """One panel per task; one line per (method, backbone) of the seed-mean of a logged quantity."""
    series = [(r, key_of(r)) for r in rows if r["kind"] == "grid" and r.get("history")]
    series = [(r, k, mean_series(r["history"], k)) for r, k in series if k]
    series = [s for s in series if s[2]]
    if not series:
        return result
    tasks = sorted({r["task"] for r, _, _ in series})
    many = len({r["backbone"] for r, _, _ in series}) > 1
    plt, fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks):
        for r, _, points in series:
            if r["task"] == task:
                ax.plot(*zip(*points), label=_label(r, many), linewidth=1)
        ax.set(title=task, xlabel="step", ylabel=ylabel, yscale="log" if log else "linear")
        ax.legend(fontsize=5)
    result.files = _save(plt, fig, out_dir, result.name)
    return result


def prompt_norm(rows, out_dir: Path) -> FigureResult:
    result = FigureResult("prompt_norm", "Average prompt norm over training steps", "seed 003 Fig. 2a, Fig. 11a",
                          reason="needs training records with prompt_norm (results/runs/**/train.json)")
    return _curves(rows, out_dir, result, lambda r: "prompt_norm", "mean token norm", log=True)


def learning_curves(rows, out_dir: Path) -> FigureResult:
    result = FigureResult("learning_curves", "Training loss", "seed 004 Fig. 2a-b",
                          reason="needs training records (results/runs/**/train.json)")
    return _curves(rows, out_dir, result, lambda r: "loss", "training loss", log=True)


def validation_curves(rows, out_dir: Path) -> FigureResult:
    result = FigureResult("validation_curves", "Validation score during training", "seed 003 Fig. 2b, seed 004 Fig. 2",
                          reason="needs training records with validation scores")
    return _curves(rows, out_dir, result, lambda r: f"validation_{r['primary_metric']}", "validation score")


def gate_weights(rows, out_dir: Path) -> FigureResult:
    result = FigureResult("gate_weights", "Multi-space projection gate weights over steps", "seed 001 Fig. 8",
                          reason="needs ept_msp training records with gate_mean_* (projection on)")
    gated = [r for r in rows if r["kind"] == "grid" and any(k.startswith("gate_mean_") for h in r.get("history", {}).values()
                                                             for k in h)]
    if not gated:
        return result
    plt, fig, axes = _panels(len(gated))
    for ax, r in zip(axes, gated):
        gates = sorted({k for h in r["history"].values() for k in h if k.startswith("gate_mean_")})
        for gate in gates:
            ax.plot(*zip(*mean_series(r["history"], gate)), label=gate.removeprefix("gate_mean_"), linewidth=1)
        ax.set(title=f"{r['method']} {r['task']} ({r['backbone']})", xlabel="step", ylabel="mean gate weight")
        ax.legend(fontsize=5, title="space", title_fontsize=6)
    result.files = _save(plt, fig, out_dir, result.name)
    return result


def gate_weights_per_token(rows, out_dir: Path) -> FigureResult:
    """Seed 001 Fig. 8: the gate's weight of each space for each token of the learned short prompt."""
    result = FigureResult("gate_weights_per_token", "Multi-space projection gate weight per prompt token",
                          "seed 001 Fig. 8", reason="needs trained ept_msp states (projection on)")
    gated = [r for r in rows if r["kind"] == "grid" and r.get("gate_weights")]
    if not gated:
        return result
    plt, fig, axes = _panels(len(gated), 4.2, 2.4)
    for ax, r in zip(axes, gated):
        image = ax.imshow([list(column) for column in zip(*r["gate_weights"])], vmin=0, vmax=1, aspect="auto",
                          cmap="viridis")  # spaces x tokens
        ax.set(title=f"{r['method']} {r['task']} ({r['backbone']})", xlabel="prompt token", ylabel="space")
    fig.colorbar(image, ax=axes, shrink=0.8, label="gate weight")
    result.files = _save(plt, fig, out_dir, result.name)
    result.reason = ""
    return result


def fewshot_curves(rows, out_dir: Path) -> FigureResult:
    result = FigureResult("fewshot_curves", "k-shot score", "seed 001 Fig. 4a, seed 003 Table 3",
                          reason="needs k-shot runs (results/fewshot) at two or more k")
    few = [r for r in rows if r["kind"] == "fewshot" and r["metrics"].get(r["primary_metric"], {}).get("mean") is not None]
    panels = sorted({(r["backbone"], r["task"]) for r in few})
    if not panels:
        return result
    plt, fig, axes = _panels(len(panels))
    for ax, (backbone, task) in zip(axes, panels):
        lines = defaultdict(list)
        for r in few:
            if (r["backbone"], r["task"]) == (backbone, task):
                summary = r["metrics"][r["primary_metric"]]
                lines[r["method"]].append((r["k"], summary["mean"], summary["std"] or 0.0))
        for method, points in sorted(lines.items()):
            ks, means, stds = zip(*sorted(points))
            ax.errorbar(ks, means, yerr=stds, marker="o", capsize=2, label=method)
        ax.set(xscale="log", xlabel="k (training examples)", ylabel="test score", title=f"{task} ({backbone})")
        ax.legend(fontsize=6)
    result.files = _save(plt, fig, out_dir, result.name)
    return result


def prompt_similarity(rows, out_dir: Path) -> FigureResult:
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
    plt, fig, axes = _panels(len(shown), 3.0, 2.8)
    for ax, r in zip(axes, shown):
        image = ax.imshow(r["prompt_similarity"]["matrix"], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set(title=f"{r['method']} ({r['backbone']})", xlabel="token", ylabel="token")
    fig.colorbar(image, ax=axes, shrink=0.8)
    plt.suptitle(f"{task}", fontsize=9)
    result.files = _save(plt, fig, out_dir, result.name)
    result.reason = ("not shown: " + "; ".join(skipped)) if skipped else ""
    return result


def sweep_figures(rows, out_dir: Path) -> list[FigureResult]:
    out = []
    for sweep in SWEEPS:
        result = FigureResult(sweep["name"], sweep["title"], sweep["mirrors"], reason=sweep["needs"])
        points = sweep_points(rows, sweep)
        times = sweep_points(rows, sweep, training_time) if sweep.get("time") else {}
        if points:
            plt, fig, axes = _panels(len(points))
            for ax, (panel, lines) in zip(axes, sorted(points.items())):
                for label, xy in sorted(lines.items()):
                    ax.plot(*zip(*sorted(xy)), marker="o", label=label)
                ax.set(title=panel, xlabel=sweep["knob"], ylabel="test score", xscale=sweep.get("xscale", "linear"))
                ax.legend(fontsize=6)
                if times.get(panel):  # seed 001 Fig. 4b: training time on a second axis, dashed
                    twin = ax.twinx()
                    for label, xy in sorted(times[panel].items()):
                        twin.plot(*zip(*sorted(xy)), linestyle="--", marker="x", label=f"{label} time")
                    twin.set_ylabel("training time (s)")
            result.files = _save(plt, fig, out_dir, result.name)
        out.append(result)
    return out


def draw_all(rows: list[dict[str, Any]], out_dir: Path) -> list[FigureResult]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [params_vs_score(rows, out_dir), fewshot_curves(rows, out_dir), prompt_norm(rows, out_dir),
            learning_curves(rows, out_dir), validation_curves(rows, out_dir), gate_weights(rows, out_dir),
            gate_weights_per_token(rows, out_dir),
            prompt_similarity(rows, out_dir), *sweep_figures(rows, out_dir)]
