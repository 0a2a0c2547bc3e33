"""EPT by multi-space projection and prompt fusion (seed 001, Lan et al.): decomposition, fusion, experts.

A source prompt P (l x d, sampled vocabulary, or a pre-trained ``source_prompt``) is decomposed
into a trainable short prompt P_s = P[:s] and low-rank A (m x r), B (r x d) from the truncated SVD
of P aligned to m rows: A B is the best rank-r approximation of that matrix, not DePT's random
init. With M = c A B (c = ``update_scale``, 1 as printed). ``low_rank_init: dept`` builds A, B and
their scale as DePT does instead (A Kaiming-uniform, B zeros, M = c (lora_alpha / sqrt r) A B) and
draws only P_s: the reading under which seed 001's "EPT and DEPT exhibit identical performance" at
s = 0 holds run for run (docs/methods.md).

    I_up   = E + M                                       inputs padded to exactly m (eq. 2)
    P_f    = P_s + softmax(P_s M^T / sqrt d) M           A B as keys and values (eq. 3-4)
    P_amend = sum_i G_i * E_i(P_s),  E_i = W1_i ReLU(W2_i P_s),  G = softmax_i(linear_i(P_s))   (eq. 5-7)
    P_new  = P_amend + P_f, prepended to I_up            (eq. 8-9)

Table 2 switches: fusion off -> P_f = P_s; projection off -> P_amend = 0 (both off: exactly DePT's
function); decomposition off -> the whole length-l P is the prompt, no A, B, no input update, no
padding (fusion then has nothing to attend to and must be off). Stored after training: P_new, A, B
(s d + m r + r d = 76,800 on T5-base); trained besides: the experts and the gate. Every reading
of the paper's ambiguities is a config field (see docs/methods.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import ConfigError, require, require_choice
from ptbench.methods.base import (
    BackboneContext, INIT_CHOICES, MethodConfig, PeftMethod, initial_prompt, prepend_prompt, seeded_linear_init,
)
from ptbench.methods.dept import DeptConfig

SVD_SOURCES = ("full", "rest")
ALIGNMENTS = ("pad", "tile", "interpolate")
SVD_SPLITS = ("sqrt", "left", "right")
LOW_RANK_INITS = ("svd", "dept")  # A B from P's truncated SVD (seed 001) | DePT's random init and scale
FUSION_READINGS = ("attention", "einsum")
MAX_EXPERTS = 8  # seed 001 Fig. 5 sweeps N_e = 2..8


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class EptMspConfig(MethodConfig):
    length: int = 100  # l: the source prompt P being decomposed (seed 001: 100, the 76,800-parameter PT prompt)
    short_length: int = 60  # s: P_s = P[:s], the prompt actually prepended; 0 <= s < l (seed 001: 60)
    rank: int = 30  # r of A (m x r), B (r x d); l d = s d + (m + d) r gives r = 30 for s = 60 on T5-base
    init: str = "vocab"  # P's init: vocab (seed 001: "sampled vocabulary") | uniform | text
    init_range: float = 0.5  # for init: uniform, [-init_range, init_range]
    init_text: str = ""  # for init: text, tiled to length l
    svd_source: str = "full"  # rows decomposed into A B: full (all l rows, as printed) | rest (P[s:], what P_s drops)
    align: str = "pad"  # P's rows to m: pad (zero rows; first m if longer) | tile (repeat cyclically) | interpolate
    svd_split: str = "sqrt"  # Sigma_r: sqrt (A = U sqrt S, B = sqrt S V^T) | left (A = U S, B = V^T) | right (A = U)
    update_scale: float = 1.0  # c in M = c A B, in eq. 2 and eq. 3-4 (printed: 1; DePT: lora_alpha / sqrt r = 8 / sqrt r)
    # svd: A B from P (seed 001 sec. "Prompt Decomposition") | dept: DePT's A (Kaiming-uniform), B (zeros) and
    # lora_alpha / sqrt r scale (times update_scale), P_s drawn alone (seed 001 Fig. 4b's s = 0 claim)
    low_rank_init: str = "svd"
    fusion_reading: str = "attention"  # attention: P_s + softmax(P_s M^T / sqrt d) M | einsum: the printed one (= 2 P_s)
    num_experts: int = 4  # N_e spaces of the multi-space projection, 1..8 (seed 001: 4)
    expert_hidden: int | None = None  # hidden width of each expert d -> h -> d; None: m (printed linear2 in R^{d x m})
    bias: bool = True  # biases in the expert and gate linears (nn.Linear's default; the paper prints weights only)
    decomposition: bool = True  # Table 2 ablation: off -> the plain length-l prompt, no A, B (rank 0)
    fusion: bool = True  # Table 2 ablation: off -> P_f = P_s
    projection: bool = True  # Table 2 ablation: off -> P_amend = 0, no experts, no gate
    lr: float = 0.3  # prompt side: P_s (and the experts and gate unless lr_networks); seed 001 grid {0.3, 0.4, 0.5}
    lr_low_rank: float = 1e-4  # A and B; seed 001 grid {1e-4, 5e-4, 5e-3} (1e-4: DePT's released RTE run)
    # experts and gate; seed 001 names only two rates (App. C). At the prompt's 0.3 one AdamW step moves every
    # MLP weight by ~0.3 and grows P_amend ~180x on the smoke's tiny T5 (~1000x on T5-base), swamping P_s; 1e-3
    # is Adam's own default for network weights (moves it ~1%). None: lr (the previous reading). paper-001 sweeps it.
    lr_networks: float | None = 0.001
    # DePT's optimiser (transformers' AdamW, no weight_decay passed: 0.0; its --weight_decay never reaches it),
    # as dept: the paired test of ept_msp against dept compares methods, not regularisation
    weight_decay: float | None = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("length", "short_length", "rank", "num_experts"):
            require(_is_int(getattr(self, key)), key, f"must be an integer, got {getattr(self, key)!r}")
        for key in ("decomposition", "fusion", "projection", "bias"):
            require(isinstance(getattr(self, key), bool), key, f"must be true or false, got {getattr(self, key)!r}")
        require(self.length >= 1, "length", f"must be >= 1, got {self.length}")
        require_choice("init", self.init, INIT_CHOICES)
        require_choice("svd_source", self.svd_source, SVD_SOURCES)
        require_choice("align", self.align, ALIGNMENTS)
        require_choice("svd_split", self.svd_split, SVD_SPLITS)
        require_choice("low_rank_init", self.low_rank_init, LOW_RANK_INITS)
        require_choice("fusion_reading", self.fusion_reading, FUSION_READINGS)
        require(_is_number(self.update_scale), "update_scale", f"must be a finite number, got {self.update_scale!r}")
        require(1 <= self.num_experts <= MAX_EXPERTS, "num_experts",
                f"must be in [1, {MAX_EXPERTS}], got {self.num_experts}")
        require(self.expert_hidden is None or (_is_int(self.expert_hidden) and self.expert_hidden >= 1),
                "expert_hidden", f"must be null or an integer >= 1, got {self.expert_hidden!r}")
        for key in ("lr_low_rank", "lr_networks"):
            value = getattr(self, key)
            require((value is None and key == "lr_networks") or (_is_number(value) and value > 0),
                    key, f"must be a positive number, got {value!r}")
        if self.decomposition:
            require(0 <= self.short_length < self.length, "short_length",
                    f"must satisfy 0 <= s < length ({self.length}) with decomposition on, got {self.short_length}")
            require(self.rank >= 1, "rank", f"must be >= 1 with decomposition on, got {self.rank}")
            rows = self.length if self.svd_source == "full" else self.length - self.short_length
            require(self.rank <= rows, "rank",
                    f"must be <= the rows decomposed ({rows}: {'length' if self.svd_source == 'full' else 'length - short_length'}"
                    f" with svd_source {self.svd_source}), got {self.rank}")
        else:
            require(not self.fusion, "fusion", "needs decomposition: it attends over A B, which is then absent")

    @property
    def prompt_length(self) -> int:
        return self.short_length if self.decomposition else self.length


def align_rows(source: torch.Tensor, m: int, how: str) -> torch.Tensor:
    """The (rows, d) source as an (m, d) matrix, the shape of the input embeddings E."""
    rows = source.shape[0]
    if how == "interpolate":
        return nn.functional.interpolate(source.T.unsqueeze(0), size=m, mode="linear", align_corners=True)[0].T
    if rows >= m:
        return source[:m]
    if how == "tile":
        return source.repeat(m // rows + 1, 1)[:m]
    return torch.cat([source, source.new_zeros(m - rows, source.shape[1])])


def low_rank_factors(aligned: torch.Tensor, rank: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A (m x r), B (r x d) with A B the rank-r truncated SVD of ``aligned``."""
    u, s, vh = torch.linalg.svd(aligned.double(), full_matrices=False)
    u, s, vh = u[:, :rank], s[:rank], vh[:rank]
    ones = torch.ones_like(s)
    left, right = {"sqrt": (s.sqrt(), s.sqrt()), "left": (s, ones), "right": (ones, s)}[split]
    return (u * left).float(), (right[:, None] * vh).float()


