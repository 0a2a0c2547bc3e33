"""Method registry: name -> (module class, config class). Adding a method: one file, one line."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ptbench.errors import require_choice
from ptbench.methods import (adamix, adapter, attempt, bitfit, control, dept, dpt, ept, ept_msp, ft, ia3, lora, mpt, p_tuning,
                             prefix, pt, residual, spot, superpos)
from ptbench.methods.base import BackboneContext, MethodConfig, PeftMethod


@dataclass(frozen=True)
class MethodEntry:
    module: type[PeftMethod]
    config: type[MethodConfig]
    summary: str


METHODS: dict[str, MethodEntry] = {}


def register(name: str, module: type[PeftMethod], config: type[MethodConfig], summary: str) -> None:
    if name in METHODS:
        raise ValueError(f"method {name!r} registered twice")
    METHODS[name] = MethodEntry(module, config, summary)


register("pt", pt.PromptTuning, pt.PromptTuningConfig, "vanilla prompt tuning (Lester et al., 2021)")
register("ept", ept.ExplosivePrompt, ept.EptConfig, "Explosive Prompt Tuning, single prompt (seed 003)")
register("ept_star", ept.ExplosivePrompt, ept.EptStarConfig, "EPT*: the EPT prompt broadcast to length 10 (seed 003)")
register("p_tuning", p_tuning.PTuning, p_tuning.PTuningConfig, "P-Tuning: prompt through HF PEFT's MLP/LSTM encoder (Liu et al., 2021)")
register("residual", residual.ResidualPrompt, residual.ResidualConfig, "Residual Prompt Tuning: residual bottleneck MLP (Razdaibiedina et al., 2023)")
register("dept", dept.DecomposedPrompt, dept.DeptConfig, "DePT: short prompt + low-rank update of the input embeddings (Shi & Lipani, 2024)")
register("dpt", dpt.DecomposedPromptTuning, dpt.DptConfig, "DPT: prompt as the product of two low-rank factors (Xiao et al., 2023)")
register("ept_msp", ept_msp.EptMsp, ept_msp.EptMspConfig, "EPT: SVD prompt decomposition, prompt fusion, multi-space projection (seed 001)")
register("superpos", superpos.SuperPosPrompt, superpos.SuperPosConfig, "SuperPos-Prompt: prompts as superpositions of sampled token embeddings (seed 004)")
register("spot", spot.SoftPromptTransfer, spot.SpotConfig, "SPoT: prompt tuning from a source-task prompt (Vu et al., 2022)")
register("prefix", prefix.PrefixTuning, prefix.PrefixConfig, "Prefix-tuning through HF PEFT's PrefixEncoder: trained keys and values in every self-attention layer, T5's decoder (Li & Liang, 2021)")
register("lora", lora.Lora, lora.LoraConfig, "LoRA through HF PEFT: low-rank updates of the attention's q, v (Hu et al., 2021)")
register("ia3", ia3.Ia3, ia3.Ia3Config, "(IA)^3 through HF PEFT: learned rescaling of keys, values and the feed-forward (Liu et al., 2022)")
register("bitfit", bitfit.BitFit, bitfit.BitFitConfig, "BitFit: zero-initialised biases on every linear layer, block norm and the LM head (Ben Zaken et al., 2022; Compacter's T5 variant)")
register("adapter", adapter.BottleneckAdapters, adapter.AdapterConfig, "Houlsby bottleneck adapters after attention and feed-forward, as ATTEMPT's baseline (Houlsby et al., 2019)")
register("adapter_drop", adapter.BottleneckAdapters, adapter.AdapterDropConfig, "AdapterDrop: the same adapters, none in the lowest drop_layers blocks of each stack (Rücklé et al., 2021)")
register("adamix", adamix.AdaMix, adamix.AdaMixConfig, "AdaMix: a mixture of adapters, stochastic routing in training, merged (averaged) for inference (Wang et al., 2022)")
register("ft", ft.FullFineTuning, ft.FtConfig, "full fine-tuning: every backbone parameter trained")
register("mpt", mpt.MultitaskPrompt, mpt.MptConfig, "MPT: a distilled shared prompt times a per-task rank-1 update (Wang et al., 2023)")
register("control", control.UntrainedPrompt, control.ControlConfig, "control: the frozen backbone with pt's initial prompt, untrained (every table's floor)")
register("attempt", attempt.Attempt, attempt.AttemptConfig, "ATTEMPT: input-dependent attention over frozen source prompts + the target prompt (Asai et al., 2022)")


def get_method(name: str) -> MethodEntry:
    require_choice("method", name, sorted(METHODS))
    return METHODS[name]


def method_config(name: str, section: dict[str, Any] | None, key: str | None = None) -> MethodConfig:
    """``key``: where params.yaml set ``section`` (errors name it; default ``methods.<name>``)."""
    return get_method(name).config.from_params(name, section, key)


def build_method(name: str, config: MethodConfig, ctx: BackboneContext) -> PeftMethod:
    """The method built for ``ctx``, whose vocabulary sampling pool is the config's ``vocab_pool``."""
    return get_method(name).module(config, dataclasses.replace(ctx, vocab_sample_size=config.vocab_pool))
