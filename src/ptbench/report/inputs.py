"""Finding the pipeline's results by content, not by folder layout.

Every result is recognised by what its record says (method, task, provenance), so the folders may
gain levels (``results/records/<backbone>/<method>/<task>.json``) without touching the report. The
report reads a result's record (``layout.record_path``: its numbers and what made them), not its metrics
file (the numbers alone, for DVC). Companion files are found by *relative path*: a record at
``results/records/<rel>.json`` has its predictions at ``results/predictions/<rel>.json`` and its
training records under ``results/runs/<rel>/seed<k>/train.json`` (the predictions file does not name
its backbone, so the relative path is what ties it to one run).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METRICS_KEYS = ("method", "task", "per_seed", "primary_metric", "provenance")


@dataclass
class RunFiles:
    """One evaluated (backbone, method, task, configuration) and the files that belong to it."""

    metrics_path: Path
    record: dict[str, Any]
    predictions_path: Path | None
    run_dir: Path | None  # holds seed<k>/train.json (and state.safetensors)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_metrics_record(record: dict[str, Any] | None) -> bool:
    return bool(record) and all(key in record for key in METRICS_KEYS)


def metrics_runs(results: Path, method: str | None = None) -> list[RunFiles]:
    """Every result record under ``results/records`` (any depth), optionally of one method."""
    root = Path(results) / "records"
    runs = []
    for path in sorted(root.rglob("*.json")):
        record = read_json(path)
        if not is_metrics_record(record) or (method is not None and record["method"] != method):
            continue
        rel = path.relative_to(root)
        predictions = Path(results) / "predictions" / rel
        run_dir = Path(results) / "runs" / rel.with_suffix("")
        runs.append(RunFiles(path, record, predictions if _predictions_match(predictions, record) else None,
                             run_dir if run_dir.is_dir() else None))
    return runs


def _predictions_match(path: Path, record: dict[str, Any]) -> bool:
    if not path.is_file():
        return False
    predictions = read_json(path)
    return bool(predictions) and (predictions.get("method"), predictions.get("task")) == (record["method"], record["task"])


def fewshot_files(results: Path, method: str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Every k-shot result (``sample<s>.json`` with ``provenance.few_shot``) under ``results/fewshot``."""
    out = []
    for path in sorted((Path(results) / "fewshot").rglob("sample*.json")):
        record = read_json(path)
        if not is_metrics_record(record) or not record["provenance"].get("few_shot"):
            continue
        if method is None or record["method"] == method:
            out.append((path, record))
    return out


def load_predictions(path: Path) -> dict[str, Any]:
    """A predictions file with its groups made hashable (JSON turns MultiRC's tuple keys into lists)."""
    data = json.loads(Path(path).read_text())
    groups = data.get("groups")
    if groups is not None:
        data["groups"] = [json.dumps(g, sort_keys=True) if isinstance(g, (list, dict)) else g for g in groups]
    n = len(data["references"])
    for seed, predictions in data["per_seed"].items():
        if len(predictions) != n:
            raise ValueError(f"{path}: seed {seed} has {len(predictions)} predictions for {n} references")
    return data


def full_method_config(method: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The method's whole configuration: provenance records only the keys params.yaml set, so a
    filter on a default (``superpos.softmax: false``) needs the defaults filled in."""
    from ptbench.methods import method_config

    try:
        return dataclasses.asdict(method_config(method, given or {}))
    except Exception:  # an old or foreign config: keep what was recorded rather than fail the report
        return dict(given or {})


def registered_method(record: dict[str, Any]) -> str:
    """The registered method behind a result: a named variant's (params.yaml ``variants``) or its own."""
    return record.get("registered_method") or record["method"]


def run_identity(record: dict[str, Any]) -> dict[str, Any]:
    """What tells two results of one method apart: backbone, dropout, checkpoint kind, scoring,
    decoding, the whole method configuration and, for k-shot runs, k and the source task (zero-shot runs:
    the task whose state was scored)."""
    prov = record["provenance"]
    few_shot = prov.get("few_shot") or {}
    return {"backbone": prov.get("backbone"), "dropout": prov.get("dropout"),
            "original_t5_checkpoint": bool(prov.get("original_t5_checkpoint")),
            "scoring": prov.get("scoring"), "decoding": prov.get("decoding"), "profile": prov.get("profile"),
            "config": full_method_config(registered_method(record), prov.get("method_config")),
            "k": few_shot.get("k"), "source_task": few_shot.get("source_task") or prov.get("zero_shot_source")}


def provenance_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The provenance the report page shows: code version, profile, backbone, packages."""
    prov = record["provenance"]
    return {"git": prov.get("git"), "profile": prov.get("profile"), "backbone": prov.get("backbone"),
            "backbone_hub_id": prov.get("backbone_hub_id"), "packages": prov.get("packages"),
            "python": prov.get("python"), "split_protocol": prov.get("split_protocol"),
            "scoring": prov.get("scoring"), "decoding": prov.get("decoding")}
