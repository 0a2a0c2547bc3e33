"""Prefix-tuning (Li & Liang, 2021) through HF PEFT's ``PrefixEncoder``: trained keys and values in every layer.

Every self-attention layer of the frozen backbone attends, besides the input, to n trained key/value
pairs per head, as if n "virtual tokens" preceded every sequence. The n x (2 L w) table (L layers,
w = key/value heads x head size) is PEFT's ``PrefixEncoder`` (PEFT 0.21.2, ``tuners/prefix_tuning``):
an ``nn.Embedding`` read directly (PEFT's default, ``prefix_projection=False``) or, with
``projection: true``, Li & Liang's reparameterisation (sec. 4.3), an (n, w) embedding through
Linear(w, h) -> Tanh -> Linear(h, 2 L w). Row 2l of the table is layer l's keys, row 2l + 1 its values,
split into heads as ``PeftModel.get_prompt`` does; the rows enter the backbone as ``past_key_values``
(a transformers 5 ``DynamicCache``) through ``PeftMethod.model_inputs``, which the runners of
``train/backbone.py`` pass to every loss, generation and rank-classification call.

Read in PEFT (``peft_model.py``): ``get_prompt`` builds the cache (``DynamicCache`` for decoder-only
models; ``EncoderDecoderCache`` for seq2seq, whose cross-attention part it replaces by an empty
cache); ``PeftModelForCausalLM`` prepends ones for the n positions to the attention mask;
``PeftModelForSeq2SeqLM`` hands the cache to T5's forward, which gives it to the decoder only (T5's
encoder drops caches). So on T5 the prefix enters the decoder's self-attention, and the encoder and
cross-attention are untouched; on Llama every layer. What differs from PEFT (docs/methods.md):
- seq2seq layout: PEFT duplicates the table and splits it in fours (self k, v, cross k, v) before
  dropping the cross part, so decoder layer l reads rows 4l, 4l + 1 (mod 2L): half the rows never
  reach the model and layers l and l + L/2 share a prefix. Here decoder layer l reads rows 2l, 2l + 1,
  PEFT's decoder-only layout: the same parameter count, every row used.
- shape: w is the attention's own key/value width (T5: heads x d_kv; Llama: key/value heads x head
  size), where PEFT takes d_model / heads on T5 and cannot split t5-small-lm-adapt (512 / 6 heads)
  or t5-3b (d_kv 128 x 32 heads = 4096 != 1024); on t5-small/base/large and Llama they agree.
- initialisation: PEFT's distributions (embedding N(0, 1), nn.Linear's Kaiming-uniform) drawn from
  the run's seeded generator; ``init: zero`` is PEFT's ``init_weights="zero"``.
Trained: n 2 L w without projection (368,640 on T5-base at n = 20), n w + (w h + h) + (2 L w h +
2 L w) with it. Stored: the folded prefix, n 2 L w: what PEFT saves (``prompt_embeddings``, the
encoder's output) and loads in inference mode without the MLP.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, is_int, reset_backbone, seeded_linear_init
from ptbench.methods.lora import import_peft

PREFIX_INITS = ("normal", "zero")


@dataclass
class PrefixConfig(MethodConfig):
    length: int = 20  # n: virtual tokens (PEFT's num_virtual_tokens; 20 in PEFT's prefix-tuning examples)
    projection: bool = False  # PEFT's prefix_projection (default false); true: Li & Liang's MLP reparameterisation
    hidden_size: int | None = None  # h of the projection MLP (PEFT's encoder_hidden_size); null: w; projection only
    init: str = "normal"  # normal: PEFT's default init | zero: PEFT's init_weights="zero"
    lr: float = 1e-2  # PEFT's prefix-tuning examples (AdamW 1e-2)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(is_int(self.length, 1), "length", f"must be an integer >= 1, got {self.length!r}")
        require(isinstance(self.projection, bool), "projection", f"must be true or false, got {self.projection!r}")
        require(self.hidden_size is None or is_int(self.hidden_size, 1),
                "hidden_size", f"must be null (= the key/value width) or an integer >= 1, got {self.hidden_size!r}")
        require(self.hidden_size is None or self.projection,
                "hidden_size", "sizes the projection MLP: set projection: true, or leave hidden_size null")
        require_choice("init", self.init, PREFIX_INITS)


def kv_geometry(config: Any) -> tuple[int, int, int]:
    """(layers, key/value heads, head size) of the self-attention the prefix enters: T5's decoder
    (its own d_kv); a decoder-only model's layers (grouped-query attention: its key/value heads)."""
    if config.is_encoder_decoder:
        return config.num_decoder_layers, config.num_heads, config.d_kv
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, kv_heads, head_dim


