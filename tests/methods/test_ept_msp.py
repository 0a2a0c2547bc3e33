import math

import numpy as np
import pytest
import torch
from torch import nn

from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.ept_msp import EptMsp, EptMspConfig

D, M, VOCAB = 16, 12, 50
SMALL = {"length": 8, "short_length": 4, "rank": 3, "num_experts": 3}


def context(seed=0, table=None, d=D, m=M):
    return BackboneContext(d_model=d, word_embeddings=table if table is not None else nn.Embedding(VOCAB, d),
                           max_length=m, generator=torch.Generator().manual_seed(seed))


def build(table=None, seed=0, source=None, **overrides):
    return EptMsp(EptMspConfig(**{**SMALL, **overrides}), context(seed, table), source_prompt=source)


def product(method):
    return (method.lora_a @ method.lora_b).detach()


def numpy_truncation(matrix, rank):
    u, s, vh = np.linalg.svd(matrix.double().numpy(), full_matrices=False)
    return torch.from_numpy((u[:, :rank] * s[:rank]) @ vh[:rank]).float()


def test_source_prompt_is_sampled_vocabulary_and_short_prompt_is_its_head():
    table = nn.Embedding(VOCAB, D)
    method = build(table, seed=5)
    source = context(5, table).vocab_embeddings(8)  # the same draws from a fresh generator
    assert method.short_prompt.shape == (4, D)
    torch.testing.assert_close(method.short_prompt.detach(), source[:4])


def test_full_rank_low_rank_product_equals_the_zero_padded_prompt():
    source = torch.randn(8, D)
    method = build(source=source, rank=8)  # rank of the padded (12, 16) matrix is 8
    expected = torch.cat([source, torch.zeros(M - 8, D)])
    torch.testing.assert_close(product(method), expected, atol=1e-5, rtol=1e-5)
    assert method.lora_a.shape == (M, 8) and method.lora_b.shape == (8, D)


@pytest.mark.parametrize("split", ["sqrt", "left", "right"])
def test_low_rank_product_is_the_rank_r_truncation_with_the_chosen_split(split):
    source = torch.randn(8, D)
    method = build(source=source, rank=3, svd_split=split)
    padded = torch.cat([source, torch.zeros(M - 8, D)])
    torch.testing.assert_close(product(method), numpy_truncation(padded, 3), atol=1e-5, rtol=1e-5)
    sigma = torch.from_numpy(np.linalg.svd(padded.double().numpy(), compute_uv=False)[:3]).float()
    gram_a, gram_b = method.lora_a.T @ method.lora_a, method.lora_b @ method.lora_b.T  # sign-free checks
    expected_a = {"sqrt": sigma, "left": sigma ** 2, "right": torch.ones(3)}[split]
    expected_b = {"sqrt": sigma, "left": torch.ones(3), "right": sigma ** 2}[split]
    torch.testing.assert_close(gram_a.detach(), torch.diag(expected_a), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(gram_b.detach(), torch.diag(expected_b), atol=1e-4, rtol=1e-4)


def test_tile_and_interpolate_alignments_and_the_rest_source():
    source = torch.randn(8, D)
    tiled = build(source=source, rank=8, align="tile")
    torch.testing.assert_close(product(tiled), source[[i % 8 for i in range(M)]], atol=1e-4, rtol=1e-4)
    resampled = build(source=source, rank=8, align="interpolate")
    rows = []
    for i in range(M):  # linear resampling with the end points kept
        t = i * (8 - 1) / (M - 1)
        lo = min(int(math.floor(t)), 6)
        rows.append(source[lo] + (t - lo) * (source[lo + 1] - source[lo]))
    torch.testing.assert_close(product(resampled), torch.stack(rows), atol=1e-4, rtol=1e-4)
    rest = build(source=source, rank=4, svd_source="rest")  # P[s:] has 4 rows
    torch.testing.assert_close(product(rest), torch.cat([source[4:], torch.zeros(M - 4, D)]), atol=1e-5, rtol=1e-5)


def independent_new_prompt(method, scale=1.0):
    p_s = method.short_prompt
    update = scale * method.lora_a @ method.lora_b
    attention = torch.exp(p_s @ update.T / math.sqrt(D))
    attention = attention / attention.sum(dim=1, keepdim=True)
    p_f = p_s + attention @ update  # eq. 3-4, A B as keys and values
    logits = torch.stack([p_s @ method.gate.weight[i] + method.gate.bias[i] for i in range(len(method.experts))], 1)
    gates = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)  # eq. 6, over the experts
    amend = torch.zeros_like(p_s)
    for i, expert in enumerate(method.experts):  # eq. 5 and 7
        hidden = torch.clamp(p_s @ expert.linear2.weight.T + expert.linear2.bias, min=0)
        amend = amend + gates[:, i:i + 1] * (hidden @ expert.linear1.weight.T + expert.linear1.bias)
    return amend + p_f  # eq. 8


