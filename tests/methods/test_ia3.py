"""(IA)^3 through HF PEFT: config checks, counts on meta T5, behaviour on tiny T5 and Llama backbones."""
import pytest
import torch

from ptbench.errors import ConfigError
from ptbench.methods.ia3 import Ia3, Ia3Config

import tiny
from tiny import FAMILY, assert_seeded_and_round_trips, fit, logits, loss, tiny_model


def build(model, section=None, seed=0):
    return tiny.build(model, Ia3, Ia3Config, "ia3", section, seed, vocab_sample_size=64)


@pytest.mark.parametrize("section, key", [
    ({"target_modules": []}, "target_modules"), ({"target_modules": "k"}, "target_modules"),
    ({"feedforward_modules": [""]}, "feedforward_modules"),
    ({"target_modules": ["k", "v"], "feedforward_modules": ["wo"]}, "feedforward_modules"),
    ({"lr": 0}, "lr"), ({"weight_decay": -1}, "weight_decay"), ({"init": "ones"}, ""),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as error:
        Ia3Config.from_params("ia3", section)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"methods.ia3.{key}" if key else "methods.ia3: unknown key(s) init")


def count(backbone, section=None):
    return tiny.meta_count(backbone, Ia3, Ia3Config.from_params("ia3", section))


def test_counts_on_meta_t5():
    # k, v of every attention block (d each) + the d_ff input of every wo
    assert count("t5-base") == (129_024, 129_024)  # 72 x 768 + 24 x 3,072
    assert count("t5-small") == (43_008, 43_008)  # 36 x 512 + 12 x 2,048


def test_unknown_modules_are_named_with_the_available_layers():
    model = tiny_model("seq2seq")
    with pytest.raises(ConfigError, match=r"^methods\.ia3\.target_modules: no linear layer named key in the backbone; "
                                          r"available: k, lm_head, o, q, v, wi, wo$"):
        Ia3(Ia3Config.from_params("ia3", {"target_modules": ["key"]}), None).attach(model)
    with pytest.raises(ConfigError, match=r"^methods\.ia3\.feedforward_modules: must be among the targets"):
        Ia3(Ia3Config.from_params("ia3", {"feedforward_modules": ["wi"]}), None).attach(model)


def test_auto_targets_per_architecture():
    t5 = build(tiny_model("seq2seq"))
    shapes = {k.split("__")[-3]: tuple(v.shape) for k, v in t5.state_dict().items()}
    assert shapes == {"k": (32, 1), "v": (32, 1), "wo": (1, 64)}  # wo: its d_ff input is rescaled
    llama = build(tiny_model("causal"))
    shapes = {k.split("__")[-3]: tuple(v.shape) for k, v in llama.state_dict().items()}
    assert shapes == {"k_proj": (32, 1), "v_proj": (32, 1), "down_proj": (1, 64)}
    assert all(torch.equal(v, torch.ones_like(v)) for v in llama.state_dict().values())


@pytest.mark.parametrize("family", FAMILY)
def test_only_the_vectors_train_and_a_reattach_starts_from_the_pretrained_model(family):
    model = tiny_model(family)
    bare = logits(model)
    method = build(model)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in method.parameters()} and trainable
    assert torch.equal(logits(model), bare)  # vectors of ones
    frozen = {k: v.clone() for k, v in model.state_dict().items() if "ia3_" not in k}
    start = loss(model, method, family)
    assert fit(model, method, family).diverged is None
    assert loss(model, method, family) != start
    assert all(torch.equal(v, frozen[k]) for k, v in model.state_dict().items() if k in frozen)
    deviation = torch.cat([(v - 1).flatten() for v in method.state_dict().values()]).norm()  # ||l - 1||_2
    assert deviation > 0 and method.diagnostics()["ia3_deviation"] == pytest.approx(float(deviation), rel=1e-5)
    second = build(model)
    assert torch.equal(logits(model), bare)
    assert {id(p) for p in model.parameters() if p.requires_grad} == {id(p) for p in second.parameters()}
    assert second.state_dict().keys() == method.state_dict().keys()


@pytest.mark.parametrize("family", FAMILY)
def test_same_seed_same_vectors_and_the_state_dict_round_trips(family):
    assert_seeded_and_round_trips(build, family)
