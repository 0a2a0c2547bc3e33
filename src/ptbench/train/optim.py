"""The optimizer of a run (``train.optimizer``): the reference trainers' AdamW, or torch's.

Every reference trainer we compare against (DePT's and ATTEMPT's ``train.py``/``run_seq2seq.py``,
ResidualPrompts' ``prompt_tuner2.py``, AdaMix's HF Trainer fork) builds ``transformers.AdamW``, the
"legacy" AdamW transformers deprecated in v4.x and removed in v5. It differs from ``torch.optim.AdamW``
in two places, both of which move a step:

- eps is added to sqrt(v) *before* the bias correction is folded into the step size, so the effective
  eps is eps / sqrt(1 - beta2^t): early in training ~1,000-3,000x torch's (which adds eps to
  sqrt(v_hat));
- weight decay is applied *after* the Adam update, to the updated weights (torch decays first).

Its default eps is 1e-6 (DePT and ATTEMPT pass none; ResidualPrompts and AdaMix pass 1e-8: each
method's ``adam_eps``). ``adamw_legacy`` is our own implementation of that formula
(tests/train/test_optim.py checks it on hand-computed values); ``adamw_torch`` is the alternative.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from ptbench.config import OPTIMIZERS
from ptbench.errors import ConfigError

# each optimizer's eps when a method's adam_eps is null: transformers.AdamW's default (what DePT and ATTEMPT
# ran), torch.optim.AdamW's
DEFAULT_EPS = {"adamw_legacy": 1e-6, "adamw_torch": 1e-8}


class LegacyAdamW(torch.optim.Optimizer):
    """transformers' legacy ``AdamW`` (correct_bias=True), written from its published formula:

        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
        p <- p - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
        p <- p - lr * wd * p          (the updated p; only when wd > 0)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = DEFAULT_EPS["adamw_legacy"], weight_decay: float = 0.0) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(f"LegacyAdamW: invalid lr {lr}, betas {betas}, eps {eps} or weight_decay {weight_decay}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(p.grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(p.grad, p.grad, value=1.0 - beta2)
                denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"] * math.sqrt(1.0 - beta2 ** state["step"]) / (1.0 - beta1 ** state["step"])
                p.addcdiv_(exp_avg, denom, value=-step_size)
                if group["weight_decay"] > 0.0:
                    p.add_(p, alpha=-group["lr"] * group["weight_decay"])
        return loss


def build_optimizer(name: str, groups: list[dict[str, Any]], eps: float | None) -> torch.optim.Optimizer:
    """``name``'s optimizer over a method's parameter groups; ``eps``: the method's ``adam_eps`` (None: the
    optimizer's own default, 1e-6 legacy / 1e-8 torch)."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"train.optimizer: must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    eps = DEFAULT_EPS[name] if eps is None else eps
    return LegacyAdamW(groups, eps=eps) if name == "adamw_legacy" else torch.optim.AdamW(groups, eps=eps)

