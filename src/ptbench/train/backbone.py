"""The frozen backbone, fed through input embeddings: T5 (seq2seq) and Llama-style (causal).

The method builds what the backbone sees (``method(inputs_embeds, attention_mask)``, plus the extra
model inputs of ``method.model_inputs(batch_size)``, e.g. prefix-tuning's per-layer key/value cache);
this module only knows how each architecture family turns that into a loss, a generation, or a rank
classification (score each verbalizer, take the most likely one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _model_inputs(method: PeftMethod, batch_size: int) -> dict[str, Any]:
    """The method's extra inputs for one model call (``PeftMethod.model_inputs``): fresh every call,
    since a call mutates the cache it is given. A bare callable (no hook) has none."""
    hook = getattr(method, "model_inputs", None)
    return dict(hook(batch_size)) if hook is not None else {}


def _past_length(inputs: dict[str, Any]) -> int:
    """Positions a given cache holds before the input (prefix-tuning's virtual tokens); 0 without one."""
    cache = inputs.get("past_key_values")
    return 0 if cache is None else int(cache.get_seq_length())


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
    """T5: the prompt enters the encoder; a method's ``past_key_values`` (a prefix) are the decoder's cache.

    The decoder needs no mask for them (no decoder attention mask is passed: every decoder position
    attends to the whole cache and causally to the targets); its positions start after the cache.
    """

    def __init__(self, model: nn.Module, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer

    def embed(self, method: PeftMethod, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        embeds = self.model.get_input_embeddings()(batch.input_ids)
        return method(embeds, batch.attention_mask)

    def loss(self, method: PeftMethod, batch: Batch) -> torch.Tensor:
        embeds, mask = self.embed(method, batch)
        extra = _model_inputs(method, embeds.shape[0])
        return self.model(inputs_embeds=embeds, attention_mask=mask, labels=batch.labels, **extra).loss

    @torch.no_grad()
    def generate(self, method: PeftMethod, batch: Batch, max_new_tokens: int) -> list[str]:
        embeds, mask = self.embed(method, batch)
        # a given cache is where decoding starts (the decoder's first position comes after it)
        out = self.model.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1, **_model_inputs(method, embeds.shape[0]))
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)

    @torch.no_grad()
    def candidate_log_likelihoods(self, method: PeftMethod, batch: Batch,
                                  candidates: list[list[int]]) -> torch.Tensor:
        """(b, n_candidates): the total log-likelihood of each candidate as the decoder output.

        The encoder runs once on the method's inputs; every candidate is then scored by the
        decoder alone, reusing the encoder states (the encoder is most of the cost) and the
        cross-attention keys and values computed from them for the first candidate (each
        candidate gets a fresh self-attention cache, so candidates never see each other: the method's
        own decoder cache, e.g. a prefix, when it gives one, else an empty one).
        """
        tensors = _candidate_tensors(candidates, batch.input_ids.device)
        embeds, mask = self.embed(method, batch)
        encoder_outputs = self.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask, return_dict=True)
        cross_attention = DynamicCache()  # filled by the first candidate, read by the others
        b = embeds.shape[0]
        scores = torch.empty(b, len(tensors), dtype=torch.float32, device=embeds.device)
        for j, candidate in enumerate(tensors):
            labels = candidate.unsqueeze(0).expand(b, -1)
            extra = _model_inputs(method, b)
            cache = EncoderDecoderCache(self._decoder_cache(extra.pop("past_key_values", None)), cross_attention)
            logits = self.model(encoder_outputs=encoder_outputs, attention_mask=mask,
                                decoder_input_ids=self.model._shift_right(labels),
                                past_key_values=cache, use_cache=True, **extra).logits
            scores[:, j] = _sequence_log_likelihood(logits, labels)
        return scores

    @staticmethod
    def _decoder_cache(given) -> DynamicCache:
        """The self-attention part of a method's decoder cache (a fresh empty one without); the
        cross-attention part is the runner's, shared by the candidates, so the method's must be empty."""
        if given is None:
            return DynamicCache()
        if isinstance(given, EncoderDecoderCache):
            if given.cross_attention_cache.get_seq_length() > 0:
                raise ValueError("a method's decoder cache must leave the cross-attention part empty")
            return given.self_attention_cache
        return given

    @torch.no_grad()
    def rank(self, method: PeftMethod, batch: Batch, candidates: list[list[int]]) -> list[int]:
        """Rank classification: per example, the index of the most likely candidate (ties: lowest)."""
        return _best(self.candidate_log_likelihoods(method, batch, candidates))


