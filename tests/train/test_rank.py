"""Rank classification (score every verbalizer, take the most likely) on tiny random T5 and Llama
configs, against an independent brute-force computation: one plain forward per example and per
candidate, on the unpadded input, with no shared encoder and no left-alignment."""
import pytest
import torch
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    T5Config,
    T5ForConditionalGeneration,
)

from ptbench.data.prepare import PreparedSplit
from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.train.backbone import FAMILIES, Batch, freeze, remove_dropout
from ptbench.train.loop import collate

VOCAB, D, MAX_LENGTH = 64, 32, 24
# different lengths, each ending with EOS (id 1) as the tokenizer produces them
CANDIDATES = [[5, 1], [7, 8, 1], [4, 1], [9, 9, 11, 1], [1]]
# ten verbalizers of one token + EOS: here the winner changes from one example to the next
DIGITS = [[k, 1] for k in range(3, 13)]


def tiny_model(family: str):
    torch.manual_seed(0)
    if family == "seq2seq":
        # initializer_factor 3: at T5's default scale a tiny random T5 ranks every input alike
        model = T5ForConditionalGeneration(T5Config(vocab_size=VOCAB, d_model=D, d_ff=64, d_kv=8, num_heads=4,
                                                    num_layers=2, decoder_start_token_id=0, pad_token_id=0,
                                                    eos_token_id=1, initializer_factor=3.0))
    else:
        model = LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=D, intermediate_size=64,
                                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                                             pad_token_id=0, bos_token_id=2, eos_token_id=1))
    freeze(model)
    remove_dropout(model)
    model.eval()
    return model


class DigitTokenizer:
    pad_token_id, eos_token_id = 0, 1

    def batch_decode(self, sequences, skip_special_tokens=True):
        return ["".join(str(int(t) - 3) for t in row if 3 <= int(t) < 13) for row in sequences]


def identity(embeds, mask):  # no method: the bare backbone
    return embeds, mask


def make_method(name: str, model):
    if name == "identity":
        return identity
    ctx = BackboneContext(d_model=D, word_embeddings=model.get_input_embeddings(), max_length=MAX_LENGTH,
                          generator=torch.Generator().manual_seed(0), vocab_sample_size=VOCAB)
    method = build_method(name, method_config(name, {"length": 5}), ctx)
    method.attach(model)
    method.eval()
    return method


def padded_batch(n: int = 6, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(3, VOCAB, (int(torch.randint(2, 10, (1,), generator=g)),), generator=g).tolist() + [1]
              for _ in range(n)]
    split = PreparedSplit(inputs, [[3, 1]] * n, [["0"]] * n)
    batch = collate(split, list(range(n)), pad_id=0)
    assert (batch.attention_mask == 0).any(), "the batch must contain padding"
    return batch


