"""Bottleneck adapters and AdapterDrop: placement, near-identity init, what is trained and kept,
and the ATTEMPT counts seed 003 Table 4 quotes (1.9M / 1.1M on T5-base)."""
import pytest
import torch

from ptbench.config import TrainConfig
from ptbench.check.counting import meta_backbone
from ptbench.errors import ConfigError
from ptbench.methods.adapter import AdapterConfig, AdapterDropConfig, BottleneckAdapters
from ptbench.methods.base import param_key
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES
from ptbench.train.loop import collate, train

import tiny
from tiny import D, DigitTokenizer, tiny_model, toy_split

CONFIGS = {"adapter": AdapterConfig, "adapter_drop": AdapterDropConfig}


def build(model, name="adapter", seed=0, **section):
    return tiny.build(model, BottleneckAdapters, CONFIGS[name], name, section, seed, reseed=False)


def logits(model, family, batch):
    if family == "seq2seq":
        return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                     labels=batch.labels.clamp(min=0)).logits
    return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits


BATCH = collate(toy_split(6, seed=3), list(range(6)), pad_id=0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """d = 32 models gain nothing from intra-op threads, and lose much to them on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


FAMILY = pytest.mark.parametrize("family", ["seq2seq", "causal"])


# -- config ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("section, key", [({"reduction_factor": 0}, "reduction_factor"), ({"bottleneck": 0}, "bottleneck"),
                                          ({"bottleneck": 2.5}, "bottleneck"), ({"activation": "elu"}, "activation"),
                                          ({"init": "xavier"}, "init"), ({"init_std": 0}, "init_std"),
                                          ({"drop_layers": -1}, "drop_layers"), ({"drop_layers": True}, "drop_layers"),
                                          ({"cross_attention": 1}, "cross_attention"),
                                          ({"train_layer_norms": "yes"}, "train_layer_norms"), ({"lr": 0}, "lr"),
                                          ({"rank": 4}, "rank")])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_rejects_bad_values_in_one_line(name, section, key):
    with pytest.raises(ConfigError, match=f"methods.{name}") as info:
        CONFIGS[name].from_params(name, section)
    assert key in str(info.value) and "\n" not in str(info.value)


def test_defaults_are_the_reference_runs():
    adapter, drop = AdapterConfig(), AdapterDropConfig()
    assert (adapter.reduction_factor, adapter.activation, adapter.init, adapter.drop_layers) == (32, "gelu_new", "normal", 0)
    assert adapter.train_layer_norms and not adapter.cross_attention
    assert (adapter.lr, adapter.weight_decay) == (3e-4, 0.0)
    assert drop.drop_layers == 5 and {**vars(drop), "drop_layers": 0} == vars(adapter)


@pytest.mark.parametrize("name, section, key", [("adapter", {"bottleneck": D + 1}, "methods.adapter.bottleneck"),
                                                ("adapter_drop", {"bottleneck": 99, "drop_layers": 1}, "methods.adapter_drop.bottleneck"),
                                                ("adapter", {"reduction_factor": D + 1}, "methods.adapter.reduction_factor"),
                                                ("adapter", {"drop_layers": 2}, "methods.adapter.drop_layers"),
                                                ("adapter_drop", {}, "methods.adapter_drop.drop_layers")])
def test_attach_rejects_what_does_not_fit_the_backbone(name, section, key):
    with pytest.raises(ConfigError, match=key) as info:
        build(tiny_model("seq2seq"), name, **section)  # d = 32, 2 blocks per stack; adapter_drop's default is 5
    assert "\n" not in str(info.value)


# -- counts ---------------------------------------------------------------------------------------

def meta_counts(backbone, name, **section):
    model = meta_backbone(backbone)
    before = sum(p.numel() for p in model.parameters())
    method = build(model, name, **section)
    assert sum(p.numel() for p in model.parameters()) == before  # hooks add nothing to the backbone
    assert all(p.is_meta for p in method.parameters())
    return method


@pytest.mark.parametrize("backbone, name, d, r, adapters, norms, trainable, printed", [
    ("t5-base", "adapter", 768, 24, 48, 62, 1_855_104, "1.9M"),  # 48 x 37,656 + 62 x 768
    ("t5-base", "adapter_drop", 768, 24, 28, 62, 1_101_984, "1.1M"),  # blocks 5..11 of both stacks
    ("t5-small", "adapter", 512, 16, 24, 32, 422_272, None),
    ("t5-small", "adapter_drop", 512, 16, 4, 32, 84_032, None),  # 6 blocks per stack: only block 5 keeps its adapters
])
def test_counts_on_meta_t5(backbone, name, d, r, adapters, norms, trainable, printed):
    method = meta_counts(backbone, name)
    assert len(method.adapters) == adapters and len(method.norm_weights) == norms
    assert method.adapters[next(iter(method.adapters))].down.weight.shape == (r, d)
    assert method.trainable_parameter_count() == trainable == adapters * (2 * d * r + r + d) + norms * d
    assert method.stored_parameter_count() == trainable
    if printed:
        assert f"{round(trainable / 1e6, 1)}M" == printed  # seed 003 Table 4, from ATTEMPT


def test_count_switches_on_meta_t5_base():
    per_adapter = 2 * 768 * 24 + 24 + 768
    assert meta_counts("t5-base", "adapter", train_layer_norms=False).trainable_parameter_count() == 48 * per_adapter
    cross = meta_counts("t5-base", "adapter", cross_attention=True)
    assert cross.trainable_parameter_count() == 60 * per_adapter + 62 * 768  # + 12 decoder cross-attentions
    assert meta_counts("t5-base", "adapter", bottleneck=64).trainable_parameter_count() == \
        48 * (2 * 768 * 64 + 64 + 768) + 62 * 768


# -- placement --------------------------------------------------------------------------------------

def perturb(method):
    """Non-trivial adapter weights, so that placement shows in the output."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in method.adapters.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def test_t5_adapters_sit_on_each_sublayer_output_before_the_residual():
    model = tiny_model("seq2seq")
    method = build(model)
    perturb(method)
    assert sorted(method.adapters) == sorted(f"{s}_{i}_{k}" for s in ("encoder", "decoder") for i in range(2)
                                             for k in ("attention", "feed_forward"))
    assert not model.decoder.block[0].layer[1].EncDecAttention._forward_hooks  # none on cross-attention by default
    h = torch.randn(2, 5, D)
    ff, attention = model.decoder.block[1].layer[-1], model.encoder.block[0].layer[0]
    adapted_ff, adapted_attention = ff(h), attention(h)[0]
    method.detach()  # from here on the sub-layers run bare
    ff_update = ff.DenseReluDense(ff.layer_norm(h))
    attention_update = attention.SelfAttention(attention.layer_norm(h))[0]
    # Houlsby / ATTEMPT: h + dropout(A(update)), A(y) = y + up(f(down(y)))
    torch.testing.assert_close(adapted_ff, h + method.adapters["decoder_1_feed_forward"](ff_update))
    torch.testing.assert_close(adapted_attention, h + method.adapters["encoder_0_attention"](attention_update))
    torch.testing.assert_close(ff(h), h + ff_update)
    assert not torch.allclose(adapted_ff, ff(h))


def test_llama_adapters_sit_after_self_attn_and_mlp():
    model = tiny_model("causal")
    method = build(model)
    perturb(method)
    assert sorted(method.adapters) == sorted(f"layers_{i}_{k}" for i in range(2) for k in ("attention", "feed_forward"))
    assert len(method.norm_weights) == 2 * 2 + 1  # input / post-attention RMSNorm per layer, final norm
    layer = model.model.layers[1]
    h = torch.randn(2, 5, D)
    rotary = model.model.rotary_emb(h, torch.arange(5).unsqueeze(0).expand(2, -1))

    def attend():
        return layer.self_attn(hidden_states=h, position_embeddings=rotary, attention_mask=None)[0]

    adapted_mlp, adapted_attention = layer.mlp(h), attend()
    method.detach()
    torch.testing.assert_close(adapted_mlp, method.adapters["layers_1_feed_forward"](layer.mlp(h)))
    torch.testing.assert_close(adapted_attention, method.adapters["layers_1_attention"](attend()))
    assert not torch.allclose(adapted_mlp, layer.mlp(h))


def test_adapter_drop_leaves_the_lowest_blocks_alone():
    model = tiny_model("seq2seq")
    method = build(model, "adapter_drop", drop_layers=1)
    assert sorted(method.adapters) == ["decoder_1_attention", "decoder_1_feed_forward",
                                       "encoder_1_attention", "encoder_1_feed_forward"]
    for stack in (model.encoder, model.decoder):
        assert not stack.block[0].layer[0].SelfAttention._forward_hooks
        assert not stack.block[0].layer[-1].DenseReluDense._forward_hooks
        assert len(stack.block[1].layer[0].SelfAttention._forward_hooks) == 1
        assert len(stack.block[1].layer[-1].DenseReluDense._forward_hooks) == 1
    llama = tiny_model("causal")
    assert sorted(build(llama, "adapter_drop", drop_layers=1).adapters) == ["layers_1_attention", "layers_1_feed_forward"]
    assert not llama.model.layers[0].mlp._forward_hooks


# -- init, what is trained, what is kept --------------------------------------------------------------

@FAMILY
def test_only_adapter_and_layer_norm_parameters_require_grad(family):
    model = tiny_model(family)
    pretrained = {name: p for name, p in model.named_parameters()}
    method = build(model)
    assert all(p.requires_grad for p in method.parameters())
    norms = {id(p) for p in method.norm_weights.values()}
    # the model runs the method's LayerNorm copies; every other backbone parameter is the frozen original
    assert {id(p) for p in model.parameters() if p.requires_grad} == norms
    for name, p in model.named_parameters():
        key = param_key(name)
        if key in method.norm_weights:
            assert p is method.norm_weights[key] and p is not pretrained[name] and not pretrained[name].requires_grad
        else:
            assert p is pretrained[name] and not p.requires_grad
    assert set(method.state_dict()) == {f"adapters.{k}.{w}" for k in method.adapters for w in
                                        ("down.weight", "down.bias", "up.weight", "up.bias")} | \
        {f"norm_weights.{k}" for k in method.norm_weights}
    frozen_model = tiny_model(family)
    frozen = build(frozen_model, train_layer_norms=False)
    assert not len(frozen.norm_weights) and all(k.startswith("adapters.") for k in frozen.state_dict())
    assert not any(p.requires_grad for p in frozen_model.parameters())


@FAMILY
def test_init_is_near_identity(family):
    plain = logits(tiny_model(family), family, BATCH)
    model = tiny_model(family)
    method = build(model, init="zero_up")
    assert torch.equal(logits(model, family, BATCH), plain)  # zero up-projection: exactly the backbone
    model = tiny_model(family)
    method = build(model)  # reference init: N(0, 0.01^2) weights, zero biases
    first = method.adapters[next(iter(method.adapters))]
    assert float(first.up.weight.std()) == pytest.approx(0.01, rel=0.3) and not first.up.bias.any()
    out = logits(model, family, BATCH)
    assert not torch.equal(out, plain)
    torch.testing.assert_close(out, plain, atol=2e-3, rtol=0)


@FAMILY
def test_same_seed_same_adapters(family):
    a, b = build(tiny_model(family), seed=3).state_dict(), build(tiny_model(family), seed=3).state_dict()
    c = build(tiny_model(family), seed=4).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if ".up.weight" in k)
    for init in ("zero_up", "pytorch"):
        x, y = build(tiny_model(family), init=init).state_dict(), build(tiny_model(family), init=init).state_dict()
        assert all(torch.equal(x[k], y[k]) for k in x)


