"""ATTEMPT (Asai et al., 2022): an input-dependent attentional mixture of frozen source prompts.

Read from the released code (AkariAsai/ATTEMPT, ``T5Stack.forward`` with ``attn_method: sub``,
``configs/attempt/sinlge_task.json``). Per example, on the encoder side:

    x     = max-pool of the input embeddings over the unpadded tokens          (b, d)
    h     = LayerNorm(W_up SiLU(W_down x))       W_down d -> 100, W_up 100 -> d, no biases
    P_j   = the k frozen source prompts, then the trainable target prompt P_t  (k + 1 candidates)
    a     = softmax_j( maxpool(P_j) . h / T )                                  (b, k + 1)
    P     = sum_j a_j P_j + P_t                                                (b, l, d), prepended

Trained: P_t, W_down, W_up (the code leaves the LayerNorm at its identity init: ``train_layer_norm``);
the source prompts are buffers read from ``ctx.source_prompts`` at every build. Counts on T5-base
(l = 100): 76,800 + 76,800 + 76,800 = 230,400 trained and stored per target task; 231,936 with the
LayerNorm trained, which is the "232K" ATTEMPT prints (seed 003 Table 4). Choices: docs/methods.md.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, is_int, seeded_linear_init
from ptbench.methods.spot import check_sources, source_prompt

# The released single-task config's sources, in its order (the first initialises the target prompt).
ATTEMPT_SOURCES = ("mnli", "qnli", "qqp", "sst2", "squad", "record")
TARGET_INITS = ("source", "mean", "vocab", "uniform")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class AttemptConfig(MethodConfig):
    sources: list[str] = dataclasses.field(default_factory=lambda: list(ATTEMPT_SOURCES))
    length: int = 100  # l of every prompt: the source prompts' length (ATTEMPT: prefix_dim 100)
    bottleneck: int = 100  # W_down d -> r, W_up r -> d (the code's 100)
    temperature: float | None = None  # T; None: d_model * e (2087.6 on T5-base; the released config: 2087)
    # target prompt init: source (a copy of the first source, as the code) | mean (of the sources)
    # | vocab (sampled embeddings, seed 004) | uniform [-init_range, init_range]
    init: str = "source"
    init_range: float = 0.5
    projection_init_std: float | None = 0.01  # W_down, W_up ~ N(0, std) (the code's T5 init); None: nn.Linear's
    train_layer_norm: bool = False  # the code trains W_down, W_up and P_t only; true: ATTEMPT's 232K count
    lr: float = 0.3  # the released config
    lr_attention: float | None = None  # W_down, W_up (and the LayerNorm); None: lr (the code's attn_learning_rate)
    weight_decay: float | None = 1e-5  # seed 004 sec. 4.4, "as the ATTEMPT paper"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sources(self.sources)
        self.sources = list(self.sources)
        for key in ("length", "bottleneck"):
            require(is_int(getattr(self, key), 1), key, f"must be an integer >= 1, got {getattr(self, key)!r}")
        require(self.temperature is None or (_is_number(self.temperature) and self.temperature > 0),
                "temperature", f"must be null (d_model * e) or a positive number, got {self.temperature!r}")
        require_choice("init", self.init, TARGET_INITS)
        require(_is_number(self.init_range) and self.init_range > 0, "init_range",
                f"must be a positive number, got {self.init_range!r}")
        std = self.projection_init_std
        require(std is None or (_is_number(std) and std > 0), "projection_init_std",
                f"must be null (nn.Linear's init) or a positive number, got {std!r}")
        require(isinstance(self.train_layer_norm, bool), "train_layer_norm",
                f"must be true or false, got {self.train_layer_norm!r}")
        require(self.lr_attention is None or (_is_number(self.lr_attention) and self.lr_attention > 0),
                "lr_attention", f"must be null (lr) or a positive number, got {self.lr_attention!r}")


def masked_max_pool(embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(b, n, d) -> (b, d): the max over the positions where ``mask`` is set (padding excluded;
    a row without any position pools to zeros)."""
    keep = mask.bool().unsqueeze(-1)
    pooled = embeds.masked_fill(~keep, float("-inf")).amax(dim=1)
    return pooled.masked_fill(~keep.any(dim=1), 0.0)


