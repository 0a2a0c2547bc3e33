import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.residual import ResidualConfig, ResidualPrompt


def context(d=16, vocab=50, seed=0, meta=False):
    table = nn.Embedding(vocab, d, device="meta" if meta else None)
    return BackboneContext(d_model=d, word_embeddings=table, max_length=32,
                           generator=torch.Generator().manual_seed(seed), vocab_sample_size=40)


def build(ctx=None, **section):
    section.setdefault("bottleneck", 6)
    return ResidualPrompt(ResidualConfig.from_params("residual", section), ctx or context())


def block(x, mlp, dropout=0.0, layer_norm=True):
    """One pass of the bottleneck MLP, written from its weights."""
    hidden = torch.relu(x @ mlp.down.weight.T + mlp.down.bias) @ mlp.up.weight.T + mlp.up.bias
    hidden = F.dropout(hidden, dropout, training=dropout > 0)
    return F.layer_norm(hidden, (x.shape[-1],), mlp.norm.weight, mlp.norm.bias) if layer_norm else hidden


def test_prompt_is_layernormed_bottleneck_mlp_plus_residual():
    method = build()
    p = method.embedding
    assert p.shape == (10, 16) and len(method.mlps) == 1
    mlp = method.mlps[0]
    assert mlp.down.weight.shape == (6, 16) and mlp.up.weight.shape == (16, 6)
    torch.testing.assert_close(method.prompt(), block(p, mlp) + p)


def test_default_init_copies_distinct_sampled_embeddings():
    ctx = context()
    rows = build(ctx).embedding.detach()
    weight = ctx.word_embeddings.weight.detach()
    ids = [int(torch.nonzero((weight[:40] == row).all(dim=1))[0]) for row in rows]
    assert len(set(ids)) == 10  # seed 004: 10 unique token embeddings


def test_switches_change_the_map():
    plain = build(layer_norm=False, residual=False)
    torch.testing.assert_close(plain.prompt(), block(plain.embedding, plain.mlps[0], layer_norm=False))
    assert isinstance(plain.mlps[0].norm, nn.Identity)
    stacked = build(stack=2)
    p, mlp = stacked.embedding, stacked.mlps[0]
    torch.testing.assert_close(stacked.prompt(), block(block(p, mlp), mlp) + p)  # the reference's MLP2


def test_dropout_sits_before_the_layernorm_and_only_in_training():
    method = build(dropout=0.5)
    p, mlp = method.embedding, method.mlps[0]
    torch.manual_seed(7)
    out = method.prompt()
    torch.manual_seed(7)
    torch.testing.assert_close(out, block(p, mlp, dropout=0.5) + p)
    method.eval()
    torch.testing.assert_close(method.prompt(), block(p, mlp) + p)


def test_separate_mlps_give_each_token_its_own_mlp():
    method = build(separate_mlps=True, length=4)
    assert len(method.mlps) == 4
    assert not torch.equal(method.mlps[0].down.weight, method.mlps[1].down.weight)
    p = method.embedding
    expected = torch.cat([block(p[i:i + 1], mlp) + p[i:i + 1] for i, mlp in enumerate(method.mlps)])
    torch.testing.assert_close(method.prompt(), expected)
    per_mlp = 2 * 16 * 6 + 6 + 16 + 2 * 16
    assert method.trainable_parameter_count() == 4 * 16 + 4 * per_mlp
    assert method.stored_parameter_count() == 4 * 16


def test_prompt_is_prepended_and_masked_in():
    method = build(length=3)
    embeds, mask = torch.randn(2, 5, 16), torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]])
    out, out_mask = method(embeds, mask)
    assert out.shape == (2, 8, 16) and out_mask.shape == (2, 8)
    torch.testing.assert_close(out[:, :3], method.prompt().unsqueeze(0).expand(2, -1, -1))
    assert torch.equal(out[:, 3:], embeds) and torch.equal(out_mask[:, 3:], mask) and bool(out_mask[:, :3].all())


@pytest.mark.parametrize("separate", [False, True])
def test_gradients_reach_every_trainable_parameter(separate):
    method = build(separate_mlps=separate, length=3)
    (method.prompt() * torch.randn(3, 16)).sum().backward()  # not a plain sum: LayerNorm's output sums to beta
    for name, param in method.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_same_seed_same_weights():
    table = nn.Embedding(50, 16)

    def weights(seed):
        ctx = BackboneContext(d_model=16, word_embeddings=table, max_length=32, generator=torch.Generator().manual_seed(seed))
        return ResidualPrompt(ResidualConfig(bottleneck=6, separate_mlps=True, length=3), ctx).state_dict()

    a, b, c = weights(3), weights(3), weights(4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)  # LayerNorm's ones / zeros do not depend on the seed


@pytest.mark.parametrize("d, trainable, printed", [(512, 416_656, "416K"), (768, 624_784, "624K"),
                                                   (1024, 832_912, "832K")])
def test_seed_003_counts_on_t5_shapes(d, trainable, printed):
    method = ResidualPrompt(ResidualConfig(), context(d=d, vocab=32128, meta=True))
    assert method.embedding.is_meta
    assert method.trainable_parameter_count() == trainable == 10 * d + 2 * d * 400 + 400 + d + 2 * d
    assert method.stored_parameter_count() == 10 * d
    assert f"{trainable // 1000}K" == printed


@pytest.mark.parametrize("section, key", [({"length": 0}, "length"), ({"bottleneck": 0}, "bottleneck"),
                                          ({"separate_mlps": 1}, "separate_mlps"), ({"stack": 0}, "stack"),
                                          ({"dropout": 1.0}, "dropout"), ({"layer_norm": "yes"}, "layer_norm"),
                                          ({"residual": None}, "residual"), ({"init": "normal"}, "init"),
                                          ({"lr": -1}, "lr")])
def test_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.residual.{key}"):
        ResidualConfig.from_params("residual", section)
