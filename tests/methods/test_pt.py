import torch
from torch import nn

from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext


def context(seed=0, embeddings=None):
    return BackboneContext(d_model=8, word_embeddings=embeddings or nn.Embedding(100, 8), max_length=16,
                           generator=torch.Generator().manual_seed(seed), vocab_sample_size=40,
                           tokenize=lambda text: [ord(c) % 100 for c in text])


def test_vocab_init_copies_distinct_sampled_embeddings():
    ctx = context()
    method = build_method("pt", method_config("pt", {"length": 10}), ctx)
    rows = method.embedding.detach()
    weight = ctx.word_embeddings.weight.detach()
    matches = [int(torch.nonzero((weight[:40] == row).all(dim=1))[0]) for row in rows]
    assert len(set(matches)) == 10  # distinct ids, all from the sample pool


def test_uniform_and_text_init():
    uniform = build_method("pt", method_config("pt", {"init": "uniform", "init_range": 0.5}), context())
    assert uniform.embedding.abs().max() <= 0.5
    # an independent draw from the context's seed: U[-0.5, 0.5] (a zero or constant prompt would pass the bound)
    expected = (torch.rand(10, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 0.5
    torch.testing.assert_close(uniform.embedding.detach(), expected)
    ctx = context()
    text = build_method("pt", method_config("pt", {"init": "text", "init_text": "ab", "length": 5}), ctx)
    ids = [ord("a"), ord("b")] * 3
    torch.testing.assert_close(text.embedding, ctx.word_embeddings.weight[ids[:5]].detach())


def test_prompt_is_prepended_and_masked_in():
    method = build_method("pt", method_config("pt", {"length": 4}), context())
    embeds = torch.randn(2, 3, 8)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    out, out_mask = method(embeds, mask)
    assert torch.equal(out[:, 4:], embeds) and torch.equal(out_mask[:, 4:], mask)
    assert torch.equal(out_mask[:, :4], torch.ones(2, 4, dtype=mask.dtype))


def test_same_seed_same_prompt():
    table = nn.Embedding(100, 8)
    a = build_method("pt", method_config("pt", {}), context(3, table)).embedding
    b = build_method("pt", method_config("pt", {}), context(3, table)).embedding
    c = build_method("pt", method_config("pt", {}), context(4, table)).embedding
    assert torch.equal(a, b) and not torch.equal(a, c)
