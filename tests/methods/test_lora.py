"""LoRA through HF PEFT: config checks, counts on meta T5, behaviour on tiny T5 and Llama backbones."""
import pytest
import torch

from ptbench.errors import ConfigError
from ptbench.methods.lora import Lora, LoraConfig

import tiny
from tiny import FAMILY, assert_seeded_and_round_trips, fit, logits, loss, tiny_model


def build(model, section=None, seed=0):
    return tiny.build(model, Lora, LoraConfig, "lora", section, seed, vocab_sample_size=64)


@pytest.mark.parametrize("section, key", [
    ({"rank": 0}, "rank"), ({"rank": 2.5}, "rank"), ({"rank": True}, "rank"), ({"alpha": 0}, "alpha"),
    ({"dropout": 1.0}, "dropout"), ({"dropout": -0.1}, "dropout"), ({"target_modules": []}, "target_modules"),
    ({"target_modules": "q"}, "target_modules"), ({"target_modules": ["q", "q"]}, "target_modules"),
    ({"bitfit": "yes"}, "bitfit"), ({"lr": 0}, "lr"), ({"r": 8}, ""),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as error:
        LoraConfig.from_params("lora", section)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"methods.lora.{key}" if key else "methods.lora: unknown key(s) r")


def count(backbone, section=None):
    return tiny.meta_count(backbone, Lora, LoraConfig.from_params("lora", section))


def test_counts_on_meta_t5():
    # r (d_in + d_out) on q and v of every attention block (18 / 36 blocks: 36 / 72 layers on T5-small / base)
    assert count("t5-small") == (294_912, 294_912)  # 36 x 8 x (512 + 512)
    assert count("t5-base") == (884_736, 884_736)  # 72 x 8 x (768 + 768)
    # LST's LoRA baseline (the LoRA row of DePT / seed 001): r = 32 on q, v plus BitFit's 280,960 biases
    assert count("t5-base", {"rank": 32, "bitfit": True}) == (3_819_904, 3_819_904)


def test_unknown_target_module_is_named_with_the_available_layers():
    model = tiny_model("seq2seq")
    method = Lora(LoraConfig.from_params("lora", {"target_modules": ["q", "query"]}), None)
    with pytest.raises(ConfigError, match=r"^methods\.lora\.target_modules: no linear layer named query .*"
                                          r"available: k, lm_head, o, q, v, wi, wo$"):
        method.attach(model)


def test_auto_targets_per_architecture():
    t5, llama = tiny_model("seq2seq"), tiny_model("causal")
    assert {k.split("__")[-4] for k in build(t5).state_dict()} == {"q", "v"}
    assert {k.split("__")[-4] for k in build(llama).state_dict()} == {"q_proj", "v_proj"}
    explicit = build(tiny_model("seq2seq"), {"target_modules": ["k", "wo"]})
    assert {k.split("__")[-4] for k in explicit.state_dict()} == {"k", "wo"}


@pytest.mark.parametrize("family", FAMILY)
def test_only_the_adapter_trains_and_a_reattach_starts_from_the_pretrained_model(family):
    model = tiny_model(family)
    bare = logits(model)
    method = build(model, {"bitfit": True})
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in method.weights.parameters()} and trainable  # the biases live on the method
    assert torch.equal(logits(model), bare)  # B = 0, biases 0
    frozen = {k: v.clone() for k, v in model.state_dict().items() if "lora_" not in k}
    start = loss(model, method, family)
    before = {k: v.clone() for k, v in method.state_dict().items()}
    assert fit(model, method, family).diverged is None
    assert loss(model, method, family) != start
    moving = {k for k in method.state_dict() if "lora_B" in k or "biases" in k}
    assert any("lora_B" in k for k in moving) and any("biases" in k for k in moving)  # the check below is not vacuous
    assert all(not torch.equal(method.state_dict()[k], before[k]) for k in moving)
    assert all(torch.equal(v, frozen[k]) for k, v in model.state_dict().items() if k in frozen)
    b_norm = torch.cat([v.flatten() for k, v in method.state_dict().items() if "lora_B" in k]).norm()  # ||B||_F
    assert b_norm > 0 and method.diagnostics()["lora_b_norm"] == pytest.approx(float(b_norm), rel=1e-5)
    # the pipeline builds a method per seed on one loaded backbone: the next attach starts afresh
    second = build(model, {"bitfit": True})
    assert torch.equal(logits(model), bare)
    assert {id(p) for p in model.parameters() if p.requires_grad} == {id(p) for p in second.weights.parameters()}
    reference = build(tiny_model(family), {"bitfit": True})
    assert second.state_dict().keys() == reference.state_dict().keys()
    assert all(torch.equal(v, reference.state_dict()[k]) for k, v in second.state_dict().items())


@pytest.mark.parametrize("family", FAMILY)
def test_same_seed_same_adapter_and_the_state_dict_round_trips(family):
    a, c = build(tiny_model(family), seed=3), build(tiny_model(family), seed=4)
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    assert_seeded_and_round_trips(build, family)


def test_adapter_dropout_follows_the_method_mode():
    model = tiny_model("seq2seq")
    method = build(model, {"dropout": 0.5})
    with torch.no_grad():
        for p in method.weights.values():
            p.normal_()  # a non-zero update, so dropout on its input shows
    method.eval()
    assert torch.equal(logits(model), logits(model))
    method.train()
    assert not torch.equal(logits(model), logits(model))
