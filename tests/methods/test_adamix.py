"""AdaMix: the mixture's routing and merging agree with the reference ``ExpertSoup`` (microsoft/AdaMix,
``src/transformers/models/expert_soup.py``, run beside ours on the same weights and inputs while this was
built: the values below are the ones both gave), placement on the feed-forward outputs, what is trained
and what is kept after merging, and the counts on T5."""
import pytest
import torch

from ptbench.check.counting import meta_backbone
from ptbench.errors import ConfigError
from ptbench.methods import METHODS
from ptbench.methods.adamix import AdaMix, AdaMixConfig, MixtureBottleneck
from ptbench.train.backbone import FAMILIES
from ptbench.train.loop import collate

import tiny
from tiny import D, DigitTokenizer, tiny_model, toy_split


def build(model, seed=0, **section):
    return tiny.build(model, AdaMix, AdaMixConfig, "adamix", section, seed, reseed=False)


def reference_pair():
    """Our mixture (4 down experts, 1 shared up, d 16, r 4) with N(0, 0.5^2) weights, and an input."""
    ours = MixtureBottleneck(16, 4, AdaMixConfig())
    generator = torch.Generator().manual_seed(1)
    ours.reset("normal", 0.5, generator)
    return ours, torch.randn(3, 5, 16, generator=generator)


def six_calls(module, x):
    torch.manual_seed(123)  # routing draws from torch's global generator, as the reference
    return torch.stack([module(x) for _ in range(6)])


def test_routing_and_merging_match_the_reference_expert_soup():
    ours, x = reference_pair()
    ours.train()
    # the reference, same weights, torch.manual_seed(123), six training calls: experts 1, 1, 3, 1, 0, 0 of MoA_A
    assert six_calls(ours, x)[:, 0, 0, 0].tolist() == pytest.approx(
        [1.317169427871704, 1.317169427871704, 0.41777974367141724, 1.317169427871704,
         -0.3395705223083496, -0.3395705223083496], abs=1e-6)
    ours.eval()  # inference_level 3: the average of the experts' weights and biases, every call the same
    assert six_calls(ours, x)[:, 0, 0, 0].tolist() == pytest.approx([0.9444597959518433] * 6, abs=1e-6)


def test_evaluation_runs_the_averaged_adapter():
    ours, x = reference_pair()
    ours.eval()
    down = [e for e in ours.down.experts]
    weight = sum(e.weight for e in down) / 4
    bias = sum(e.bias for e in down) / 4
    up = ours.up.experts[0]
    expected = x + up(ours.activation(x @ weight.T + bias))
    torch.testing.assert_close(ours(x), expected)
    ours.train()
    torch.manual_seed(0)
    index = int(torch.randint(0, 4, (1,)))
    torch.manual_seed(0)
    torch.testing.assert_close(ours(x), x + up(ours.activation(down[index](x))))  # one expert, drawn


@pytest.mark.parametrize("section, key", [({"num_experts": 0}, "num_experts"), ({"share_up": 1}, "share_up"),
                                          ({"share_down": "no"}, "share_down"), ({"attention": None}, "attention"),
                                          ({"reduction_factor": 0}, "reduction_factor"), ({"rank": 2}, "rank")])
def test_config_rejects_bad_values_in_one_line(section, key):
    with pytest.raises(ConfigError, match="methods.adamix") as info:
        AdaMixConfig.from_params("adamix", section)
    assert key in str(info.value) and "\n" not in str(info.value)


def test_defaults_are_the_reference_glue_runs():
    config = AdaMixConfig()
    assert (config.num_experts, config.share_up, config.share_down) == (4, True, False)
    assert (config.reduction_factor, config.activation, config.init, config.init_std) == (16, "gelu", "normal", 0.02)
    assert (config.lr, config.weight_decay, config.train_layer_norms, config.attention) == (4e-4, 0.1, False, False)
    assert METHODS["adamix"].module is AdaMix


def test_mixtures_sit_on_the_feed_forward_outputs_only():
    model = tiny_model("seq2seq")
    method = build(model)
    assert sorted(method.adapters) == sorted(f"{s}_{i}_feed_forward" for s in ("encoder", "decoder") for i in range(2))
    assert not model.encoder.block[0].layer[0].SelfAttention._forward_hooks
    assert len(model.encoder.block[0].layer[-1].DenseReluDense._forward_hooks) == 1
    with_attention = build(tiny_model("seq2seq"), attention=True)
    assert len(with_attention.adapters) == 8


def test_only_the_experts_train_and_the_backbone_stays_frozen():
    model = tiny_model("seq2seq")
    method = build(model)
    assert not any(p.requires_grad for p in model.parameters()) and not len(method.norm_weights)
    r = D // 16
    first = method.adapters["encoder_0_feed_forward"]
    assert len(first.down.experts) == 4 and len(first.up.experts) == 1
    assert first.down.experts[0].weight.shape == (r, D)
    per_site = 4 * (D * r + r) + (r * D + D)
    assert method.trainable_parameter_count() == 4 * per_site
    assert method.stored_parameter_count() == 4 * (2 * D * r + r + D)


@pytest.mark.parametrize("backbone, d, r, sites", [("t5-base", 768, 48, 24), ("t5-small", 512, 32, 12)])
def test_counts_on_meta_t5(backbone, d, r, sites):
    method = build(meta_backbone(backbone))
    assert method.trainable_parameter_count() == sites * (4 * (d * r + r) + (r * d + d))
    assert method.stored_parameter_count() == sites * (2 * d * r + r + d)
    if backbone == "t5-base":
        assert (method.trainable_parameter_count(), method.stored_parameter_count()) == (4_446_720, 1_789_056)
    unshared = build(meta_backbone(backbone), share_up=False)
    assert unshared.trainable_parameter_count() == sites * 4 * (2 * d * r + r + d)


def test_training_routes_stochastically_and_evaluation_is_deterministic():
    model = tiny_model("seq2seq")
    runner = FAMILIES["seq2seq"](model, DigitTokenizer())
    method = build(model, init_std=0.3)
    batch = collate(toy_split(6, seed=3), list(range(6)), pad_id=0)
    method.train()
    torch.manual_seed(0)
    losses = {round(runner.loss(method, batch).item(), 6) for _ in range(8)}
    assert len(losses) > 1  # another draw of experts, another loss
    method.eval()
    with torch.no_grad():
        assert runner.loss(method, batch).item() == runner.loss(method, batch).item()


def test_biases_are_exempt_from_weight_decay_as_in_the_hf_trainer():
    """The reference trains through the HF Trainer, whose create_optimizer gives every bias and LayerNorm
    weight weight_decay 0; ``decay_bias_and_norm: true`` decays everything at the method's rate."""
    method = build(tiny_model("seq2seq"))
    groups = method.param_groups(0.01)
    names = {id(p): n for n, p in method.named_parameters()}
    decayed, exempt = ([names[id(p)] for p in g["params"]] for g in groups)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]  # AdaMix's own rate (its script's 0.1)
    assert exempt and all(n.endswith("bias") for n in exempt)
    assert decayed and not any(n.endswith("bias") for n in decayed)
    assert len(decayed) + len(exempt) == sum(p.requires_grad for p in method.parameters())
    together = build(tiny_model("seq2seq"), decay_bias_and_norm=True).param_groups(0.01)
    assert len(together) == 1 and together[0]["weight_decay"] == 0.1
    assert AdaMixConfig().adam_eps == 1e-8  # the Trainer's adam_epsilon default
