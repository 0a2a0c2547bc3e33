"""4-bit NF4 backbones (seed 001: T5-3B, T5-11B, Llama-2-7B), the QLoRA recipe through bitsandbytes.

Which backbones load in 4-bit is a property of the registry entry (``BackboneInfo.quantize_4bit``),
never of the machine. What the machine decides is only where the weights go and the compute dtype
of the 4-bit matmuls: bf16 on a CUDA GPU (the papers' path), float32 on the CPU.

What stays in full precision is transformers' default for bitsandbytes, as the QLoRA code used it
(no ``llm_int8_skip_modules``): only ``nn.Linear`` layers are quantized, so the token embeddings
never are; the output layer (``lm_head``, tied to the embeddings in the original T5) and T5's
feed-forward output projections ``wo`` (``T5PreTrainedModel._keep_in_fp32_modules``, kept since
transformers#20287) stay unquantized, in the compute dtype. ``full_precision_linears`` lists them.
"""
from __future__ import annotations

import math
from typing import Any

import torch

QUANT_TYPE = "nf4"
DOUBLE_QUANT = True


def target_device() -> torch.device:
    """The device this process trains on: the accelerator's (the local GPU of a launched process,
    ``cuda:<local rank>``; the CPU without a GPU or under ``accelerate launch --cpu``)."""
    from ptbench.run.process import process_state

    return process_state().device


def compute_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CUDA (seed 001); float32 on the CPU, where bf16 matmuls are slow and inexact."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def nf4_config(dtype: torch.dtype) -> Any:
    """4-bit NormalFloat weights, double quantization of the block scales, ``dtype`` compute."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=QUANT_TYPE,
                              bnb_4bit_use_double_quant=DOUBLE_QUANT, bnb_4bit_compute_dtype=dtype)


def from_pretrained_kwargs(device: torch.device | None = None, dtype: torch.dtype | None = None) -> dict[str, Any]:
    """``from_pretrained`` arguments of a 4-bit load: the NF4 config, the dtype of the layers that
    stay unquantized (the compute dtype), and the whole model on this process's device (bitsandbytes
    quantizes while loading; each launched process loads onto its own GPU)."""
    device = device if device is not None else target_device()
    dtype = dtype if dtype is not None else compute_dtype(device)
    return {"quantization_config": nf4_config(dtype), "dtype": dtype, "device_map": {"": device}}


def is_quantized(model: torch.nn.Module) -> bool:
    return bool(getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False))


def after_load(model: torch.nn.Module) -> torch.nn.Module:
    """Keep the CPU kernels of a 4-bit model trainable.

    bitsandbytes 0.50 repacks a ``Linear4bit`` weight for a faster CPU kernel (on CPUs with
    AVX512-BF16) the first time the layer runs in eval mode without gradients (our validation).
    The repacked path has no autograd kernel: training after the first validation would silently
    get no gradient through the layer (and a different loss), and layers narrower than the 64-wide
    quantization block fail to repack at all. The generic dequantize-and-matmul path is used instead.
    """
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
    return model


def linear4bit_layers(model: torch.nn.Module) -> dict[str, Any]:
    import bitsandbytes as bnb

    return {name: module for name, module in model.named_modules() if isinstance(module, bnb.nn.Linear4bit)}


def full_precision_linears(model: torch.nn.Module) -> list[str]:
    """The linear layers a 4-bit load left unquantized (lm_head, T5's ``wo``)."""
    import bitsandbytes as bnb

    return sorted(name for name, module in model.named_modules()
                  if isinstance(module, torch.nn.Linear) and not isinstance(module, bnb.nn.Linear4bit))


def footprint_bytes(model: torch.nn.Module) -> int:
    """Bytes held by the model: parameters, buffers and, for 4-bit layers, the quantization state
    (block scales, the double-quantization scales and code tables) that lives outside both."""
    seen: set[tuple[int, int]] = set()
    total = 0

    def add(tensor: torch.Tensor | None) -> None:
        nonlocal total
        if tensor is None:
            return
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        if key not in seen:
            seen.add(key)
            total += tensor.numel() * tensor.element_size()

    for tensor in [*model.parameters(), *model.buffers()]:
        add(tensor)
    for module in linear4bit_layers(model).values():
        state = getattr(module.weight, "quant_state", None)
        while state is not None:
            add(state.absmax)
            add(state.code)
            add(getattr(state, "offset", None) if isinstance(getattr(state, "offset", None), torch.Tensor) else None)
            state = getattr(state, "state2", None)
    return total


BLOCK, BLOCK2 = 64, 256  # bitsandbytes' 4-bit block size, and blocks per double-quantization block


def planned_full_precision(model: torch.nn.Module) -> set[str]:
    """The linear layers a 4-bit load would leave unquantized, read off any model (a ``meta`` one
    too): transformers' default skips (output layer, tied weights) and the model's own
    ``_keep_in_fp32_modules`` (T5's ``wo``), as ``replace_with_bnb_linear`` matches them."""
    from transformers.quantizers.base import get_keys_to_not_convert

    skips = set(get_keys_to_not_convert(model)) | set(getattr(model, "_keep_in_fp32_modules", None) or ())
    return {name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
            and any(name == key or name.endswith("." + key) or name.startswith(key + ".") for key in skips)}


def estimated_nf4_bytes(model: torch.nn.Module, other_bytes: int) -> int:
    """What a 4-bit NF4 load with double quantization holds: half a byte per quantized weight, one
    8-bit scale per 64 weights, one float32 per 256 scales, and ``other_bytes`` per remaining
    parameter or buffer element (4: float32 on the CPU; 2: bf16 on a GPU). Works on a ``meta`` model."""
    kept = planned_full_precision(model)
    quantized = [module.weight for name, module in model.named_modules()
                 if isinstance(module, torch.nn.Linear) and name not in kept]
    ids = {id(weight) for weight in quantized}
    total = 0
    for weight in quantized:
        n = weight.numel()
        blocks = math.ceil(n / BLOCK)
        total += math.ceil(n / 2) + blocks + 4 * math.ceil(blocks / BLOCK2) + 4 * (16 + 256 + 1)
    seen: set[int] = set()
    for tensor in [*model.parameters(), *model.buffers()]:
        if id(tensor) not in ids and id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.numel() * other_bytes
    return total