def test_new_prompt_follows_equations_3_to_8():
    method = build(update_scale=0.7)
    assert method.experts[0].linear2.weight.shape == (M, D)  # linear2: d -> m, linear1: m -> d
    assert method.experts[0].linear1.weight.shape == (D, M) and method.gate.weight.shape == (3, D)
    torch.testing.assert_close(method.prompt(), independent_new_prompt(method, 0.7), atol=1e-5, rtol=1e-5)


def test_forward_pads_to_m_adds_the_update_and_prepends_the_new_prompt():
    method = build()
    embeds, mask = torch.randn(2, 5, D), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out, out_mask = method(embeds, mask)
    assert out.shape == (2, 4 + M, D) and out_mask.shape == (2, 4 + M)
    padded = torch.cat([embeds, torch.zeros(2, M - 5, D)], dim=1)
    torch.testing.assert_close(out[:, 4:], padded + product(method), atol=1e-5, rtol=1e-5)  # eq. 2
    torch.testing.assert_close(out[:, :4], independent_new_prompt(method).detach().expand(2, -1, -1),
                               atol=1e-5, rtol=1e-5)
    assert torch.equal(out_mask, torch.cat([torch.ones(2, 4, dtype=mask.dtype), mask,
                                            torch.zeros(2, M - 5, dtype=mask.dtype)], dim=1))


def test_fusion_and_projection_off_is_exactly_depts_function():
    r = 3
    method = build(fusion=False, projection=False, update_scale=8 / math.sqrt(r), rank=r)
    assert not hasattr(method, "experts")
    embeds, mask = torch.randn(3, 7, D), torch.ones(3, 7, dtype=torch.long)
    out, out_mask = method(embeds, mask)
    # DePT (protocols.md): pad to max length, inputs_embeds += lora_alpha / sqrt(r) * (A @ B), prompt prepended.
    scaling = 8 / math.sqrt(r)
    padded = torch.nn.functional.pad(embeds, (0, 0, 0, M - 7))
    update = scaling * (method.lora_a @ method.lora_b)
    dept_embeds = torch.cat([method.short_prompt.expand(3, -1, -1), padded + update], 1)
    dept_mask = torch.cat([torch.ones(3, 4, dtype=torch.long), torch.nn.functional.pad(mask, (0, M - 7))], 1)
    torch.testing.assert_close(out, dept_embeds)
    assert torch.equal(out_mask, dept_mask)


def test_single_switches():
    no_fusion = build(fusion=False)
    p_s = no_fusion.short_prompt
    torch.testing.assert_close(no_fusion.prompt(), no_fusion.amended() + p_s)  # P_f = P_s
    no_projection = build(projection=False)
    torch.testing.assert_close(no_projection.prompt(), no_projection.fused(no_projection.low_rank_update()))
    plain = build(decomposition=False, fusion=False, projection=False)  # vanilla PT of length l
    assert plain.short_prompt.shape == (8, D) and not hasattr(plain, "lora_a")
    embeds, mask = torch.randn(2, 5, D), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out, out_mask = plain(embeds, mask)
    assert out.shape == (2, 8 + 5, D) and out_mask.shape == (2, 13)  # no padding to m
    # exactly PT: the prompt, then the untouched input (no update added)
    torch.testing.assert_close(out, torch.cat([plain.short_prompt.detach().expand(2, -1, -1), embeds], dim=1))
    assert torch.equal(out_mask, torch.cat([torch.ones(2, 8, dtype=mask.dtype), mask], dim=1))
    assert plain.stored_parameter_count() == plain.trainable_parameter_count() == 8 * D
    projected = build(decomposition=False, fusion=False)
    torch.testing.assert_close(projected.prompt(), projected.amended() + projected.short_prompt)


def test_literal_einsum_reading_collapses_to_twice_the_short_prompt():
    method = build(fusion_reading="einsum", projection=False)
    torch.testing.assert_close(method.prompt(), 2 * method.short_prompt, atol=1e-5, rtol=1e-5)


def test_param_groups_prompt_networks_and_low_rank_with_depts_weight_decay():
    method = build(lr=0.4, lr_low_rank=5e-4)
    groups = method.param_groups(weight_decay=1e-5)  # train.weight_decay: ept_msp's own 0.0 wins, as dept's
    assert [g["lr"] for g in groups] == [0.4, 1e-3, 5e-4] and all(g["weight_decay"] == 0.0 for g in groups)
    assert groups[0]["params"] == [method.short_prompt] and groups[2]["params"] == [method.lora_a, method.lora_b]
    networks = {id(p) for p in groups[1]["params"]}
    assert id(method.gate.weight) in networks
    assert networks | {id(method.short_prompt), id(method.lora_a), id(method.lora_b)} == {id(p) for p in method.parameters()}
    two = build(lr_networks=None).param_groups(weight_decay=0.01)  # the earlier reading: networks at the prompt's rate
    assert [g["lr"] for g in two] == [0.3, 1e-4] and len(two[0]["params"]) > 1
    from ptbench.methods.dept import DeptConfig

    assert EptMspConfig().weight_decay == DeptConfig().weight_decay == 0.0
    torch.optim.AdamW(groups)  # accepted by the optimizer the loop uses


