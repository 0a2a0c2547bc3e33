import torch
from torch import nn

from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext


def context(seed=0, embeddings=None, labels=()):
    return BackboneContext(d_model=8, word_embeddings=embeddings or nn.Embedding(100, 8), max_length=16,
                           generator=torch.Generator().manual_seed(seed),
                           tokenize=lambda text: [ord(c) % 100 for c in text], label_texts=labels)


def sampled_ids(method, ctx) -> list[int]:
    weight = ctx.word_embeddings.weight.detach()
    return [int(torch.nonzero((weight == row).all(dim=1))[0]) for row in method.embedding.detach()]


def test_vocab_init_copies_distinct_sampled_embeddings_from_the_configured_pool():
    ctx = context()
    method = build_method("pt", method_config("pt", {"length": 10, "vocab_pool": 40}), ctx)
    ids = sampled_ids(method, ctx)
    assert len(set(ids)) == 10 and max(ids) < 40  # distinct ids, all from the first 40
    expected = torch.randperm(40, generator=torch.Generator().manual_seed(0))[:10].tolist()
    assert ids == expected


def test_a_null_pool_samples_the_whole_embedding_layer():
    """seed 004 samples from the whole embedding layer; seed 001 from the first 5,000 ids."""
    ctx = context()
    method = build_method("pt", method_config("pt", {"length": 30, "vocab_pool": None}), ctx)
    assert sampled_ids(method, ctx) == torch.randperm(100, generator=torch.Generator().manual_seed(0))[:30].tolist()
    assert max(sampled_ids(method, ctx)) >= 40  # reaches past any smaller pool


def test_label_init_is_the_class_labels_then_sampled_vocabulary():
    """seed 003 Table 6 "label vocabulary": each class label's embedding (the mean of its tokens), then
    sampled vocabulary (Lester et al.)."""
    ctx = context(labels=("no", "yes"))
    method = build_method("pt", method_config("pt", {"length": 4, "init": "label", "vocab_pool": 50}), ctx)
    weight = ctx.word_embeddings.weight.detach()
    rows = method.embedding.detach()
    torch.testing.assert_close(rows[0], weight[[ord("n") % 100, ord("o") % 100]].mean(0))
    torch.testing.assert_close(rows[1], weight[[ord("y") % 100, ord("e") % 100, ord("s") % 100]].mean(0))
    rest = torch.randperm(50, generator=torch.Generator().manual_seed(0))[:2]
    torch.testing.assert_close(rows[2:], weight[rest])
    short = build_method("pt", method_config("pt", {"length": 1, "init": "label"}),
                         context(embeddings=ctx.word_embeddings, labels=("no", "yes")))
    torch.testing.assert_close(short.embedding.detach()[0], weight[[ord("n") % 100, ord("o") % 100]].mean(0))


def test_label_init_needs_a_classification_task():
    import pytest

    from ptbench.errors import ConfigError

    with pytest.raises(ConfigError, match="init: label initialisation needs a classification task"):
        build_method("pt", method_config("pt", {"init": "label"}), context())


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
