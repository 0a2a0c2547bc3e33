"""ATTEMPT: an input-dependent attentional mixture of frozen source prompts plus the target prompt."""
import math

import pytest
import torch
from torch import nn

from ptbench.config import TrainConfig
from ptbench.check.counting import meta_backbone
from ptbench.errors import ConfigError
from ptbench.methods.attempt import Attempt, AttemptConfig, masked_max_pool
from ptbench.methods.base import BackboneContext
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
from ptbench.train.loop import train

from tiny import D, VOCAB, DigitTokenizer, tiny_model, toy_split

L, R = 4, 8
TASKS = ["mnli", "qqp"]


def source_prompts(seed=0, length=L, d=D):
    g = torch.Generator().manual_seed(seed)
    return {task: torch.randn(length, d, generator=g) for task in TASKS}


def context(prompts=None, seed=0, table=None):
    return BackboneContext(d_model=D, word_embeddings=table if table is not None else nn.Embedding(VOCAB, D),
                           max_length=24, generator=torch.Generator().manual_seed(seed), vocab_sample_size=VOCAB,
                           source_prompts=source_prompts() if prompts is None else prompts)


def build(ctx=None, **overrides):
    section = {"sources": TASKS, "length": L, "bottleneck": R, **overrides}
    return Attempt(AttemptConfig.from_params("attempt", section), ctx or context())


# -- config ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("section, key", [
    ({"sources": []}, "sources"),
    ({"sources": "mnli"}, "sources"),
    ({"sources": ["mnli", "mnli"]}, "sources"),
    ({"length": 0}, "length"),
    ({"bottleneck": 1.5}, "bottleneck"),
    ({"temperature": 0}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"init": "zeros"}, "init"),
    ({"init_range": -1}, "init_range"),
    ({"projection_init_std": 0}, "projection_init_std"),
    ({"train_layer_norm": "yes"}, "train_layer_norm"),
    ({"lr_attention": -0.1}, "lr_attention"),
    ({"weight_decay": -1}, "weight_decay"),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as err:
        AttemptConfig.from_params("attempt", section)
    message = str(err.value)
    assert message.startswith(f"methods.attempt.{key}:") and "\n" not in message


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match=r"^methods\.attempt: unknown key\(s\) attn_method;"):
        AttemptConfig.from_params("attempt", {"attn_method": "sub"})


def test_defaults_follow_the_released_single_task_config():
    config = AttemptConfig.from_params("attempt", {})
    assert config.source_tasks() == ["mnli", "qnli", "qqp", "sst2", "squad", "record"]
    assert (config.length, config.bottleneck, config.lr) == (100, 100, 0.3)
    assert (config.init, config.train_layer_norm) == ("source", False)
    assert config.weight_decay == 1e-5 and config.temperature is None


def test_missing_source_names_the_sources_and_the_available_ones():
    with pytest.raises(ConfigError) as err:
        build(context({"mnli": torch.zeros(L, D), "sst2": torch.zeros(L, D)}))
    message = str(err.value)
    assert message.startswith("methods.attempt.sources:") and "'qqp'" in message
    assert "available: mnli, sst2" in message and "\n" not in message


def test_source_length_must_equal_the_configured_length():
    with pytest.raises(ConfigError, match=r"^methods\.attempt\.length: 5, but the source prompt of 'mnli' has 4"):
        build(length=5)


# -- counts ---------------------------------------------------------------------------------------
def meta_context():
    embeddings = meta_backbone("t5-base").get_input_embeddings()
    return BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=256,
                           generator=torch.Generator().manual_seed(0))  # no source stage ran: placeholders


@pytest.mark.parametrize("train_layer_norm, count", [
    (False, 230_400),  # the code: P_t 100 x 768 + W_down 768 x 100 + W_up 100 x 768
    (True, 231_936),   # + LayerNorm 2 x 768: prints as ATTEMPT's "232K" (seed 003 Table 4)
])
def test_counts_on_meta_t5_base(train_layer_norm, count):
    method = Attempt(AttemptConfig.from_params("attempt", {"train_layer_norm": train_layer_norm}), meta_context())
    assert method.source_prompts.shape == (6, 100, 768) and method.source_prompts.is_meta
    assert (method.trainable_parameter_count(), method.stored_parameter_count()) == (count, count)


