"""results/tables/protocols.{md,csv} and rankings.csv: the paper protocol's score beside the fair one per
(backbone, method, task), the optimism gap between them, and whether each task's published ranking survives
(report/protocols.py reads them; docs/protocols.md states the rules)."""
from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd

from ptbench.report.protocols import ALPHA, Cell, Ranking, knobs_text
from ptbench.report.selection import FAIR, SelectionRule

GAP_COLUMNS = ["backbone", "task", "method", "metric", "paper", "paper_configuration", "fair_mean", "fair_std",
               "fair_ci_low", "fair_ci_high", "fair_configuration", "trials", "seeds", "gap", "stand_in", "notes"]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def gap_frame(found: list[Cell], stand_in: dict[str, list[str]]) -> pd.DataFrame:
    """One line per cell read both ways (a cell the fair rule cannot read, e.g. an untuned method on a tuned
    task, keeps its paper score and says why)."""
    lines = []
    for c in found:
        if c.paper is None and c.fair is None:
            continue
        fair, paper = c.fair, c.paper
        notes = [*(paper.notes if paper else []), *(fair.notes if fair else [])]
        if fair is None:
            notes.append("no fair score: the method has no trials on a task others were tuned on")
        if paper is None:
            notes.append("no paper score: these runs lack what the rule reads (a test curve: train.test_curve)")
        lines.append({
            "backbone": c.backbone, "task": c.task, "method": c.method, "metric": c.metric,
            "paper": _round(paper.score if paper else None), "paper_configuration": knobs_text(paper, c.given),
            "fair_mean": _round(fair.score if fair else None), "fair_std": _round(fair.std if fair else None),
            "fair_ci_low": _round(fair.ci[0]) if fair and fair.ci else None,
            "fair_ci_high": _round(fair.ci[1]) if fair and fair.ci else None,
            "fair_configuration": knobs_text(fair, c.given), "trials": fair.candidates if fair and c.trials else 0,
            "seeds": len(fair.seeds) if fair else None, "gap": _round(c.gap),
            "stand_in": c.backbone in stand_in, "notes": "; ".join(notes)})
    frame = pd.DataFrame(lines, columns=GAP_COLUMNS)
    for column in ("trials", "seeds"):
        frame[column] = frame[column].astype("Int64")  # counts, not floats (a missing one stays empty)
    return frame


def gap_summary(gaps: pd.DataFrame) -> pd.DataFrame:
    """Per (backbone, method): the cells read both ways, the mean gap and the largest one in either direction
    (with its task), and the configurations the fair rule chose where it had trials: the page's short form."""
    lines = []
    for (backbone, method), group in gaps.dropna(subset=["gap"]).groupby(["backbone", "method"], sort=True):
        high, low = group.loc[group["gap"].idxmax()], group.loc[group["gap"].idxmin()]
        tuned = group[group["trials"] > 0]
        lines.append({"backbone": backbone, "method": method, "cells": len(group),
                      "mean_gap": round(float(group["gap"].mean()), 2),
                      "largest_gap": f"{high['gap']:+.2f} ({high['task']})",
                      "smallest_gap": f"{low['gap']:+.2f} ({low['task']})",
                      "fair_choices": "; ".join(f"{t}: {c}" for t, c in
                                                zip(tuned["task"], tuned["fair_configuration"]))})
    return pd.DataFrame(lines, columns=["backbone", "method", "cells", "mean_gap", "largest_gap", "smallest_gap",
                                        "fair_choices"])


def ranking_frame(ranked: list[Ranking]) -> pd.DataFrame:
    return pd.DataFrame([{"backbone": r.backbone, "task": r.task, "paper_order": " > ".join(r.paper_order),
                          "fair_order": " > ".join(r.fair_order), "paper_winner": r.paper_order[0],
                          "status": r.status, "versus": r.versus,
                          "p_value": None if r.p_value is None else round(r.p_value, 4)} for r in ranked],
                        columns=["backbone", "task", "paper_order", "fair_order", "paper_winner", "status", "versus",
                                 "p_value"])


def rules_text(paper: SelectionRule, stand_in: dict[str, list[str]], backbones: set[str]) -> str:
    stood = sorted(b for b in backbones if b in stand_in)
    stand = (f" {', '.join(stood)} stands in for the papers' backbones (report.stand_in): these are the protocols "
             "exercised, not the papers' numbers." if stood else "")
    return (f"Both columns read the same cached runs (docs/protocols.md). Paper protocol ({paper.text()}): this "
            f"profile's seed's own reading. Fair protocol ({FAIR.text()}): the validation split, disjoint from the "
            "reported test split, chooses checkpoint and configuration among the method's equal-budget trials "
            "(tuning; a task without trials reads every method at its given configuration), every method over the "
            "same number of seeds, mean, std over seeds and the bootstrap interval over the test set. Gap: paper "
            "minus fair (positive: the paper protocol reads higher). A ranking is kept when the paper protocol's "
            f"winner stays first under the fair one, ahead of the runner-up in a paired bootstrap test at p < {ALPHA}; "
            "reversed when another method is first and ahead of it at that level; tied otherwise." + stand)


