"""LoRA (Hu et al., 2021) through HF PEFT: W x + (alpha / r) B A x on chosen linear layers.

PEFT (``LoraConfig`` + ``inject_adapter_in_model``) wraps the target layers of the frozen backbone
in place; A is Kaiming-uniform (PEFT's default, drawn from the global RNG, which the pipeline seeds
with ``torch.manual_seed(seed)`` before every build), B is zero, so the model is unchanged at
step 0. The injected A, B are registered on this module too (same tensors), so ``state_dict`` is
exactly the adapter weights and loading it updates the weights the model uses.
Default targets (``auto``): PEFT's mapping by model type, q and v of every attention block on T5
(encoder self-, decoder self- and cross-attention), q_proj and v_proj on Llama. Trained = stored =
r (d_in + d_out) per target: 884,736 on T5-base and 294,912 on T5-small at r = 8.
``bitfit: true`` adds the BitFit biases (``bitfit.py``), as the LoRA baseline of LST (Sung et al.,
2022), the source of the LoRA row DePT and seed 001 compare with (r = 32 + BitFit: 3,819,904).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import ConfigError, require
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, is_int, on_reset, param_key, reset_backbone
from ptbench.methods.bitfit import add_biases, bias_targets


def import_peft():
    """PEFT, imported on first use (it pulls in bitsandbytes, whose import warns that an optional CPU
    4-bit kernel is missing; we never run 4-bit kernels on CPU, so that warning is silenced)."""
    bnb_logger = logging.getLogger("bitsandbytes")
    level = bnb_logger.level
    bnb_logger.setLevel(logging.ERROR)
    try:
        import peft
    finally:
        bnb_logger.setLevel(level)
    return peft


def check_module_list(key: str, value: Any) -> None:
    """``auto`` or a non-empty list of distinct module names."""
    if value == "auto":
        return
    require(isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)
            and len(set(value)) == len(value), key,
            f"must be auto or a non-empty list of distinct module names, got {value!r}")


def linear_names(model: nn.Module) -> list[str]:
    """The last path component of every linear layer (what PEFT's target_modules match)."""
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)})


def resolve_modules(method: str, key: str, value: Any, model: nn.Module, mapping: dict[str, list[str]]) -> list[str]:
    """``auto`` -> PEFT's default for the model type; every name must be a linear layer of the model."""
    available = linear_names(model)
    if value == "auto":
        model_type = getattr(getattr(model, "config", None), "model_type", None)
        if model_type not in mapping:
            raise ConfigError(f"methods.{method}.{key}: PEFT has no default for model type {model_type!r}; "
                              f"list them (linear layers: {', '.join(available)})")
        return list(mapping[model_type])
    unknown = [name for name in value if name not in available]
    if unknown:
        raise ConfigError(f"methods.{method}.{key}: no linear layer named {', '.join(unknown)} in the backbone; "
                          f"available: {', '.join(available)}")
    return list(value)


def unload_peft(model: nn.Module) -> None:
    """Put the original layers back in place of PEFT's wrappers (what ``LoraModel.unload`` does)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    wrapped = [name for name, module in model.named_modules() if isinstance(module, BaseTunerLayer)]
    for name in wrapped:  # outer wrappers first; a wrapper's own children are never wrappers here
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, getattr(parent, child).get_base_layer())
    model.__dict__.pop("peft_config", None)


class InjectedAdapter(PeftMethod):
    """A PEFT tuner injected into the backbone; its parameters are registered here under their paths."""

    prefix: str = ""  # parameter names of the tuner contain it ("lora_", "ia3_")

    def __init__(self, config: MethodConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.weights = nn.ParameterDict()  # filled by attach: parameter path (dots as "__") -> tensor the model uses
        self.biases = nn.ParameterDict()  # bitfit: true only
        self._dropouts: list[nn.Module] = []  # PEFT's dropout modules; follow this module's train / eval

    def peft_config(self, model: nn.Module) -> Any:
        raise NotImplementedError

    def attach(self, model: nn.Module) -> None:
        reset_backbone(model)
        peft_config = self.peft_config(model)  # checks the targets before anything changes
        handles: list = []

        def undo() -> None:
            for handle in handles:
                handle.remove()
            unload_peft(model)
        on_reset(model, undo)
        if getattr(self.config, "bitfit", False):  # before injection: PEFT's own A, B layers get no bias
            self.biases, hooks = add_biases(model, bias_targets(model, True, False, True))
            handles.extend(hooks)
        import_peft().inject_adapter_in_model(peft_config, model)
        self.weights = nn.ParameterDict({param_key(name): p for name, p in model.named_parameters()
                                         if self.prefix in name})
        for p in self.weights.values():
            p.requires_grad_(True)
        self._dropouts = [m for name, m in model.named_modules() if name.endswith("lora_dropout")]
        self.train(self.training)

    def train(self, mode: bool = True) -> InjectedAdapter:
        super().train(mode)
        for module in self._dropouts:  # evaluation without the adapter's dropout (the backbone's is the loop's)
            module.train(mode)
        return self


@dataclass
class LoraConfig(MethodConfig):
    rank: int = 8  # r
    alpha: float = 16.0  # lora_alpha: the update is scaled by alpha / r (2 here)
    dropout: float = 0.0  # lora_dropout on the adapter's input (PEFT's default 0)
    target_modules: Any = "auto"  # auto (PEFT's mapping: T5 q, v; Llama q_proj, v_proj) or a list of layer names
    bitfit: bool = False  # also train BitFit biases (LST's LoRA baseline: rank 32 + BitFit)
    lr: float = 3e-4  # LST's and Compacter's learning rate for their LoRA / BitFit baselines

    def __post_init__(self) -> None:
        super().__post_init__()
        require(is_int(self.rank, 1), "rank", f"must be an integer >= 1, got {self.rank!r}")
        require(isinstance(self.alpha, (int, float)) and not isinstance(self.alpha, bool) and self.alpha > 0,
                "alpha", f"must be a positive number, got {self.alpha!r}")
        require(isinstance(self.dropout, (int, float)) and not isinstance(self.dropout, bool) and 0 <= self.dropout < 1,
                "dropout", f"must be a number in [0, 1), got {self.dropout!r}")
        check_module_list("target_modules", self.target_modules)
        require(isinstance(self.bitfit, bool), "bitfit", f"must be true or false, got {self.bitfit!r}")


class Lora(InjectedAdapter):
    config_class = LoraConfig
    prefix = "lora_"

    def peft_config(self, model: nn.Module) -> Any:
        peft = import_peft()
        from peft.utils import constants

        mapping = constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

        cfg = self.config
        targets = resolve_modules("lora", "target_modules", cfg.target_modules, model, mapping)
        return peft.LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets)

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        """||B||_F over all targets: zero at init, so it tracks how far the update has moved."""
        b = [p.float().pow(2).sum() for key, p in self.weights.items() if "lora_B" in key]
        return {"lora_b_norm": float(torch.stack(b).sum().sqrt())} if b else {}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "lora": (Lora, LoraConfig,
        "LoRA through HF PEFT: low-rank updates of the attention's q, v (Hu et al., 2021)"),
}