class PrefixTuning(PeftMethod):
    config_class = PrefixConfig

    def __init__(self, config: PrefixConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self._generator = ctx.generator if ctx is not None else torch.Generator().manual_seed(0)
        self.encoder: nn.Module | None = None  # PEFT's PrefixEncoder; its shape is the backbone's, so attach builds it
        self._geometry: tuple[int, int, int] | None = None  # (layers, kv heads, head size)
        self._encoder_decoder = False
        self._dtype = torch.float32  # the backbone's: the prefix joins its keys and values

    # -- built for one backbone ----------------------------------------------------------------
    def attach(self, model: nn.Module) -> None:
        """Size PEFT's PrefixEncoder for ``model``'s attention; the backbone itself is not changed."""
        reset_backbone(model)  # a model a backbone-changing method ran on is put back first
        peft = import_peft()
        layers, heads, head_dim = kv_geometry(model.config)
        width = heads * head_dim
        cfg = self.config
        peft_config = peft.PrefixTuningConfig(
            num_virtual_tokens=cfg.length, token_dim=width, num_layers=layers, num_attention_heads=heads,
            num_transformer_submodules=1, prefix_projection=cfg.projection,
            encoder_hidden_size=cfg.hidden_size or width)
        weight = model.get_input_embeddings().weight
        with torch.device(weight.device):
            encoder = peft.PrefixEncoder(peft_config)
        if not weight.is_meta:
            self._initialise(encoder)
        self.encoder = encoder
        self._geometry = (layers, heads, head_dim)
        self._encoder_decoder = bool(model.config.is_encoder_decoder)
        self._dtype = weight.dtype

    @torch.no_grad()
    def _initialise(self, encoder: nn.Module) -> None:
        """PEFT's initial distributions, drawn from the run's seeded generator."""
        g = self._generator
        embedding = encoder.embedding.weight
        embedding.copy_(torch.randn(embedding.shape, generator=g))  # nn.Embedding's N(0, 1)
        layers = [m for m in getattr(encoder, "transform", ()) if isinstance(m, nn.Linear)]
        for linear in layers:
            seeded_linear_init(linear, g)
        if self.config.init == "zero":  # PEFT's init_weights="zero": the prefix starts at 0
            for tensor in ((layers[-1].weight, layers[-1].bias) if layers else (embedding,)):
                tensor.zero_()

    # -- what the backbone sees ----------------------------------------------------------------
    def key_values(self) -> torch.Tensor:
        """(2L, heads, n, head size): row 2l holds layer l's keys, row 2l + 1 its values (PEFT's layout)."""
        if self.encoder is None:
            raise RuntimeError("prefix: attach(model) must run before the prefix is used")
        layers, heads, head_dim = self._geometry
        n = self.config.length
        tokens = torch.arange(n, device=self.encoder.embedding.weight.device)
        table = self.encoder(tokens)  # (n, 2 L w): the embedding, or the MLP over it
        return table.view(n, 2 * layers, heads, head_dim).permute(1, 2, 0, 3).to(self._dtype)

    def model_inputs(self, batch_size: int) -> dict[str, Any]:
        """``past_key_values``: a fresh cache holding every layer's prefix for ``batch_size`` rows (the
        decoder's self-attention cache inside an ``EncoderDecoderCache`` on T5, as PEFT builds it)."""
        rows = self.key_values().unsqueeze(1).expand(-1, batch_size, -1, -1, -1)
        from transformers import DynamicCache, EncoderDecoderCache  # late: params validation imports every method

        cache = DynamicCache([(rows[2 * layer], rows[2 * layer + 1]) for layer in range(self._geometry[0])])
        if self._encoder_decoder:
            cache = EncoderDecoderCache(cache, DynamicCache())
        return {"past_key_values": cache}

    # -- what is trained and kept ----------------------------------------------------------------
    def stored_parameter_count(self) -> int:
        """The folded prefix, n x 2 L w (what PEFT saves); 0 before attach."""
        if self._geometry is None:
            return 0
        layers, heads, head_dim = self._geometry
        return self.config.length * 2 * layers * heads * head_dim

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        """Mean norm of one head's prefix key and value vectors."""
        if self.encoder is None or self.encoder.embedding.weight.is_meta:
            return {}
        norms = self.key_values().float().norm(dim=-1)  # (2L, heads, n)
        return {"prefix_key_norm": float(norms[0::2].mean()), "prefix_value_norm": float(norms[1::2].mean())}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "prefix": (PrefixTuning, PrefixConfig,
        "Prefix-tuning through HF PEFT's PrefixEncoder: trained keys and values in every self-attention layer, T5's decoder (Li & Liang, 2021)"),
}
