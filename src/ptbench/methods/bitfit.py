"""BitFit (Ben Zaken et al., 2022) as the Compacter / ATTEMPT baseline: train only bias terms.

T5 (and Llama) have no bias anywhere, so, as Compacter's BitFit (rabeehk/compacter,
``third_party/models/t5/modeling_t5.py`` with ``bitfit: true``), a zero-initialised bias is added
to the output of every linear layer of the blocks (q, k, v, o of self- and cross-attention, wi, wo),
of every normalisation layer inside the blocks, and of the LM head (``freeze_bitfit_lm_head: true``
trains its bias only); the stacks' final layer norms get none. On T5-base:
(12 * 6,912 + 12 * 9,984) linear + 60 * 768 norm + 32,128 head = 280,960, the "BitFit 280K" that
ATTEMPT prints (seed 003 Table 4). The biases live on this module and enter the backbone through
forward hooks; the backbone's own tensors are never touched, so the model stays frozen.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, is_norm, on_reset, param_key, reset_backbone

def in_block(name: str) -> bool:
    """Inside a repeated block (``encoder.block.3....``, ``model.layers.0....``), not a stack's final layer."""
    return any(part.isdigit() for part in name.split("."))


def bias_targets(model: nn.Module, layer_norms: bool, final_layer_norms: bool, lm_head: bool) -> list[tuple[str, int]]:
    """(module path, output width) of every module that gets a bias, in module order."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    targets = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            if module is head and not lm_head:
                continue
            targets.append((name, module.out_features))
        elif is_norm(module) and getattr(module, "weight", None) is not None \
                and (layer_norms if in_block(name) else final_layer_norms):
            targets.append((name, module.weight.shape[-1]))
    return targets


def add_biases(model: nn.Module, targets: list[tuple[str, int]]) -> tuple[nn.ParameterDict, list]:
    """Zero biases added to the output of each target module by forward hooks; returns them and the hook handles."""
    modules = dict(model.named_modules())
    biases, handles = nn.ParameterDict(), []
    for name, width in targets:
        module = modules[name]
        device = next(module.parameters()).device
        bias = nn.Parameter(torch.zeros(width, device=device))
        biases[param_key(name)] = bias
        handles.append(module.register_forward_hook(_adds(bias)))
    return biases, handles


def _adds(bias: nn.Parameter):
    def hook(module: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
        return output + bias.to(output.dtype)
    return hook


@dataclass
class BitFitConfig(MethodConfig):
    layer_norms: bool = True  # biases on the normalisation layers inside the blocks (Compacter's T5LayerNorm bias)
    final_layer_norms: bool = False  # Compacter builds the stacks' final_layer_norm without one
    lm_head: bool = True  # bias of the LM head (Compacter's bitfit.json: freeze_bitfit_lm_head, i.e. bias trained)
    lr: float = 3e-4  # Compacter's bitfit.json (the source of ATTEMPT's BitFit row)

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("layer_norms", "final_layer_norms", "lm_head"):
            value = getattr(self, key)
            require(isinstance(value, bool), key, f"must be true or false, got {value!r}")


class BitFit(PeftMethod):
    config_class = BitFitConfig

    def __init__(self, config: BitFitConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.biases = nn.ParameterDict()  # filled by attach: module path (dots as "__") -> bias

    def attach(self, model: nn.Module) -> None:
        reset_backbone(model)
        cfg = self.config
        targets = bias_targets(model, cfg.layer_norms, cfg.final_layer_norms, cfg.lm_head)
        self.biases, handles = add_biases(model, targets)
        on_reset(model, lambda: [handle.remove() for handle in handles])

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        if not len(self.biases):
            return {}
        return {"bias_norm": float(torch.stack([b.float().pow(2).sum() for b in self.biases.values()]).sum().sqrt())}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "bitfit": (BitFit, BitFitConfig,
        "BitFit: zero-initialised biases on every linear layer, block norm and the LM head (Ben Zaken et al., 2022; Compacter's T5 variant)"),
}