def _markdown(frame: pd.DataFrame) -> str:
    from ptbench.report.build import frame_markdown

    return frame_markdown(frame) if len(frame) else "(none)"


def write_protocols(found: list[Cell], ranked: list[Ranking], tables_dir: Path, paper: SelectionRule,
                    stand_in: dict[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Path], str]:
    """The per-cell gaps and the rankings as CSV, and one Markdown file with the per-method summary first; returns
    the summary, the rankings, the files and the rules text."""
    gaps, ranks = gap_frame(found, stand_in), ranking_frame(ranked)
    summary = gap_summary(gaps)
    text = rules_text(paper, stand_in, {c.backbone for c in found})
    files = {"Markdown": tables_dir / "protocols.md", "CSV": tables_dir / "protocols.csv",
             "Rankings CSV": tables_dir / "rankings.csv"}
    gaps.to_csv(files["CSV"], index=False)
    ranks.to_csv(files["Rankings CSV"], index=False)
    files["Markdown"].write_text(f"# Paper protocol vs fair protocol\n\n{text}\n\n## Optimism gap per method\n\n"
                                 f"{_markdown(summary)}\n\n## Does the paper protocol's ranking survive?\n\n"
                                 f"{_markdown(ranks)}\n\n## Optimism gap per cell\n\n{_markdown(gaps)}\n",
                                 encoding="utf-8")
    return summary, ranks, files, text


def time_to_checkpoint(row: dict) -> float | None:
    """Mean training seconds until the checkpoint the run kept: its seconds times the share of its steps run by
    then (the best validation step over the last one, per seed); None without a timing record or a history."""
    seconds = row.get("train_seconds")
    primary = f"validation_{row['primary_metric']}"
    shares = []
    for history in (row.get("history") or {}).values():
        curve = sorted(history.get(primary) or [])
        if curve and curve[-1][0]:
            best = max(value for _, value in curve)
            shares.append(next(step for step, value in curve if value == best) / curve[-1][0])
    return None if seconds is None or not shares else round(seconds * sum(shares) / len(shares), 2)


def efficiency_frame(found: list[Cell], added_tokens: dict[str, int | None]) -> pd.DataFrame:
    """Per (backbone, method) with fair selections: parameters trained and stored, peak memory, time to the chosen
    checkpoint, training examples/s and test examples decoded per second (means over its tasks' chosen runs; the
    peak memory their maximum), the tokens the method adds to every input (``added_tokens``: per method, measured
    on the module: planning.estimate.method_shape), its mean fair score over the tasks every method of the
    backbone has, and whether it is on the Pareto front."""
    from ptbench.report.protocol_figures import frontier_points, pareto

    frontier = frontier_points(found)
    lines = []
    for backbone, points in frontier.items():
        front = set(pareto(points))
        for _, score, method in points:
            chosen = [c.fair.row for c in found if c.backbone == backbone and c.method == method and c.fair]

            def mean(values):
                values = [v for v in values if v is not None]
                return round(statistics.fmean(values), 2) if values else None

            def count(values):  # a parameter count: whole (a tuned knob may change it between tasks: the mean)
                found = mean(values)
                return None if found is None else round(found)
            lines.append({"backbone": backbone, "method": method,
                          "trainable_parameters": count(r.get("trainable_parameters") for r in chosen),
                          "stored_parameters": count(r.get("stored_parameters") for r in chosen),
                          "peak_memory_mb": max((r["peak_memory_mb"] for r in chosen if r.get("peak_memory_mb")),
                                                default=None),
                          "seconds_to_checkpoint": mean(time_to_checkpoint(r) for r in chosen),
                          "examples_per_second": mean(r.get("examples_per_second") for r in chosen),
                          "decode_examples_per_second": mean(r.get("decode_examples_per_second") for r in chosen),
                          "added_input_tokens": added_tokens.get(method), "mean_fair_score": round(score, 2),
                          "pareto_front": method in front})
    return pd.DataFrame(lines, columns=["backbone", "method", "trainable_parameters", "stored_parameters",
                                        "peak_memory_mb", "seconds_to_checkpoint", "examples_per_second",
                                        "decode_examples_per_second", "added_input_tokens", "mean_fair_score",
                                        "pareto_front"])
