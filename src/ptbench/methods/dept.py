"""Decomposed Prompt Tuning, DePT (Shi & Lipani, ICLR 2024): a short prompt plus a low-rank update.

The l x d prompt of vanilla PT becomes a short prompt P_s (s x d), prepended, and a pair
A (m x r), B (r x d) whose product, times ``lora_alpha / sqrt(r)``, is added position-wise to the
input embeddings: E' = E + scaling * A B, with E padded to exactly m = max_length positions.
Budget (seed 001): l d = s d + (m + d) r, e.g. d = 768, m = 256: s = 60, r = 30 or s = 40, r = 45.
As the DePT code (ZhengxiangShi/DePT, peft/tuners/prompt_tuning_lora.py, peft_model.py): A
Kaiming-uniform (a = sqrt 5, i.e. U[-1/sqrt r, 1/sqrt r]), B zeros, so E' = E at step 0; the
prompt tiles "Classify this text is postive or not:" plus T5's </s>; two learning rates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import ConfigError, require, require_choice
from ptbench.methods.base import INIT_CHOICES, BackboneContext, MethodConfig, PeftMethod, initial_prompt, prepend_prompt

@dataclass
class DeptConfig(MethodConfig):
    length: int = 60  # s: short prompt length; 0 = no prompt, only the embedding update (seed 001)
    rank: int = 30  # r of A (m x r) and B (r x d); 1 <= r <= min(m, d), checked at build time
    lora_alpha: float = 8.0  # scaling = lora_alpha / sqrt(r); 8 is the DePT code's default, never overridden
    init: str = "text"  # prompt init: text (DePT's default) | vocab (sampled embeddings) | uniform
    init_range: float = 0.5  # for init: uniform, U[-init_range, init_range]
    # for init: text, tiled to length s; the DePT code tokenises with </s> appended (T5's EOS)
    init_text: str = "Classify this text is postive or not:</s>"
    lr: float = 0.4  # prompt learning rate (DePT's released RTE run; seed 001 searches 0.3/0.4/0.5)
    lr_low_rank: float = 1e-4  # A, B learning rate (released RTE run; seed 001 searches 1e-4/5e-4/5e-3)
    # The DePT code builds transformers.AdamW without weight_decay (so 0.0) and ignores its
    # --weight_decay flag; null falls back to train.weight_decay.
    weight_decay: float | None = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.length, int) and not isinstance(self.length, bool) and self.length >= 0,
                "length", f"must be an integer >= 0, got {self.length!r}")
        require(isinstance(self.rank, int) and not isinstance(self.rank, bool) and self.rank >= 1,
                "rank", f"must be an integer >= 1, got {self.rank!r}")
        require(isinstance(self.lora_alpha, (int, float)) and not isinstance(self.lora_alpha, bool)
                and self.lora_alpha > 0, "lora_alpha", f"must be a positive number, got {self.lora_alpha!r}")
        require(isinstance(self.lr_low_rank, (int, float)) and not isinstance(self.lr_low_rank, bool)
                and self.lr_low_rank > 0, "lr_low_rank", f"must be a positive number, got {self.lr_low_rank!r}")
        require_choice("init", self.init, INIT_CHOICES)


class DecomposedPrompt(PeftMethod):
    config_class = DeptConfig

    def __init__(self, config: DeptConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        m, d, r = ctx.max_length, ctx.d_model, config.rank
        # m and d are known only here (data.max_length, the backbone); the config checked r >= 1.
        require(r <= min(m, d), "methods.dept.rank",
                f"must be <= min(max_length m, d_model d) = min({m}, {d}) = {min(m, d)}, got {r} "
                "(m is data.max_length, d the backbone's width)")
        self.scaling = config.lora_alpha / math.sqrt(r)
        self.embedding = (nn.Parameter(initial_prompt(ctx, config.length, config.init, config.init_range, config.init_text))
                          if config.length > 0 else None)
        meta = ctx.word_embeddings.weight.is_meta
        self.lora_a = nn.Parameter(torch.empty(m, r, device="meta" if meta else None))
        self.lora_b = nn.Parameter(torch.zeros(r, d, device="meta" if meta else None))
        if not meta:
            with torch.no_grad():
                nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5), generator=ctx.generator)  # U[-1/sqrt r, 1/sqrt r]

    def prompt(self) -> torch.Tensor | None:
        return self.embedding

    def update(self) -> torch.Tensor:
        """The (m, d) position-wise offset scaling * A B added to the padded input embeddings."""
        return self.scaling * (self.lora_a @ self.lora_b)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, n, d = inputs_embeds.shape
        m = self.lora_a.shape[0]
        if n > m:
            raise ConfigError(f"max_length: DePT adds A B to exactly m = {m} positions but the batch has {n}; "
                              "raise data.max_length (decoder-only backbones need room for input + target)")
        # Both backbone families hand methods right-padded inputs (token i at position i), so row i
        # of A B always meets token i; zeros (masked out) stretch the batch to m, as DePT's padding.
        if not bool(attention_mask[:, 0].all()):
            raise ValueError("DePT expects right-padded inputs (the loop's collate pads on the right)")
        embeds = torch.cat([inputs_embeds, inputs_embeds.new_zeros(batch, m - n, d)], dim=1)
        mask = torch.cat([attention_mask, attention_mask.new_zeros(batch, m - n)], dim=1)
        embeds = embeds + self.update().to(embeds.dtype)
        if self.embedding is None:
            return embeds, mask
        return prepend_prompt(self.embedding, embeds, mask)

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        decay = self.config.decay(weight_decay)
        low_rank = {"params": [self.lora_a, self.lora_b], "lr": self.config.lr_low_rank, "weight_decay": decay}
        if self.embedding is None:
            return [low_rank]
        return [{"params": [self.embedding], "lr": self.config.lr, "weight_decay": decay}, low_rank]

    def diagnostics(self) -> dict[str, float]:
        update = self.update().detach().float()
        return {**super().diagnostics(), "update_norm": float(update.norm(dim=-1).mean())}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "dept": (DecomposedPrompt, DeptConfig,
        "DePT: short prompt + low-rank update of the input embeddings (Shi & Lipani, 2024)"),
}
