"""Decomposed Prompt Tuning via low-rank reparameterisation, DPT (Xiao et al., EMNLP 2023).

The (l, d) soft prompt is the product of two trainable factors, P = A B with A (l x b) and
B (b x d), b << min(l, d); P is prepended like a vanilla prompt. As the DPT code (XYaoooo/DPT,
modeling_t5.py: prefix_first (l x b) @ prefix_second (b x d)): both factors U[-0.5, 0.5], no
scaling, no bias; b = 10, l = 100 (README run; 11.2K parameters on T5-large, Fig. 1).
Trained and stored: the two factors, (l + d) b (8,680 on T5-base against 76,800 for P itself).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod


@dataclass
class DptConfig(MethodConfig):
    length: int = 100  # l: prompt length (DPT code --enc_prompt_tokens 100)
    rank: int = 10  # b: bottleneck of the two factors (DPT code --bottle_neck 10); 1 <= b <= min(l, d)
    init_range: float = 0.5  # both factors U[-init_range, init_range] (DPT code: random_range = 0.5)
    lr: float = 0.3  # DPT code --lr default
    weight_decay: float | None = 1e-5  # DPT code --weight_decay default (torch AdamW); null: train.weight_decay

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.length, int) and not isinstance(self.length, bool) and self.length >= 1,
                "length", f"must be an integer >= 1, got {self.length!r}")
        require(isinstance(self.rank, int) and not isinstance(self.rank, bool) and 1 <= self.rank <= self.length,
                "rank", f"must be an integer in [1, length = {self.length}], got {self.rank!r}")
        require(isinstance(self.init_range, (int, float)) and not isinstance(self.init_range, bool)
                and self.init_range > 0, "init_range", f"must be a positive number, got {self.init_range!r}")


class DecomposedPromptTuning(PeftMethod):
    config_class = DptConfig

    def __init__(self, config: DptConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        l, b, d = config.length, config.rank, ctx.d_model
        require(b <= d, "rank", f"must be <= d_model = {d}, got {b}")
        meta = ctx.word_embeddings.weight.is_meta
        self.factor_a = nn.Parameter(torch.empty(l, b, device="meta" if meta else None))
        self.factor_b = nn.Parameter(torch.empty(b, d, device="meta" if meta else None))
        if not meta:
            r = config.init_range
            with torch.no_grad():
                self.factor_a.uniform_(-r, r, generator=ctx.generator)
                self.factor_b.uniform_(-r, r, generator=ctx.generator)

    def prompt(self) -> torch.Tensor:
        return self.factor_a @ self.factor_b

    def stored_parameter_count(self) -> int:
        """The smaller exact form of P: the factors (l + d) b, as the DPT code checkpoints, unless
        b is so large that the folded product l d is smaller (b > l d / (l + d))."""
        return min(self.factor_a.numel() + self.factor_b.numel(), self.factor_a.shape[0] * self.factor_b.shape[1])


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "dpt": (DecomposedPromptTuning, DptConfig,
        "DPT: prompt as the product of two low-rank factors (Xiao et al., 2023)"),
}