class Attempt(PeftMethod):
    config_class = AttemptConfig
    method_name = "attempt"

    def __init__(self, config: AttemptConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        d, l = ctx.d_model, config.length
        meta = ctx.word_embeddings.weight.is_meta
        self.source_names = list(config.sources)
        sources = torch.stack([source_prompt(ctx, self.method_name, task, l) for task in self.source_names])
        # frozen, and rebuilt from ctx at every build: not part of what a run saves
        self.register_buffer("source_prompts", sources, persistent=False)
        if meta:
            target = torch.empty(l, d, device="meta")
        elif config.init == "source":
            target = sources[0].clone()
        elif config.init == "mean":
            target = sources.mean(dim=0)
        elif config.init == "vocab":
            target = ctx.vocab_embeddings(l)
        else:
            target = (torch.rand(l, d, generator=ctx.generator) * 2 - 1) * config.init_range
        self.target_prompt = nn.Parameter(target)
        self.attn_W_down = nn.Linear(d, config.bottleneck, bias=False)
        self.attn_W_up = nn.Linear(config.bottleneck, d, bias=False)
        self.layer_norm = nn.LayerNorm(d)
        self.layer_norm.requires_grad_(config.train_layer_norm)
        if not meta:
            with torch.no_grad():
                for linear in (self.attn_W_down, self.attn_W_up):
                    if config.projection_init_std is None:
                        seeded_linear_init(linear, ctx.generator)
                    else:
                        linear.weight.normal_(0.0, config.projection_init_std, generator=ctx.generator)
        self.temperature = float(config.temperature) if config.temperature is not None else d * math.e
        self._last_weights: torch.Tensor | None = None

    # -- the equations ------------------------------------------------------------------------
    def candidates(self) -> torch.Tensor:
        """(k + 1, l, d): the source prompts, then the target prompt (the code's ``mul_prefix_emb_added``)."""
        return torch.cat([self.source_prompts, self.target_prompt.unsqueeze(0)])

    def query(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """h = LayerNorm(W_up SiLU(W_down x)), x the masked max-pool of the inputs: (b, d)."""
        x = masked_max_pool(inputs_embeds.float(), attention_mask)
        return self.layer_norm(self.attn_W_up(nn.functional.silu(self.attn_W_down(x))))

    def attention(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """a: softmax over the k + 1 prompts of maxpool(P_j) . h / T, (b, k + 1)."""
        keys = self.candidates().amax(dim=1)  # (k + 1, d)
        scores = self.query(inputs_embeds, attention_mask) @ keys.T / self.temperature
        return torch.softmax(scores, dim=-1)

    def instance_prompts(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """P = sum_j a_j P_j + P_t per example, (b, l, d)."""
        weights = self.attention(inputs_embeds, attention_mask)
        self._last_weights = weights.detach()
        return torch.einsum("bp,pld->bld", weights, self.candidates()) + self.target_prompt

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prompts = self.instance_prompts(inputs_embeds, attention_mask).to(inputs_embeds.dtype)
        ones = attention_mask.new_ones(prompts.shape[:2])
        return torch.cat([prompts, inputs_embeds], dim=1), torch.cat([ones, attention_mask], dim=1)

    # -- what is trained and kept ---------------------------------------------------------------
    def attention_parameters(self) -> list[nn.Parameter]:
        modules = (self.attn_W_down, self.attn_W_up, self.layer_norm)
        return [p for module in modules for p in module.parameters() if p.requires_grad]

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        decay = self.config.decay(weight_decay)
        if self.config.lr_attention is None:
            return [{"params": [self.target_prompt, *self.attention_parameters()], "lr": self.config.lr,
                     "weight_decay": decay}]
        return [{"params": [self.target_prompt], "lr": self.config.lr, "weight_decay": decay},
                {"params": self.attention_parameters(), "lr": self.config.lr_attention, "weight_decay": decay}]

    def stored_parameter_count(self) -> int:
        """Per target task: P_t and the attention module (the instance prompt depends on the input,
        so nothing folds away; the source prompts are shared by every target task)."""
        return self.trainable_parameter_count()

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        """Mean attention weight on each source and on the target prompt, over the last batch."""
        stats = {"target_norm": float(self.target_prompt.float().norm(dim=-1).mean())}
        if self._last_weights is not None:
            means = self._last_weights.float().mean(dim=0).tolist()
            for name, mean in zip([*self.source_names, "target"], means):
                stats[f"attention_{name}"] = float(mean)
        return stats


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "attempt": (Attempt, AttemptConfig,
        "ATTEMPT: input-dependent attention over frozen source prompts + the target prompt (Asai et al., 2022)"),
}
