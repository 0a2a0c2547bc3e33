"""Full fine-tuning: every backbone parameter is trained (the seeds' "Fine-tuning" / "FT" rows).

``attach`` unfreezes the backbone and registers it as a submodule, so ``parameters()`` and
``state_dict()`` are the whole model (tied weights counted once): 222,903,552 on T5-base and
60,506,624 on T5-small (seed 003 prints 220M / 60M). Dropout is the backbone's own (kept or
removed by params.yaml ``dropout``); since the backbone is a submodule here, the loop's
``method.eval()`` during validation also turns it off, which the frozen-backbone methods cannot do.
The pipeline reuses one loaded backbone for every seed, so attach keeps a CPU copy of the weights
it finds (the pre-trained ones) and the next attach to that backbone puts them back, frozen, first.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, on_reset, reset_backbone


@dataclass
class FtConfig(MethodConfig):
    # Seed 003 B.2 uses 1e-5 for fine-tuning everywhere but its SuperGLUE grid (1e-5 / 1e-4 / 1e-3) and
    # few-shot runs (1e-3); seed 004 §4.4 also 1e-5 ("to preserve the original weights").
    lr: float = 1e-5


class FullFineTuning(PeftMethod):
    config_class = FtConfig

    def __init__(self, config: FtConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.backbone: nn.Module | None = None  # set by attach

    def attach(self, model: nn.Module) -> None:
        reset_backbone(model)
        pretrained = None
        if not any(p.is_meta for p in model.parameters()):
            pretrained = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            trainable = {name: p.requires_grad for name, p in model.named_parameters()}

        def undo() -> None:
            if pretrained is not None:
                model.load_state_dict(pretrained)
                for name, p in model.named_parameters():
                    p.requires_grad_(trainable[name])
        on_reset(model, undo)
        for p in model.parameters():
            p.requires_grad_(True)
        self.backbone = model
        self.train(self.training)
