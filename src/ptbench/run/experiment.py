"""What the stages do, as plain functions over the validated Params.

train_run:    per method x task: one training per seed; writes each seed's best state.
evaluate_run: per method x task: test-set predictions and metrics, with provenance.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ptbench import hub
from ptbench.backbones import BackboneInfo, get_backbone
from ptbench.config import Params
from ptbench.artifacts import STATE_FILE, load_state, save_state
from ptbench.data.prepare import PreparedSplit, split_path
from ptbench.errors import require
from ptbench.methods import build_method
from ptbench.methods.base import BackboneContext, PeftMethod, gate_matrix, rounded_rows
from ptbench.run.process import process_state
from ptbench.run.provenance import provenance
from ptbench.tasks import task_as_read
from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
from ptbench.train.live import LIVE_DIR, RunLog
from ptbench.train.loop import (load_checkpoint, make_decoder, model_device, predict, save_checkpoint,
                                score, train)

SOURCE_ROOT = Path("results/source_prompts")  # the source_prompt stage's outputs: <method>/<task>/seed<k>/
TRANSFER_ROOT = Path("results/transfer_sources")  # the transfer_source stage's outputs: <method>/seed<k>/


@dataclass
class LoadedBackbone:
    info: BackboneInfo
    model: torch.nn.Module
    tokenizer: Any
    runner: Any  # Seq2SeqBackbone | CausalBackbone

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else self.tokenizer.eos_token_id


def load_backbone(params: Params, full_precision: bool = False) -> LoadedBackbone:
    """The frozen backbone on this process's device. A backbone the registry marks 4-bit loads in
    NF4 (seed 001), unless ``full_precision``: a method that trains the backbone's own weights (ft)
    cannot train 4-bit ones and gets the full-precision checkpoint."""
    info = get_backbone(params.backbone)
    tokenizer = hub.load_tokenizer(info.hub_id, params.hub.mirror, params.hub.offline)
    quantize = info.quantize_4bit and not full_precision
    model = hub.load_model(info.hub_id, info.family, params.hub.mirror, params.hub.offline, quantize_4bit=quantize)
    if not quantize:  # bitsandbytes placed a 4-bit model on its device already
        model.to(process_state().device)
    freeze(model)
    if not params.dropout:
        remove_dropout(model)
    model.train()  # dropout (when kept) is active during training, as in the reference code
    return LoadedBackbone(info, model, tokenizer, FAMILIES[info.family](model, tokenizer))


def method_context(backbone: LoadedBackbone, params: Params, seed: int,
                   source_prompts: dict[str, torch.Tensor] | None = None,
                   source_states: dict[str, dict] | None = None, task: str | None = None) -> BackboneContext:
    """``task`` sets m (data.input_length) and the class labels (label initialisation); None:
    data.max_length and no labels (distillation)."""
    embeddings = backbone.model.get_input_embeddings()
    max_length = params.data.input_length(task) if task else params.data.max_length
    labels = (task_as_read(task, params.data).choices or ()) if task else ()
    return BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings,
                           max_length=max_length, generator=torch.Generator().manual_seed(seed),
                           tokenize=lambda text: backbone.tokenizer(text, add_special_tokens=False).input_ids,
                           label_texts=tuple(labels), source_prompts=source_prompts or {},
                           source_states=source_states or {})


def build_for(backbone: LoadedBackbone, params: Params, method_name: str, seed: int,
              transfer_root: Path = TRANSFER_ROOT, task: str | None = None) -> PeftMethod:
    """The method, built with the seed and attached to ``backbone`` (which it may change: LoRA,
    adapters, ... so every build gets a freshly loaded backbone)."""
    from ptbench.run.transfer import load_transfer_sources

    config = params.method_config(method_name)
    prompts, states = load_transfer_sources(method_name, config, seed, transfer_root)
    torch.manual_seed(seed)
    ctx = method_context(backbone, params, seed, prompts, states, task)
    method = build_method(params.registered_method(method_name), config, ctx)
    method.attach(backbone.model)
    return method.to(model_device(backbone.model))  # where the backbone is (a GPU when there is one)


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


NUMERIC_KEYS = ("metrics", "per_seed", "test_examples", "trainable_parameters", "stored_parameters")


def numbers_only(value):
    """The numeric leaves of a result (a flag as 0/1; text and missing values left out): what DVC lists."""
    if isinstance(value, dict):
        kept = {key: numbers_only(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item is not None and item != {}}
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, (int, float)) else None


def write_result(metrics_path: Path, payload: dict) -> None:
    """A result as two files: its record (everything: what was run, its numbers, its provenance) at
    ``layout.record_path`` and its numbers alone at ``metrics_path``, the DVC metric, written last: its
    presence means the stage finished."""
    from ptbench.pipeline.layout import record_path

    write_json(record_path(metrics_path), payload)
    write_json(metrics_path, numbers_only({key: payload[key] for key in NUMERIC_KEYS if key in payload}))


def run_fingerprint(params: Params, method_name: str, cfg, seed: int, data_dir: Path,
                    transfer_root: Path = TRANSFER_ROOT) -> str:
    """Everything a training run's result depends on: a checkpoint resumes only the same run
    (a transfer method's included: the hash of the transfer sources it reads)."""
    from ptbench.run.transfer import transfer_sources_path

    params = params.for_method(method_name)  # a variant's dropout
    split_hash = json.loads((data_dir / "splits.json").read_text())["split_hash"]
    payload = {"method": method_name, "config": params.method_section(method_name), "train": dataclasses.asdict(cfg),
               "seed": seed, "split_hash": split_hash, "backbone": params.backbone, "dropout": params.dropout,
               "mirror": params.hub.mirror, "data": dataclasses.asdict(params.data)}
    if params.method_config(method_name).source_tasks():
        sources = transfer_sources_path(transfer_root, method_name, seed)
        payload["sources"] = hashlib.sha256(sources.read_bytes()).hexdigest() if sources.exists() else None
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def train_run(params: Params, method_name: str, task_name: str, data_dir: Path, out_dir: Path,
              steps: int | None = None, checkpoint_dir: Path | None = None, transfer_root: Path = TRANSFER_ROOT,
              test_curve: bool = True) -> dict:
    """Train every seed; ``out_dir/seed<k>/state.safetensors`` + ``train.json`` (+ ``timing.json``, wall-clock
    seconds, apart so that train.json is byte-identical across machines) per seed, and the training
    history as dvclive files in ``out_dir/seed<k>/dvclive`` (written as the seed trains: ``live.RunLog``).

    With ``checkpoint_dir``, each seed checkpoints as it trains and keeps its finished result
    there, so a killed stage re-run resumes mid-seed and skips finished seeds. The caller removes
    the folder once the stage's outputs are in place (``clear_checkpoints``). ``test_curve``: false for runs
    no selection reads (source prompts), whatever ``train.test_curve`` says.
    """
    train_split = PreparedSplit.load(split_path(data_dir, "train"))
    val_split = PreparedSplit.load(split_path(data_dir, "validation"))
    # the learning curve on the reported set, for the selections that read its peak (docs/protocols.md)
    curve_split = PreparedSplit.load(split_path(data_dir, "test")) if test_curve and params.train.test_curve else None
    # the task's budget: the seeds' rules (train.steps_for) unless the caller fixes it (source training)
    cfg = with_steps(params.train, params.train.steps_for(len(train_split)) if steps is None else steps)
    summary = {}
    for seed in params.seeds:
        fingerprint = run_fingerprint(params, method_name, cfg, seed, data_dir, transfer_root)
        finished = checkpoint_dir / f"seed{seed}.done.pt" if checkpoint_dir else None
        live_dir = out_dir / f"seed{seed}" / LIVE_DIR  # inside out_dir: the stage's atomic output
        done = load_checkpoint(finished, fingerprint)
        if done is None:
            done = train_seed(params, method_name, task_name, train_split, val_split, cfg, seed, fingerprint,
                              checkpoint_dir / f"seed{seed}.pt" if checkpoint_dir else None, transfer_root,
                              live_dir=live_dir, curve_split=curve_split)
            if finished is not None and process_state().is_main_process:
                save_checkpoint(finished, done)
        else:  # finished before the stage was re-run into a fresh out_dir: its logs from its history
            RunLog(live_dir, done["record"]["history"])
        if process_state().is_main_process:  # under `accelerate launch`, one writer
            seed_dir = out_dir / f"seed{seed}"
            seed_dir.mkdir(parents=True, exist_ok=True)
            save_state(seed_dir / STATE_FILE, done["best_state"])
            write_json(seed_dir / "train.json", done["record"])
            if "train_seconds" in done:  # absent from a finished seed checkpointed by an older version
                write_json(seed_dir / "timing.json", run_cost(done["train_seconds"], cfg, done.get("device"),
                                                              done.get("curve_seconds")))
        summary[seed] = done["record"]
    return summary


def run_cost(seconds: float, cfg, device: dict | None, curve_seconds: float | None = None) -> dict:
    """What a seed's training cost (``timing.json``, apart from the byte-identical train.json): wall time,
    steps, examples seen and their rate, the device, the process's peak memory and, on GPUs, GPU-hours;
    ``curve_seconds``: scoring the test curve (``train.test_curve``), apart from the training seconds."""
    examples = cfg.steps * cfg.batch_size  # the whole batch (accumulation and processes split it)
    device = device or {"type": "unknown"}
    cost = {"train_seconds": round(seconds, 2), "steps": cfg.steps, "examples": examples,
            "examples_per_second": round(examples / seconds, 2) if seconds > 0 else None, "device": device}
    if curve_seconds:
        cost["test_curve_seconds"] = round(curve_seconds, 2)
    if device["type"] == "cuda":
        cost["peak_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
        cost["gpu_hours"] = round(seconds / 3600 * process_state().num_processes, 4)
    else:  # the process's peak resident memory (Linux: KiB); a stage running several runs reports its peak so far
        import resource

        cost["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return cost


def device_of(model) -> dict:
    """Where a run trained; ``platform``: the CPU and its kernels (``ptbench.numerics``), which decide a CPU
    run's bits (runs.csv and the cost table show them)."""
    from ptbench.numerics import in_force

    device = next(model.parameters()).device
    if device.type == "cuda":
        return {"type": "cuda", "name": torch.cuda.get_device_name(device), "count": process_state().num_processes,
                "platform": in_force()}
    return {"type": device.type, "threads": torch.get_num_threads(), "platform": in_force()}


def train_seed(params: Params, method_name: str, task_name: str, train_split: PreparedSplit,
               val_split: PreparedSplit, cfg, seed: int, fingerprint: str, checkpoint: Path | None,
               transfer_root: Path = TRANSFER_ROOT, init_state: dict | None = None,
               live_dir: Path | None = None, curve_split: PreparedSplit | None = None) -> dict:
    """One training run on a freshly loaded backbone; ``init_state`` (few-shot transfer) is a
    source-trained state of the same method to start from; ``live_dir``: where the run's history goes
    as dvclive files (None: nowhere); ``curve_split``: the test split the history also scores
    (``train.test_curve``). Returns the run's record and best state."""
    spec = task_as_read(task_name, params.data)
    params = params.for_method(method_name)  # a variant's dropout
    backbone = load_backbone(params, params.method_config(method_name).trains_backbone)
    method = build_for(backbone, params, method_name, seed, transfer_root, task_name)
    if init_state is not None:
        method.load_state_dict(init_state)
    initial_gates = gate_matrix(method)  # seed 001 Fig. 8 sets the trained gate beside the one at initialisation
    if torch.cuda.is_available():  # the seed's own peak (run_cost)
        torch.cuda.reset_peak_memory_stats()
    result = train(backbone.runner, method, spec, train_split, val_split, cfg, seed, backbone.pad_id,
                   checkpoint, fingerprint, make_decoder(spec, cfg, backbone.tokenizer), live_dir=live_dir,
                   curve_split=curve_split)
    record = {"method": method_name, "task": task_name, "seed": seed, "best_step": result.best_step,
              "best_validation": result.best_validation, "diverged": result.diverged,
              "trainable_parameters": method.trainable_parameter_count(),
              "stored_parameters": method.stored_parameter_count(), "history": result.history}
    if initial_gates is not None:
        record["initial_gate_weights"] = rounded_rows(initial_gates)
    return {"fingerprint": fingerprint, "record": record, "best_state": result.best_state,
            "train_seconds": result.train_seconds, "curve_seconds": result.curve_seconds,
            "device": device_of(backbone.model)}


def score_state(params: Params, method_name: str, spec, state: dict, test_split: PreparedSplit, seed: int,
                transfer_root: Path = TRANSFER_ROOT,
                timing: dict | None = None) -> tuple[dict[str, float], str, list[str]]:
    """Test-set metrics of a trained state (rebuilt on a fresh backbone), the decoding used, and
    the predictions themselves (one string per test example). ``timing``: gets ``seconds``, the wall time of
    the predictions alone (the inference cost the efficiency table shows; loading excluded)."""
    params = params.for_method(method_name)  # a variant's dropout
    backbone = load_backbone(params, params.method_config(method_name).trains_backbone)
    method = build_for(backbone, params, method_name, seed, transfer_root, spec.name)
    method.load_state_dict(state)
    decoder = make_decoder(spec, params.train, backbone.tokenizer)
    started = time.perf_counter()
    predictions = predict(backbone.runner, method, test_split, params.train.eval_batch_size, decoder, backbone.pad_id)
    if timing is not None:
        timing["seconds"] = time.perf_counter() - started
    return score(spec, predictions, test_split), decoder.name, predictions


def clear_checkpoints(checkpoint_dir: Path) -> None:
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


def source_run(params: Params, method_name: str, task_name: str, data_dir: Path, out_dir: Path,
               checkpoint_dir: Path) -> dict:
    """A method pre-trained on a source task (source_prompts.steps), written atomically to ``out_dir``."""
    from ptbench.run.stagekit import atomic_dir

    with atomic_dir(out_dir) as partial:
        record = train_run(params, method_name, task_name, data_dir, partial, steps=params.source_prompts.steps,
                           checkpoint_dir=checkpoint_dir, test_curve=False)
    clear_checkpoints(checkpoint_dir)
    return record


def with_steps(cfg, steps: int):
    from dataclasses import replace

    return replace(cfg, steps=steps, eval_interval=min(cfg.eval_interval, steps))


def evaluate_run(params: Params, method_name: str, task_name: str, data_dir: Path, run_dir: Path,
                 metrics_path: Path, transfer_root: Path = TRANSFER_ROOT, predictions_path: Path | None = None,
                 **extra_provenance: object) -> dict:
    """Score each seed's best state on the test split; mean over seeds plus per-seed values.
    With ``predictions_path``, also every seed's test predictions (``write_predictions``). ``run_dir`` may hold
    another task's run (zero-shot transfer: ``zero_shot_source`` in ``extra_provenance`` says which)."""
    spec = task_as_read(task_name, params.data)
    test_split = PreparedSplit.load(split_path(data_dir, "test"))
    per_seed, outputs, timings = {}, {}, {}
    for seed in params.seeds:
        seed_dir = run_dir / f"seed{seed}"
        record = json.loads((seed_dir / "train.json").read_text())
        timings[str(seed)] = {}
        scores, decoding, outputs[str(seed)] = score_state(params, method_name, spec, load_state(seed_dir / STATE_FILE),
                                                           test_split, seed, transfer_root, timings[str(seed)])
        per_seed[str(seed)] = seed_result(scores, record)
    payload = result_payload(params, method_name, spec, per_seed, record, len(test_split), data_dir, decoding,
                             **extra_provenance)
    if predictions_path is not None:  # the decoding seconds there, not in the record: a fact about the machine
        write_predictions(predictions_path, method_name, spec, test_split, outputs,
                          {seed: round(t["seconds"], 3) for seed, t in timings.items()})
    write_result(metrics_path, payload)
    return payload


def zero_shot_transfer(params: Params, method_name: str):
    """Seed 003 Fig. 10 (right): every grid run of ``method_name`` on ``params.backbone`` scored, as trained, on
    each other task's test split (``layout.zero_shot_metrics_path``); yields (source, target, payload)."""
    from ptbench.pipeline import layout
    from ptbench.run.stagekit import check_writable

    b, m, zero = params.backbone, method_name, params.zero_shot
    require(m in zero.methods and b in zero.backbones, "zero_shot", f"'{m}' on '{b}' is not listed (methods: "
            f"{', '.join(zero.methods) or 'none'}; backbones: {', '.join(zero.backbones) or 'none'})")
    pairs = [(s, t, layout.zero_shot_metrics_path(b, m, s, t), layout.zero_shot_predictions_path(b, m, s, t))
             for s in params.tasks for t in params.tasks if s != t]
    for _, _, metrics, predictions in pairs:  # before any compute: each result is written at the end of its pair
        for folder in (metrics.parent, layout.record_path(metrics).parent, predictions.parent):
            check_writable(folder)
    for source, target, metrics, predictions in pairs:
        yield source, target, evaluate_run(
            params, m, target, layout.data_dir(b, target), layout.run_dir(b, m, source), metrics,
            transfer_root=layout.transfer_root(b), predictions_path=predictions, zero_shot_source=source)


def train_and_evaluate(params: Params, method_name: str, task_name: str, data_dir: Path, run_dir: Path,
                       metrics_path: Path, predictions_path: Path | None, checkpoint_dir: Path,
                       transfer_root: Path = TRANSFER_ROOT) -> dict:
    """One cell in one process: train every seed into ``run_dir`` (written atomically), then score
    it on the test split. The stages that own a cell's run and its scores together call this (knob
    runs, the variant, ``runtime.stage_per: method``); the paper grid's train and evaluate stages
    call the two halves apart, so that a scoring change re-runs no training."""
    from ptbench.run.stagekit import atomic_dir, check_writable

    from ptbench.pipeline.layout import record_path

    for folder in {metrics_path.parent, record_path(metrics_path).parent,
                   *([predictions_path.parent] if predictions_path else [])}:
        check_writable(folder)  # before any compute: the scores are written at the very end
    with atomic_dir(run_dir) as partial:
        train_run(params, method_name, task_name, data_dir, partial, checkpoint_dir=checkpoint_dir,
                  transfer_root=transfer_root)
    clear_checkpoints(checkpoint_dir)
    return evaluate_run(params, method_name, task_name, data_dir, run_dir, metrics_path, transfer_root=transfer_root,
                        predictions_path=predictions_path)


def write_predictions(path: Path, method_name: str, spec, split: PreparedSplit, per_seed: dict[str, list[str]],
                      decode_seconds: dict[str, float] | None = None) -> None:
    """Per-example test predictions of every seed with the references (and MultiRC's question
    groups), so the report can bootstrap the test set and pair two methods example by example;
    ``decode_seconds``: per seed, the wall time of those predictions (the efficiency table's inference cost)."""
    payload = {"method": method_name, "task": spec.name, "metrics": list(spec.metrics),
               "classes": list(spec.choices) if spec.choices else None,  # CB's F1 averages over them
               "references": [list(refs) for refs in split.references],
               "groups": list(split.groups) if split.groups else None, "per_seed": per_seed}
    if decode_seconds:
        payload["decode_seconds"] = decode_seconds
    write_json(path, payload)


def seed_result(scores: dict[str, float], record: dict) -> dict:
    """One seed's entry of a metrics file: its test scores, best step, divergence and last logged
    training loss (None without steps: a control). The loss moves with any change to what a method
    computes, even where the test score saturates: the smoke regression check compares it too."""
    losses = [entry["loss"] for entry in record["history"] if "loss" in entry]
    return {**scores, "best_step": record["best_step"], "diverged": record["diverged"],
            "train_loss": losses[-1] if losses else None}


def method_package(name: str) -> dict[str, str]:
    """Which distribution a method's code came from (ptbench, or a plugin package) and its version."""
    from importlib import metadata

    from ptbench.methods import get_method

    source = get_method(name).source
    try:
        version = metadata.version(source)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"name": source, "version": version}


def result_payload(params: Params, method_name: str, spec, per_seed: dict, record: dict, test_examples: int,
                   data_dir: Path, decoding: str, **extra_provenance: object) -> dict:
    """The metrics file: the mean over seeds, every seed, counts and provenance."""
    params = params.for_method(method_name)  # a variant's dropout
    splits = json.loads((data_dir / "splits.json").read_text())
    info = get_backbone(params.backbone)
    names = list(spec.metrics) + ["invalid_rate"]
    mean = {name: round(sum(s[name] for s in per_seed.values()) / len(per_seed), 4) for name in names}
    return {
        "method": method_name, "registered_method": params.registered_method(method_name), "task": spec.name,
        "metrics": mean, "per_seed": per_seed,
        "primary_metric": spec.metrics[0], "test_examples": test_examples,
        "trainable_parameters": record["trainable_parameters"], "stored_parameters": record["stored_parameters"],
        "provenance": provenance(
            backbone=params.backbone, backbone_hub_id=info.hub_id, hub_mirror=params.hub.mirror,
            original_t5_checkpoint=info.original_t5, profile=params.profile, seeds=params.seeds,
            split_protocol=splits["protocol"], split_seed=splits["split_seed"], split_hash=splits["split_hash"],
            scoring=splits["scoring"], label_words=splits["label_words"], task_prefix=splits["task_prefix"],
            decoding=decoding, dataset=splits["hub"], dropout=params.dropout, optimizer=params.train.optimizer,
            # the whole configuration, code defaults included: what shaped the run, not today's defaults
            method_config=dataclasses.asdict(params.method_config(method_name)),
            cpu_threads=params.runtime.cpu_threads, torch_threads=torch.get_num_threads(),
            method_package=method_package(params.registered_method(method_name)), **extra_provenance),
    }
