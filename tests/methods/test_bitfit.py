"""BitFit: config checks, counts on meta T5 (ATTEMPT's "BitFit 280K"), behaviour on tiny T5 and Llama."""
import pytest
import torch

from ptbench.errors import ConfigError
from ptbench.methods.bitfit import BitFit, BitFitConfig
from ptbench.report.audit import printed_matches

import tiny
from tiny import FAMILY, assert_seeded_and_round_trips, fit, logits, loss, tiny_model


def build(model, section=None, seed=0):
    return tiny.build(model, BitFit, BitFitConfig, "bitfit", section, seed, vocab_sample_size=64)


@pytest.mark.parametrize("section, key", [
    ({"layer_norms": "yes"}, "layer_norms"), ({"final_layer_norms": 1}, "final_layer_norms"),
    ({"lm_head": None}, "lm_head"), ({"lr": -1}, "lr"), ({"weight_decay": -0.1}, "weight_decay"), ({"bias": True}, ""),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as error:
        BitFitConfig.from_params("bitfit", section)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"methods.bitfit.{key}" if key else "methods.bitfit: unknown key(s) bias")


def count(backbone, section=None):
    return tiny.meta_count(backbone, BitFit, BitFitConfig.from_params("bitfit", section))


def test_counts_on_meta_t5_match_attempts_bitfit_280k():
    # T5-base: linear outputs 12 x (4 x 768 + 3,072 + 768) encoder + 12 x (8 x 768 + 3,072 + 768) decoder = 202,752;
    # norms inside the blocks (2 per encoder layer, 3 per decoder layer) 60 x 768 = 46,080; LM head 32,128
    assert count("t5-base") == (280_960, 280_960)
    assert printed_matches("280K", 280_960)  # seed 003 Table 4, from ATTEMPT (after Compacter)
    assert count("t5-base", {"layer_norms": False}) == (280_960 - 46_080,) * 2
    assert count("t5-base", {"lm_head": False}) == (280_960 - 32_128,) * 2
    assert count("t5-base", {"final_layer_norms": True}) == (280_960 + 2 * 768,) * 2
    assert count("t5-small") == (115_072, 115_072)  # 67,584 + 30 x 512 + 32,128


def test_which_modules_get_a_bias():
    t5 = build(tiny_model("seq2seq"))
    names = {k.split("__")[-1] for k in t5.biases}
    assert names == {"q", "k", "v", "o", "wi", "wo", "layer_norm", "lm_head"}
    assert not any("final_layer_norm" in k for k in t5.biases)
    llama = build(tiny_model("causal"))
    assert {k.split("__")[-1] for k in llama.biases} == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                         "down_proj", "input_layernorm", "post_attention_layernorm",
                                                         "lm_head"}


@pytest.mark.parametrize("family", FAMILY)
def test_only_the_biases_train_and_a_reattach_starts_from_the_pretrained_model(family):
    model = tiny_model(family)
    bare = logits(model)
    pretrained = {k: v.clone() for k, v in model.state_dict().items()}
    method = build(model)
    assert not any(p.requires_grad for p in model.parameters())  # the biases live on the method, not in the model
    assert all(p.requires_grad for p in method.parameters()) and method.trainable_parameter_count() > 0
    assert torch.equal(logits(model), bare)  # zero biases
    start = loss(model, method, family)
    assert fit(model, method, family).diverged is None
    assert loss(model, method, family) != start
    assert all(torch.equal(v, pretrained[k]) for k, v in model.state_dict().items())
    norm = torch.cat([b.detach().flatten() for b in method.biases.values()]).norm()  # ||all biases||_2
    assert norm > 0 and method.diagnostics()["bias_norm"] == pytest.approx(float(norm), rel=1e-5)
    second = build(model)  # the previous hooks are removed: nothing is added twice
    assert torch.equal(logits(model), bare)
    with torch.no_grad():
        for bias in second.biases.values():
            bias.fill_(0.1)
    shifted = logits(model)
    with torch.no_grad():
        for bias in method.biases.values():
            bias.fill_(5.0)  # the first method's biases no longer reach the model
    assert torch.equal(logits(model), shifted) and not torch.equal(shifted, bare)


@pytest.mark.parametrize("family", FAMILY)
def test_same_seed_same_biases_and_the_state_dict_round_trips(family):
    assert_seeded_and_round_trips(build, family)
