"""Explosive Prompt Tuning (seed 003): one prompt through an under-parameterised linear MLP.

EPT: P' = W_up W_down P_1 with P_1 in R^d, W_down in R^{h x d}, W_up in R^{d x h}, h = 1,
no bias, no LayerNorm, no non-linearity, no residual (the pieces that "suppress the growth of
norms", sec. 3.3). EPT*: the projected prompt broadcast to length n = 10 (eq. 5, Fig. 7).
Trained: d + 2 d h (2.3K on T5-base); stored after training: the projected prompt, d (Table 4).
The ablation switches of Fig. 9 (LayerNorm, residual, ReLU/GELU/tanh) are config fields.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import (
    BackboneContext, INIT_CHOICES, MethodConfig, PeftMethod, initial_prompt, seeded_linear_init,
)

ACTIVATIONS = {"none": nn.Identity, "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


@dataclass
class EptConfig(MethodConfig):
    broadcast_length: int = 1  # n copies of the single projected prompt (EPT: 1, EPT*: 10)
    hidden_size: int = 1  # h of the down-up MLP (seed 003 sweeps 1..1000 in Fig. 5)
    init: str = "uniform"  # uniform [-0.5, 0.5] (seed 003 B.4) | vocab | text
    init_range: float = 0.5
    init_text: str = ""
    activation: str = "none"  # ablation (Fig. 9): none | relu | gelu | tanh
    layer_norm: bool = False  # ablation (Fig. 9)
    residual: bool = False  # ablation (Fig. 9)
    lr: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.broadcast_length, int) and 1 <= self.broadcast_length <= 100,
                "broadcast_length", f"must be an integer in [1, 100], got {self.broadcast_length!r}")
        require(isinstance(self.hidden_size, int) and self.hidden_size >= 1,
                "hidden_size", f"must be an integer >= 1, got {self.hidden_size!r}")
        require_choice("init", self.init, INIT_CHOICES)
        require_choice("activation", self.activation, sorted(ACTIVATIONS))


@dataclass
class EptStarConfig(EptConfig):
    broadcast_length: int = 10  # EPT*: the single prompt broadcast to length 10


class ExplosivePrompt(PeftMethod):
    config_class = EptConfig

    def __init__(self, config: EptConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        d = ctx.d_model
        self.embedding = nn.Parameter(initial_prompt(ctx, 1, config.init, config.init_range, config.init_text))
        self.down = nn.Linear(d, config.hidden_size, bias=False)
        self.up = nn.Linear(config.hidden_size, d, bias=False)
        self.activation = ACTIVATIONS[config.activation]()
        self.norm = nn.LayerNorm(d) if config.layer_norm else nn.Identity()
        if not ctx.word_embeddings.weight.is_meta:
            seeded_linear_init(self.down, ctx.generator)
            seeded_linear_init(self.up, ctx.generator)

    def projected(self) -> torch.Tensor:
        out = self.norm(self.up(self.activation(self.down(self.embedding))))
        return out + self.embedding if self.config.residual else out

    def prompt(self) -> torch.Tensor:
        return self.projected().expand(self.config.broadcast_length, -1)

    def stored_parameter_count(self) -> int:
        return self.embedding.shape[-1]  # only the projected prompt P'_1 is kept


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "ept": (ExplosivePrompt, EptConfig,
        "Explosive Prompt Tuning, single prompt (seed 003)"),
    "ept_star": (ExplosivePrompt, EptStarConfig,
        "EPT*: the EPT prompt broadcast to length 10 (seed 003)"),
}