@FAMILY
def test_training_moves_only_the_method_and_the_state_reproduces_the_logits(family):
    model = tiny_model(family)
    runner = FAMILIES[family](model, DigitTokenizer())
    method = build(model, lr=0.01)
    backbone_before = {k: v.clone() for k, v in model.state_dict().items()}
    method_before = {k: v.clone() for k, v in method.state_dict().items()}
    batch = collate(toy_split(), list(range(8)), pad_id=0)
    with torch.no_grad():
        loss_before = runner.loss(method, batch).item()
    cfg = TrainConfig(steps=4, batch_size=8, eval_interval=4, eval_batch_size=12, max_new_tokens=3, weight_decay=0.0,
                      warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=4, decoding="generate")
    result = train(runner, method, get_task("rte"), toy_split(), toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    assert result.diverged is None
    with torch.no_grad():
        assert runner.loss(method, batch).item() != pytest.approx(loss_before, abs=1e-6)
    changed = {k for k, v in method.state_dict().items() if not torch.equal(v, method_before[k])}
    assert any(".up." in k for k in changed) and any(k.startswith("norm_weights.") for k in changed)
    norm_keys = {k for k in model.state_dict() if param_key(k) in method.norm_weights}
    moved = {k for k, v in model.state_dict().items() if not torch.equal(v, backbone_before[k])}
    assert moved and moved <= norm_keys  # what the model runs changes only in the trained LayerNorm copies
    # the kept state, loaded into a freshly built backbone + method, is the trained model
    state = method.state_dict()
    fresh = tiny_model(family)
    reloaded = build(fresh, seed=7)
    reloaded.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(logits(fresh, family, BATCH), logits(model, family, BATCH))
    assert not torch.equal(logits(tiny_model(family), family, BATCH), logits(model, family, BATCH))


def test_attaching_twice_is_refused():
    model = tiny_model("seq2seq")
    method = build(model)
    with pytest.raises(RuntimeError, match="already attached"):
        method.attach(tiny_model("seq2seq"))


@FAMILY
def test_the_next_attach_or_detach_restores_the_bare_backbone(family):
    model = tiny_model(family)
    pretrained = {k: v.clone() for k, v in model.state_dict().items()}
    plain = logits(model, family, BATCH)
    first = build(model, lr=0.05)
    perturb(first)
    with torch.no_grad():
        for p in first.norm_weights.values():
            p.mul_(1.5)  # as training would
    assert not torch.equal(logits(model, family, BATCH), plain)
    second = build(model, init="zero_up")  # the pipeline reuses a loaded backbone across seeds
    hooked = [m for m in model.modules() if m._forward_hooks]
    assert len(hooked) == len(second.adapters) and all(len(m._forward_hooks) == 1 for m in hooked)
    assert all(torch.equal(v, pretrained[k]) for k, v in model.state_dict().items())  # the copies start pre-trained
    assert torch.equal(logits(model, family, BATCH), plain)
    second.detach()
    assert not any(m._forward_hooks for m in model.modules())
    assert not any(p.requires_grad for p in model.parameters())
    assert all(torch.equal(v, pretrained[k]) for k, v in model.state_dict().items())


def test_generation_runs_through_the_adapters():
    model = tiny_model("seq2seq")
    method = build(model)
    calls = []
    for stack in ("encoder", "decoder"):
        method.adapters[f"{stack}_1_feed_forward"].register_forward_hook(lambda *_, stack=stack: calls.append(stack))
    runner = FAMILIES["seq2seq"](model, DigitTokenizer())
    out = runner.generate(method, collate(toy_split(4), list(range(4)), pad_id=0), max_new_tokens=3)
    assert len(out) == 4
    assert calls.count("encoder") == 1 and calls.count("decoder") >= 2  # the encoder once, the decoder every step
    ups = [float(a.up.weight.detach().norm()) for a in method.adapters.values()]  # mean ||W_up||_F over adapters
    assert len(ups) == 8 and method.diagnostics()["adapter_up_norm"] == pytest.approx(sum(ups) / len(ups), rel=1e-5)
