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
    """Decoder-only: [prompt; input; target], loss on the target tokens only, left-padded decoding."""

    def __init__(self, model: nn.Module, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.eos = tokenizer.eos_token_id

    def _sequences(self, batch: Batch, with_targets: bool) -> tuple[list[torch.Tensor], list[int]]:
        rows, n_input = [], []
        for ids, mask, labels in zip(batch.input_ids, batch.attention_mask, batch.labels):
            source = ids[mask.bool()]
            n_input.append(len(source))
            target = labels[labels != -100] if with_targets else labels[:0]
            rows.append(torch.cat([source, target]))
        return rows, n_input

    def _left_pad(self, rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row):], mask[i, width - len(row):] = row, 1
        return ids, mask

    def loss(self, method: PeftMethod, batch: Batch) -> torch.Tensor:
        rows, n_input = self._sequences(batch, with_targets=True)
        ids, mask = self._left_pad(rows)
        labels = torch.full_like(ids, -100)
        for i, (row, n) in enumerate(zip(rows, n_input)):
            start = ids.shape[1] - len(row)
            labels[i, start + n:] = row[n:]
        embeds, mask = method(self.model.get_input_embeddings()(ids), mask)
        labels = torch.cat([labels.new_full((labels.shape[0], embeds.shape[1] - labels.shape[1]), -100), labels], 1)
        return self.model(inputs_embeds=embeds, attention_mask=mask, labels=labels).loss

    @torch.no_grad()
    def generate(self, method: PeftMethod, batch: Batch, max_new_tokens: int) -> list[str]:
        rows, _ = self._sequences(batch, with_targets=False)
        ids, mask = self._left_pad(rows)
        embeds, mask = method(self.model.get_input_embeddings()(ids), mask)
        out = self.model.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1, pad_token_id=self.eos)
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)


FAMILIES = {"seq2seq": Seq2SeqBackbone, "causal": CausalBackbone}
