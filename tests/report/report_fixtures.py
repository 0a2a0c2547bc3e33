"""A miniature results/ tree in the pipeline's formats (metrics, predictions, training records, k-shot)."""
from __future__ import annotations

import json
from pathlib import Path

import dataclasses

import torch

from ptbench.artifacts import STATE_FILE, save_state
from ptbench.eval.metrics import compute_metric
from ptbench.report.settings import ReportSettings
from ptbench.run.experiment import write_result

NO_STAND_IN: dict[str, list[str]] = {}


def report_settings(bootstrap_iterations: int, **overrides) -> ReportSettings:
    """The committed params.yaml's report settings, smaller bootstrap, no stand-in backbone unless given."""
    import yaml

    section = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())["report"]
    settings = ReportSettings(**{**section, "stand_in": NO_STAND_IN})
    return dataclasses.replace(settings, bootstrap_iterations=bootstrap_iterations, **overrides)


def write_run(results: Path, method: str, task: str, predictions: dict[str, list[str]], references: list[list[str]],
              *, backbone: str = "t5-small", metrics: tuple[str, ...] = ("accuracy",), groups: list | None = None,
              invalid_rate: float = 0.0, diverged=None, original: bool = False, dropout: bool = True,
              config: dict | None = None, rel: str | None = None, history: list[dict] | None = None,
              state: dict | None = None, with_predictions: bool = True, registered_method: str | None = None,
              classes: tuple[str, ...] | None = None) -> Path:
    """One evaluated run: metrics scored from ``predictions`` with compute_metric, as evaluate does.
    ``registered_method``: a named variant's method (``method`` is then the variant's name)."""
    rel = rel or f"{backbone}/{method}/{task}"
    per_seed = {}
    for seed, preds in predictions.items():
        scores = {m: compute_metric(m, preds, references, groups, classes) for m in metrics}
        per_seed[seed] = {**scores, "invalid_rate": invalid_rate, "best_step": 10, "diverged": diverged}
    means = {m: sum(v[m] for v in per_seed.values()) / len(per_seed) for m in metrics}
    record = {"method": method, "task": task, "metrics": {**means, "invalid_rate": invalid_rate}, "per_seed": per_seed,
              "primary_metric": metrics[0], "test_examples": len(references), "trainable_parameters": 5120,
              "stored_parameters": 5120,
              "provenance": {"backbone": backbone, "original_t5_checkpoint": original, "dropout": dropout,
                             "profile": "test", "scoring": "faithful", "decoding": "generate", "seeds": list(predictions),
                             "method_config": config or {}, "git": {"sha": "abc123", "dirty": False},
                             "packages": {"torch": "2.x"}, "python": "3.11"}}
    if registered_method is not None:
        record["registered_method"] = registered_method
    write_result(results / "metrics" / f"{rel}.json", record)  # as evaluate writes it: numbers, and the record
    path = results / "records" / f"{rel}.json"  # what the report reads (and a test may edit)
    if with_predictions:
        out = results / "predictions" / f"{rel}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"method": method, "task": task, "metrics": list(metrics), "references": references,
                                   "classes": list(classes) if classes else None,
                                   "groups": groups, "per_seed": predictions}))
    for seed in predictions:
        seed_dir = results / "runs" / rel / f"seed{seed}"
        if history is not None:
            seed_dir.mkdir(parents=True, exist_ok=True)
            (seed_dir / "train.json").write_text(json.dumps({"method": method, "task": task, "seed": int(seed),
                                                             "history": history}))
        if state is not None:
            seed_dir.mkdir(parents=True, exist_ok=True)
            save_state(seed_dir / STATE_FILE, state)
    return path


def write_fewshot(results: Path, method: str, task: str, k: int, sample: int, scores: dict[str, float],
                  backbone: str = "t5-base", predictions: dict[str, list[str]] | None = None,
                  references: list[list[str]] | None = None) -> Path:
    """A k-shot result; with ``predictions`` (per seed), also its predictions file (scores are then
    recomputed from them, as the pipeline's would be)."""
    if predictions is not None:
        scores = {seed: compute_metric("accuracy", p, references) for seed, p in predictions.items()}
    per_seed = {seed: {"accuracy": s, "invalid_rate": 0.0, "best_step": 5, "diverged": None} for seed, s in scores.items()}
    record = {"method": method, "task": task, "metrics": {"accuracy": sum(scores.values()) / len(scores)},
              "per_seed": per_seed, "primary_metric": "accuracy", "test_examples": 10, "trainable_parameters": 1,
              "stored_parameters": 1,
              "provenance": {"backbone": backbone, "original_t5_checkpoint": True, "dropout": True, "method_config": {},
                             "few_shot": {"k": k, "source_task": "mnli", "sampling_seed": sample, "steps": 5}}}
    path = results / "fewshot" / backbone / method / task / f"k{k}" / f"sample{sample}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    if predictions is not None:
        (path.parent / f"predictions_{path.name}").write_text(json.dumps(
            {"method": method, "task": task, "metrics": ["accuracy"], "references": references, "groups": None,
             "per_seed": predictions}))
    return path


def labels(correct: int, total: int) -> list[str]:
    """``total`` predictions of gold "1" of which the first ``correct`` are right."""
    return ["1"] * correct + ["0"] * (total - correct)
