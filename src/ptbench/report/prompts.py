"""What the figures read from a learned state: the cosine similarity between the tokens of the soft
prompt (seed 003, Fig. 3), the multi-space projection's gate weight per prompt token (seed 001 Fig. 8) and,
for a prompt mixed from sampled embeddings, the cosine similarity between its tokens' mixing weights
(SuperPos's p'_i, seed 004 Fig. 2d).

The prompt a method feeds the backbone is what ``PeftMethod.prompt()`` returns after its state is
loaded: for P-Tuning or Residual Prompt that is the reparameterised prompt, not the raw
embedding. The method is rebuilt without its backbone: the context's word embeddings are a
stand-in (initial values only; the loaded state replaces them) and the width comes from the
backbone's config, so no weights are read. Methods without a prompt (LoRA, adapters) give None.
What a transfer method reads at build time (source prompts, MPT's distilled state) is stood in for
by zeros of the right shape too: the saved state holds every tensor the prompt is computed from.

A state that does not rebuild gives a reason in words for the report; the exception itself goes to
the rows stage's stderr (a reader of the report cannot act on a traceback, a developer can).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ptbench.artifacts import load_state
from ptbench.methods.base import gate_matrix, rounded_rows


def backbone_width(provenance: dict[str, Any]) -> int | None:
    """d_model of the run's backbone: its bundled config, else the hub mirror's config.json."""
    import json

    from ptbench.backbones import BACKBONES

    info = BACKBONES.get(provenance.get("backbone"))
    candidates = []
    if info is not None and not info.mirror_only:
        candidates.append(info.bundled_config())
    if provenance.get("hub_mirror") and provenance.get("backbone_hub_id"):
        path = Path(provenance["hub_mirror"]) / "models" / provenance["backbone_hub_id"] / "config.json"
        if path.is_file():
            candidates.append(json.loads(path.read_text()))
    for config in candidates:
        width = config.get("d_model") or config.get("hidden_size")
        if width:
            return int(width)
    return None


def stand_in_source_states(cfg, d_model: int) -> dict[str, dict[str, Any]]:
    """What a method built from a distilled state (MPT: ``source_builder`` "distillation") reads at build
    time, as zeros: its trained P*, U and V are all in the saved state, which replaces them. The
    transfer_source stage's own file is not read: the rows stage does not depend on it."""
    if cfg.source_builder != "distillation":
        return {}
    from ptbench.methods.mpt import DISTILLED

    tasks = cfg.source_tasks()
    return {DISTILLED: {"shared": torch.zeros(cfg.length, d_model), "cols": torch.zeros(len(tasks), cfg.length, cfg.rank),
                        "rows": torch.zeros(len(tasks), cfg.rank, d_model), "tasks": tasks}}


def mixing_matrix(module: nn.Module) -> torch.Tensor | None:
    """The (tokens x sampled embeddings) weights a superposition prompt mixes with (``mixing()``: SuperPos's
    p'_i, softmaxed in its A.2 variant), or None for a prompt that mixes nothing."""
    mixing = getattr(module, "mixing", None)
    return mixing() if callable(mixing) else None


def rebuilt_method(method: str, config: dict[str, Any], state: dict[str, torch.Tensor], d_model: int,
                   max_length: int) -> nn.Module:
    from ptbench.methods import build_method, method_config
    from ptbench.methods.base import BackboneContext

    cfg = method_config(method, {k: v for k, v in config.items() if v is not None})
    # transfer methods read frozen source prompts at build time: zeros of the right shape do
    length = getattr(cfg, "length", 1)
    sources = {task: torch.zeros(length, d_model) for task in cfg.source_tasks()}
    ctx = BackboneContext(d_model=d_model, word_embeddings=nn.Embedding(8192, d_model), max_length=max_length,
                          generator=torch.Generator().manual_seed(0), tokenize=lambda text: [1, 2, 3],
                          source_prompts=sources, source_states=stand_in_source_states(cfg, d_model))
    module = build_method(method, cfg, ctx)
    module.load_state_dict(state, strict=False)
    return module


def learned_prompt(method: str, config: dict[str, Any], state: dict[str, torch.Tensor], d_model: int,
                   max_length: int) -> torch.Tensor | None:
    with torch.no_grad():
        prompt = rebuilt_method(method, config, state, d_model, max_length).prompt()
    return None if prompt is None else prompt.detach().float()


def cosine_matrix(prompt: torch.Tensor) -> list[list[float]]:
    unit = nn.functional.normalize(prompt, dim=-1)
    return [[round(float(v), 4) for v in row] for row in unit @ unit.T]


def no_views(reason: str) -> dict[str, Any]:
    """``learned_views`` of a run whose state gives nothing to read, and why (shown in the report)."""
    return {"similarity": {"reason": reason}, "gate_weights": None, "weight_similarity": None, "prompt_mean": None}


def learned_views(state_path: Path, method: str, config: dict[str, Any], provenance: dict[str, Any],
                  max_length: int) -> dict[str, Any]:
    """What the figures read from a trained state: ``{"similarity": {"matrix": [[...]]} or {"reason": ...},
    "gate_weights": [[...]] (tokens x spaces) or None, "weight_similarity": {"matrix": [[...]]} or None,
    "prompt_mean": [...] (the prompt's mean token, d values: tasks compared by it, seed 003 Fig. 10) or None}``.
    ``max_length`` is data.max_length (DePT-style methods size a matrix by it; provenance does not record it). A module exposing ``gate_weights()``
    (the multi-space projection's per-token gate, seed 001 Fig. 8) has its matrix read too."""
    if not Path(state_path).is_file():
        return no_views(f"no trained state at {state_path}")
    d_model = backbone_width(provenance)
    if d_model is None:
        return no_views(f"width of backbone {provenance.get('backbone')!r} unknown (no config found)")
    state = load_state(state_path)  # a foreign file (ptbench.artifacts.UnsafeArtifact) stops the stage
    try:
        module = rebuilt_method(method, config, state, d_model, max_length)
        with torch.no_grad():
            prompt = module.prompt()
            gates = gate_matrix(module)
            mixing = mixing_matrix(module)
    except Exception as exc:  # a state this code cannot rebuild: say so in the report, keep going
        print(f"ptbench: warning: {state_path}: the report could not rebuild {method}'s prompt from this state: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return no_views("its trained state could not be turned back into a prompt by the report "
                        "(the rows stage's log says why)")
    similarity = ({"reason": "feeds no soft prompt"} if prompt is None
                  else {"matrix": cosine_matrix(prompt.detach().float())})
    gate_rows = None if gates is None else rounded_rows(gates)
    weights = None if mixing is None else {"matrix": cosine_matrix(mixing.detach().float())}
    mean = None if prompt is None or prompt.shape[0] == 0 else [round(float(v), 5) for v in prompt.float().mean(0)]
    return {"similarity": similarity, "gate_weights": gate_rows, "weight_similarity": weights, "prompt_mean": mean}
