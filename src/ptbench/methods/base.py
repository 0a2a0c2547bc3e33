"""What every method shares: the context it is built in, the interface the loop calls, helpers.

A method is an ``nn.Module`` that owns how it changes what the backbone sees. The training
loop only ever calls the interface below; it never asks a method its name.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from ptbench.errors import ConfigError, reject_unknown_keys, require, require_choice


@dataclass
class BackboneContext:
    """What a method may know about the frozen backbone it is built for."""

    d_model: int
    word_embeddings: nn.Embedding  # frozen; read for vocabulary initialisation
    max_length: int  # padded input length m (DePT-style methods size their matrices by it)
    generator: torch.Generator  # seeded: every random initialisation draws from it
    # "sampled vocabulary": the first ids (the most frequent, seed 001's 5,000); None: every id (seed 004)
    vocab_sample_size: int | None = 5000
    tokenize: Any = None  # str -> list[int]; needed only by text and label initialisation
    # the task's output classes as the target strings (spec.choices), for label initialisation; ()
    # when the method is built for no task or a free-form one
    label_texts: tuple[str, ...] = ()
    # Frozen prompts pre-trained on source tasks (task -> (l, d)), for transfer methods (SPoT,
    # ATTEMPT); filled from the transfer_source stage's outputs (``transfer.load_transfer_sources``).
    source_prompts: dict[str, torch.Tensor] = dataclasses.field(default_factory=dict)
    # Whole source-trained states a method starts from (MPT: its multitask-distilled shared prompt
    # under "mpt"), filled from the transfer_source stage's outputs (``transfer.load_transfer_sources``).
    source_states: dict[str, dict[str, torch.Tensor]] = dataclasses.field(default_factory=dict)

    def sample_vocab_ids(self, n: int, unique: bool = True) -> torch.Tensor:
        size = self.word_embeddings.num_embeddings
        pool = size if self.vocab_sample_size is None else min(self.vocab_sample_size, size)
        if unique:
            require(n <= pool, "init", f"needs {n} distinct tokens but the sample pool has {pool}")
            return torch.randperm(pool, generator=self.generator)[:n]
        return torch.randint(pool, (n,), generator=self.generator)

    def vocab_embeddings(self, n: int) -> torch.Tensor:
        weight = self.word_embeddings.weight
        if weight.is_meta:
            return torch.empty(n, self.d_model, device="meta")
        return weight[self.sample_vocab_ids(n)].detach().clone().float()


@dataclass
class MethodConfig:
    """Base of every method's config: its knobs, validated on construction."""

    lr: float = 0.3
    # None: train.weight_decay. Seed 004 sets it per method (PT 0.01, SuperPos 1e-5, ATTEMPT 1e-5).
    weight_decay: float | None = None
    # Where "sampled vocabulary" draws from: the first ``vocab_pool`` ids (seed 001: "e.g. the 5000 most
    # common tokens"; sentencepiece ids are roughly frequency-ordered), null: the whole embedding layer
    # (seed 004: "sampled from the embedding layer"). Read by every vocab-initialised method.
    vocab_pool: int | None = 5000
    # The optimizer's eps (train.optimizer): None, the optimizer's own default (adamw_legacy 1e-6, what
    # DePT's and ATTEMPT's trainers ran; adamw_torch 1e-8); a method whose reference passes one sets it.
    adam_eps: float | None = None

    def __post_init__(self) -> None:
        require(isinstance(self.lr, (int, float)) and not isinstance(self.lr, bool) and self.lr > 0,
                "lr", f"must be a positive number, got {self.lr!r}")
        require(self.weight_decay is None or (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0),
                "weight_decay", f"must be null or a non-negative number, got {self.weight_decay!r}")
        require(self.vocab_pool is None or (isinstance(self.vocab_pool, int) and not isinstance(self.vocab_pool, bool)
                                            and self.vocab_pool >= 1),
                "vocab_pool", f"must be null (the whole vocabulary) or an integer >= 1, got {self.vocab_pool!r}")
        require(self.adam_eps is None or (isinstance(self.adam_eps, (int, float)) and not isinstance(self.adam_eps, bool)
                                          and self.adam_eps > 0),
                "adam_eps", f"must be null (the optimizer's default) or a positive number, got {self.adam_eps!r}")

    def decay(self, default: float) -> float:
        return default if self.weight_decay is None else float(self.weight_decay)

    # How the transfer_source stage builds what the method reads (transfer.SOURCE_BUILDERS):
    # "prompts" collects pt's source prompts of ``sources``; MPT distils them ("distillation").
    source_builder: ClassVar[str] = "prompts"
    # Trains the backbone's own weights (ft): such a method needs a full-precision backbone even
    # where the registry loads it in 4-bit.
    trains_backbone: ClassVar[bool] = False

    def source_tasks(self) -> list[str]:
        """Source tasks whose pre-trained prompts the method reads (transfer methods' ``sources``)."""
        return list(getattr(self, "sources", None) or [])

    @classmethod
    def from_params(cls, method: str, section: dict[str, Any] | None, key: str | None = None) -> "MethodConfig":
        """``key``: where params.yaml set these knobs, for errors (default ``methods.<method>``)."""
        section = dict(section or {})
        key = key or f"methods.{method}"
        reject_unknown_keys(key, section, (f.name for f in dataclasses.fields(cls)))
        try:
            return cls(**section)
        except ConfigError as exc:
            raise ConfigError(f"{key}.{exc}") from None


