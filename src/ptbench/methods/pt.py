"""Vanilla prompt tuning (Lester et al., 2021): a trainable (l, d) prompt prepended to the input."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import INIT_CHOICES, BackboneContext, MethodConfig, PeftMethod, initial_prompt


@dataclass
class PromptTuningConfig(MethodConfig):
    length: int = 10  # l: number of soft tokens (10 in seed 003, 100 in seed 001 / ATTEMPT)
    init: str = "vocab"  # vocab (sampled embeddings) | uniform [-init_range, init_range] | text
    init_range: float = 0.5
    init_text: str = ""  # for init: text, tiled to the prompt length
    lr: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.length, int) and self.length >= 1, "length", f"must be an integer >= 1, got {self.length!r}")
        require_choice("init", self.init, INIT_CHOICES)


class PromptTuning(PeftMethod):
    config_class = PromptTuningConfig

    def __init__(self, config: PromptTuningConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.embedding = nn.Parameter(initial_prompt(ctx, config.length, config.init, config.init_range, config.init_text))

    def prompt(self) -> torch.Tensor:
        return self.embedding


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "pt": (PromptTuning, PromptTuningConfig,
        "vanilla prompt tuning (Lester et al., 2021)"),
}