def unseeded_linear(n_in: int, n_out: int, bias: bool, device: str) -> nn.Linear:
    """An nn.Linear whose default init is skipped: it would draw from torch's global stream, which then
    feeds the training's dropout, and seeded_linear_init overwrites it from the run's generator anyway.
    So the dropout masks do not depend on how many networks the configuration builds (at s = 0 EPT,
    whose networks see no prompt, then trains exactly as DePT: the seed 001 claim)."""
    return nn.utils.skip_init(nn.Linear, n_in, n_out, bias=bias, device=device)


class Expert(nn.Module):
    """One space E_i(P_s) = linear1(ReLU(linear2(P_s))): d -> h -> d (eq. 5)."""

    def __init__(self, d: int, hidden: int, bias: bool, device: str) -> None:
        super().__init__()
        self.linear2 = unseeded_linear(d, hidden, bias, device)
        self.linear1 = unseeded_linear(hidden, d, bias, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear1(torch.relu(self.linear2(x)))


class EptMsp(PeftMethod):
    config_class = EptMspConfig

    def __init__(self, config: EptMspConfig, ctx: BackboneContext, source_prompt: torch.Tensor | None = None) -> None:
        super().__init__(config, ctx)
        d, m, s, r = ctx.d_model, ctx.max_length, config.short_length, config.rank
        self.max_length = m
        rows = config.length if config.svd_source == "full" else config.length - s
        # m and d are known only here (data.max_length, the backbone): checked before any initialisation.
        require(not config.decomposition or r <= min(m, d, rows), "methods.ept_msp.rank",
                f"must be <= min(max_length, d_model, rows decomposed) = min({m}, {d}, {rows}), got {r} "
                "(max_length is data.max_length, d_model the backbone's width)")
        dept_init = config.decomposition and config.low_rank_init == "dept"
        meta = ctx.word_embeddings.weight.is_meta
        # DePT's init decomposes nothing: only P_s is drawn (at s = 0 A is then the first draw, as DePT's)
        drawn = config.short_length if dept_init else config.length
        if source_prompt is None:  # a transfer run passes a prompt pre-trained on a source task instead
            source = (initial_prompt(ctx, drawn, config.init, config.init_range, config.init_text) if drawn > 0
                      else torch.empty(0, d, device="meta" if meta else None))
        else:
            require(tuple(source_prompt.shape) == (config.length, d), "source_prompt",
                    f"must have shape (length, d_model) = ({config.length}, {d}), got {tuple(source_prompt.shape)}")
            source = source_prompt.detach().clone().float()
        self.short_prompt = nn.Parameter(source[:config.prompt_length].clone())
        # the scale of A B in M: DePT's lora_alpha / sqrt r under its init, folded into one float
        self.update_scale = config.update_scale * (DeptConfig.lora_alpha / math.sqrt(r) if dept_init else 1.0)
        if config.decomposition:
            if meta:
                a, b = torch.empty(m, r, device="meta"), torch.empty(r, d, device="meta")
            elif dept_init:  # as methods/dept.py: U[-1/sqrt r, 1/sqrt r] from the run's generator, B = 0
                a, b = torch.empty(m, r), torch.zeros(r, d)
                nn.init.kaiming_uniform_(a, a=math.sqrt(5), generator=ctx.generator)
            else:
                rest = source if config.svd_source == "full" else source[s:]
                a, b = low_rank_factors(align_rows(rest, m, config.align), r, config.svd_split)
            self.lora_a, self.lora_b = nn.Parameter(a), nn.Parameter(b)
        if config.projection:
            hidden = config.expert_hidden or m
            device = "meta" if meta else "cpu"
            self.experts = nn.ModuleList(Expert(d, hidden, config.bias, device) for _ in range(config.num_experts))
            self.gate = unseeded_linear(d, config.num_experts, config.bias, device)  # N_e stacked "linear in R^{d x 1}"
            if not meta:
                for expert in self.experts:
                    seeded_linear_init(expert.linear2, ctx.generator)
                    seeded_linear_init(expert.linear1, ctx.generator)
                seeded_linear_init(self.gate, ctx.generator)

    # -- the equations ------------------------------------------------------------------------
    def low_rank_update(self) -> torch.Tensor:
        """M = c A B in R^{m x d} (eq. 2)."""
        return self.update_scale * (self.lora_a @ self.lora_b)

    def fused(self, update: torch.Tensor) -> torch.Tensor:
        """P_f (eq. 3-4); the attention weights W_attn are (s, m)."""
        p_s = self.short_prompt
        weights = torch.softmax(p_s @ update.T / math.sqrt(p_s.shape[-1]), dim=-1)
        if self.config.fusion_reading == "einsum":
            return p_s + torch.einsum("bpl,bpd->bpd", weights.unsqueeze(0), p_s.unsqueeze(0))[0]
        return p_s + weights @ update

    def gate_weights(self) -> torch.Tensor:
        """G (s, N_e): a softmax over the experts per prompt token (eq. 6)."""
        return torch.softmax(self.gate(self.short_prompt), dim=-1)

    def amended(self) -> torch.Tensor:
        """P_amend = sum_i G_i * E_i(P_s) (eq. 7)."""
        spaces = torch.stack([expert(self.short_prompt) for expert in self.experts], dim=-1)  # (s, d, N_e)
        return (spaces * self.gate_weights().unsqueeze(1)).sum(-1)

    def new_prompt(self, update: torch.Tensor | None) -> torch.Tensor:
        """P_new = P_amend + P_f (eq. 8), with the Table 2 switches."""
        p_f = self.fused(update) if self.config.fusion else self.short_prompt
        return self.amended() + p_f if self.config.projection else p_f

    def prompt(self) -> torch.Tensor:
        return self.new_prompt(self.low_rank_update() if self.config.decomposition else None)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.config.decomposition:
            return prepend_prompt(self.prompt(), inputs_embeds, attention_mask)
        batch, length, d = inputs_embeds.shape
        if length > self.max_length:
            raise ConfigError(f"max_length: inputs of length {length} exceed m = {self.max_length}, "
                              "the rows of the low-rank update A B")
        update = self.low_rank_update()
        padded = torch.cat([inputs_embeds, inputs_embeds.new_zeros(batch, self.max_length - length, d)], dim=1)
        mask = torch.cat([attention_mask, attention_mask.new_zeros(batch, self.max_length - length)], dim=1)
        return prepend_prompt(self.new_prompt(update), padded + update.to(padded.dtype), mask)

    # -- what is trained and kept ---------------------------------------------------------------
    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        decay = self.config.decay(weight_decay)
        networks = [p for name, p in self.named_parameters() if name.startswith(("experts.", "gate."))]
        low_rank = [self.lora_a, self.lora_b] if self.config.decomposition else []
        groups = [{"params": [self.short_prompt], "lr": self.config.lr, "weight_decay": decay}]
        if self.config.lr_networks is None:
            groups[0]["params"] += networks
        elif networks:
            groups.append({"params": networks, "lr": self.config.lr_networks, "weight_decay": decay})
        if low_rank:
            groups.append({"params": low_rank, "lr": self.config.lr_low_rank, "weight_decay": decay})
        return groups

    def stored_parameter_count(self) -> int:
        """P_new (folded: the networks are discarded after training, seed 001 sec. "Reconstructed Prompt"), A, B."""
        low_rank = self.lora_a.numel() + self.lora_b.numel() if self.config.decomposition else 0
        return self.short_prompt.numel() + low_rank

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        stats: dict[str, float] = {}
        if self.config.decomposition:
            stats["update_norm"] = float(self.low_rank_update().norm(dim=-1).mean())
        if self.short_prompt.shape[0] == 0:
            return stats
        stats["prompt_norm"] = float(self.prompt().float().norm(dim=-1).mean())
        if self.config.projection:  # seed 001 Fig. 8: the gate's weight per space
            for i, mean in enumerate(self.gate_weights().mean(dim=0).tolist()):
                stats[f"gate_mean_{i}"] = float(mean)
        return stats


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "ept_msp": (EptMsp, EptMspConfig,
        "EPT: SVD prompt decomposition, prompt fusion, multi-space projection (seed 001)"),
}
