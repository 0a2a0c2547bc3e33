"""The frozen backbone, fed through input embeddings: T5 (seq2seq) and Llama-style (causal).

The method builds what the backbone sees (``method(inputs_embeds, attention_mask)``); this
module only knows how each architecture family turns that into a loss or a generation.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.methods.base import PeftMethod


def remove_dropout(model: nn.Module) -> None:
    """Seed 004: no dropout anywhere in the frozen model (modules and functional rates)."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        for attr in ("dropout", "attention_dropout"):
            if isinstance(getattr(module, attr, None), float):
                setattr(module, attr, 0.0)


def freeze(model: nn.Module) -> None:
    for parameter in model.parameters():
        parameter.requires_grad_(False)


@dataclass
class Batch:
    input_ids: torch.Tensor  # (b, L) right-padded
    attention_mask: torch.Tensor
    labels: torch.Tensor  # (b, T) padded with -100


class Seq2SeqBackbone:
    """T5: the prompt enters the encoder only; the decoder is untouched."""

    def __init__(self, model: nn.Module, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer

    def embed(self, method: PeftMethod, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        embeds = self.model.get_input_embeddings()(batch.input_ids)
        return method(embeds, batch.attention_mask)

    def loss(self, method: PeftMethod, batch: Batch) -> torch.Tensor:
        embeds, mask = self.embed(method, batch)
        return self.model(inputs_embeds=embeds, attention_mask=mask, labels=batch.labels).loss

    @torch.no_grad()
    def generate(self, method: PeftMethod, batch: Batch, max_new_tokens: int) -> list[str]:
        embeds, mask = self.embed(method, batch)
        out = self.model.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1)
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)


class CausalBackbone:
    """Decoder-only: [prompt; input; target], loss on the target tokens only, left-padded decoding.

    The method sees the right-padded input exactly as on T5 (so position-wise updates such as
    DePT's A·B line up with the tokens); targets are appended after it, then every masked
    position is moved to the left so that positions stay contiguous.
    """

    def __init__(self, model: nn.Module, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.eos = tokenizer.eos_token_id

    @staticmethod
    def _left_align(mask: torch.Tensor, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        order = torch.sort(mask, dim=1, stable=True).indices  # masked (0) first, order kept
        aligned = [mask.gather(1, order)]
        for tensor in tensors:
            index = order if tensor.dim() == 2 else order.unsqueeze(-1).expand(-1, -1, tensor.shape[-1])
            aligned.append(tensor.gather(1, index))
        return tuple(aligned)

    def loss(self, method: PeftMethod, batch: Batch) -> torch.Tensor:
        embed = self.model.get_input_embeddings()
        source, source_mask = method(embed(batch.input_ids), batch.attention_mask)
        target_mask = (batch.labels != -100).long()
        target = embed(batch.labels.clamp(min=0))
        labels = torch.cat([batch.labels.new_full(source_mask.shape, -100), batch.labels], 1)
        mask, embeds, labels = self._left_align(torch.cat([source_mask, target_mask], 1),
                                                torch.cat([source, target], 1), labels)
        return self.model(inputs_embeds=embeds, attention_mask=mask, labels=labels).loss

    @torch.no_grad()
    def generate(self, method: PeftMethod, batch: Batch, max_new_tokens: int) -> list[str]:
        embeds, mask = method(self.model.get_input_embeddings()(batch.input_ids), batch.attention_mask)
        mask, embeds = self._left_align(mask, embeds)
        out = self.model.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1, pad_token_id=self.eos)
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)


FAMILIES = {"seq2seq": Seq2SeqBackbone, "causal": CausalBackbone}
