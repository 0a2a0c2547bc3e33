"""Figures (PNG + PDF): parameter count vs average score (seed 001 Fig. 1) and learning curves."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on CI or the cluster
    import matplotlib.pyplot as plt

    return plt


def params_vs_score(summary: pd.DataFrame, tasks: list[str], out_base: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method, group in summary.groupby("method"):
        if set(group["task"]) >= set(tasks):
            ax.scatter(group["trainable_parameters"].iloc[0], group["mean"].mean(), label=method)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel(f"average score ({', '.join(tasks)})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    for suffix in (".png", ".pdf"):
        fig.savefig(out_base.with_suffix(suffix))
    plt.close(fig)


def learning_curves(runs_dir: Path, out_base: Path) -> None:
    """Training loss per (method, task, seed) from each run's train.json history."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for path in sorted(runs_dir.glob("*/*/seed*/train.json")):
        record = json.loads(path.read_text())
        points = [(h["step"], h["loss"]) for h in record["history"] if "loss" in h]
        if points:
            steps, losses = zip(*points)
            ax.plot(steps, losses, label=f"{record['method']}/{record['task']}/s{record['seed']}", linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend(fontsize=6)
    fig.tight_layout()
    for suffix in (".png", ".pdf"):
        fig.savefig(out_base.with_suffix(suffix))
    plt.close(fig)
