"""MPT (Wang et al., 2023): a shared prompt adapted per task by a multiplicative low-rank update.

    P_k = P* ⊙ (U_k V_k)        P* (l, d) shared, U_k (l, r), V_k (r, d); r = 1 in the paper

The module is HF PEFT's ``MultitaskPromptEmbedding`` (a kept library: its ``prefix_task_cols`` are
the U_k, its ``prefix_task_rows`` the V_k, its ``embedding`` the shared P*), with one transformer
submodule: the prompt enters the encoder only, as every prompt method here.

Two phases, as the paper:
1. source training (``ptbench.run.distill``, the ``transfer_source`` stage): P* and one (U_k, V_k) per
   source task, distilled from pt's single-task source prompts (teachers);
2. target adaptation (this method in the grid): one task, P* and (U, V) initialised from the
   distilled state (``init``), all three trained.
Trained = stored per target task: l d + l r + r d = 76,800 + 100 + 768 = 77,668 on T5-base at
l = 100, r = 1 (MPT's "77.6K"). Choices and alternatives: docs/methods.md.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from ptbench.errors import ConfigError, require, require_choice
from ptbench.methods.attempt import ATTEMPT_SOURCES
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod, is_int
from ptbench.methods.spot import check_sources

# target initialisation from the distilled state (PEFT's MultitaskPromptTuningInit names in brackets)
TARGET_INITS = ("average", "shared", "exact")  # [AVERAGE_SOURCE_TASKS, ONLY_SOURCE_SHARED, EXACT_SOURCE_TASK]
DISTILLED = "mpt"  # ctx.source_states key of the distilled state


@dataclass
class MptConfig(MethodConfig):
    sources: list[str] = dataclasses.field(default_factory=lambda: list(ATTEMPT_SOURCES))  # MPT's six
    length: int = 100  # l (= methods.pt.length: the teachers are pt's source prompts)
    rank: int = 1  # r of U V
    # target: average (U, V = the mean over the source tasks) | shared (P* only; U, V as PEFT's
    # random init) | exact (U, V of the source task ``init_task``)
    init: str = "average"
    init_task: str | None = None  # for init: exact
    lr: float = 0.3
    # distillation (source training, ptbench.run.distill): L = L_task + distill_weight (KL + MSE)
    distill_weight: float = 0.9
    distill_temperature: float = 1.0  # softens teacher and student logits in the KL term
    distill_steps: int | None = None  # None: source_prompts.steps

    source_builder: ClassVar[str] = "distillation"  # transfer.SOURCE_BUILDERS

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sources(self.sources)
        self.sources = list(self.sources)
        for key in ("length", "rank"):
            require(is_int(getattr(self, key), 1), key, f"must be an integer >= 1, got {getattr(self, key)!r}")
        require_choice("init", self.init, TARGET_INITS)
        if self.init == "exact":
            require(self.init_task in self.sources, "init_task",
                    f"init: exact needs one of the sources {self.sources}, got {self.init_task!r}")
        for key in ("distill_weight", "distill_temperature"):
            value = getattr(self, key)
            require(isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
                    and (key == "distill_weight" or value > 0), key, f"must be a positive number, got {value!r}")
        require(self.distill_steps is None or is_int(self.distill_steps, 1), "distill_steps",
                f"must be null (source_prompts.steps) or an integer >= 1, got {self.distill_steps!r}")


def peft_embedding(config: MptConfig, ctx: BackboneContext, num_tasks: int):
    # imported here: peft pulls in bitsandbytes, whose import-time notice would reach every CLI's stderr
    from peft import MultitaskPromptTuningConfig
    from peft.tuners.multitask_prompt_tuning import MultitaskPromptEmbedding

    peft_config = MultitaskPromptTuningConfig(
        task_type="SEQ_2_SEQ_LM", num_virtual_tokens=config.length, token_dim=ctx.d_model,
        num_transformer_submodules=1, num_tasks=num_tasks, num_ranks=config.rank)
    return MultitaskPromptEmbedding(peft_config, ctx.word_embeddings)


class MultitaskPrompt(PeftMethod):
    """Target adaptation: one task's P* ⊙ (U V), from the distilled state in ``ctx.source_states``."""

    config_class = MptConfig

    def __init__(self, config: MptConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        self.peft = peft_embedding(config, ctx, num_tasks=1)
        if ctx.word_embeddings.weight.is_meta:
            self.peft.to_empty(device="meta")
            return
        distilled = ctx.source_states.get(DISTILLED)
        if distilled is None:
            raise ConfigError("methods.mpt.sources: no distilled MPT state (run the transfer_source stage: "
                              "dvc repro transfer_source@mpt)")
        self.load_distilled(distilled, config)

    @torch.no_grad()
    def load_distilled(self, distilled: dict, config: MptConfig) -> None:
        """``distilled``: {"shared": (l, d), "cols": (K, l, r), "rows": (K, r, d), "tasks": [names]}."""
        shared, cols, rows = distilled["shared"], distilled["cols"], distilled["rows"]
        expected = (self.peft.embedding.weight.shape, self.peft.prefix_task_cols.shape[1:],
                    self.peft.prefix_task_rows.shape[1:])
        if (shared.shape, cols.shape[1:], rows.shape[1:]) != expected:
            raise ConfigError(f"methods.mpt: the distilled state has shapes {tuple(shared.shape)}, "
                              f"{tuple(cols.shape)}, {tuple(rows.shape)}; length/rank changed since distillation?")
        self.peft.embedding.weight.copy_(shared)
        if config.init == "average":
            self.peft.prefix_task_cols.copy_(cols.mean(0, keepdim=True))
            self.peft.prefix_task_rows.copy_(rows.mean(0, keepdim=True))
        elif config.init == "exact":
            k = list(distilled["tasks"]).index(config.init_task)
            self.peft.prefix_task_cols.copy_(cols[k:k + 1])
            self.peft.prefix_task_rows.copy_(rows[k:k + 1])

    def prompt(self) -> torch.Tensor:
        indices = torch.arange(self.config.length, device=self.peft.embedding.weight.device).unsqueeze(0)
        task = torch.zeros(1, dtype=torch.long, device=indices.device)
        return self.peft(indices, task)[0]


class DistillationStudent(PeftMethod):
    """Source training: P* and one (U_k, V_k) per source task; ``select`` picks the task of the
    next batches (the distillation loop draws single-task batches)."""

    config_class = MptConfig

    def __init__(self, config: MptConfig, ctx: BackboneContext, teachers: list[torch.Tensor]) -> None:
        super().__init__(config, ctx)
        self.tasks = list(config.sources)
        self.peft = peft_embedding(config, ctx, num_tasks=len(self.tasks))
        with torch.no_grad():
            # P* starts as the mean teacher prompt and every U_k V_k as all-ones, so each task starts
            # from the mean of the teachers (PEFT's default: P* ~ N(0, 1), U, V ~ N(0, 0.02)).
            self.peft.embedding.weight.copy_(torch.stack(teachers).mean(0))
            self.peft.prefix_task_cols.fill_(config.rank ** -0.5)
            self.peft.prefix_task_rows.fill_(config.rank ** -0.5)
        self.active = 0

    def select(self, task_index: int) -> None:
        self.active = task_index

    def prompt(self) -> torch.Tensor:
        indices = torch.arange(self.config.length, device=self.peft.embedding.weight.device).unsqueeze(0)
        task = torch.tensor([self.active], device=indices.device)
        return self.peft(indices, task)[0]

    def distilled_state(self) -> dict:
        return {"shared": self.peft.embedding.weight.detach().clone(),
                "cols": self.peft.prefix_task_cols.detach().clone(),
                "rows": self.peft.prefix_task_rows.detach().clone(), "tasks": list(self.tasks)}


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "mpt": (MultitaskPrompt, MptConfig,
        "MPT: a distilled shared prompt times a per-task rank-1 update (Wang et al., 2023)"),
}
