"""The one training loop, for every method.

Top to bottom: seeded batches, loss through the method's inputs, AdamW (``train.optimizer``: the
reference trainers' legacy formula or torch's) over the method's parameter groups, validation every
``eval_interval`` steps keeping the best state (as the papers select the best checkpoint on validation), a stop on a non-finite loss, and a
checkpoint every ``checkpoint_interval`` steps from which a killed run resumes to the same result.

The loop runs through HF Accelerate (``train.mixed_precision``, ``train.gradient_accumulation_steps``,
one or many processes under ``accelerate launch``). A step is one optimizer update on ``batch_size``
examples whatever the hardware: the step's batch is split into contiguous micro-batches, one per
(process, accumulation step), each loss weighted by its share of the batch's target tokens and the
method's gradients summed over processes, so that the update is the one of the whole batch at
once. On one process without accumulation or mixed precision the loop is the plain one, bit for bit.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ptbench import artifacts
from ptbench.data.prepare import PreparedSplit
from ptbench.eval.metrics import compute_metric, invalid_rate
from ptbench.methods.base import PeftMethod
from ptbench.progress import Progress
from ptbench.run.process import is_main_process
from ptbench.tasks.spec import TaskSpec
from ptbench.train.backbone import Batch
from ptbench.train.live import RunLog
from ptbench.train.optim import build_optimizer


def collate(split: PreparedSplit, indices: list[int], pad_id: int) -> Batch:
    pad = torch.nn.utils.rnn.pad_sequence
    inputs = pad([torch.tensor(split.input_ids[i]) for i in indices], batch_first=True, padding_value=pad_id)
    labels = pad([torch.tensor(split.label_ids[i]) for i in indices], batch_first=True, padding_value=-100)
    return Batch(inputs, (inputs != pad_id).long(), labels)


class BatchSchedule:
    """Which examples step k trains on: epoch e is a permutation seeded by (seed, e), so the
    stream is a pure function of the step and a resumed run sees the same batches."""

    def __init__(self, n_examples: int, batch_size: int, seed: int) -> None:
        self.n, self.size, self.seed = n_examples, batch_size, seed
        self.per_epoch = math.ceil(n_examples / batch_size)  # the last partial batch is kept
        self._epoch, self._order = -1, []

    def indices(self, step: int) -> list[int]:
        epoch, position = divmod(step - 1, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._order = epoch, torch.randperm(self.n, generator=generator).tolist()
        return self._order[position * self.size:(position + 1) * self.size]


def shard(indices: list[int], n_shards: int, k: int) -> list[int]:
    """The k-th of ``n_shards`` contiguous, near-equal parts of ``indices`` (sizes differ by at most
    one; a part is empty when there are fewer examples than parts)."""
    n = len(indices)
    return indices[k * n // n_shards:(k + 1) * n // n_shards]


def micro_batches(indices: list[int], accumulation: int, process: int, n_processes: int) -> list[list[int]]:
    """The examples of one process's accumulation steps within a step's batch: process p takes the
    p-th contiguous slice of the batch and walks it in ``accumulation`` parts. Every process computes
    the same schedule, so each sees distinct examples and together they see the batch exactly once."""
    n_shards = accumulation * n_processes
    return [shard(indices, n_shards, process * accumulation + m) for m in range(accumulation)]


def to_device(batch: Batch, device: torch.device) -> Batch:
    return Batch(batch.input_ids.to(device), batch.attention_mask.to(device), batch.labels.to(device))


def model_device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


class Generate:
    """Greedy generation (DePT: at most ``max_new_tokens``, stopping when every sequence ended)."""

    name = "generate"

    def __init__(self, max_new_tokens: int) -> None:
        self.max_new_tokens = max_new_tokens

    def __call__(self, backbone, method: PeftMethod, batch: Batch) -> list[str]:
        return backbone.generate(method, batch, self.max_new_tokens)


class RankChoices:
    """Rank classification: score every verbalizer string, answer the most likely one (so no
    output is ever invalid). ``candidate_ids`` are the tokenised choices, end-of-sequence included."""

    name = "rank"

    def __init__(self, choices: tuple[str, ...], candidate_ids: list[list[int]]) -> None:
        self.choices, self.candidate_ids = choices, candidate_ids

    def __call__(self, backbone, method: PeftMethod, batch: Batch) -> list[str]:
        return [self.choices[i] for i in backbone.rank(method, batch, self.candidate_ids)]


def make_decoder(spec: TaskSpec, cfg, tokenizer):
    """``train.decoding``: rank classification applies to tasks with a closed output set; free-form
    tasks (QA, regression) always generate."""
    if cfg.decoding == "rank" and spec.choices is not None:
        return RankChoices(spec.choices, tokenizer(list(spec.choices)).input_ids)
    return Generate(cfg.max_new_tokens)


def predict(backbone, method: PeftMethod, split: PreparedSplit, batch_size: int, decoder, pad_id: int,
            indices: list[int] | None = None) -> list[str]:
    """Predictions (of ``indices``, default all, in order) with dropout off in both the method and the
    backbone (``generate`` does not switch modes itself), restored afterwards. Batches go to the
    backbone's device."""
    indices = list(range(len(split))) if indices is None else indices
    device = model_device(backbone.model)
    modes = (method.training, backbone.model.training)
    method.eval()
    backbone.model.eval()
    outputs: list[str] = []
    progress = Progress(f"{decoder.name} {len(indices)} examples", len(indices), enabled=is_main_process(),
                        quiet_if_quick=True)
    for start in range(0, len(indices), batch_size):
        batch = collate(split, indices[start:start + batch_size], pad_id)
        outputs += decoder(backbone, method, to_device(batch, device))
        progress.update(len(outputs))
    method.train(modes[0])
    backbone.model.train(modes[1])
    return outputs


