"""Full fine-tuning: every backbone parameter is trained (the seeds' "Fine-tuning" / "FT" rows).

``attach`` unfreezes the backbone and registers it as a submodule, so ``parameters()`` and
``state_dict()`` are the whole model (tied weights counted once): 222,903,552 on T5-base and
60,506,624 on T5-small (seed 003 prints 220M / 60M). Dropout is the backbone's own (kept or
removed by params.yaml ``dropout``); since the backbone is a submodule here, the loop's
``method.eval()`` during validation also turns it off, which the frozen-backbone methods cannot do.
Its weights are the method, so nothing can undo it cheaply: the pipeline loads a fresh backbone
for every build (``experiment.train_seed`` / ``score_state``), and a later attach of any method to
a backbone ft trained is refused (``reset_backbone`` raises) rather than silently starting from
fine-tuned weights. (Keeping a CPU copy of the pre-trained weights to restore them would cost a
second backbone in memory: 44 GB on T5-11B.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, on_reset, reset_backbone


@dataclass
class FtConfig(MethodConfig):
    # Seed 003 B.2 uses 1e-5 for fine-tuning everywhere but its SuperGLUE grid (1e-5 / 1e-4 / 1e-3) and
    # few-shot runs (1e-3); seed 004 §4.4 also 1e-5 ("to preserve the original weights").
    lr: float = 1e-5
    trains_backbone: ClassVar[bool] = True  # a 4-bit backbone is loaded in full precision for ft


class FullFineTuning(PeftMethod):
    config_class = FtConfig

    def __init__(self, config: FtConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.backbone: nn.Module | None = None  # set by attach

    def attach(self, model: nn.Module) -> None:
        reset_backbone(model)

        def refuse() -> None:
            on_reset(model, refuse)  # stays refused for every later attach
            raise RuntimeError("this backbone was fully fine-tuned by `ft`: load a fresh one for another build")
        on_reset(model, refuse)
        for p in model.parameters():
            p.requires_grad_(True)
        self.backbone = model
        self.train(self.training)


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "ft": (FullFineTuning, FtConfig,
        "full fine-tuning: every backbone parameter trained"),
}
