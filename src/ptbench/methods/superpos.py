"""SuperPos-Prompt (seed 004): each prompt token a superposition of m sampled token embeddings.

m unique token embeddings sampled from the vocabulary form the columns of E_freeze (d x m), frozen
(a buffer) and shared by all n prompt tokens. Token i owns a zero-initialised Delta E_i (d x m) and a
weight vector p'_i (m):  p_i = (E_freeze + Delta E_i) p'_i  (sec. 3); with ``softmax`` (A.2, worse in
the paper): p_i = (E_freeze + Delta E_i) softmax(p'_i). Trained: n m + n d m (984K on T5-base);
stored after training: the folded prompt, n d. The paper does not give p'_i's init: see
``weight_init`` and docs/methods.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod

WEIGHT_INITS = ("uniform", "one_hot")


@dataclass
class SuperPosConfig(MethodConfig):
    length: int = 10  # n prompt tokens (seed 004 sec. 4.4: 10)
    num_tokens: int = 128  # m unique sampled token embeddings shared by all prompt tokens (seed 004 sec. 4.3: 128)
    softmax: bool = False  # A.2 variant p_i = E softmax(p'_i) (worse in seed 004 Table 3, so off)
    # p'_i init (not given by seed 004): uniform U(-a, a), a = weight_init_range or sqrt(3/m) so an initial
    # token has on average the norm of one sampled embedding | one_hot: token i starts as sampled embedding i
    weight_init: str = "uniform"
    weight_init_range: float | None = None  # a of weight_init: uniform; None: sqrt(3 / num_tokens)
    lr: float = 0.01  # seed 004 sec. 4.4
    weight_decay: float | None = 1e-5  # seed 004 sec. 4.4 (the reason Delta E exists: decay would shrink E itself)

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("length", "num_tokens"):
            value = getattr(self, key)
            require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                    key, f"must be an integer >= 1, got {value!r}")
        require(isinstance(self.softmax, bool), "softmax", f"must be true or false, got {self.softmax!r}")
        require_choice("weight_init", self.weight_init, WEIGHT_INITS)
        require(self.weight_init_range is None or (isinstance(self.weight_init_range, (int, float))
                                                   and not isinstance(self.weight_init_range, bool)
                                                   and self.weight_init_range > 0),
                "weight_init_range", f"must be null or a positive number, got {self.weight_init_range!r}")
        if self.weight_init == "one_hot":
            require(self.length <= self.num_tokens, "length",
                    f"one_hot init gives each prompt token its own sampled embedding: needs length <= num_tokens "
                    f"({self.num_tokens}), got {self.length}")


class SuperPosPrompt(PeftMethod):
    config_class = SuperPosConfig

    def __init__(self, config: SuperPosConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        n, m, d = config.length, config.num_tokens, ctx.d_model
        meta = ctx.word_embeddings.weight.is_meta
        device = "meta" if meta else None
        frozen = torch.empty(d, m, device="meta") if meta else ctx.vocab_embeddings(m).T.contiguous()
        self.register_buffer("e_freeze", frozen)  # columns e_1..e_m; never trained
        self.delta_e = nn.Parameter(torch.zeros(n, d, m, device=device))  # Delta E_i, zero at init (sec. 3)
        if meta:
            weights = torch.empty(n, m, device="meta")
        elif config.weight_init == "one_hot":
            weights = torch.eye(n, m)
        else:
            bound = config.weight_init_range or math.sqrt(3 / m)
            weights = (torch.rand(n, m, generator=ctx.generator) * 2 - 1) * bound
        self.weights = nn.Parameter(weights)  # p'_1..p'_n as rows

    def mixing(self) -> torch.Tensor:
        """(n, m): p'_i, or softmax(p'_i) in the A.2 variant."""
        return torch.softmax(self.weights, dim=-1) if self.config.softmax else self.weights

    def prompt(self) -> torch.Tensor:
        """p_i = (E_freeze + Delta E_i) p'_i for every i, as an (n, d) prompt."""
        return torch.einsum("ndm,nm->nd", self.e_freeze + self.delta_e, self.mixing())

    def stored_parameter_count(self) -> int:
        return self.config.length * self.e_freeze.shape[0]  # the folded prompt, n x d

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        stats = super().diagnostics()
        stats["delta_e_norm"] = float(self.delta_e.float().flatten(1).norm(dim=-1).mean())  # mean ||Delta E_i||_F
        return stats


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "superpos": (SuperPosPrompt, SuperPosConfig,
        "SuperPos-Prompt: prompts as superpositions of sampled token embeddings (seed 004)"),
}
