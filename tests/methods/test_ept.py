import pytest
import torch
from torch import nn

from ptbench.errors import ConfigError
from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext


def context(d=16, vocab=50, seed=0):
    return BackboneContext(d_model=d, word_embeddings=nn.Embedding(vocab, d), max_length=32,
                           generator=torch.Generator().manual_seed(seed))


def test_ept_projects_one_prompt_through_a_linear_down_up_map():
    method = build_method("ept", method_config("ept", {}), context())
    p = method.embedding  # (1, d), uniform [-0.5, 0.5]
    assert p.shape == (1, 16) and p.abs().max() <= 0.5
    # the draw itself, from an independent generator with the context's seed (not only its bound)
    torch.testing.assert_close(p.detach(), (torch.rand(1, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 0.5)
    expected = (p @ method.down.weight.T) @ method.up.weight.T  # no bias, no norm, no activation
    torch.testing.assert_close(method.prompt(), expected)
    assert method.down.bias is None and method.up.bias is None
    assert method.trainable_parameter_count() == 16 + 2 * 16  # d + 2dh with h = 1
    assert method.stored_parameter_count() == 16


def test_ept_star_broadcasts_one_prompt_to_ten_identical_tokens():
    method = build_method("ept_star", method_config("ept_star", {}), context())
    prompt = method.prompt()
    assert prompt.shape == (10, 16)
    assert torch.equal(prompt, prompt[:1].expand(10, -1))
    embeds, mask = method(torch.zeros(3, 5, 16), torch.ones(3, 5, dtype=torch.long))
    assert embeds.shape == (3, 15, 16) and mask.shape == (3, 15) and bool(mask.all())
    torch.testing.assert_close(embeds[:, :10], prompt.unsqueeze(0).expand(3, -1, -1))


def test_ept_ablation_switches_change_the_map():
    base = context(seed=1)
    ablated = build_method("ept", method_config("ept", {"layer_norm": True, "residual": True, "activation": "tanh"}), base)
    p = ablated.embedding
    hidden = torch.tanh(p @ ablated.down.weight.T) @ ablated.up.weight.T
    expected = nn.functional.layer_norm(hidden, (16,), ablated.norm.weight, ablated.norm.bias) + p
    torch.testing.assert_close(ablated.projected(), expected)


def test_ept_gradients_reach_prompt_and_both_projections():
    method = build_method("ept_star", method_config("ept_star", {}), context())
    method.prompt().pow(2).sum().backward()
    grads = {name: p.grad for name, p in method.named_parameters()}
    assert set(grads) == {"embedding", "down.weight", "up.weight"}  # the three the name promises, no more
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values())


@pytest.mark.parametrize("section, key", [({"hidden_size": 0}, "hidden_size"), ({"broadcast_length": 0}, "broadcast_length"),
                                          ({"init": "zeros"}, "init")])
def test_ept_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.ept.{key}"):
        method_config("ept", section)
