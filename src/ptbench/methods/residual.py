"""Residual Prompt Tuning (Razdaibiedina et al., 2023): the prompt through a residual bottleneck MLP.

P' = LayerNorm(Dropout(W_up ReLU(W_down P + b_down) + b_up)) + P, W_down: d -> b, W_up: b -> d,
one MLP shared by every token (the reference CLI's default; ``separate_mlps`` gives one per token).
Trained: n d + 2 d b + b + d + 2 d (416K / 624K / 832K on T5-small / base / large with n = 10,
b = 400, seed 003 Table 1); stored after training: the projected prompt, n x d.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import (
    BackboneContext, INIT_CHOICES, MethodConfig, PeftMethod, initial_prompt, is_int, seeded_linear_init,
)


@dataclass
class ResidualConfig(MethodConfig):
    length: int = 10  # n: soft tokens (10 in seed 003, seed 004 and the reference scripts)
    bottleneck: int = 400  # b: seed 003 B.3 (reference CLI default 800; seed 004 uses 128)
    separate_mlps: bool = False  # one MLP per prompt token instead of one shared (reference --separate_mlps)
    stack: int = 1  # times the same MLP is applied before the residual (reference MLP1 = 1, MLP2 = 2)
    dropout: float = 0.0  # before the LayerNorm (reference --mlp_dropout)
    layer_norm: bool = True  # LayerNorm(d) at the end of the MLP (reference --mlp_layer_norm 1)
    residual: bool = True  # add the input prompt back (reference --residual 1)
    init: str = "vocab"  # vocab (distinct sampled embeddings, seed 004) | uniform [-init_range, init_range] | text
    init_range: float = 0.5  # for init: uniform (the reference's --random_prompt_init uses 0.5)
    init_text: str = ""  # for init: text, tiled to the prompt length
    lr: float = 0.3  # seed 003 B.2, seed 004 and the reference: 0.3
    adam_eps: float | None = 1e-8  # prompt_tuner2.py: transformers.AdamW(..., eps=1e-8)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(is_int(self.length, 1), "length", f"must be an integer >= 1, got {self.length!r}")
        require(is_int(self.bottleneck, 1), "bottleneck", f"must be an integer >= 1, got {self.bottleneck!r}")
        require(isinstance(self.separate_mlps, bool), "separate_mlps", f"must be true or false, got {self.separate_mlps!r}")
        require(is_int(self.stack, 1), "stack", f"must be an integer >= 1, got {self.stack!r}")
        require(isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1,
                "dropout", f"must be a number in [0, 1), got {self.dropout!r}")
        require(isinstance(self.layer_norm, bool), "layer_norm", f"must be true or false, got {self.layer_norm!r}")
        require(isinstance(self.residual, bool), "residual", f"must be true or false, got {self.residual!r}")
        require_choice("init", self.init, INIT_CHOICES)


class BottleneckMlp(nn.Module):
    """Linear(d, b) -> ReLU -> Linear(b, d) -> Dropout -> LayerNorm(d), without the residual."""

    def __init__(self, d: int, bottleneck: int, dropout: float, layer_norm: bool) -> None:
        super().__init__()
        self.down = nn.Linear(d, bottleneck)
        self.up = nn.Linear(bottleneck, d)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d) if layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.dropout(self.up(torch.relu(self.down(x)))))

    def reset(self, generator: torch.Generator) -> None:
        """PyTorch's default Linear init, U(+-1/sqrt(fan_in)), drawn from the seeded generator."""
        for layer in (self.down, self.up):
            seeded_linear_init(layer, generator)


class ResidualPrompt(PeftMethod):
    config_class = ResidualConfig

    def __init__(self, config: ResidualConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.embedding = nn.Parameter(initial_prompt(ctx, config.length, config.init, config.init_range, config.init_text))
        count = config.length if config.separate_mlps else 1
        self.mlps = nn.ModuleList(BottleneckMlp(ctx.d_model, config.bottleneck, config.dropout, config.layer_norm)
                                  for _ in range(count))
        if not ctx.word_embeddings.weight.is_meta:
            for mlp in self.mlps:
                mlp.reset(ctx.generator)

    def reparameterise(self, tokens: torch.Tensor, mlp: BottleneckMlp) -> torch.Tensor:
        out = tokens
        for _ in range(self.config.stack):
            out = mlp(out)
        return out + tokens if self.config.residual else out

    def prompt(self) -> torch.Tensor:
        if len(self.mlps) == 1:
            return self.reparameterise(self.embedding, self.mlps[0])
        return torch.cat([self.reparameterise(self.embedding[i:i + 1], mlp) for i, mlp in enumerate(self.mlps)])

    def stored_parameter_count(self) -> int:
        return self.embedding.numel()  # only the projected prompt, n x d, is kept


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "residual": (ResidualPrompt, ResidualConfig,
        "Residual Prompt Tuning: residual bottleneck MLP (Razdaibiedina et al., 2023)"),
}