def test_gradients_reach_every_trainable_parameter():
    method = build()
    out, _ = method(torch.randn(2, 5, D), torch.ones(2, 5, dtype=torch.long))
    out.pow(2).sum().backward()
    for name, p in method.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_same_seed_same_init():
    table = nn.Embedding(VOCAB, D)
    a, b, c = build(table, seed=3), build(table, seed=3), build(table, seed=4)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    assert not torch.equal(a.short_prompt, c.short_prompt)
    assert not torch.equal(a.experts[0].linear2.weight, c.experts[0].linear2.weight)


def test_diagnostics_report_gate_means_per_expert():
    method = build(update_scale=0.7)
    with torch.no_grad():  # a gate far from uniform, so that a wrong average or axis shows
        method.gate.weight.normal_(generator=torch.Generator().manual_seed(3))
    stats = method.diagnostics()
    assert set(stats) == {"update_norm", "prompt_norm", "gate_mean_0", "gate_mean_1", "gate_mean_2"}
    # eq. 6 per prompt token (a softmax over the experts), averaged over the s tokens: seed 001 Fig. 8
    p_s = method.short_prompt.detach()
    logits = p_s @ method.gate.weight.detach().T + method.gate.bias.detach()
    per_token = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    expected = per_token.mean(dim=0)
    assert expected.max() - expected.min() > 0.1  # not the uniform 1/3 a broken gate would also give
    for i in range(3):
        assert stats[f"gate_mean_{i}"] == pytest.approx(float(expected[i]), abs=1e-5)
    assert sum(stats[f"gate_mean_{i}"] for i in range(3)) == pytest.approx(1.0, rel=1e-5)
    # norms: mean over rows of the new prompt (eq. 8) and of the scaled low-rank update c A B (eq. 2)
    new_prompt = independent_new_prompt(method, 0.7).detach()
    assert stats["prompt_norm"] == pytest.approx(float(new_prompt.norm(dim=-1).mean()), rel=1e-5)
    assert stats["update_norm"] == pytest.approx(float((0.7 * product(method)).norm(dim=-1).mean()), rel=1e-5)


def test_zero_length_short_prompt_leaves_only_the_low_rank_update():
    method = build(short_length=0)
    embeds = torch.randn(2, 5, D)
    out, out_mask = method(embeds, torch.ones(2, 5, dtype=torch.long))
    assert out.shape == (2, M, D) and int(out_mask.sum()) == 10
    torch.testing.assert_close(out[:, :5], embeds + product(method)[:5], atol=1e-5, rtol=1e-5)
    assert "gate_mean_0" not in method.diagnostics()


def test_inputs_longer_than_m_are_rejected():
    with pytest.raises(ConfigError, match="max_length"):
        build()(torch.randn(1, M + 1, D), torch.ones(1, M + 1, dtype=torch.long))


@pytest.mark.parametrize("section, key", [
    ({"short_length": 9}, "short_length"), ({"short_length": 8}, "short_length"), ({"rank": 0}, "rank"),
    ({"num_experts": 9}, "num_experts"), ({"num_experts": 0}, "num_experts"), ({"align": "project"}, "align"),
    ({"svd_split": "half"}, "svd_split"), ({"fusion_reading": "x"}, "fusion_reading"),
    ({"decomposition": False}, "fusion"), ({"lr_low_rank": 0}, "lr_low_rank"), ({"expert_hidden": 0}, "expert_hidden"),
    ({"projection": "yes"}, "projection"), ({"update_scale": float("nan")}, "update_scale"),
])
def test_config_rejects_bad_values(section, key):
    with pytest.raises(ConfigError, match=f"methods.ept_msp.{key}"):
        EptMspConfig.from_params("ept_msp", {**SMALL, **section})


@pytest.mark.parametrize("overrides", [{"rank": 13}, {"rank": 11}, {"rank": 6, "svd_source": "rest"}])
def test_rank_is_checked_against_m_d_and_the_decomposed_rows_at_build_time(overrides):
    with pytest.raises(ConfigError, match="rank"):
        build(**{"length": 10, "short_length": 5, **overrides})  # min(m, d) = 12; l = 10 or l - s = 5 rows