# -- initialisation -------------------------------------------------------------------------------
def test_sources_are_frozen_buffers_outside_the_state_dict():
    prompts = source_prompts()
    method = build(context(prompts))
    assert torch.equal(method.source_prompts, torch.stack([prompts[t] for t in TASKS]))
    assert "source_prompts" in dict(method.named_buffers()) and "source_prompts" not in method.state_dict()
    assert method.source_prompts.data_ptr() != prompts["mnli"].data_ptr()
    assert set(method.state_dict()) == {"target_prompt", "attn_W_down.weight", "attn_W_up.weight",
                                        "layer_norm.weight", "layer_norm.bias"}
    assert not any(p.requires_grad for p in method.layer_norm.parameters())
    assert method.attn_W_down.bias is None and method.attn_W_up.bias is None
    assert method.temperature == pytest.approx(D * math.e)


def test_target_initialisations():
    prompts = source_prompts()
    assert torch.equal(build(context(prompts)).target_prompt.detach(), prompts["mnli"])  # the first source
    torch.testing.assert_close(build(context(prompts), init="mean").target_prompt.detach(),
                               (prompts["mnli"] + prompts["qqp"]) / 2)
    table = nn.Embedding(VOCAB, D)
    vocab = build(context(prompts, table=table), init="vocab").target_prompt.detach()
    rows = [int(torch.nonzero((table.weight.detach() == row).all(dim=1))[0]) for row in vocab]
    assert len(set(rows)) == L
    uniform = build(context(prompts), init="uniform", init_range=0.1).target_prompt.detach()
    assert uniform.abs().max() <= 0.1
    # an independent draw from the context's seed (a zero or constant prompt would pass the bound alone)
    torch.testing.assert_close(uniform, (torch.rand(L, D, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 0.1)


def test_same_seed_same_state_dict():
    table = nn.Embedding(VOCAB, D)
    for init in ("source", "vocab"):
        a = build(context(seed=3, table=table), init=init).state_dict()
        b = build(context(seed=3, table=table), init=init).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = build(context(seed=4, table=table)).state_dict()
    assert not torch.equal(a["attn_W_down.weight"], c["attn_W_down.weight"])


# -- the equations --------------------------------------------------------------------------------
def randomise(method, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in (method.target_prompt, method.attn_W_down.weight, method.attn_W_up.weight,
                  method.layer_norm.weight, method.layer_norm.bias):
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() == 2 and p is not method.target_prompt else 1))


def reference_prompts(method, embeds, mask, temperature):
    """Written out per example, from scalars and loops: max-pool, projections, softmax, mix."""
    w_down, w_up = method.attn_W_down.weight.detach().double(), method.attn_W_up.weight.detach().double()
    gamma, beta = method.layer_norm.weight.detach().double(), method.layer_norm.bias.detach().double()
    prompts = [method.source_prompts[j].double() for j in range(len(TASKS))] + [method.target_prompt.detach().double()]
    out = []
    for i in range(embeds.shape[0]):
        tokens = [embeds[i, t].double() for t in range(embeds.shape[1]) if mask[i, t] == 1]
        x = torch.stack([torch.tensor(max(float(tok[c]) for tok in tokens), dtype=torch.float64) for c in range(D)])
        down = w_down @ x
        z = w_up @ (down / (1 + torch.exp(-down)))  # SiLU
        h = (z - z.mean()) / torch.sqrt(((z - z.mean()) ** 2).mean() + 1e-5) * gamma + beta
        scores = [float(torch.stack([p[:, c].max() for c in range(D)]) @ h) / temperature for p in prompts]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        weights = [e / sum(exps) for e in exps]
        out.append(sum(w * p for w, p in zip(weights, prompts)) + prompts[-1])
    return torch.stack(out)


@pytest.mark.parametrize("temperature", [3.0, None])
def test_instance_prompt_matches_an_independent_computation(temperature):
    method = build(temperature=temperature, train_layer_norm=True)
    randomise(method)
    g = torch.Generator().manual_seed(7)
    embeds = torch.randn(3, 5, D, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    out, out_mask = method(embeds, mask)
    expected = reference_prompts(method, embeds, mask, temperature or D * math.e).float()
    torch.testing.assert_close(out[:, :L], expected, atol=1e-5, rtol=1e-5)
    assert torch.equal(out[:, L:], embeds) and torch.equal(out_mask[:, L:], mask)
    assert torch.equal(out_mask[:, :L], torch.ones(3, L, dtype=mask.dtype))
    weights = method.attention(embeds, mask)
    assert weights.shape == (3, len(TASKS) + 1)
    if temperature == 3.0:  # a low temperature: the instances really get different mixtures
        assert (weights.max(dim=0).values - weights.min(dim=0).values).max() > 0.05


def test_padding_does_not_change_an_unpadded_row():
    method = build(temperature=3.0)
    randomise(method)
    g = torch.Generator().manual_seed(1)
    row = torch.randn(1, 3, D, generator=g)
    alone, _ = method(row, torch.ones(1, 3, dtype=torch.long))
    junk = torch.full((1, 3, D), 50.0)  # would win every max if padding were pooled
    batch = torch.cat([torch.cat([row, junk], dim=1), torch.randn(1, 6, D, generator=g)])
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    padded, padded_mask = method(batch, mask)
    assert torch.equal(masked_max_pool(batch, mask)[0], row[0].amax(dim=0))  # the pooled input exactly
    torch.testing.assert_close(padded[0, :L], alone[0, :L], atol=1e-5, rtol=1e-5)  # batched matmuls round apart
    assert torch.equal(padded_mask[0], torch.tensor([1] * L + [1, 1, 1, 0, 0, 0]))
    unmasked, _ = method(batch, torch.ones_like(mask))
    assert not torch.allclose(unmasked[0, :L], alone[0, :L])


def test_masked_max_pool():
    embeds = torch.tensor([[[1.0, -5.0], [3.0, -7.0], [9.0, 9.0]]])
    assert torch.equal(masked_max_pool(embeds, torch.tensor([[1, 1, 0]])), torch.tensor([[3.0, -5.0]]))
    assert torch.equal(masked_max_pool(embeds, torch.tensor([[0, 0, 0]])), torch.zeros(1, 2))


def test_diagnostics_report_the_mean_attention_per_prompt():
    method = build(temperature=3.0)
    assert set(method.diagnostics()) == {"target_norm"}  # nothing seen yet
    method(torch.randn(4, 5, D), torch.ones(4, 5, dtype=torch.long))
    stats = method.diagnostics()
    assert set(stats) == {"target_norm", "attention_mnli", "attention_qqp", "attention_target"}
    assert sum(stats[f"attention_{k}"] for k in ("mnli", "qqp", "target")) == pytest.approx(1.0)


def test_param_groups():
    method = build()
    (group,) = method.param_groups(0.01)
    assert group["lr"] == 0.3 and group["weight_decay"] == 1e-5
    assert {id(p) for p in group["params"]} == {id(method.target_prompt), id(method.attn_W_down.weight),
                                                 id(method.attn_W_up.weight)}
    prompt, attention = build(lr_attention=0.01, train_layer_norm=True, weight_decay=None).param_groups(0.01)
    assert prompt["lr"] == 0.3 and attention["lr"] == 0.01 and prompt["weight_decay"] == 0.01
    assert len(prompt["params"]) == 1 and len(attention["params"]) == 4


# -- training through the loop on both families ---------------------------------------------------
@pytest.mark.parametrize("family", ["seq2seq", "causal"])
def test_training_moves_target_and_projections_but_never_the_sources(family):
    model = tiny_model(family)
    freeze(model)
    remove_dropout(model)
    prompts = source_prompts()
    kept = {task: prompt.clone() for task, prompt in prompts.items()}
    ctx = context(prompts, table=model.get_input_embeddings())
    method = build(ctx, lr=0.05)
    before = {k: v.clone() for k, v in method.state_dict().items()}
    stacked = method.source_prompts.clone()
    cfg = TrainConfig(steps=3, batch_size=8, eval_interval=3, eval_batch_size=12, max_new_tokens=3, weight_decay=0.0,
                      warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=3, decoding="generate")
    result = train(FAMILIES[family](model, DigitTokenizer()), method, get_task("rte"), toy_split(),
                   toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    assert result.diverged is None
    assert all("attention_target" in h for h in result.history if "loss" in h)
    after = method.state_dict()
    for key in ("target_prompt", "attn_W_down.weight", "attn_W_up.weight"):
        assert not torch.equal(after[key], before[key]), key
    for key in ("layer_norm.weight", "layer_norm.bias"):  # not trained, as the ATTEMPT code
        assert torch.equal(after[key], before[key]), key
    assert torch.equal(method.source_prompts, stacked)
    assert all(torch.equal(prompts[task], kept[task]) for task in kept)
    assert all(not p.requires_grad for p in model.parameters())
    fresh = build(context(prompts, table=model.get_input_embeddings()), lr=0.05)
    fresh.load_state_dict(result.best_state)  # the best state reloads into a freshly built method
    embeds, mask = torch.randn(2, 5, D), torch.ones(2, 5, dtype=torch.long)
    method.load_state_dict(result.best_state)
    torch.testing.assert_close(fresh(embeds, mask)[0], method(embeds, mask)[0])