def predict_sharded(accelerator, backbone, method: PeftMethod, split: PreparedSplit, batch_size: int, decoder,
                    pad_id: int) -> list[str]:
    """``predict`` with the examples split across processes (contiguous slices, gathered back in
    order): every process gets the same full list. One process: ``predict`` itself."""
    if accelerator.num_processes == 1:
        return predict(backbone, method, split, batch_size, decoder, pad_id)
    from accelerate.utils import gather_object

    mine = shard(list(range(len(split))), accelerator.num_processes, accelerator.process_index)
    return gather_object(predict(backbone, method, split, batch_size, decoder, pad_id, mine))


def score(spec: TaskSpec, predictions: list[str], split: PreparedSplit) -> dict[str, float]:
    groups = split.groups or None
    scores = {name: round(compute_metric(name, predictions, split.references, groups, spec.choices), 4)
              for name in spec.metrics}
    scores["invalid_rate"] = round(invalid_rate(predictions, spec.choices), 4)
    return scores


@dataclass
class RunResult:
    best_state: dict[str, torch.Tensor]
    best_step: int
    best_validation: dict[str, float]
    history: list[dict] = field(default_factory=list)
    diverged: dict | None = None  # {"step": ..., "last_finite_loss": ...} when the loss blew up
    # wall-clock seconds of the loop (steps and validation; a resumed run adds its earlier part): a
    # fact about the machine, kept out of the history so that a seed's records stay byte-identical
    train_seconds: float = 0.0
    curve_seconds: float = 0.0  # scoring the test curve (``train.test_curve``), not counted in train_seconds


