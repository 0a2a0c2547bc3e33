"""Parameter counts of a method on a backbone, without weights: the backbone lives on ``meta``."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import torch

from ptbench.backbones import get_backbone
from ptbench.methods import build_method, get_method
from ptbench.methods.base import BackboneContext, MethodConfig, reset_backbone

MIRROR_CONFIG = Path("mirror/models/ptbench-mirror/tiny-t5/config.json")
AUDIT_MAX_LENGTH = 256  # m of seed 001 (DePT-style methods size A by it)


def backbone_config(name: str, tiny_t5: dict[str, int] | None = None) -> Any:
    """The architecture config: bundled for hub backbones, params.yaml's mirror.backbone for tiny-t5."""
    from transformers import AutoConfig, T5Config

    info = get_backbone(name)
    if info.mirror_only:
        if MIRROR_CONFIG.exists():
            return AutoConfig.from_pretrained(str(MIRROR_CONFIG.parent))
        # before the mirror exists: its architecture as build_mirror configures it (the vocabulary is a
        # placeholder: the tokenizer is trained by the mirror stage)
        return T5Config(vocab_size=1000, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                        feed_forward_proj="relu", tie_word_embeddings=True, **(tiny_t5 or {}))
    data = info.bundled_config()
    return AutoConfig.for_model(data.pop("model_type"), **data)


def meta_backbone(name: str, tiny_t5: dict[str, int] | None = None) -> torch.nn.Module:
    """A fresh weightless backbone."""
    from ptbench.hub import auto_model_class

    config = backbone_config(name, tiny_t5)
    with torch.device("meta"):
        return auto_model_class(get_backbone(name).family).from_config(config)


@functools.lru_cache(maxsize=None)
def _shared_meta_backbone(name: str, tiny_t5: tuple[tuple[str, int], ...]) -> torch.nn.Module:
    return meta_backbone(name, dict(tiny_t5))


@functools.lru_cache(maxsize=None)
def _backbone_size(name: str, tiny_t5: tuple[tuple[str, int], ...]) -> int:
    return sum(p.numel() for p in _shared_meta_backbone(name, tiny_t5).parameters())


def backbone_size(name: str, tiny_t5: dict[str, int] | None = None) -> int:
    """The backbone's parameter count, from its config (no weights)."""
    return _backbone_size(name, tuple(sorted((tiny_t5 or {}).items())))


def attached_on_meta(method: str, config: MethodConfig, backbone: str, max_length: int = AUDIT_MAX_LENGTH,
                     tiny_t5: dict[str, int] | None = None) -> tuple[Any, torch.nn.Module, int]:
    """(the method's module attached to a weightless backbone, that backbone, its own size before the
    attach). One weightless backbone per (backbone, tiny-t5 shape), reset between methods as the
    pipeline resets a loaded one (methods/base.py): building a T5-11B from its config for each of the
    audit's ~190 counts took most of the tables stage. A method that trains the backbone's own
    weights (ft) refuses any later attach, so it gets a backbone of its own."""
    get_method(method)
    if config.trains_backbone:
        model = meta_backbone(backbone, tiny_t5)
    else:
        model = _shared_meta_backbone(backbone, tuple(sorted((tiny_t5 or {}).items())))
        reset_backbone(model)
    embeddings = model.get_input_embeddings()
    ctx = BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=max_length,
                          generator=torch.Generator().manual_seed(0))
    backbone_parameters = sum(p.numel() for p in model.parameters())  # before attach: LoRA adds its own
    module = build_method(method, config, ctx)
    module.attach(model)
    return module, model, backbone_parameters


def count_parameters(method: str, config: MethodConfig, backbone: str, max_length: int = AUDIT_MAX_LENGTH,
                     tiny_t5: dict[str, int] | None = None) -> dict[str, Any]:
    """Trainable and stored counts of ``method`` on ``backbone`` (``attached_on_meta``)."""
    module, model, backbone_parameters = attached_on_meta(method, config, backbone, max_length, tiny_t5)
    d_model = model.get_input_embeddings().embedding_dim
    return {"method": method, "backbone": backbone, "hub_id": get_backbone(backbone).hub_id,
            "d_model": d_model, "max_length": max_length,
            "trainable": module.trainable_parameter_count(), "stored": module.stored_parameter_count(),
            "backbone_parameters": backbone_parameters,
            "config": json.loads(json.dumps(vars(config)))}