class CausalBackbone:
    """Decoder-only: [prompt; input; target], loss on the target tokens only, left-padded decoding.

    The method sees the right-padded input exactly as on T5 (so position-wise updates such as
    DePT's A·B line up with the tokens); targets are appended after it, then every masked
    position is moved to the left so that positions stay contiguous. A method's ``past_key_values``
    (a prefix of n virtual tokens) precede the whole sequence: the mask gets n ones in front, and
    positions count the unmasked tokens from n on (as ``generate`` numbers them), so a row's
    positions do not depend on its padding.
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

    @staticmethod
    def _with_past(mask: torch.Tensor, past: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The attention mask over [cache; sequence] and the sequence's position ids (unmasked
        positions counted from the cache's first; masked ones 0), as ``generate`` computes them."""
        full = torch.cat([mask.new_ones(mask.shape[0], past), mask], 1)
        positions = (full.long().cumsum(-1) - 1).masked_fill(full == 0, 0)
        return full, positions[:, past:]

    def loss(self, method: PeftMethod, batch: Batch) -> torch.Tensor:
        embed = self.model.get_input_embeddings()
        source, source_mask = method(embed(batch.input_ids), batch.attention_mask)
        target_mask = (batch.labels != -100).long()
        target = embed(batch.labels.clamp(min=0))
        labels = torch.cat([batch.labels.new_full(source_mask.shape, -100), batch.labels], 1)
        mask, embeds, labels = self._left_align(torch.cat([source_mask, target_mask], 1),
                                                torch.cat([source, target], 1), labels)
        extra = _model_inputs(method, embeds.shape[0])
        mask, positions = self._with_past(mask, _past_length(extra))
        return self.model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, labels=labels,
                          **extra).loss

    @torch.no_grad()
    def generate(self, method: PeftMethod, batch: Batch, max_new_tokens: int) -> list[str]:
        embeds, mask = method(self.model.get_input_embeddings()(batch.input_ids), batch.attention_mask)
        mask, embeds = self._left_align(mask, embeds)
        extra = _model_inputs(method, embeds.shape[0])
        past = _past_length(extra)
        # generate continues a given cache: the embeddings cover the cached positions too, and only
        # those after them are fed (so the n placeholders in front are never read)
        embeds = torch.cat([embeds.new_zeros(embeds.shape[0], past, embeds.shape[2]), embeds], 1)
        mask, _ = self._with_past(mask, past)
        out = self.model.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1, pad_token_id=self.eos, **extra)
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
            extra = _model_inputs(method, b)  # a fresh cache per candidate: a call extends the one it gets
            mask, positions = self._with_past(mask, _past_length(extra))
            logits = self.model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, use_cache=False,
                                **extra).logits
            # position t predicts token t + 1: the candidate's tokens (the last `length` positions)
            # are predicted by the positions just before them, from the last input position on
            scores[:, j] = _sequence_log_likelihood(logits[:, -length - 1:-1], candidate.unsqueeze(0).expand(b, -1))
        return scores

    @torch.no_grad()
    def rank(self, method: PeftMethod, batch: Batch, candidates: list[list[int]]) -> list[int]:
        """Rank classification: per example, the index of the most likely candidate (ties: lowest)."""
        return _best(self.candidate_log_likelihoods(method, batch, candidates))


FAMILIES = {"seq2seq": Seq2SeqBackbone, "causal": CausalBackbone}
