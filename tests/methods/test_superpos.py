import math

import pytest
import torch
from torch import nn

from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.superpos import SuperPosConfig, SuperPosPrompt

D, M, N, VOCAB = 16, 12, 4, 60


def context(seed=0, table=None):
    return BackboneContext(d_model=D, word_embeddings=table if table is not None else nn.Embedding(VOCAB, D),
                           max_length=32, generator=torch.Generator().manual_seed(seed), vocab_sample_size=40)


def build(table=None, seed=0, **overrides):
    return SuperPosPrompt(SuperPosConfig(**{"length": N, "num_tokens": M, **overrides}), context(seed, table))


def test_e_freeze_holds_distinct_sampled_embeddings_as_a_buffer():
    table = nn.Embedding(VOCAB, D)
    method = build(table)
    assert method.e_freeze.shape == (D, M) and not method.e_freeze.requires_grad
    assert "e_freeze" in dict(method.named_buffers()) and "e_freeze" not in dict(method.named_parameters())
    weight = table.weight.detach()
    ids = [int(torch.nonzero((weight[:40] == column).all(dim=1))[0]) for column in method.e_freeze.T]
    assert len(set(ids)) == M  # unique, from the sampled pool


def test_initial_prompt_is_e_freeze_times_the_weights_since_delta_e_is_zero():
    method = build()
    assert method.delta_e.shape == (N, D, M) and torch.equal(method.delta_e, torch.zeros(N, D, M))
    bound = math.sqrt(3 / M)
    assert method.weights.shape == (N, M) and method.weights.abs().max() <= bound
    expected = torch.stack([method.e_freeze @ method.weights[i] for i in range(N)])
    torch.testing.assert_close(method.prompt(), expected)


def test_one_hot_init_starts_each_token_at_its_own_sampled_embedding():
    method = build(weight_init="one_hot")
    torch.testing.assert_close(method.prompt(), method.e_freeze[:, :N].T)


def test_each_token_has_its_own_delta_e():
    method = build()
    with torch.no_grad():
        method.delta_e.normal_(generator=torch.Generator().manual_seed(1))
    expected = torch.stack([(method.e_freeze + method.delta_e[i]) @ method.weights[i] for i in range(N)])
    torch.testing.assert_close(method.prompt(), expected)


def test_softmax_variant():
    method = build(softmax=True)
    with torch.no_grad():
        method.delta_e.normal_(generator=torch.Generator().manual_seed(2))
    rows = []
    for i in range(N):
        w = torch.exp(method.weights[i]) / torch.exp(method.weights[i]).sum()
        rows.append(sum(w[j] * (method.e_freeze[:, j] + method.delta_e[i][:, j]) for j in range(M)))
    torch.testing.assert_close(method.prompt(), torch.stack(rows))


def test_e_freeze_is_not_trained_while_both_trainables_get_gradients():
    method = build()
    frozen = method.e_freeze.clone()
    groups = method.param_groups(weight_decay=0.01)
    assert groups[0]["lr"] == 0.01 and groups[0]["weight_decay"] == 1e-5  # seed 004 sec. 4.4
    assert {id(p) for p in groups[0]["params"]} == {id(method.weights), id(method.delta_e)}
    optimizer = torch.optim.AdamW(groups)
    out, _ = method(torch.randn(2, 3, D), torch.ones(2, 3, dtype=torch.long))
    out.pow(2).sum().backward()
    assert method.weights.grad.abs().sum() > 0 and method.delta_e.grad.abs().sum() > 0
    optimizer.step()
    assert torch.equal(method.e_freeze, frozen) and method.delta_e.abs().sum() > 0


def test_prompt_is_prepended():
    method = build()
    embeds, mask = torch.randn(2, 3, D), torch.tensor([[1, 1, 0], [1, 1, 1]])
    out, out_mask = method(embeds, mask)
    assert out.shape == (2, N + 3, D) and torch.equal(out[:, N:], embeds) and torch.equal(out_mask[:, N:], mask)
    torch.testing.assert_close(out[:, :N], method.prompt().detach().expand(2, -1, -1))


def test_same_seed_same_init():
    table = nn.Embedding(VOCAB, D)
    a, b, c = build(table, 3), build(table, 3), build(table, 4)
    assert torch.equal(a.e_freeze, b.e_freeze) and torch.equal(a.weights, b.weights)
    assert not torch.equal(a.e_freeze, c.e_freeze) and not torch.equal(a.weights, c.weights)


def test_counts_and_diagnostics():
    method = build()
    assert method.trainable_parameter_count() == N * M + N * D * M
    assert method.stored_parameter_count() == N * D
    stats = method.diagnostics()
    # mean row norm of the prompt E_freeze w_i (Delta E = 0 at init), written out per token
    expected = sum(float((method.e_freeze @ method.weights[i]).norm()) for i in range(N)) / N
    assert stats["delta_e_norm"] == 0.0 and stats["prompt_norm"] == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():
        method.delta_e[1].fill_(0.5)  # one token's Delta E moves: ||.||_F = 0.5 sqrt(d m), averaged over N
    assert method.diagnostics()["delta_e_norm"] == pytest.approx(0.5 * math.sqrt(D * M) / N, rel=1e-5)


def test_t5_base_counts_on_meta():
    ctx = BackboneContext(d_model=768, word_embeddings=nn.Embedding(32128, 768, device="meta"), max_length=256,
                          generator=torch.Generator().manual_seed(0))
    method = SuperPosPrompt(SuperPosConfig(), ctx)
    assert method.e_freeze.is_meta and method.delta_e.is_meta
    assert method.trainable_parameter_count() == 10 * 128 + 10 * 768 * 128 == 984_320
    assert method.stored_parameter_count() == 10 * 768 == 7_680


@pytest.mark.parametrize("section, key", [({"length": 0}, "length"), ({"num_tokens": 0}, "num_tokens"),
                                          ({"weight_init": "zeros"}, "weight_init"), ({"softmax": 1}, "softmax"),
                                          ({"weight_init_range": 0}, "weight_init_range"),
                                          ({"weight_init": "one_hot", "length": 20, "num_tokens": 16}, "length")])
def test_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.superpos.{key}"):
        SuperPosConfig.from_params("superpos", section)


def test_more_tokens_than_the_sample_pool_is_a_config_error():
    with pytest.raises(ConfigError, match="init"):
        build(num_tokens=41)