def _lr_lambda(warmup: int, total: int, schedule: str = "linear"):
    """Linear warmup over ``warmup`` steps, then linear decay to 0 at ``total`` (``linear``) or the
    full rate (``constant``: seed 004's "no learning rate scheduler")."""
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a kill during the write leaves the previous checkpoint intact (``artifacts.save_checkpoint``)."""
    artifacts.save_checkpoint(path, state)


def load_checkpoint(path: Path | None, fingerprint: str) -> dict | None:
    """The saved state of this very run (same fingerprint), else None. Tensors load on the CPU
    (every process of a launched run reads the main process's file), through torch's restricted
    unpickler (``artifacts.load_checkpoint``: a file holding anything but data is refused)."""
    if path is None or not path.exists():
        return None
    state = artifacts.load_checkpoint(path)
    return state if state.get("fingerprint") == fingerprint else None


def make_accelerator(cfg):
    """The run's ``accelerate.Accelerator``: ``train.mixed_precision`` and
    ``train.gradient_accumulation_steps``; devices and processes come from the environment
    (``accelerate launch``; one process on the GPU, else the CPU, without it).

    Accelerate keeps one precision per process; a later run of the same process with another
    ``mixed_precision`` (tests, notebooks) resets it, never the process group of a launched run.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from ptbench.errors import ConfigError

    shared = AcceleratorState._shared_state
    if shared and shared.get("_mixed_precision") != cfg.mixed_precision:
        AcceleratorState._reset_state()
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision,
                              gradient_accumulation_steps=cfg.gradient_accumulation_steps)
    if cfg.mixed_precision == "fp16" and accelerator.device.type != "cuda":
        raise ConfigError(f"train.mixed_precision: fp16 needs a CUDA GPU, this run is on {accelerator.device.type}; "
                          'use bf16 or "no"')
    shards = cfg.gradient_accumulation_steps * accelerator.num_processes
    if shards > cfg.batch_size:
        raise ConfigError(f"train.batch_size: {cfg.batch_size} examples cannot be split over "
                          f"{cfg.gradient_accumulation_steps} accumulation steps x "
                          f"{accelerator.num_processes} processes")
    return accelerator


def place_backbone(model: torch.nn.Module, device: torch.device) -> None:
    """The frozen backbone on the run's device. A quantized model stays where it was loaded
    (bitsandbytes places it at load time: ``hub.load_model(..., quantize_4bit=True)``)."""
    from ptbench.quantization import is_quantized

    if not is_quantized(model):
        model.to(device)
        return
    where = {p.device for p in model.parameters()}
    if any(not same_device(d, device) for d in where):
        raise RuntimeError(f"the 4-bit backbone is on {', '.join(sorted(map(str, where)))} but this process trains on "
                           f"{device}; load it in the process that trains it (hub.load_model places it there)")


def same_device(a: torch.device, b: torch.device) -> bool:
    """``cuda`` is ``cuda:0`` on a one-GPU process; every CPU index is the CPU (``cpu:0`` under torchrun)."""
    return a.type == b.type and (a.type == "cpu" or (a.index or 0) == (b.index or 0))


def state_copy(method: PeftMethod) -> dict[str, torch.Tensor]:
    """A copy of the method's state on the CPU (the best state is saved and reloaded anywhere)."""
    state = copy.deepcopy(method.state_dict())
    for key, value in state.items():
        state[key] = value.cpu()
    return state


def sum_gradients(accelerator, parameters: list[torch.nn.Parameter]) -> None:
    """Each process holds its micro-batches' share of the step's gradient: add them up (a parameter
    a process did not reach counts as zero, so every process reduces the same tensors)."""
    for parameter in parameters:
        if parameter.grad is None:
            parameter.grad = torch.zeros_like(parameter)
        parameter.grad.copy_(accelerator.reduce(parameter.grad, "sum"))


