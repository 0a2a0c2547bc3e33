"""Decoding cost of a classification batch: greedy generation against rank classification.

Run: pytest benchmarks/test_decoding.py --benchmark-enable --benchmark-only
Shapes: T5-small config (random weights), batch 32, input 128 tokens, `pt` with a 100-token
prompt (the encoder sees 228 positions). Compared, per batch:
  - greedy generation stopping after 2 new tokens (max_new_tokens=2, the classification setting);
  - rank classification over 2 verbalizers of 2 tokens each ("0"+EOS, "1"+EOS-like);
  - generation of 20 forced tokens (max_new_tokens=20, min_new_tokens=20);
  - the encoder alone (reference: the part both decodings share).
"""
import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from ptbench.check.counting import backbone_config
from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.train.backbone import Batch, Seq2SeqBackbone, freeze

torch.set_num_threads(2)

BATCH, LENGTH, PROMPT = 32, 128, 100
# Stand-ins for the tokenised verbalizers "0" and "1" followed by EOS (id 1): random weights, so
# only the shape (two candidates of two tokens) matters for the cost.
VERBALIZERS = [[632, 1], [209, 1]]


class IdTokenizer:
    """No tokenizer is needed for timing: the decode step just prints the ids (negligible cost)."""

    def batch_decode(self, sequences, skip_special_tokens=True):
        return [" ".join(map(str, row.tolist())) for row in sequences]


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(backbone_config("t5-small"))
    freeze(model)
    model.eval()  # dropout off: timing, not accuracy
    ctx = BackboneContext(d_model=model.config.d_model, word_embeddings=model.get_input_embeddings(),
                          max_length=LENGTH, generator=torch.Generator().manual_seed(0))
    method = build_method("pt", method_config("pt", {"length": PROMPT}), ctx)
    method.attach(model)
    method.eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 32000, (BATCH, LENGTH), generator=g)
    data = Batch(ids, torch.ones_like(ids), torch.randint(3, 32000, (BATCH, 2), generator=g))
    return Seq2SeqBackbone(model, IdTokenizer()), method, data


@torch.no_grad()
def generate(runner, method, data, **kwargs):
    """Seq2SeqBackbone.generate with extra generation arguments (min_new_tokens)."""
    embeds, mask = runner.embed(method, data)
    return runner.model.generate(inputs_embeds=embeds, attention_mask=mask, do_sample=False, num_beams=1, **kwargs)


GROUP = "decoding, t5-small shapes, batch 32 x 128, pt 100 tokens"


def test_generate_2_tokens(benchmark, setup):
    runner, method, data = setup
    benchmark.group = GROUP
    out = benchmark.pedantic(runner.generate, args=(method, data, 2), rounds=5, warmup_rounds=1)
    assert len(out) == BATCH
    benchmark.extra_info["new_tokens"] = generate(runner, method, data, max_new_tokens=2).shape[1] - 1


def test_rank_2_verbalizers(benchmark, setup):
    runner, method, data = setup
    benchmark.group = GROUP
    ranked = benchmark.pedantic(runner.rank, args=(method, data, VERBALIZERS), rounds=5, warmup_rounds=1)
    assert len(ranked) == BATCH and set(ranked) <= {0, 1}


def test_generate_20_forced_tokens(benchmark, setup):
    runner, method, data = setup
    benchmark.group = GROUP
    out = benchmark.pedantic(generate, args=(runner, method, data),
                             kwargs={"max_new_tokens": 20, "min_new_tokens": 20}, rounds=5, warmup_rounds=1)
    assert out.shape == (BATCH, 21)  # decoder start + 20 tokens


def test_encoder_only(benchmark, setup):
    """Reference: the encoder pass on [prompt; input] that both decodings pay once."""
    runner, method, data = setup
    benchmark.group = GROUP

    @torch.no_grad()
    def encode():
        embeds, mask = runner.embed(method, data)
        return runner.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask).last_hidden_state

    hidden = benchmark.pedantic(encode, rounds=5, warmup_rounds=1)
    assert hidden.shape == (BATCH, PROMPT + LENGTH, runner.model.config.d_model)
