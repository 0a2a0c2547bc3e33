"""(IA)^3 (Liu et al., 2022, "T-Few") through HF PEFT: learned vectors that rescale activations.

PEFT's ``IA3Config`` + ``inject_adapter_in_model``: each target linear layer gets a vector l,
initialised to ones (so the model is unchanged at step 0), that multiplies its output (keys,
values) or, for feed-forward layers, its input (the d_ff activations entering wo / down_proj).
Default targets (``auto``, PEFT's mapping by model type, the paper's choice): T5 k, v of every
attention block and wo (feed-forward); Llama k_proj, v_proj and down_proj (feed-forward).
Trained = stored: 129,024 on T5-base (72 x 768 + 24 x 3,072), 43,008 on T5-small.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import ConfigError, require
from ptbench.methods.base import MethodConfig
from ptbench.methods.lora import InjectedAdapter, check_module_list, import_peft, resolve_modules


@dataclass
class Ia3Config(MethodConfig):
    target_modules: Any = "auto"  # auto (PEFT's mapping: T5 k, v, wo; Llama k_proj, v_proj, down_proj) or a list
    # the targets whose input (not output) is rescaled; auto: PEFT's mapping (T5 wo, Llama down_proj) among the targets
    feedforward_modules: Any = "auto"
    lr: float = 3e-3  # T-Few's (IA)^3 learning rate (Liu et al., 2022)
    # The vectors start at 1: decay would pull every scale towards 0 (lr 3e-3 x 0.01 over 30K steps shrinks them
    # by e^-0.9), so none by default; null = train.weight_decay.
    weight_decay: float | None = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_module_list("target_modules", self.target_modules)
        check_module_list("feedforward_modules", self.feedforward_modules)
        if isinstance(self.target_modules, list) and isinstance(self.feedforward_modules, list):
            extra = [name for name in self.feedforward_modules if name not in self.target_modules]
            require(not extra, "feedforward_modules", f"must be among target_modules; not targets: {', '.join(extra)}")


class Ia3(InjectedAdapter):
    config_class = Ia3Config
    prefix = "ia3_"

    def peft_config(self, model: nn.Module) -> Any:
        peft = import_peft()
        from peft.utils import constants

        mapping = constants.TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING
        ff_mapping = constants.TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING

        cfg = self.config
        targets = resolve_modules("ia3", "target_modules", cfg.target_modules, model, mapping)
        if cfg.feedforward_modules == "auto":
            defaults = resolve_modules("ia3", "feedforward_modules", "auto", model, ff_mapping)
            feedforward = [name for name in defaults if name in targets]
        else:
            feedforward = resolve_modules("ia3", "feedforward_modules", cfg.feedforward_modules, model, ff_mapping)
            extra = [name for name in feedforward if name not in targets]
            if extra:
                raise ConfigError(f"methods.ia3.feedforward_modules: must be among the targets "
                                  f"({', '.join(targets)}); not targets: {', '.join(extra)}")
        return peft.IA3Config(target_modules=targets, feedforward_modules=feedforward)

    @torch.no_grad()
    def diagnostics(self) -> dict[str, float]:
        """||l - 1|| over all vectors: zero at init, how far the rescaling has moved."""
        if not len(self.weights):
            return {}
        squares = [(p.float() - 1).pow(2).sum() for p in self.weights.values()]
        return {"ia3_deviation": float(torch.stack(squares).sum().sqrt())}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "ia3": (Ia3, Ia3Config,
        "(IA)^3 through HF PEFT: learned rescaling of keys, values and the feed-forward (Liu et al., 2022)"),
}