def train(backbone, method: PeftMethod, spec: TaskSpec, train_split: PreparedSplit, val_split: PreparedSplit,
          cfg, seed: int, pad_id: int, checkpoint: Path | None = None, fingerprint: str = "",
          decoder=None, accelerator=None, live_dir: Path | None = None,
          curve_split: PreparedSplit | None = None) -> RunResult:
    """Train ``method`` on the frozen backbone; return the best state on validation.

    With ``checkpoint``, the full training state (method, optimiser, schedule, RNG, best so far,
    history) is saved every ``cfg.checkpoint_interval`` steps by the main process, and a run with the
    same ``fingerprint`` resumes from it. ``decoder`` reads validation predictions (``make_decoder``;
    None: greedy generation with ``cfg.max_new_tokens``). ``accelerator``: default ``make_accelerator(cfg)``.
    With ``live_dir``, the main process also writes the history there as dvclive files as it grows
    (``live.RunLog``; a resumed run rewrites them from its checkpoint's history).

    Each step trains on ``cfg.batch_size`` examples (``BatchSchedule``), split into
    ``gradient_accumulation_steps`` micro-batches on each process (``micro_batches``); a micro-batch's
    loss (a mean over its target tokens) is weighted by its share of the step's target tokens, so the
    summed gradient is that of the whole batch's mean loss, the logged loss is the batch's, and the
    learning-rate schedule counts optimizer steps. Validation is split across processes and gathered.

    With ``curve_split`` (the test split, ``train.test_curve``), each validation also scores that split into the
    history as ``test_<metric>``: the learning curve on the reported set, which a selection that reads a peak
    (``selection.paper.checkpoint: test``) needs. It only reads the state (no gradient, no random draw: the run
    learns the same bits), and its seconds are left out of ``train_seconds`` (kept as ``curve_seconds``).
    """
    accelerator = accelerator or make_accelerator(cfg)
    device, n_processes = accelerator.device, accelerator.num_processes
    accumulation = cfg.gradient_accumulation_steps
    whole = accumulation * n_processes == 1  # the plain loop: one forward and backward per step
    place_backbone(backbone.model, device)
    method.to(device)
    decoder = decoder or Generate(cfg.max_new_tokens)
    if not any(p.requires_grad for p in method.parameters()):  # a control: the built state, validated once
        return _validated_as_built(accelerator, backbone, method, spec, val_split, cfg, decoder, pad_id, curve_split)
    optimizer = build_optimizer(cfg.optimizer, method.param_groups(cfg.weight_decay), method.config.adam_eps)
    # Stepped here once per optimizer update (not accelerate's AcceleratedScheduler, which steps once
    # per process): the schedule is a function of the update count whatever the processes.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg.warmup_steps, cfg.steps, cfg.lr_schedule))
    optimizer = accelerator.prepare_optimizer(optimizer)
    primary = spec.metrics[0]
    best = RunResult(state_copy(method), 0, {primary: -math.inf})
    trainable = [p for group in optimizer.param_groups for p in group["params"]]
    last_finite, first_step, earlier_seconds = None, 1, 0.0
    earlier_curve, curve_here = 0.0, 0.0  # the test curve's seconds, before a resume and in this process
    started = time.perf_counter()
    saved = load_checkpoint(checkpoint, fingerprint)
    if saved is not None:
        method.load_state_dict(saved["method"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["torch_rng"])  # dropout masks continue as they would have
        if "cuda_rng" in saved and device.type == "cuda":
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        if "scaler" in saved and accelerator.scaler is not None:
            accelerator.scaler.load_state_dict(saved["scaler"])
        best = RunResult(saved["best_state"], saved["best_step"], saved["best_validation"], saved["history"])
        last_finite, first_step = saved["last_finite_loss"], saved["step"] + 1
        earlier_seconds = saved.get("train_seconds", 0.0)
        earlier_curve = saved.get("curve_seconds", 0.0)
    accelerator.wait_for_everyone()  # every process has read the checkpoint before the main one rewrites it
    history = best.history  # the same list: appended to as the run goes
    live = RunLog(live_dir, history)  # a resumed run's earlier entries too
    progress = Progress(f"train {spec.name} seed {seed}", cfg.steps, first_step - 1,
                        enabled=accelerator.is_main_process)
    latest_validation = None
    schedule_of_batches = BatchSchedule(len(train_split), cfg.batch_size, seed)
    tokens = [len(labels) for labels in train_split.label_ids]
    method.train()
    for step in range(first_step, cfg.steps + 1):
        indices = schedule_of_batches.indices(step)
        step_tokens = sum(tokens[i] for i in indices)
        step_loss = torch.zeros((), device=device)
        for part in micro_batches(indices, accumulation, accelerator.process_index, n_processes):
            with accelerator.accumulate(method):  # the optimizer steps after the last micro-batch only
                if not part:
                    continue
                with accelerator.autocast():
                    loss = backbone.loss(method, to_device(collate(train_split, part, pad_id), device))
                if whole:
                    step_loss = loss.detach()
                    accelerator.backward(loss)
                    continue
                loss = loss.float() * (sum(tokens[i] for i in part) / step_tokens)
                step_loss = step_loss + loss.detach()
                accelerator.backward(loss * accumulation)  # accelerate divides by the accumulation steps
        if n_processes > 1:
            step_loss = accelerator.reduce(step_loss, "sum")
            sum_gradients(accelerator, trainable)
        if not torch.isfinite(step_loss):
            optimizer.zero_grad(set_to_none=True)
            best.diverged = {"step": step, "last_finite_loss": last_finite}
            break
        last_finite = step_loss.item()
        if cfg.max_grad_norm is not None:
            accelerator.clip_grad_norm_(trainable, cfg.max_grad_norm)
        optimizer.step()
        if not optimizer.step_was_skipped:  # fp16: an overflowing step is skipped, and so is its schedule step
            schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if step % cfg.log_interval == 0:
            history.append({"step": step, "loss": round(last_finite, 6), **method.diagnostics()})
            live.log(history[-1])
        if step % cfg.eval_interval == 0 or step == cfg.steps:
            predictions = predict_sharded(accelerator, backbone, method, val_split, cfg.eval_batch_size, decoder,
                                          pad_id)
            scores = score(spec, predictions, val_split)
            history.append({"step": step, **{f"validation_{k}": v for k, v in scores.items()}})
            if curve_split is not None:
                curve_started = time.perf_counter()
                on_test = score(spec, predict_sharded(accelerator, backbone, method, curve_split, cfg.eval_batch_size,
                                                      decoder, pad_id), curve_split)
                history[-1].update({f"test_{k}": v for k, v in on_test.items()})
                curve_here += time.perf_counter() - curve_started
            live.log(history[-1])
            if scores[primary] > best.best_validation[primary]:
                best.best_state = state_copy(method)
                best.best_step, best.best_validation = step, scores
            latest_validation = scores[primary]
        progress.update(step, loss=last_finite, validation=latest_validation)
        if (checkpoint is not None and step % cfg.checkpoint_interval == 0 and step < cfg.steps
                and accelerator.is_main_process):
            extra: dict[str, Any] = {}
            if device.type == "cuda":
                extra["cuda_rng"] = torch.cuda.get_rng_state(device)
            if accelerator.scaler is not None:
                extra["scaler"] = accelerator.scaler.state_dict()
            save_checkpoint(checkpoint, {
                "fingerprint": fingerprint, "step": step, "method": method.state_dict(),
                "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "torch_rng": torch.get_rng_state(), "best_state": best.best_state, "best_step": best.best_step,
                "best_validation": best.best_validation, "history": history, "last_finite_loss": last_finite,
                "train_seconds": earlier_seconds + time.perf_counter() - started - curve_here,
                "curve_seconds": earlier_curve + curve_here, **extra})
    accelerator.wait_for_everyone()
    best.train_seconds = earlier_seconds + time.perf_counter() - started - curve_here
    best.curve_seconds = earlier_curve + curve_here
    return best


def _validated_as_built(accelerator, backbone, method: PeftMethod, spec: TaskSpec, val_split: PreparedSplit, cfg,
                        decoder, pad_id: int, curve_split: PreparedSplit | None = None) -> RunResult:
    """A method with nothing to train (a control): no steps, its built state scored on validation (and on the
    curve's split, as ``train`` does)."""
    started = time.perf_counter()
    predictions = predict_sharded(accelerator, backbone, method, val_split, cfg.eval_batch_size, decoder, pad_id)
    scores = score(spec, predictions, val_split)
    history = [{"step": 0, **{f"validation_{k}": v for k, v in scores.items()}}]
    seconds, curve_started = time.perf_counter() - started, time.perf_counter()
    if curve_split is not None:
        on_test = score(spec, predict_sharded(accelerator, backbone, method, curve_split, cfg.eval_batch_size, decoder,
                                              pad_id), curve_split)
        history[0].update({f"test_{k}": v for k, v in on_test.items()})
    return RunResult(state_copy(method), 0, scores, history, train_seconds=seconds,
                     curve_seconds=time.perf_counter() - curve_started if curve_split is not None else 0.0)
