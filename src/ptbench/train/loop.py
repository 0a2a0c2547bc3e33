"""The one training loop, for every method.

Top to bottom: seeded batches, loss through the method's inputs, AdamW over the method's
parameter groups, validation every ``eval_interval`` steps keeping the best state (as the
papers select the best checkpoint on validation), a stop on a non-finite loss, and a
checkpoint every ``checkpoint_interval`` steps from which a killed run resumes to the same result.
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ptbench.data.prepare import PreparedSplit
from ptbench.eval.metrics import compute_metric, invalid_rate
from ptbench.methods.base import PeftMethod
from ptbench.tasks.spec import TaskSpec
from ptbench.train.backbone import Batch


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


def predict(backbone, method: PeftMethod, split: PreparedSplit, batch_size: int, decoder, pad_id: int) -> list[str]:
    """Predictions with dropout off in both the method and the backbone (``generate`` does not
    switch modes itself), restored afterwards."""
    modes = (method.training, backbone.model.training)
    method.eval()
    backbone.model.eval()
    outputs: list[str] = []
    for start in range(0, len(split), batch_size):
        indices = list(range(start, min(start + batch_size, len(split))))
        outputs += decoder(backbone, method, collate(split, indices, pad_id))
    method.train(modes[0])
    backbone.model.train(modes[1])
    return outputs


def score(spec: TaskSpec, predictions: list[str], split: PreparedSplit) -> dict[str, float]:
    groups = split.groups or None
    scores = {name: round(compute_metric(name, predictions, split.references, groups), 4) for name in spec.metrics}
    scores["invalid_rate"] = round(invalid_rate(predictions, spec.choices), 4)
    return scores


@dataclass
class RunResult:
    best_state: dict[str, torch.Tensor]
    best_step: int
    best_validation: dict[str, float]
    history: list[dict] = field(default_factory=list)
    diverged: dict | None = None  # {"step": ..., "last_finite_loss": ...} when the loss blew up


def _lr_lambda(warmup: int, total: int):
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a kill during the write leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path | None, fingerprint: str) -> dict | None:
    """The saved state of this very run (same fingerprint), else None."""
    if path is None or not path.exists():
        return None
    state = torch.load(path, weights_only=False)
    return state if state.get("fingerprint") == fingerprint else None


def train(backbone, method: PeftMethod, spec: TaskSpec, train_split: PreparedSplit, val_split: PreparedSplit,
          cfg, seed: int, pad_id: int, checkpoint: Path | None = None, fingerprint: str = "",
          decoder=None) -> RunResult:
    """Train ``method`` on the frozen backbone; return the best state on validation.

    With ``checkpoint``, the full training state (method, optimiser, schedule, RNG, best so far,
    history) is saved every ``cfg.checkpoint_interval`` steps and a run with the same
    ``fingerprint`` resumes from it. ``decoder`` reads validation predictions (``make_decoder``;
    None: greedy generation with ``cfg.max_new_tokens``).
    """
    decoder = decoder or Generate(cfg.max_new_tokens)
    optimizer = torch.optim.AdamW(method.param_groups(cfg.weight_decay))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg.warmup_steps, cfg.steps))
    primary = spec.metrics[0]
    best = RunResult(copy.deepcopy(method.state_dict()), 0, {primary: -math.inf})
    trainable = [p for group in optimizer.param_groups for p in group["params"]]
    last_finite, first_step = None, 1
    saved = load_checkpoint(checkpoint, fingerprint)
    if saved is not None:
        method.load_state_dict(saved["method"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["torch_rng"])  # dropout masks continue as they would have
        best = RunResult(saved["best_state"], saved["best_step"], saved["best_validation"], saved["history"])
        last_finite, first_step = saved["last_finite_loss"], saved["step"] + 1
    history = best.history  # the same list: appended to as the run goes
    schedule_of_batches = BatchSchedule(len(train_split), cfg.batch_size, seed)
    method.train()
    for step in range(first_step, cfg.steps + 1):
        loss = backbone.loss(method, collate(train_split, schedule_of_batches.indices(step), pad_id))
        if not torch.isfinite(loss):
            best.diverged = {"step": step, "last_finite_loss": last_finite}
            break
        last_finite = loss.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if step % cfg.log_interval == 0:
            history.append({"step": step, "loss": round(last_finite, 6), **method.diagnostics()})
        if step % cfg.eval_interval == 0 or step == cfg.steps:
            predictions = predict(backbone, method, val_split, cfg.eval_batch_size, decoder, pad_id)
            scores = score(spec, predictions, val_split)
            history.append({"step": step, **{f"validation_{k}": v for k, v in scores.items()}})
            if scores[primary] > best.best_validation[primary]:
                best.best_state = copy.deepcopy(method.state_dict())
                best.best_step, best.best_validation = step, scores
        if checkpoint is not None and step % cfg.checkpoint_interval == 0 and step < cfg.steps:
            save_checkpoint(checkpoint, {
                "fingerprint": fingerprint, "step": step, "method": method.state_dict(),
                "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "torch_rng": torch.get_rng_state(), "best_state": best.best_state, "best_step": best.best_step,
                "best_validation": best.best_validation, "history": history, "last_finite_loss": last_finite})
    return best
