"""``gated_pt``: vanilla prompt tuning whose prompt passes through a learned scalar gate,
P = tanh(g) * E with E the (l, d) prompt and g a trainable scalar (init ``gate_init``).

What a ptbench method implements (docs/plugins.md): a config dataclass (its knobs, validated in
``__post_init__``), a ``PeftMethod`` whose ``prompt()`` (or ``forward``) builds what the backbone sees,
and ``ENTRIES``. It may read the frozen backbone through the ``BackboneContext``; it may not change the
loop, the data or another method. Trained and stored: l d + 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, initial_prompt


@dataclass
class GatedPromptConfig(MethodConfig):
    length: int = 10
    init: str = "vocab"
    gate_init: float = 1.0  # g at step 0: tanh(1) = 0.76 of the initial prompt
    lr: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.length, int) and not isinstance(self.length, bool) and self.length >= 1, "length",
                f"must be an integer >= 1, got {self.length!r}")
        require(isinstance(self.gate_init, (int, float)) and not isinstance(self.gate_init, bool)
                and math.isfinite(self.gate_init), "gate_init", f"must be a finite number, got {self.gate_init!r}")


class GatedPrompt(PeftMethod):
    config_class = GatedPromptConfig

    def __init__(self, config: GatedPromptConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.embedding = nn.Parameter(initial_prompt(ctx, config.length, config.init))
        self.gate = nn.Parameter(torch.tensor(float(config.gate_init)))

    def prompt(self) -> torch.Tensor:
        return torch.tanh(self.gate) * self.embedding


ENTRIES = {"gated_pt": (GatedPrompt, GatedPromptConfig, "example plugin: prompt tuning with a learned tanh gate")}
