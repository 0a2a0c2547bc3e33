"""Control: the frozen backbone with pt's initial prompt, never trained.

Every table's floor: what the backbone does with an (untrained) prompt of the grid's shape before
any tuning. On the smoke mirror that is chance (the prefix-less input means another rule), so a
method's row above it is what its training earned. The prompt is a buffer, not a parameter: the
training loop, finding nothing to train, only validates the built state (loop.train).
"""
from __future__ import annotations

from dataclasses import dataclass

from ptbench.methods.base import BackboneContext
from ptbench.methods.pt import PromptTuning, PromptTuningConfig


@dataclass
class ControlConfig(PromptTuningConfig):
    """pt's knobs (length, init): the same draw as pt's initial prompt for the same seed."""


class UntrainedPrompt(PromptTuning):
    config_class = ControlConfig

    def __init__(self, config: ControlConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        prompt = self.embedding.detach()
        del self.embedding
        self.register_buffer("embedding", prompt)  # kept in the state, never trained

    def stored_parameter_count(self) -> int:
        return 0  # the prompt is drawn from the seed: nothing to store


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "control": (UntrainedPrompt, ControlConfig,
        "control: the frozen backbone with pt's initial prompt, untrained (every table's floor)"),
}