class PeftMethod(nn.Module):
    """Interface the training loop uses. Subclasses implement ``prompt`` or override ``forward``."""

    config_class: ClassVar[type[MethodConfig]] = MethodConfig

    def __init__(self, config: MethodConfig, ctx: BackboneContext) -> None:
        super().__init__()
        self.config = config

    # -- what the backbone sees ---------------------------------------------------------------
    def prompt(self) -> torch.Tensor | None:
        """The (n, d) soft prompt prepended to every input, or None."""
        return None

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prompt = self.prompt()
        if prompt is None:
            return inputs_embeds, attention_mask
        return prepend_prompt(prompt, inputs_embeds, attention_mask)

    def attach(self, model: nn.Module) -> None:
        """Hook for methods that change the backbone itself (adapters, LoRA); default none."""

    def model_inputs(self, batch_size: int) -> dict[str, Any]:
        """Extra keyword arguments for every backbone call (loss, generation, each rank candidate); default none.

        ``past_key_values`` (prefix-tuning) is a transformers ``Cache`` of per-layer keys and values that
        every position attends to, as ``get_seq_length()`` tokens before the input: the runners extend
        the attention mask over them and number the input's positions after them (on an encoder-decoder
        backbone it is the decoder's cache, an ``EncoderDecoderCache`` with an empty cross-attention
        part). A call mutates the cache it is given, so this runs once per call and returns fresh objects.
        """
        return {}

    # -- what is trained and kept ---------------------------------------------------------------
    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups; ``weight_decay`` is train.weight_decay (a method may override it)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad],
                 "lr": self.config.lr, "weight_decay": self.config.decay(weight_decay)}]

    def trainable_parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def stored_parameter_count(self) -> int:
        """Parameters kept after training (reparameterisations are folded away)."""
        return self.trainable_parameter_count()

    def diagnostics(self) -> dict[str, float]:
        """Scalars the loop logs (e.g. the average prompt norm mu_t of seed 003, eq. 4)."""
        prompt = self.prompt()
        if prompt is None:
            return {}
        return {"prompt_norm": float(prompt.detach().float().norm(dim=-1).mean())}


# --- backbone-changing methods (bitfit, lora, ia3, adapter, ft) ----------------------------------
# They record on the model how to undo what they did; the next attach to the same model runs it
# first, so a backbone reused for another build starts from its pre-trained state again.
_UNDO = "_ptbench_undo"


def reset_backbone(model: nn.Module) -> None:
    """Undo what the last backbone-changing method did to ``model`` (hooks, injected layers,
    unfrozen or trained weights). The pipeline builds one method per seed on one loaded backbone."""
    undo = model.__dict__.pop(_UNDO, None)
    if undo is not None:
        undo()


