"""Where every stage reads and writes, in one place (dvc.yaml spells the same paths).

Everything a backbone produces sits under a ``<backbone>/`` level: tokenised data (each backbone
its tokenizer), source prompts (each its d_model), runs, metrics, predictions and few-shot results.
"""
from __future__ import annotations

from pathlib import Path

MIRROR = Path("mirror")
CHECKPOINTS = Path("checkpoints")  # survive a killed stage; never a DVC output


def data_dir(backbone: str, task: str) -> Path:
    return Path("data/prepared") / backbone / task


def data_root(backbone: str) -> Path:
    return Path("data/prepared") / backbone


def run_dir(backbone: str, method: str, task: str) -> Path:
    return Path("results/runs") / backbone / method / task


def metrics_path(backbone: str, method: str, task: str) -> Path:
    return Path("results/metrics") / backbone / method / f"{task}.json"


def record_path(metrics_path: Path) -> Path:
    """Where a result's full record goes beside its metrics file: the same path with its ``metrics`` folder
    named ``records`` (results/records/<b>/<m>/<task>.json, results/knobs/records/..., results/variant/<b>/
    records/...). A metrics file holds numbers only (what ``dvc metrics show`` and ``dvc exp show`` list);
    the record holds them too, with what the run was (method, task, metric names) and its provenance."""
    parts = list(Path(metrics_path).parts)
    if "metrics" not in parts:  # a metrics file written elsewhere (``stages/evaluate.py --out``): beside it
        return Path(metrics_path).with_suffix(".record.json")
    at = len(parts) - 1 - parts[::-1].index("metrics")
    return Path(*parts[:at], "records", *parts[at + 1:])


def predictions_path(backbone: str, method: str, task: str) -> Path:
    return Path("results/predictions") / backbone / method / f"{task}.json"


def source_root(backbone: str) -> Path:
    """The source_prompt stage's outputs: ``<method>/<task>/seed<k>/state.safetensors``."""
    return Path("results/source_prompts") / backbone


def transfer_root(backbone: str) -> Path:
    """The transfer_source stage's outputs: ``<method>/seed<k>/sources.safetensors``."""
    return Path("results/transfer_sources") / backbone


def fewshot_dir(backbone: str, method: str, task: str, k: int) -> Path:
    return Path("results/fewshot") / backbone / method / task / f"k{k}"


KNOBS = Path("results/knobs")  # one-knob runs: runs/, metrics/, predictions/ as under results/
TRIALS = Path("results/trials")  # equal-budget trials (pipeline/tuning.py): the same layout


def knob_run_dir(backbone: str, method: str, point: str, task: str, root: Path = KNOBS) -> Path:
    return root / "runs" / backbone / method / point / task


def knob_metrics_path(backbone: str, method: str, point: str, task: str, root: Path = KNOBS) -> Path:
    return root / "metrics" / backbone / method / point / f"{task}.json"


def knob_predictions_path(backbone: str, method: str, point: str, task: str, root: Path = KNOBS) -> Path:
    return root / "predictions" / backbone / method / point / f"{task}.json"


ZERO_SHOT = Path("results/zeroshot")  # a grid run's state scored on another task: metrics/, predictions/


def zero_shot_metrics_path(backbone: str, method: str, source: str, target: str) -> Path:
    return ZERO_SHOT / "metrics" / backbone / method / source / f"{target}.json"


def zero_shot_predictions_path(backbone: str, method: str, source: str, target: str) -> Path:
    return ZERO_SHOT / "predictions" / backbone / method / source / f"{target}.json"


def fewshot_predictions_path(result_path: Path) -> Path:
    """``.../k<k>/sample<s>.json`` -> ``predictions_sample<s>.json`` beside it: the test predictions the
    report bootstraps."""
    return Path(result_path).with_name(f"predictions_{Path(result_path).name}")


def variant_run_dir(backbone: str, task: str) -> Path:
    """The variant stage's trained states (``dvc exp run -S method=...``); one stage per backbone."""
    return Path("results/variant") / backbone / "train" / task


def variant_metrics_path(backbone: str, task: str) -> Path:
    return Path("results/variant") / backbone / "metrics" / f"{task}.json"


def checkpoint_dir(stage: str, *parts: str) -> Path:
    return CHECKPOINTS.joinpath(stage, *parts)
