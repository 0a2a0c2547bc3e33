import pytest
import torch
from torch import nn

from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.dpt import DecomposedPromptTuning, DptConfig


def context(d=8, vocab=50, seed=0, meta=False):
    return BackboneContext(d_model=d, word_embeddings=nn.Embedding(vocab, d, device="meta" if meta else None),
                           max_length=16, generator=torch.Generator().manual_seed(seed))


def test_prompt_is_the_product_of_two_uniform_factors():
    method = DecomposedPromptTuning(DptConfig(length=5, rank=2), context())
    g = torch.Generator().manual_seed(0)  # independent draw: A then B, both U[-0.5, 0.5]
    a = torch.empty(5, 2).uniform_(-0.5, 0.5, generator=g)
    b = torch.empty(2, 8).uniform_(-0.5, 0.5, generator=g)
    assert torch.equal(method.factor_a.detach(), a) and torch.equal(method.factor_b.detach(), b)
    torch.testing.assert_close(method.prompt(), a @ b)
    assert torch.linalg.matrix_rank(method.prompt().detach()) == 2


def test_prompt_is_prepended_and_masked_in():
    method = DecomposedPromptTuning(DptConfig(length=5, rank=2), context())
    embeds, mask = torch.randn(2, 3, 8), torch.tensor([[1, 1, 0], [1, 1, 1]])
    out, out_mask = method(embeds, mask)
    expected = torch.cat([(method.factor_a @ method.factor_b).unsqueeze(0).expand(2, -1, -1), embeds], dim=1)
    torch.testing.assert_close(out, expected)
    assert torch.equal(out_mask, torch.cat([torch.ones(2, 5, dtype=mask.dtype), mask], dim=1))


def test_gradients_reach_both_factors_and_one_param_group():
    method = DecomposedPromptTuning(DptConfig(length=5, rank=2), context())
    out, _ = method(torch.randn(2, 3, 8), torch.ones(2, 3, dtype=torch.long))
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in method.parameters())
    (group,) = method.param_groups(weight_decay=0.01)
    assert group["params"] == [method.factor_a, method.factor_b]
    assert group["lr"] == 0.3 and group["weight_decay"] == 1e-5  # the DPT code's defaults


def test_same_seed_same_factors():
    a = DecomposedPromptTuning(DptConfig(), context(d=16, seed=3))  # defaults: l = 100, b = 10
    b = DecomposedPromptTuning(DptConfig(), context(d=16, seed=3))
    c = DecomposedPromptTuning(DptConfig(), context(d=16, seed=4))
    assert torch.equal(a.prompt(), b.prompt()) and not torch.equal(a.prompt(), c.prompt())


def test_counts_on_t5_base_store_the_smaller_exact_form():
    method = DecomposedPromptTuning(DptConfig(), context(d=768, vocab=32128, meta=True))  # l = 100, b = 10
    assert method.trainable_parameter_count() == method.stored_parameter_count() == (100 + 768) * 10 == 8_680
    wide = DecomposedPromptTuning(DptConfig(rank=100), context(d=768, vocab=32128, meta=True))
    assert wide.trainable_parameter_count() == (100 + 768) * 100
    assert wide.stored_parameter_count() == 100 * 768  # the folded product is smaller here


@pytest.mark.parametrize("section, key", [({"length": 0}, "length"), ({"rank": 0}, "rank"),
                                          ({"length": 4, "rank": 5}, "rank"), ({"init_range": 0}, "init_range")])
def test_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.dpt.{key}"):
        DptConfig.from_params("dpt", section)


def test_rank_above_d_model_is_rejected_at_build_time():
    with pytest.raises(ConfigError, match="rank: must be <= d_model = 8, got 9"):
        DecomposedPromptTuning(DptConfig(length=20, rank=9), context())
