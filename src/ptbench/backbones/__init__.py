"""Backbone registry: name -> hub id, architecture family and a bundled config.json.

The bundled configs (a few hundred bytes each, copied from the hub's config.json) let
``ptbench params`` count parameters on the ``meta`` device without any weights.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptbench.errors import require_choice

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class BackboneInfo:
    name: str
    hub_id: str
    family: str  # "seq2seq" (T5) or "causal" (Llama)
    # Seed 001 loads the >= 3B backbones in 4-bit NF4 with double quantization (bf16 compute on a GPU):
    # hub.load_model(..., quantize_4bit=info.quantize_4bit), see ptbench.quantization. A property of
    # the backbone, not of the machine: the same entry loads in 4-bit on a GPU and on the CPU.
    quantize_4bit: bool = False
    mirror_only: bool = False  # exists only in the local mirror (the smoke backbone)
    original_t5: bool = False  # pre-trained on a GLUE/SuperGLUE mixture: not a clean measurement

    def bundled_config(self) -> dict[str, Any]:
        return json.loads((CONFIG_DIR / f"{self.name}.json").read_text())


BACKBONES: dict[str, BackboneInfo] = {
    info.name: info
    for info in (
        BackboneInfo("t5-small", "google-t5/t5-small", "seq2seq", original_t5=True),
        BackboneInfo("t5-base", "google-t5/t5-base", "seq2seq", original_t5=True),
        BackboneInfo("t5-large", "google-t5/t5-large", "seq2seq", original_t5=True),
        BackboneInfo("t5-3b", "google-t5/t5-3b", "seq2seq", quantize_4bit=True, original_t5=True),
        BackboneInfo("t5-11b", "google-t5/t5-11b", "seq2seq", quantize_4bit=True, original_t5=True),
        BackboneInfo("t5-small-lm-adapt", "google/t5-small-lm-adapt", "seq2seq"),
        BackboneInfo("t5-base-lm-adapt", "google/t5-base-lm-adapt", "seq2seq"),
        BackboneInfo("llama-2-7b", "meta-llama/Llama-2-7b-hf", "causal", quantize_4bit=True),
        # The smoke backbone: a tiny T5 the mirror stage pre-trains on a synthetic mixture.
        # Its architecture lives in params.yaml (mirror.backbone), not in a bundled file.
        BackboneInfo("tiny-t5", "ptbench-mirror/tiny-t5", "seq2seq", mirror_only=True),
    )
}


def get_backbone(name: str) -> BackboneInfo:
    require_choice("backbone", name, sorted(BACKBONES))
    return BACKBONES[name]
