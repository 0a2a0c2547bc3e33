"""The frozen backbone, fed through input embeddings: T5 (seq2seq) and Llama-style (causal).

The method builds what the backbone sees (``method(inputs_embeds, attention_mask)``); this
module only knows how each architecture family turns that into a loss, a generation, or a rank
classification (score each verbalizer, take the most likely one).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import DynamicCache, EncoderDecoderCache

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


def _candidate_tensors(candidates: list[list[int]], device: torch.device) -> list[torch.Tensor]:
    """Each candidate (token ids, EOS included as tokenized) as a 1-d tensor; none may be empty."""
    if not candidates:
        raise ValueError("rank classification needs at least one candidate")
    tensors = [torch.as_tensor(candidate, dtype=torch.long, device=device) for candidate in candidates]
    if any(t.dim() != 1 or t.numel() == 0 for t in tensors):
        raise ValueError("every candidate must be a non-empty list of token ids")
    return tensors


def _sequence_log_likelihood(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over positions of log p(target_t | ...): logits (b, T, V) aligned with targets (b, T)."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1).sum(-1)


def _best(scores: torch.Tensor) -> list[int]:
    """Per row, the index of the highest score; ties go to the lowest index."""
    return scores.argmax(dim=1).tolist()  # torch.argmax returns the first maximal index


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

    @torch.no_grad()
    def candidate_log_likelihoods(self, method: PeftMethod, batch: Batch,
                                  candidates: list[list[int]]) -> torch.Tensor:
        """(b, n_candidates): the total log-likelihood of each candidate as the decoder output.

        The encoder runs once on the method's inputs; every candidate is then scored by the
        decoder alone, reusing the encoder states (the encoder is most of the cost) and the
        cross-attention keys and values computed from them for the first candidate (each
        candidate gets a fresh self-attention cache, so candidates never see each other).
        """
        tensors = _candidate_tensors(candidates, batch.input_ids.device)
        embeds, mask = self.embed(method, batch)
        encoder_outputs = self.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask, return_dict=True)
        cross_attention = DynamicCache()  # filled by the first candidate, read by the others
        b = embeds.shape[0]
        scores = torch.empty(b, len(tensors), dtype=torch.float32, device=embeds.device)
        for j, candidate in enumerate(tensors):
            labels = candidate.unsqueeze(0).expand(b, -1)
            cache = EncoderDecoderCache(DynamicCache(), cross_attention)
            logits = self.model(encoder_outputs=encoder_outputs, attention_mask=mask,
                                decoder_input_ids=self.model._shift_right(labels),
                                past_key_values=cache, use_cache=True).logits
            scores[:, j] = _sequence_log_likelihood(logits, labels)
        return scores

    @torch.no_grad()
    def rank(self, method: PeftMethod, batch: Batch, candidates: list[list[int]]) -> list[int]:
        """Rank classification: per example, the index of the most likely candidate (ties: lowest)."""
        return _best(self.candidate_log_likelihoods(method, batch, candidates))


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

    @torch.no_grad()
    def candidate_log_likelihoods(self, method: PeftMethod, batch: Batch,
                                  candidates: list[list[int]]) -> torch.Tensor:
        """(b, n_candidates): the total log-likelihood of each candidate after [prompt; input].

        As in ``loss``: the method sees the right-padded input, the candidate is appended, and the
        padding is moved to the left, so the candidate fills the last positions of every row.
        """
        tensors = _candidate_tensors(candidates, batch.input_ids.device)
        embed = self.model.get_input_embeddings()
        source, source_mask = method(embed(batch.input_ids), batch.attention_mask)
        if bool((source_mask.sum(1) == 0).any()):
            raise ValueError("rank classification needs at least one unmasked input position per example")
        b = source.shape[0]
        scores = torch.empty(b, len(tensors), dtype=torch.float32, device=source.device)
        for j, candidate in enumerate(tensors):
            length = candidate.numel()
            target = embed(candidate).to(source.dtype).unsqueeze(0).expand(b, -1, -1)
            mask, embeds = self._left_align(torch.cat([source_mask, source_mask.new_ones(b, length)], 1),
                                            torch.cat([source, target], 1))
            logits = self.model(inputs_embeds=embeds, attention_mask=mask, use_cache=False).logits
            # position t predicts token t + 1: the candidate's tokens (the last `length` positions)
            # are predicted by the positions just before them, from the last input position on
            scores[:, j] = _sequence_log_likelihood(logits[:, -length - 1:-1], candidate.unsqueeze(0).expand(b, -1))
        return scores

    @torch.no_grad()
    def rank(self, method: PeftMethod, batch: Batch, candidates: list[list[int]]) -> list[int]:
        """Rank classification: per example, the index of the most likely candidate (ties: lowest)."""
        return _best(self.candidate_log_likelihoods(method, batch, candidates))


FAMILIES = {"seq2seq": Seq2SeqBackbone, "causal": CausalBackbone}
