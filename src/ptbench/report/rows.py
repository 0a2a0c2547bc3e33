"""The per-method "rows" step: one method's results, summarised once, with the expensive parts.

A rows file (``results/rows/[<backbone>/]<method>.json``; k-shot results under ``results/rows/fewshot/``)
holds one entry per evaluated (backbone, task, configuration) of the method: every metric's
per-seed values, mean and std, the bootstrap interval and replicate scores (from the predictions),
invalid rates and divergence, the training histories the figures draw, the cosine similarity of
the learned prompt, and the provenance. The table step reads only rows files, so changing one
method's knobs re-runs one rows step and the (cheap) tables.
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
from pathlib import Path
from typing import Any

from ptbench.artifacts import STATE_FILE
from ptbench.report.bootstrap import percentile_interval, replicate_scores
from ptbench.report.inputs import (RunFiles, fewshot_files, load_predictions, metrics_runs, provenance_summary,
                                   read_json, registered_method, run_identity)
from ptbench.report.prompts import learned_views, no_views
from ptbench.report.settings import ReportSettings

HISTORY_POINTS = 400  # per series: enough for a curve, small enough for a JSON file


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def metric_summaries(per_seed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per metric: the per-seed values (seed order), mean and sample std over seeds."""
    seeds = list(per_seed)
    names = sorted({k for values in per_seed.values() for k, v in values.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)} - {"invalid_rate", "best_step"})
    out = {}
    for name in names:
        values = [float(per_seed[s][name]) for s in seeds if per_seed[s].get(name) is not None]
        mean, std = _mean_std(values)
        out[name] = {"per_seed": values, "mean": mean, "std": std}
    return out


