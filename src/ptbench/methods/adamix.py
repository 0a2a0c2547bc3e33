"""AdaMix (Wang et al., EMNLP 2022): a mixture of bottleneck adapters, trained with stochastic routing
and merged into one adapter for inference (seed 001's baseline list, Table 1).

Read from microsoft/AdaMix (``src/transformers/models/expert_soup.py``, ``modeling_bert.py`` /
``modeling_roberta.py``, ``examples/text-classification/run_glue.py`` and the GLUE scripts):

* one ``ExpertSoup`` per transformer layer, on the feed-forward sub-layer's output, before the
  layer's dropout and residual: ``h + dropout(A(FFN(h)))`` with A(y) = y + up(gelu(down(y))); no
  adapter after attention (``attention: true`` adds one, not in the reference);
* each projection is a set of M experts (``--num_experts 4``); the scripts share the up projection
  (``--sharing_up 1 --sharing_down 0``): 4 down projections d -> r and 1 up projection r -> d;
* training: every call of a projection draws one expert, ``torch.randint(M, (1,))`` from torch's
  global generator, for the whole batch; each layer and each projection draws on its own;
* inference (``--inference_level 3``): the experts' weights *and* biases averaged (uniform: the
  routing scores are a frozen zero vector under a softmax), i.e. one merged adapter;
* init: every expert N(0, 0.02^2) weights and zero biases (the backbone's ``_init_weights``);
  exact (erf) GELU; the backbone's LayerNorms stay frozen;
* BERT-base on MNLI: adapter size 48 (= 768 / 16), lr 4e-4, weight decay 0.1.

Consistency regularisation (a second forward pass, symmetric KL between the two routings) is only
wired in the reference's RoBERTa model; its BERT-base runs, the base-size ones, train without it, and
so does this method (docs/methods.md). On T5 an "ExpertSoup" goes after the feed-forward sub-layer of
every block of both stacks. Trained: n_sites (M_down (d r + r) + M_up (r d + d)); kept after merging
(``stored_parameter_count``): n_sites (2 d r + r + d), an adapter's count; on T5-base (24 blocks, r 48)
4,446,720 trained, 1,789,056 kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ptbench.errors import require
from ptbench.methods.adapter import AdapterConfig, BottleneckAdapters
from ptbench.methods.base import is_int, seeded_linear_init


@dataclass
class AdaMixConfig(AdapterConfig):
    method_name: ClassVar[str] = "adamix"

    num_experts: int = 4  # M, the reference GLUE scripts' --num_experts
    share_up: bool = True  # --sharing_up 1: one up projection for every expert
    share_down: bool = False  # --sharing_down 0
    attention: bool = False  # also after self-attention (the reference adapts the feed-forward only)
    reduction_factor: int = 16  # r = d // 16: 48 on d = 768, the BERT-base script's adapter_size
    activation: str = "gelu"  # F.gelu, exact
    init_std: float = 0.02  # the backbone's _init_weights: N(0, 0.02^2), zero biases
    train_layer_norms: bool = False  # the reference freezes every backbone weight outside the mixtures
    lr: float = 4e-4  # bert_base_mnli_expert_soup.sh
    weight_decay: float | None = 0.1
    adam_eps: float | None = 1e-8  # the HF Trainer's adam_epsilon default, which the scripts keep
    # The HF Trainer exempts every bias and LayerNorm weight from weight decay (its create_optimizer);
    # true decays them too
    decay_bias_and_norm: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.decay_bias_and_norm, bool), "decay_bias_and_norm",
                f"must be true or false, got {self.decay_bias_and_norm!r}")
        require(is_int(self.num_experts, 1), "num_experts", f"must be an integer >= 1, got {self.num_experts!r}")
        for key in ("share_up", "share_down", "attention"):
            require(isinstance(getattr(self, key), bool), key, f"must be true or false, got {getattr(self, key)!r}")

    def adapts(self, kind: str) -> bool:
        return kind != "attention" or self.attention


class ExpertSoup(nn.Module):
    """M linear experts of one shape: in training each call runs one of them, drawn from torch's global
    generator (restored with the checkpoint on resume); in evaluation their average (weights and biases)."""

    def __init__(self, experts: int, n_in: int, n_out: int, device: str | None = None) -> None:
        super().__init__()
        self.experts = nn.ModuleList(nn.Linear(n_in, n_out, device=device) for _ in range(experts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # drawn even from one expert, as the reference: the same global random stream
            expert = self.experts[int(torch.randint(0, len(self.experts), (1,)))]
            return F.linear(x, expert.weight, expert.bias)
        return F.linear(x, *self.merged())

    def merged(self) -> tuple[torch.Tensor, torch.Tensor]:
        weight = torch.stack([e.weight for e in self.experts]).mean(0)
        bias = torch.stack([e.bias for e in self.experts]).mean(0)
        return weight, bias

    @torch.no_grad()
    def reset(self, init: str, std: float, generator: torch.Generator, zero_weight: bool = False) -> None:
        for expert in self.experts:
            if init == "pytorch" or (init == "zero_up" and not zero_weight):
                seeded_linear_init(expert, generator)
            elif zero_weight:
                expert.weight.zero_()
            else:
                expert.weight.normal_(0.0, std, generator=generator)
            if init != "pytorch":
                expert.bias.zero_()


class MixtureBottleneck(nn.Module):
    """y + up(f(down(y))) with ``down`` and ``up`` mixtures of experts; the merged adapter in evaluation."""

    def __init__(self, d: int, r: int, config: AdaMixConfig, device: str | None = None) -> None:
        super().__init__()
        from transformers.activations import get_activation

        self.down = ExpertSoup(1 if config.share_down else config.num_experts, d, r, device)
        self.up = ExpertSoup(1 if config.share_up else config.num_experts, r, d, device)
        self.activation = get_activation(config.activation)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        dtype = self.up.experts[0].weight.dtype
        return y + self.up(self.activation(self.down(y.to(dtype)))).to(y.dtype)

    def reset(self, init: str, std: float, generator: torch.Generator) -> None:
        self.down.reset(init, std, generator)
        self.up.reset(init, std, generator, zero_weight=init == "zero_up")

    def up_norm(self) -> float:
        return float(self.up.merged()[0].detach().norm())

    def merged_parameter_count(self) -> int:
        """What one merged adapter keeps: 2 d r + r + d."""
        return sum(p.numel() for soup in (self.down, self.up) for p in soup.experts[0].parameters())


class AdaMix(BottleneckAdapters):
    config_class = AdaMixConfig

    def make_adapter(self, d: int, r: int, device: str | None) -> nn.Module:
        return MixtureBottleneck(d, r, self.config, device=device)

    def param_groups(self, weight_decay: float) -> list[dict]:
        """The HF Trainer's two groups: weights decayed, biases and LayerNorm weights not (unless
        ``decay_bias_and_norm``)."""
        groups = super().param_groups(weight_decay)
        if self.config.decay_bias_and_norm:
            return groups
        exempt = {id(p) for name, p in self.named_parameters() if name.endswith("bias") or name.startswith("norm_weights")}
        group = groups[0]
        decayed = [p for p in group["params"] if id(p) not in exempt]
        kept = [p for p in group["params"] if id(p) in exempt]
        return [{**group, "params": decayed}, {**group, "params": kept, "weight_decay": 0.0}]

    def stored_parameter_count(self) -> int:
        """After adaptation merging: one adapter per site (+ trained LayerNorm copies, if any)."""
        return sum(a.merged_parameter_count() for a in self.adapters.values()) + \
            sum(p.numel() for p in self.norm_weights.parameters())


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "adamix": (AdaMix, AdaMixConfig,
        "AdaMix: a mixture of adapters, stochastic routing in training, merged (averaged) for inference (Wang et al., 2022)"),
}
