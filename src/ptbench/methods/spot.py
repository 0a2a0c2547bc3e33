"""SPoT (Vu et al., 2022): plain prompt tuning from a prompt pre-trained on a source task.

The target prompt is a trainable copy of one frozen source prompt (``ctx.source_prompts``: pt's
prompts from the source_prompt stage; default source MNLI, as ATTEMPT's SPoT baseline,
``configs/baselines/spot.json``), then trained exactly as ``pt``: prepended to the input
embeddings, lr 0.3. The copy is taken once at build time, so training never touches the source
tensor. Trained = stored = l d (76,800 on T5-base at l = 100, "77K" in ATTEMPT / seed 003 Table 4).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ptbench.errors import ConfigError, require
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, is_int


def check_sources(value: Any, exactly: int | None = None) -> None:
    """``sources``: a non-empty list of distinct task names (``exactly`` of them when given)."""
    require(isinstance(value, (list, tuple)) and len(value) >= 1
            and all(isinstance(task, str) and task for task in value),
            "sources", f"must be a non-empty list of source task names, got {value!r}")
    require(len(set(value)) == len(value), "sources", f"names a task twice: {list(value)}")
    if exactly is not None:
        require(len(value) == exactly, "sources",
                f"must name exactly {exactly} source task (SPoT starts from one prompt; "
                f"ATTEMPT mixes several), got {len(value)}: {list(value)}")


def source_prompt(ctx: BackboneContext, method: str, task: str, length: int) -> torch.Tensor:
    """The frozen (length, d) prompt pre-trained on ``task``, as a float copy.

    On the ``meta`` device (parameter counting, no source stage ran) a missing source becomes a
    placeholder of the configured shape; anywhere else it is a ConfigError naming the sources."""
    prompt = ctx.source_prompts.get(task)
    if prompt is None:
        if ctx.word_embeddings.weight.is_meta:
            return torch.empty(length, ctx.d_model, device="meta")
        available = ", ".join(sorted(ctx.source_prompts)) or "none"
        raise ConfigError(f"methods.{method}.sources: no pre-trained source prompt for '{task}'; "
                          f"available: {available} (source_prompts.tasks, trained by the source_prompt stage)")
    shape = tuple(prompt.shape)
    if len(shape) != 2 or shape[1] != ctx.d_model:
        raise ConfigError(f"methods.{method}.sources: the source prompt of '{task}' has shape {shape}; "
                          f"expected (length, d_model) with d_model = {ctx.d_model}")
    if shape[0] != length:
        raise ConfigError(f"methods.{method}.length: {length}, but the source prompt of '{task}' has "
                          f"{shape[0]} tokens (source prompts are methods.pt's: set both lengths alike)")
    return prompt.detach().clone().float()


@dataclass
class SpotConfig(MethodConfig):
    # exactly one source task; a list (as ATTEMPT's ``sources``) so the pipeline reads both alike
    sources: list[str] = dataclasses.field(default_factory=lambda: ["mnli"])
    length: int = 100  # must equal the source prompt's length (ATTEMPT's SPoT baseline: 100)
    lr: float = 0.3  # ATTEMPT's spot.json

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sources(self.sources, exactly=1)
        self.sources = list(self.sources)
        require(is_int(self.length, 1), "length", f"must be an integer >= 1, got {self.length!r}")


class SoftPromptTransfer(PeftMethod):
    config_class = SpotConfig
    method_name = "spot"

    def __init__(self, config: SpotConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.source_task = config.sources[0]
        self.embedding = nn.Parameter(source_prompt(ctx, self.method_name, self.source_task, config.length))

    def prompt(self) -> torch.Tensor:
        return self.embedding


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "spot": (SoftPromptTransfer, SpotConfig,
        "SPoT: prompt tuning from a source-task prompt (Vu et al., 2022)"),
}