def _seed_flags(per_seed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    invalid = [float(v.get("invalid_rate") or 0.0) for v in per_seed.values()]
    return {"seeds": list(per_seed), "invalid_rate": statistics.fmean(invalid) if invalid else None,
            "max_invalid_rate": max(invalid) if invalid else None,
            "diverged": any(bool(v.get("diverged")) for v in per_seed.values())}


def references_hash(references: list, groups: list | None) -> str:
    """Two methods' replicates pair only when they were drawn on this very test set."""
    return hashlib.sha256(json.dumps([references, groups], sort_keys=True).encode()).hexdigest()[:16]


def add_bootstrap(row: dict[str, Any], data: dict[str, Any], source: str, settings: ReportSettings) -> None:
    """The interval and replicates of every metric, from predictions ``data`` (``load_predictions``)."""
    from ptbench.eval.metrics import compute_metric

    seeds = [s for s in row["seeds"] if s in data["per_seed"]]
    if not seeds:
        row["notes"].append(f"{source}: no predictions for seeds {row['seeds']}")
        return
    predictions = [data["per_seed"][s] for s in seeds]
    refs, groups = data["references"], data.get("groups")
    row["references_hash"] = references_hash(refs, groups)
    row["bootstrap_seeds"] = seeds
    for name in data["metrics"]:
        summary = row["metrics"].get(name)
        if summary is None:
            continue
        recomputed = statistics.fmean(compute_metric(name, p, refs, groups, data.get("classes")) for p in predictions)
        if summary["mean"] is not None and not math.isclose(recomputed, summary["mean"], abs_tol=1e-6):
            row["notes"].append(f"{name}: predictions score {recomputed:.4f}, metrics file {summary['mean']:.4f}")
        replicates = replicate_scores(name, predictions, refs, groups, settings.bootstrap_iterations,
                                      settings.bootstrap_seed, data.get("classes"))
        summary["ci"] = list(percentile_interval(replicates, settings.confidence))
        summary["replicates"] = [round(float(v), 4) for v in replicates]


def thin(points: list[list[float]], limit: int = HISTORY_POINTS) -> list[list[float]]:
    if len(points) <= limit:
        return points
    step = math.ceil(len(points) / limit)
    return points[::step] + ([points[-1]] if (len(points) - 1) % step else [])


def seed_records(run_dir: Path | None) -> dict[str, dict[str, Any]]:
    """Each seed's training record (``seed<k>/train.json``), by seed."""
    return {path.parent.name.removeprefix("seed"): read_json(path) or {}
            for path in (sorted(run_dir.glob("seed*/train.json")) if run_dir else [])}


def histories(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    """Per seed, per logged quantity (loss, prompt_norm, validation_*, gate_mean_*, ...): [step, value]."""
    out: dict[str, dict[str, list[list[float]]]] = {}
    for seed, record in records.items():
        series: dict[str, list[list[float]]] = {}
        for entry in record.get("history", []):
            for key, value in entry.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    series.setdefault(key, []).append([entry["step"], float(value)])
        out[seed] = {key: thin(points) for key, points in series.items()}
    return out


def run_costs(run_dir: Path | None) -> dict[str, Any]:
    """The seeds' training costs (``seed<k>/timing.json``, experiment.run_cost): mean wall-clock seconds,
    mean examples/s, max peak memory, summed GPU-hours, the device; None where no seed recorded one."""
    costs = [read_json(path) or {} for path in sorted(run_dir.glob("seed*/timing.json"))] if run_dir else []

    def numbers(key: str) -> list[float]:
        return [c[key] for c in costs if isinstance(c.get(key), (int, float)) and not isinstance(c.get(key), bool)]
    seconds, rates, memory, gpu = numbers("train_seconds"), numbers("examples_per_second"), numbers("peak_memory_mb"), \
        numbers("gpu_hours")
    devices = sorted({json.dumps(c["device"], sort_keys=True) for c in costs if c.get("device")})
    return {"train_seconds": statistics.fmean(seconds) if seconds else None,
            "train_seconds_total": sum(seconds) if seconds else None,
            "examples_per_second": statistics.fmean(rates) if rates else None,
            "peak_memory_mb": max(memory) if memory else None, "gpu_hours": sum(gpu) if gpu else None,
            "device": json.loads(devices[0]) if len(devices) == 1 else ([json.loads(d) for d in devices] or None)}


def base_row(record: dict[str, Any], source: str) -> dict[str, Any]:
    return {"source": source, "method": record["method"], "registered_method": registered_method(record),
            "task": record["task"], **run_identity(record),
            "primary_metric": record["primary_metric"], "test_examples": record.get("test_examples"),
            "trainable_parameters": record.get("trainable_parameters"),
            "stored_parameters": record.get("stored_parameters"),
            "metrics": metric_summaries(record["per_seed"]), **_seed_flags(record["per_seed"]),
            "provenance": provenance_summary(record), "notes": []}


def decode_rate(predictions: dict[str, Any]) -> float | None:
    """Test examples decoded per second, mean over seeds (the evaluate stage's ``decode_seconds``: the
    predictions alone, the prompt's added input length included); None where none was recorded."""
    seconds = [s for s in (predictions.get("decode_seconds") or {}).values() if s]
    return round(len(predictions["references"]) / statistics.fmean(seconds), 2) if seconds else None


def run_row(run: RunFiles, settings: ReportSettings, max_length: int) -> dict[str, Any]:
    row = base_row(run.record, str(run.metrics_path))
    if run.predictions_path is not None:
        predictions = load_predictions(run.predictions_path)
        add_bootstrap(row, predictions, str(run.predictions_path), settings)
        row["decode_examples_per_second"] = decode_rate(predictions)
    records = seed_records(run.run_dir)
    row["history"] = histories(records)
    row.update(run_costs(run.run_dir))
    first_state = run.run_dir / f"seed{row['seeds'][0]}" / STATE_FILE if run.run_dir and row["seeds"] else None
    views = (learned_views(first_state, row["registered_method"], row["config"], run.record["provenance"], max_length)
             if first_state else no_views("no training records next to the metrics file"))
    row["prompt_similarity"], row["gate_weights"] = views["similarity"], views["gate_weights"]
    row["weight_similarity"], row["prompt_mean"] = views["weight_similarity"], views["prompt_mean"]
    first_record = records.get(row["seeds"][0], {}) if first_state else {}
    row["initial_gate_weights"] = first_record.get("initial_gate_weights")  # seed 001 Fig. 8's init panel
    return row


def pooled_predictions(paths: dict[str, Path]) -> dict[str, Any] | None:
    """The test predictions of every sample's runs as one predictions payload (keys ``s<sample>/<seed>``),
    or None when a sample has none or the samples were scored on different test sets."""
    if not paths or not all(path.is_file() for path in paths.values()):
        return None
    loaded = {sample: load_predictions(path) for sample, path in paths.items()}
    first = next(iter(loaded.values()))
    if len({references_hash(d["references"], d.get("groups")) for d in loaded.values()}) != 1:
        return None
    per_seed = {f"s{sample}/{seed}": predictions for sample, data in loaded.items()
                for seed, predictions in data["per_seed"].items()}
    return {**first, "per_seed": per_seed}


def fewshot_rows(files: list[tuple[Path, dict[str, Any]]], settings: ReportSettings) -> list[dict[str, Any]]:
    """k-shot results: the sampling seeds of one (backbone, task, k, configuration) pooled, each
    (sample, training seed) one run, as seed 003 averages its 6 runs; the bootstrap interval over the
    test set from the pooled predictions (``predictions_sample<s>.json`` beside each result)."""
    from ptbench.pipeline.layout import fewshot_predictions_path

    pooled: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]], list[str], dict[str, Path]]] = {}
    for path, record in files:
        identity = json.dumps({"task": record["task"], **run_identity(record)}, sort_keys=True, default=str)
        sample = record["provenance"]["few_shot"].get("sampling_seed")
        _, per_seed, sources, predictions = pooled.setdefault(identity, (record, {}, [], {}))
        per_seed.update({f"s{sample}/{seed}": values for seed, values in record["per_seed"].items()})
        sources.append(str(path))
        predictions[str(sample)] = fewshot_predictions_path(path)
    rows = []
    for record, per_seed, sources, predictions in pooled.values():
        row = base_row({**record, "per_seed": per_seed}, ";".join(sources))
        row.update(kind="fewshot", history={}, prompt_similarity={"reason": "k-shot runs keep no training records"})
        data = pooled_predictions(predictions)
        if data is not None:
            add_bootstrap(row, data, sources[0], settings)
        else:
            row["notes"].append("no pooled test predictions: no bootstrap interval")
        rows.append(row)
    return rows


