"""The one training loop, for every method.

Top to bottom: seeded batches, loss through the method's inputs, AdamW over the method's
parameter groups, validation every ``eval_interval`` steps keeping the best state (as the
papers select the best checkpoint on validation), and a stop on a non-finite loss.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Iterator

import torch

from ptbench.data.prepare import PreparedSplit
from ptbench.eval.metrics import METRICS, invalid_rate
from ptbench.methods.base import PeftMethod
from ptbench.tasks.spec import TaskSpec
from ptbench.train.backbone import Batch


def collate(split: PreparedSplit, indices: list[int], pad_id: int) -> Batch:
    pad = torch.nn.utils.rnn.pad_sequence
    inputs = pad([torch.tensor(split.input_ids[i]) for i in indices], batch_first=True, padding_value=pad_id)
    labels = pad([torch.tensor(split.label_ids[i]) for i in indices], batch_first=True, padding_value=-100)
    return Batch(inputs, (inputs != pad_id).long(), labels)


def batches(n_examples: int, batch_size: int, generator: torch.Generator) -> Iterator[list[int]]:
    """Endless epochs, each a fresh seeded permutation (the last partial batch is kept)."""
    while True:
        order = torch.randperm(n_examples, generator=generator).tolist()
        for start in range(0, n_examples, batch_size):
            yield order[start:start + batch_size]


def predict(backbone, method: PeftMethod, split: PreparedSplit, batch_size: int, max_new_tokens: int,
            pad_id: int) -> list[str]:
    was_training = method.training
    method.eval()
    outputs: list[str] = []
    for start in range(0, len(split), batch_size):
        indices = list(range(start, min(start + batch_size, len(split))))
        outputs += backbone.generate(method, collate(split, indices, pad_id), max_new_tokens)
    method.train(was_training)
    return outputs


def score(spec: TaskSpec, predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    scores = {name: round(METRICS[name](predictions, references), 4) for name in spec.metrics}
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


def train(backbone, method: PeftMethod, spec: TaskSpec, train_split: PreparedSplit, val_split: PreparedSplit,
          cfg, seed: int, pad_id: int) -> RunResult:
    """Train ``method`` on the frozen backbone; return the best state on validation."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(method.param_groups(cfg.weight_decay))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg.warmup_steps, cfg.steps))
    primary = spec.metrics[0]
    history: list[dict] = []
    best = RunResult(copy.deepcopy(method.state_dict()), 0, {primary: -math.inf})
    trainable = [p for group in optimizer.param_groups for p in group["params"]]
    last_finite = None
    stream = batches(len(train_split), cfg.batch_size, generator)
    method.train()
    for step in range(1, cfg.steps + 1):
        loss = backbone.loss(method, collate(train_split, next(stream), pad_id))
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
            predictions = predict(backbone, method, val_split, cfg.eval_batch_size, cfg.max_new_tokens, pad_id)
            scores = score(spec, predictions, val_split.references)
            history.append({"step": step, **{f"validation_{k}": v for k, v in scores.items()}})
            if scores[primary] > best.best_validation[primary]:
                best.best_state = copy.deepcopy(method.state_dict())
                best.best_step, best.best_validation = step, scores
    best.history = history
    return best