def brute_force(family: str, model, method, batch: Batch, candidates) -> torch.Tensor:
    """Per example and candidate: a plain full forward on the unpadded input."""
    embed = model.get_input_embeddings()
    scores = torch.empty(len(batch.input_ids), len(candidates))
    with torch.no_grad():
        for i, (ids, mask) in enumerate(zip(batch.input_ids, batch.attention_mask)):
            source = ids[mask.bool()].unsqueeze(0)
            embeds, source_mask = method(embed(source), torch.ones_like(source))
            for j, candidate in enumerate(candidates):
                target = torch.tensor([candidate])
                if family == "seq2seq":
                    # T5's loss is the mean cross-entropy over the candidate's tokens
                    loss = model(inputs_embeds=embeds, attention_mask=source_mask, labels=target).loss
                    scores[i, j] = -loss * len(candidate)
                else:
                    sequence = torch.cat([embeds, embed(target)], 1)
                    logits = model(inputs_embeds=sequence).logits[0]
                    predicting = logits[embeds.shape[1] - 1:sequence.shape[1] - 1]
                    log_probs = torch.log_softmax(predicting.float(), -1)
                    scores[i, j] = log_probs.gather(1, target.T).sum()
    return scores


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
@pytest.mark.parametrize("method_name", ["identity", "pt"])
@pytest.mark.parametrize("candidates", [CANDIDATES, DIGITS], ids=["mixed_lengths", "digits"])
def test_rank_matches_brute_force(family, method_name, candidates):
    model = tiny_model(family)
    method = make_method(method_name, model)
    runner = FAMILIES[family](model, DigitTokenizer())
    batch = padded_batch(8)
    scores = runner.candidate_log_likelihoods(method, batch, candidates)
    expected = brute_force(family, model, method, batch, candidates)
    assert scores.shape == (len(batch.input_ids), len(candidates))
    assert torch.allclose(scores, expected, atol=1e-4, rtol=1e-4), (scores - expected).abs().max()
    assert (scores < 0).all()
    ranked = runner.rank(method, batch, candidates)
    assert ranked == expected.argmax(1).tolist()
    assert ranked == scores.argmax(1).tolist()
    assert all(isinstance(k, int) for k in ranked)
    if candidates is DIGITS:  # the check above is not a constant answer agreeing with itself
        assert len(set(ranked)) > 1


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
def test_every_pairwise_decision_matches_brute_force(family):
    model = tiny_model(family)
    method = make_method("pt", model)
    runner = FAMILIES[family](model, DigitTokenizer())
    batch = padded_batch(8)
    expected = brute_force(family, model, method, batch, CANDIDATES)
    for a in range(len(CANDIDATES)):
        for b in range(len(CANDIDATES)):
            if a != b:
                wins = (expected[:, b] > expected[:, a]).long().tolist()  # index 1 iff b strictly better
                assert runner.rank(method, batch, [CANDIDATES[a], CANDIDATES[b]]) == wins


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
def test_ties_go_to_the_lowest_index(family):
    model = tiny_model(family)
    runner = FAMILIES[family](model, DigitTokenizer())
    batch = padded_batch(4)
    scores = runner.candidate_log_likelihoods(identity, batch, CANDIDATES)
    best = scores.argmax(1)
    # the best candidate of every example, duplicated after the others: the first copy wins
    for i, k in enumerate(best.tolist()):
        duplicated = [CANDIDATES[k]] + CANDIDATES
        assert runner.rank(identity, batch, duplicated)[i] == 0
    assert runner.rank(identity, batch, [[5, 1], [5, 1]]) == [0] * 4


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
def test_scores_do_not_depend_on_the_other_examples_or_candidates(family):
    model = tiny_model(family)
    method = make_method("pt", model)
    runner = FAMILIES[family](model, DigitTokenizer())
    batch = padded_batch()
    scores = runner.candidate_log_likelihoods(method, batch, CANDIDATES)
    single = Batch(batch.input_ids[2:3], batch.attention_mask[2:3], batch.labels[2:3])
    alone = runner.candidate_log_likelihoods(method, single, CANDIDATES[1:2])
    assert alone.item() == pytest.approx(scores[2, 1].item(), rel=1e-4, abs=1e-4)


def test_seq2seq_runs_the_encoder_and_cross_attention_projections_once_per_batch():
    model = tiny_model("seq2seq")
    method = make_method("pt", model)
    runner = FAMILIES["seq2seq"](model, DigitTokenizer())
    encoder, cross_keys, decoder = [], [], []
    handles = [model.get_encoder().register_forward_hook(lambda *args: encoder.append(1)),
               model.decoder.block[0].layer[1].EncDecAttention.k.register_forward_hook(
                   lambda *args: cross_keys.append(1)),
               model.get_decoder().register_forward_hook(lambda *args: decoder.append(1))]
    try:
        runner.rank(method, padded_batch(), CANDIDATES)
    finally:
        for handle in handles:
            handle.remove()
    assert len(encoder) == 1
    assert len(cross_keys) == 1  # keys/values of the encoder states: computed once, reused
    assert len(decoder) == len(CANDIDATES)


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
@pytest.mark.parametrize("candidates", [[], [[5, 1], []]])
def test_empty_candidates_are_rejected(family, candidates):
    runner = FAMILIES[family](tiny_model(family), DigitTokenizer())
    with pytest.raises(ValueError):
        runner.rank(identity, padded_batch(2), candidates)