def build_rows(results: Path, method: str, settings: ReportSettings, max_length: int, kind: str = "grid",
               backbone: str | None = None) -> dict[str, Any]:
    """The rows payload of one method (optionally of one backbone: the record's provenance says which)."""
    def wanted(record: dict[str, Any]) -> bool:
        return backbone is None or record["provenance"].get("backbone") == backbone

    if kind == "fewshot":
        rows = fewshot_rows([(path, record) for path, record in fewshot_files(results, method) if wanted(record)],
                            settings)
    else:
        # the grid's runs, then the one-knob runs (results/knobs/, same layout) the knob figures draw, the
        # equal-budget trials (results/trials/) the selections read, then the grid states scored zero-shot on
        # other tasks (results/zeroshot/, no run of their own)
        rows = [{**run_row(run, settings, max_length), "kind": row_kind}
                for row_kind, root in (("grid", results), ("knob", results / "knobs"), ("trial", results / "trials"),
                                       ("zeroshot", results / "zeroshot"))
                for run in metrics_runs(root, method) if wanted(run.record)]
    return {"method": method, "backbone": backbone, "kind": kind,
            "bootstrap": {**settings.bootstrap_key(), "confidence": settings.confidence}, "results": rows}


def write_rows(payload: dict[str, Any], out: Path) -> None:
    """Atomically: a half-written rows file must never be read as complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(payload, indent=None, sort_keys=True, default=str) + "\n")
    partial.replace(out)


def read_rows(rows_dir: Path) -> list[dict[str, Any]]:
    """Every result of every rows file under ``rows_dir``, each with its file's bootstrap settings."""
    out = []
    for path in sorted(Path(rows_dir).rglob("*.json")):
        payload = read_json(path)
        if not payload or "results" not in payload:
            continue
        for row in payload["results"]:
            out.append({**row, "bootstrap": payload.get("bootstrap"), "rows_file": str(path)})
    return out
