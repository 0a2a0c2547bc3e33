"""Bottleneck adapters (Houlsby et al., 2019) and AdapterDrop (Rücklé et al., 2021), as the
ATTEMPT / compacter baselines run them (seed 003 Table 4 quotes their counts from ATTEMPT).

Read from AkariAsai/ATTEMPT (``configs/baselines/adapter.json``, ``adapters/``,
``third_party/models/t5/modeling_t5.py``, ``utils/utils.py``) and rabeehk/compacter
(``configs/adapters.json``, ``configs/adapters_drop.json``):

* one adapter A(y) = y + W_up f(W_down y + b_down) + b_up, W_down: d -> r, W_up: r -> d,
  f = gelu_new, r = d // 32 (``task_reduction_factor: 32``), no adapter LayerNorm;
* after the self-attention and after the feed-forward sub-layer of every block, encoder and
  decoder (no adapter on T5's cross-attention), applied to the sub-layer's output *before* the
  block's own dropout + residual add: ``h + dropout(A(SubLayer(LN(h))))``;
* the backbone's LayerNorms are trained too (``unfreeze_layer_norms: true``);
* weights N(0, 0.01^2), biases zero (the reference ``_init_weights`` branch "for adapter layers");
* AdapterDrop: adapters only in blocks 5..11 of the encoder and of the decoder (drop the lowest 5).

Trained = stored = n_adapters (2 d r + r + d) + the LayerNorm weights: on T5-base (d 768, r 24,
12 + 12 blocks, 62 LayerNorms) 48 x 37,656 + 47,616 = 1,855,104 ("1.9M"); AdapterDrop
28 x 37,656 + 47,616 = 1,101,984 ("1.1M").

The adapters are created by ``attach`` (the block structure is the model's) and run through
forward hooks on the sub-layer modules, so the backbone's own modules and state-dict keys stay as
they are. With ``train_layer_norms`` each normalisation layer's weight is swapped for a trainable
copy owned by this module (the pre-trained tensor itself is never modified). The state dict is
exactly the adapter weights and those LayerNorm copies, i.e. what the model runs. Backbone changes
follow ``bitfit.py``'s reset protocol: the next attach to the same backbone (or ``detach``) removes
the hooks and puts the pre-trained LayerNorm weights back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import nn

from ptbench.errors import ConfigError, require, require_choice
from ptbench.methods.base import (BackboneContext, MethodConfig, PeftMethod, is_int, is_norm, on_reset, param_key,
                                  reset_backbone, seeded_linear_init)

ACTIVATIONS = ("gelu_new", "gelu", "relu", "swish", "silu", "tanh")  # transformers.activations names
INITS = ("normal", "zero_up", "pytorch")


@dataclass
class AdapterConfig(MethodConfig):
    method_name: ClassVar[str] = "adapter"  # names the key in errors raised at attach time

    reduction_factor: int = 32  # r = d // reduction_factor (ATTEMPT / compacter task_reduction_factor: 32)
    bottleneck: int | None = None  # r itself, overriding reduction_factor; 1 <= r <= d
    activation: str = "gelu_new"  # the reference configs' non_linearity (compacter's code default: swish)
    init: str = "normal"  # normal: N(0, init_std^2) weights, zero biases (reference) | zero_up | pytorch
    init_std: float = 0.01
    drop_layers: int = 0  # AdapterDrop: no adapters in the lowest n blocks of every stack
    cross_attention: bool = False  # also after T5's decoder cross-attention (not in the reference)
    train_layer_norms: bool = True  # the reference's unfreeze_layer_norms: every backbone LayerNorm
    lr: float = 3e-4  # ATTEMPT / compacter adapter runs
    weight_decay: float | None = 0.0  # HF Trainer default (the reference sets none)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(is_int(self.reduction_factor, 1), "reduction_factor",
                f"must be an integer >= 1, got {self.reduction_factor!r}")
        require(self.bottleneck is None or is_int(self.bottleneck, 1), "bottleneck",
                f"must be null or an integer >= 1, got {self.bottleneck!r}")
        require_choice("activation", self.activation, ACTIVATIONS)
        require_choice("init", self.init, INITS)
        require(isinstance(self.init_std, (int, float)) and not isinstance(self.init_std, bool) and self.init_std > 0,
                "init_std", f"must be a positive number, got {self.init_std!r}")
        require(is_int(self.drop_layers, 0), "drop_layers", f"must be an integer >= 0, got {self.drop_layers!r}")
        require(isinstance(self.cross_attention, bool), "cross_attention",
                f"must be true or false, got {self.cross_attention!r}")
        require(isinstance(self.train_layer_norms, bool), "train_layer_norms",
                f"must be true or false, got {self.train_layer_norms!r}")

    def adapts(self, kind: str) -> bool:
        """Whether a sub-layer of this kind (attention | cross_attention | feed_forward) gets an adapter;
        ``adapter_sites`` lists cross-attention only when ``cross_attention`` is on."""
        return True

    def bottleneck_for(self, d: int) -> int:
        """r on a backbone of width d; a ConfigError naming the key when it does not fit."""
        prefix = f"methods.{self.method_name}"
        if self.bottleneck is not None:
            require(self.bottleneck <= d, f"{prefix}.bottleneck",
                    f"must be at most the model width d = {d}, got {self.bottleneck}")
            return self.bottleneck
        require(self.reduction_factor <= d, f"{prefix}.reduction_factor",
                f"must be at most the model width d = {d} (r = d // reduction_factor >= 1), got {self.reduction_factor}")
        return d // self.reduction_factor


@dataclass
class AdapterDropConfig(AdapterConfig):
    method_name: ClassVar[str] = "adapter_drop"

    drop_layers: int = 5  # compacter adapters_drop.json: task_adapter_layers_encoder/decoder = [5..11]


class Bottleneck(nn.Module):
    """y + up(f(down(y))), computed in the adapter's dtype (float32) and cast back to the backbone's."""

    def __init__(self, d: int, r: int, activation: str, device: torch.device | None = None) -> None:
        super().__init__()
        from transformers.activations import get_activation

        self.down = nn.Linear(d, r, device=device)
        self.up = nn.Linear(r, d, device=device)
        self.activation = get_activation(activation)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        delta = self.up(self.activation(self.down(y.to(self.up.weight.dtype))))
        return y + delta.to(y.dtype)

    def up_norm(self) -> float:
        return float(self.up.weight.detach().norm())

    @torch.no_grad()
    def reset(self, init: str, std: float, generator: torch.Generator) -> None:
        if init == "pytorch":
            seeded_linear_init(self.down, generator)
            seeded_linear_init(self.up, generator)
            return
        if init == "normal":
            self.down.weight.normal_(0.0, std, generator=generator)
        else:  # zero_up: nn.Linear's default down-projection, a zero up-projection: exactly identity
            seeded_linear_init(self.down, generator)
        self.down.bias.zero_()
        if init == "normal":
            self.up.weight.normal_(0.0, std, generator=generator)
        else:
            self.up.weight.zero_()
        self.up.bias.zero_()


class Site(NamedTuple):
    stack: str  # encoder | decoder (T5), layers (decoder-only)
    block: int
    kind: str  # attention | cross_attention | feed_forward
    module: nn.Module  # whose output (or first output) is the sub-layer's pre-residual update
    blocks: int  # blocks in this stack


def _decoder_layers(model: nn.Module) -> nn.ModuleList | None:
    """The block list of a Llama-style decoder: the ModuleList whose items have self_attn and mlp."""
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) and \
                all(hasattr(block, "self_attn") and hasattr(block, "mlp") for block in module):
            return module
    return None


def adapter_sites(model: nn.Module, cross_attention: bool = False) -> list[Site]:
    """Where adapters go, in a fixed order (stack, block, sub-layer): T5 and Llama-style decoders."""
    sites: list[Site] = []
    stacks = [(name, getattr(model, name, None)) for name in ("encoder", "decoder")]
    stacks = [(name, stack) for name, stack in stacks if stack is not None and hasattr(stack, "block")]
    if stacks:  # T5: T5LayerSelfAttention.SelfAttention, T5LayerCrossAttention.EncDecAttention, T5LayerFF.DenseReluDense
        for name, stack in stacks:
            for i, block in enumerate(stack.block):
                for layer in block.layer:
                    if hasattr(layer, "SelfAttention"):
                        sites.append(Site(name, i, "attention", layer.SelfAttention, len(stack.block)))
                    elif hasattr(layer, "EncDecAttention"):
                        if cross_attention:
                            sites.append(Site(name, i, "cross_attention", layer.EncDecAttention, len(stack.block)))
                    elif hasattr(layer, "DenseReluDense"):
                        sites.append(Site(name, i, "feed_forward", layer.DenseReluDense, len(stack.block)))
        return sites
    layers = _decoder_layers(model)
    if layers is None:
        raise ConfigError(f"backbone: adapters support T5 and Llama-style decoders, not {type(model).__name__}")
    for i, block in enumerate(layers):
        sites.append(Site("layers", i, "attention", block.self_attn, len(layers)))
        sites.append(Site("layers", i, "feed_forward", block.mlp, len(layers)))
    return sites


def layer_norms(model: nn.Module) -> dict[str, nn.Module]:
    """Every normalisation layer with parameters (T5LayerNorm, LlamaRMSNorm, nn.LayerNorm), final ones
    included: the reference unfreezes every T5LayerNorm / nn.LayerNorm of the model."""
    return {name: module for name, module in model.named_modules()
            if is_norm(module) and any(True for _ in module.parameters(recurse=False))}


def _hook(adapter: Bottleneck):
    def apply(module: nn.Module, args, output):
        if isinstance(output, tuple):  # attention: (output, position_bias / weights, ...)
            return (adapter(output[0]),) + tuple(output[1:])
        return adapter(output)
    return apply


class BottleneckAdapters(PeftMethod):
    config_class = AdapterConfig

    def __init__(self, config: AdapterConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.generator = ctx.generator
        self.adapters = nn.ModuleDict()  # "<stack>_<block>_<kind>" -> Bottleneck; filled by attach
        self.norm_weights = nn.ParameterDict()  # "<norm path>__<param>" (dots as "__") -> the copy the model runs
        self._undo: list = []  # hook handles and swapped-out parameters, for detach
        self._attached = False

    def attach(self, model: nn.Module) -> None:
        if self._attached:
            raise RuntimeError("adapters are already attached to a backbone; build a new method")
        reset_backbone(model)
        config: AdapterConfig = self.config
        sites = adapter_sites(model, config.cross_attention)
        d = model.config.get_text_config().hidden_size
        r = config.bottleneck_for(d)
        blocks = min(site.blocks for site in sites)
        require(config.drop_layers < blocks, f"methods.{config.method_name}.drop_layers",
                f"must be less than the number of blocks per stack ({blocks}), got {config.drop_layers}")
        reference = next(model.parameters())
        meta = reference.is_meta
        self._attached = True
        for site in sites:
            if site.block < config.drop_layers or not config.adapts(site.kind):
                continue
            adapter = self.make_adapter(d, r, device="meta" if meta else None)
            if not meta:
                adapter.reset(config.init, config.init_std, self.generator)
                adapter.to(reference.device)
            self.adapters[f"{site.stack}_{site.block}_{site.kind}"] = adapter
            self._undo.append(site.module.register_forward_hook(_hook(adapter)))
        if config.train_layer_norms:
            for name, norm in layer_norms(model).items():
                for pname, original in list(norm.named_parameters(recurse=False)):
                    trained = nn.Parameter(original.detach().clone(), requires_grad=True)
                    setattr(norm, pname, trained)
                    self.norm_weights[param_key(f"{name}.{pname}")] = trained
                    self._undo.append((norm, pname, original))
        on_reset(model, self.detach)

    def make_adapter(self, d: int, r: int, device: str | None) -> nn.Module:
        """One adapter (y -> y + up(f(down(y)))) for a site: AdaMix builds a mixture of them."""
        return Bottleneck(d, r, self.config.activation, device=device)

    def detach(self) -> None:
        """Remove the hooks and put the pre-trained LayerNorm weights back: the bare backbone again."""
        for item in reversed(self._undo):
            if isinstance(item, tuple):
                norm, pname, original = item
                setattr(norm, pname, original)
            else:
                item.remove()
        self._undo = []

    def diagnostics(self) -> dict[str, float]:
        if not len(self.adapters) or next(self.adapters.parameters()).is_meta:
            return {}
        norms = [a.up_norm() for a in self.adapters.values()]
        return {"adapter_up_norm": sum(norms) / len(norms)}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "adapter": (BottleneckAdapters, AdapterConfig,
        "Houlsby bottleneck adapters after attention and feed-forward, as ATTEMPT's baseline (Houlsby et al., 2019)"),
    "adapter_drop": (BottleneckAdapters, AdapterDropConfig,
        "AdapterDrop: the same adapters, none in the lowest drop_layers blocks of each stack (Rücklé et al., 2021)"),
}