def test_source_prompt_shape_is_checked():
    with pytest.raises(ConfigError, match="source_prompt"):
        build(source=torch.randn(7, D))


def test_t5_base_counts_on_meta():
    ctx = BackboneContext(d_model=768, word_embeddings=nn.Embedding(32128, 768, device="meta"), max_length=256,
                          generator=torch.Generator().manual_seed(0))
    method = EptMsp(EptMspConfig(), ctx)
    assert method.lora_a.is_meta and method.short_prompt.is_meta  # no SVD on meta
    assert method.stored_parameter_count() == 60 * 768 + 256 * 30 + 30 * 768 == 76_800
    experts = 4 * (768 * 256 + 256 + 256 * 768 + 768)
    assert method.trainable_parameter_count() == 76_800 + experts + 4 * 768 + 4 == 1_656_836


def test_at_short_length_zero_ept_is_dept_as_seed_001_states():
    """Seed 001 (Fig. 4b): "When the length is 0, the source prompt is only decomposed into two low-rank
    matrices, rendering the prompt fusion and multi-space projection modules in EPT non-functional.
    Consequently, EPT and DEPT exhibit identical performance": with fusion and projection *on*, EPT at
    s = 0 computes DePT's function at length 0 (same A, B, DePT's scaling)."""
    from ptbench.methods.dept import DecomposedPrompt, DeptConfig

    r = 3
    ept = build(short_length=0, rank=r, update_scale=8 / math.sqrt(r))
    assert ept.config.fusion and ept.config.projection and ept.prompt().shape == (0, D)
    dept = DecomposedPrompt(DeptConfig(length=0, rank=r), context())
    with torch.no_grad():
        dept.lora_a.copy_(ept.lora_a)
        dept.lora_b.copy_(ept.lora_b)
    embeds, mask = torch.randn(3, 7, D), torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4])
    ept_out, ept_mask = ept(embeds, mask)
    dept_out, dept_mask = dept(embeds, mask)
    torch.testing.assert_close(ept_out, dept_out)
    assert torch.equal(ept_mask, dept_mask) and ept_out.shape == (3, M, D)
    # and EPT's stored count at s = 0 is DePT's: (m + d) r, the 76,800 budget of Fig. 4b at m = 256, d = 768
    assert ept.stored_parameter_count() == dept.stored_parameter_count() == (M + D) * r


def test_at_short_length_zero_with_depts_init_ept_trains_exactly_as_dept():
    """Seed 001's s = 0 claim run as stated: ``low_rank_init: dept`` gives EPT DePT's A, B, scale and draws,
    so the same seed builds the same A, and training steps move both identically (fusion and projection on:
    their networks see an empty prompt, get zero gradients and do not move)."""
    from ptbench.methods.dept import DecomposedPrompt, DeptConfig
    from ptbench.train.optim import build_optimizer

    r, table = 3, nn.Embedding(VOCAB, D)
    ept = EptMsp(EptMspConfig(**{**SMALL, "short_length": 0, "rank": r, "low_rank_init": "dept"}), context(7, table))
    dept = DecomposedPrompt(DeptConfig(length=0, rank=r), context(7, table))
    assert torch.equal(ept.lora_a, dept.lora_a) and torch.equal(ept.lora_b, dept.lora_b)
    assert ept.update_scale == dept.scaling == 8 / math.sqrt(r)
    optimizers = [build_optimizer("adamw_torch", method.param_groups(0.0), None) for method in (ept, dept)]
    for step in range(3):
        embeds = torch.randn(2, 5, D, generator=torch.Generator().manual_seed(step))
        mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2])
        outputs = []
        for method, optimizer in zip((ept, dept), optimizers):
            out, out_mask = method(embeds, mask)
            (out * torch.arange(out.numel()).reshape(out.shape).sin()).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
            outputs.append((out.detach(), out_mask))
        assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
        assert torch.equal(ept.lora_a, dept.lora_a) and torch.equal(ept.lora_b, dept.lora_b)
    assert not torch.equal(ept.lora_b, torch.zeros(r, D))  # B moved off DePT's zeros: the steps did something


def test_depts_init_draws_only_the_short_prompt_and_keeps_the_svd_reading_apart():
    table = nn.Embedding(VOCAB, D)
    dept_init = build(table, seed=3, low_rank_init="dept")
    assert torch.equal(dept_init.short_prompt, context(3, table).vocab_embeddings(4))  # s rows, not l
    assert torch.equal(dept_init.lora_b, torch.zeros(3, D))
    assert build(table, seed=3).update_scale == 1.0  # svd: c alone, as printed
    with pytest.raises(ConfigError, match="low_rank_init: unknown value 'lora'; allowed: svd, dept"):
        EptMspConfig(**{**SMALL, "low_rank_init": "lora"})
