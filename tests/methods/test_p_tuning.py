import pytest
import torch
from torch import nn

from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.p_tuning import PTuning, PTuningConfig


def context(d=16, vocab=50, seed=0, meta=False):
    table = nn.Embedding(vocab, d, device="meta" if meta else None)
    return BackboneContext(d_model=d, word_embeddings=table, max_length=32,
                           generator=torch.Generator().manual_seed(seed), vocab_sample_size=40)


def build(ctx=None, **section):
    return PTuning(PTuningConfig.from_params("p_tuning", section), ctx or context())


def test_mlp_encoder_is_three_linears_with_relus_and_hidden_d():
    method = build()
    p = method.embedding
    assert p.shape == (10, 16)
    first, second, third = (layer for layer in method.mlp if isinstance(layer, nn.Linear))
    assert first.weight.shape == second.weight.shape == third.weight.shape == (16, 16)  # h = d
    hidden = torch.relu(p @ first.weight.T + first.bias)
    hidden = torch.relu(hidden @ second.weight.T + second.bias)
    torch.testing.assert_close(method.prompt(), hidden @ third.weight.T + third.bias)


def test_hidden_size_sets_the_mlp_width():
    method = build(hidden_size=5)
    shapes = [tuple(layer.weight.shape) for layer in method.mlp if isinstance(layer, nn.Linear)]
    assert shapes == [(5, 16), (5, 5), (16, 5)]
    assert method.trainable_parameter_count() == 10 * 16 + (16 * 5 + 5) + (5 * 5 + 5) + (5 * 16 + 16)


def test_default_init_is_peft_standard_normal_embedding():
    method = build(length=4)
    torch.testing.assert_close(method.embedding.detach(), torch.randn(4, 16, generator=torch.Generator().manual_seed(0)))


def test_vocab_init_copies_sampled_embeddings():
    ctx = context()
    rows = build(ctx, init="vocab").embedding.detach()
    weight = ctx.word_embeddings.weight.detach()[:40]
    assert all(bool((weight == row).all(dim=1).any()) for row in rows)


def test_prompt_is_prepended_and_masked_in():
    method = build(length=4)
    embeds, mask = torch.randn(3, 5, 16), torch.tensor([[1, 1, 1, 0, 0]] * 3)
    out, out_mask = method(embeds, mask)
    assert out.shape == (3, 9, 16) and out_mask.shape == (3, 9)
    torch.testing.assert_close(out[:, :4], method.prompt().unsqueeze(0).expand(3, -1, -1))
    assert torch.equal(out[:, 4:], embeds) and torch.equal(out_mask[:, 4:], mask) and bool(out_mask[:, :4].all())


def manual_lstm(x, lstm, layers):
    """Bidirectional multi-layer LSTM over the rows of x, from the module's own weights."""
    for layer in range(layers):
        outputs = []
        for suffix, steps in (("", range(len(x))), ("_reverse", reversed(range(len(x))))):
            w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}{suffix}"), getattr(lstm, f"weight_hh_l{layer}{suffix}")
            bias = getattr(lstm, f"bias_ih_l{layer}{suffix}") + getattr(lstm, f"bias_hh_l{layer}{suffix}")
            h = c = torch.zeros(lstm.hidden_size)
            out = [None] * len(x)
            for t in steps:
                i, f, g, o = (w_ih @ x[t] + w_hh @ h + bias).chunk(4)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                out[t] = h
            outputs.append(torch.stack(out))
        x = torch.cat(outputs, dim=1)  # forward then backward direction
    return x


def test_lstm_encoder_is_peft_bidirectional_lstm_then_two_linears():
    method = build(encoder="lstm", hidden_size=6, length=4)
    lstm = method.lstm
    assert lstm.bidirectional and lstm.num_layers == 2 and lstm.batch_first
    assert lstm.weight_ih_l0.shape == (24, 16) and lstm.weight_ih_l1.shape == (24, 12)  # 4h x d, 4h x 2h
    first, third = method.mlp[0], method.mlp[2]
    assert first.weight.shape == (12, 12) and third.weight.shape == (16, 12)
    hidden = manual_lstm(method.embedding, lstm, 2)
    expected = torch.relu(hidden @ first.weight.T + first.bias) @ third.weight.T + third.bias
    assert method.prompt().shape == (4, 16)
    torch.testing.assert_close(method.prompt(), expected)


def test_lstm_parameter_count():
    d, h, n = 16, 6, 4
    method = build(encoder="lstm", hidden_size=h, length=n)
    lstm = 2 * (4 * h * (d + h) + 8 * h) + 2 * (4 * h * (2 * h + h) + 8 * h)  # two directions per layer
    head = (2 * h * 2 * h + 2 * h) + (2 * h * d + d)
    assert method.trainable_parameter_count() == n * d + lstm + head
    assert method.stored_parameter_count() == n * d


@pytest.mark.parametrize("encoder", ["mlp", "lstm"])
def test_gradients_reach_every_trainable_parameter(encoder):
    method = build(encoder=encoder, hidden_size=6)
    method.prompt().pow(2).sum().backward()
    for name, param in method.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("encoder", ["mlp", "lstm"])
def test_same_seed_same_weights(encoder):
    table = nn.Embedding(50, 16)

    def weights(seed):
        ctx = BackboneContext(d_model=16, word_embeddings=table, max_length=32, generator=torch.Generator().manual_seed(seed))
        return PTuning(PTuningConfig(encoder=encoder, hidden_size=6), ctx).state_dict()

    a, b, c = weights(3), weights(3), weights(4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("d, trainable, printed", [(512, 793_088, "793K"), (768, 1_779_456, "1.7M"),
                                                   (1024, 3_159_040, "3.1M")])
def test_seed_003_counts_on_t5_shapes(d, trainable, printed):
    method = PTuning(PTuningConfig(), context(d=d, vocab=32128, meta=True))
    assert method.embedding.is_meta
    assert method.trainable_parameter_count() == trainable == 3 * (d * d + d) + 10 * d
    assert method.stored_parameter_count() == 10 * d
    shown = f"{trainable // 1000}K" if trainable < 10 ** 6 else f"{trainable // 100_000 / 10}M"  # Table 1 truncates
    assert shown == printed


@pytest.mark.parametrize("section, key", [({"length": 0}, "length"), ({"encoder": "gru"}, "encoder"),
                                          ({"hidden_size": 0}, "hidden_size"), ({"lstm_layers": 0}, "lstm_layers"),
                                          ({"lstm_dropout": 1.0}, "lstm_dropout"), ({"init": "zeros"}, "init"),
                                          ({"init_range": -1}, "init_range"), ({"lr": 0}, "lr")])
def test_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.p_tuning.{key}"):
        PTuningConfig.from_params("p_tuning", section)