def on_reset(model: nn.Module, undo: Callable[[], None]) -> None:
    """Register how to restore ``model``; run by the next ``reset_backbone``."""
    model.__dict__[_UNDO] = undo


def param_key(name: str) -> str:
    """A module path as a ParameterDict key (no dots allowed)."""
    return name.replace(".", "__")


def is_norm(module: nn.Module) -> bool:
    """A normalisation layer: torch's LayerNorm / RMSNorm or a model's own (T5LayerNorm, LlamaRMSNorm)."""
    return isinstance(module, (nn.LayerNorm, nn.RMSNorm)) or type(module).__name__.endswith(("LayerNorm", "RMSNorm"))


def is_int(value: object, low: int) -> bool:
    """An integer (not a bool) of at least ``low``: the check behind most count-like knobs."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


@torch.no_grad()
def gate_matrix(module: nn.Module) -> torch.Tensor | None:
    """The per-token gate of a multi-space projection (``gate_weights()``, seed 001 Fig. 8), or None
    when the module has none: ept_msp with ``projection`` off keeps the method but builds no gate. Read
    at initialisation by the training record and from the trained state by the report."""
    if not callable(getattr(module, "gate_weights", None)) or getattr(module, "gate", None) is None:
        return None
    return module.gate_weights()


def rounded_rows(matrix: torch.Tensor) -> list[list[float]]:
    return [[round(float(v), 4) for v in row] for row in matrix.detach().float()]


@torch.no_grad()
def seeded_linear_init(linear: nn.Linear, generator: torch.Generator) -> None:
    """nn.Linear's default init (Kaiming-uniform: U(+-1/sqrt(fan_in)) for weight, then bias), drawn
    from the method's seeded generator so that two builds with the same seed are identical."""
    bound = linear.in_features ** -0.5
    linear.weight.uniform_(-bound, bound, generator=generator)
    if linear.bias is not None:
        linear.bias.uniform_(-bound, bound, generator=generator)


def prepend_prompt(prompt: torch.Tensor, inputs_embeds: torch.Tensor,
                   attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    batch = inputs_embeds.shape[0]
    prompt = prompt.to(inputs_embeds.dtype).unsqueeze(0).expand(batch, -1, -1)
    ones = attention_mask.new_ones(batch, prompt.shape[1])
    return torch.cat([prompt, inputs_embeds], dim=1), torch.cat([ones, attention_mask], dim=1)


INIT_CHOICES = ("vocab", "uniform", "text", "label")


def initial_prompt(ctx: BackboneContext, length: int, init: str, init_range: float = 0.5,
                   init_text: str = "") -> torch.Tensor:
    """Lester et al. initialisations: sampled vocabulary, uniform [-r, r], a tiled text, or the task's
    class labels (seed 003 Table 6 "label vocabulary"; Lester et al.: each class label's embedding, the
    mean over its tokens, in the task's class order, then sampled vocabulary for the remaining rows;
    a prompt shorter than the class count takes the first classes)."""
    require_choice("init", init, INIT_CHOICES)
    if ctx.word_embeddings.weight.is_meta:
        return torch.empty(length, ctx.d_model, device="meta")
    if init == "vocab":
        return ctx.vocab_embeddings(length)
    if init == "uniform":
        return (torch.rand(length, ctx.d_model, generator=ctx.generator) * 2 - 1) * init_range
    if init == "label":
        require(bool(ctx.label_texts) and ctx.tokenize is not None, "init",
                "label initialisation needs a classification task (its output classes), built with its tokenizer")
        weight = ctx.word_embeddings.weight
        classes = [weight[torch.tensor(ctx.tokenize(text))].detach().float().mean(0) for text in ctx.label_texts]
        rows = torch.stack(classes[:length])
        rest = length - rows.shape[0]
        return torch.cat([rows, ctx.vocab_embeddings(rest)]) if rest > 0 else rows
    require(bool(init_text) and ctx.tokenize is not None, "init_text", "text initialisation needs a non-empty init_text")
    ids = torch.tensor(ctx.tokenize(init_text))
    ids = ids.repeat(length // len(ids) + 1)[:length]  # tiled, as the DePT code
    return ctx.word_embeddings.weight[ids].detach().clone().float()
