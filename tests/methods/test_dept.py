import math

import pytest
import torch
from torch import nn

from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.dept import DecomposedPrompt, DeptConfig


def context(d=8, m=6, vocab=50, seed=0, meta=False):
    embeddings = nn.Embedding(vocab, d, device="meta" if meta else None)
    return BackboneContext(d_model=d, word_embeddings=embeddings, max_length=m,
                           generator=torch.Generator().manual_seed(seed), vocab_sample_size=40,
                           tokenize=lambda text: [ord(c) % vocab for c in text])


def build(ctx=None, **fields):
    fields = {"length": 3, "rank": 2, "init": "uniform", **fields}
    return DecomposedPrompt(DeptConfig(**fields), ctx or context())


def test_forward_is_prompt_then_embeds_padded_to_m_plus_scaled_low_rank_product():
    method = build(lora_alpha=8.0)
    with torch.no_grad():
        method.lora_b.normal_(generator=torch.Generator().manual_seed(1))  # a trained, non-zero B
    embeds = torch.randn(2, 4, 8)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    out, out_mask = method(embeds, mask)

    padded = torch.cat([embeds, torch.zeros(2, 2, 8)], dim=1)  # m = 6 positions
    update = 8.0 / math.sqrt(2) * (method.lora_a @ method.lora_b)  # lora_alpha / sqrt(r) * A B, every position
    prompt = method.embedding.unsqueeze(0).expand(2, -1, -1)
    torch.testing.assert_close(out, torch.cat([prompt, padded + update], dim=1))
    expected_mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 0, 0]])
    assert torch.equal(out_mask, expected_mask)
    assert out.shape == (2, 3 + 6, 8)


def test_init_b_zero_makes_the_update_exactly_zero_and_a_is_kaiming_uniform():
    method = build()
    assert torch.equal(method.lora_b, torch.zeros(2, 8))
    embeds = torch.randn(2, 6, 8)
    out, _ = method(embeds, torch.ones(2, 6, dtype=torch.long))
    assert torch.equal(out[:, 3:], embeds)
    # Independent draw: uniform prompt first, then kaiming_uniform(a=sqrt 5) on (m, r) = U[-1/sqrt r, 1/sqrt r].
    g = torch.Generator().manual_seed(0)
    prompt = (torch.rand(3, 8, generator=g) * 2 - 1) * 0.5
    a = torch.empty(6, 2).uniform_(-1 / math.sqrt(2), 1 / math.sqrt(2), generator=g)
    torch.testing.assert_close(method.embedding.detach(), prompt)
    torch.testing.assert_close(method.lora_a.detach(), a)
    assert method.diagnostics()["update_norm"] == 0.0


def test_default_scaling_and_text_prompt_tiled_from_init_text():
    ctx = context()
    method = DecomposedPrompt(DeptConfig(length=5, rank=2, init_text="ab"), ctx)  # default init: text
    assert method.scaling == 8.0 / math.sqrt(2)
    ids = [ord("a") % 50, ord("b") % 50] * 3
    torch.testing.assert_close(method.embedding, ctx.word_embeddings.weight[ids[:5]].detach())
    assert DeptConfig().init_text == "Classify this text is postive or not:</s>"


def test_two_param_groups_with_the_two_learning_rates():
    method = build(lr=0.4, lr_low_rank=5e-4)
    prompt_group, low_rank_group = method.param_groups(weight_decay=0.01)
    assert prompt_group["params"] == [method.embedding] and prompt_group["lr"] == 0.4
    assert low_rank_group["params"] == [method.lora_a, method.lora_b] and low_rank_group["lr"] == 5e-4
    assert prompt_group["weight_decay"] == low_rank_group["weight_decay"] == 0.0  # DePT's effective decay
    inherited = build(weight_decay=None).param_groups(weight_decay=0.01)
    assert [group["weight_decay"] for group in inherited] == [0.01, 0.01]
    assert torch.optim.AdamW(method.param_groups(0.01)).param_groups[1]["lr"] == 5e-4


def test_zero_length_means_no_prompt_only_the_embedding_update():
    method = build(length=0, lora_alpha=4.0)
    assert method.prompt() is None and method.embedding is None
    with torch.no_grad():
        method.lora_b.normal_(generator=torch.Generator().manual_seed(2))  # a non-zero update, so it shows
    embeds, mask = torch.randn(2, 4, 8), torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    out, out_mask = method(embeds, mask)
    assert out.shape == (2, 6, 8) and out_mask.shape == (2, 6)
    # no prompt tokens: the input padded to m = 6, plus lora_alpha / sqrt(r) * A B at every position
    update = 4.0 / math.sqrt(2) * (method.lora_a @ method.lora_b)
    torch.testing.assert_close(out, torch.cat([embeds, torch.zeros(2, 2, 8)], dim=1) + update)
    assert torch.equal(out_mask, torch.tensor([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]))
    groups = method.param_groups(0.0)
    assert len(groups) == 1 and groups[0]["params"] == [method.lora_a, method.lora_b]
    assert method.trainable_parameter_count() == 6 * 2 + 2 * 8


def test_gradients_reach_every_trainable_parameter():
    method = build()
    out, _ = method(torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.long))
    out.pow(2).sum().backward()
    assert method.embedding.grad.abs().sum() > 0 and method.lora_b.grad.abs().sum() > 0
    assert torch.equal(method.lora_a.grad, torch.zeros(6, 2))  # B = 0 at init: A's gradient is zero, as in LoRA
    method.zero_grad()
    with torch.no_grad():
        method.lora_b.fill_(0.1)
    out, _ = method(torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.long))
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in method.parameters())


def test_inputs_must_be_right_padded_and_fit_in_m():
    with pytest.raises(ValueError, match="right-padded"):
        build()(torch.randn(2, 4, 8), torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]]))
    with pytest.raises(ConfigError, match="max_length"):
        build()(torch.randn(1, 7, 8), torch.ones(1, 7, dtype=torch.long))  # longer than m = 6


def test_same_seed_same_init():
    table = nn.Embedding(50, 8)

    def make(seed):
        ctx = BackboneContext(d_model=8, word_embeddings=table, max_length=6,
                              generator=torch.Generator().manual_seed(seed), vocab_sample_size=40)
        return DecomposedPrompt(DeptConfig(length=3, rank=2, init="vocab"), ctx)

    a, b, c = make(3), make(3), make(4)
    assert torch.equal(a.embedding, b.embedding) and torch.equal(a.lora_a, b.lora_a)
    assert not torch.equal(a.lora_a, c.lora_a)


@pytest.mark.parametrize("section, key", [({"length": -1}, "length"), ({"rank": 0}, "rank"),
                                          ({"lora_alpha": 0}, "lora_alpha"), ({"lr_low_rank": 0}, "lr_low_rank"),
                                          ({"init": "zeros"}, "init")])
def test_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.dept.{key}"):
        DeptConfig.from_params("dept", section)


def test_rank_above_min_m_d_is_rejected_at_build_time_with_the_bound():
    with pytest.raises(ConfigError, match=r"rank: must be <= min\(max_length m, d_model d\) = min\(6, 8\) = 6, got 7"):
        build(rank=7)
    build(rank=6)


@pytest.mark.parametrize("s, r", [(60, 30), (40, 45)])
def test_seed_001_budget_is_76800_on_t5_base_with_m_256(s, r):
    method = DecomposedPrompt(DeptConfig(length=s, rank=r), context(d=768, m=256, vocab=32128, meta=True))
    assert s * 768 + (256 + 768) * r == 76_800
    assert method.trainable_parameter_count() == method.stored_parameter_count() == 76_800
