"""Full fine-tuning: config checks, counts on meta T5, behaviour on tiny T5 and Llama backbones."""
import pytest
import torch

from ptbench.errors import ConfigError
from ptbench.methods.bitfit import BitFit
from ptbench.methods.ft import FtConfig, FullFineTuning
from ptbench.report.audit import printed_matches

import tiny
from tiny import FAMILY, assert_seeded_and_round_trips, fit, loss, tiny_model


def build(model, section=None, seed=0, cls=FullFineTuning):
    return tiny.build(model, cls, None, "ft", {"lr": 1e-3, **(section or {})}, seed, vocab_sample_size=64)


@pytest.mark.parametrize("section, key", [
    ({"lr": 0}, "lr"), ({"lr": "1e-5"}, "lr"), ({"weight_decay": -1}, "weight_decay"), ({"layers": 2}, ""),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as error:
        FtConfig.from_params("ft", section)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"methods.ft.{key}" if key else "methods.ft: unknown key(s) layers")


def test_default_learning_rate_is_the_seeds_fine_tuning_rate():
    assert FtConfig.from_params("ft", {}).lr == 1e-5  # seed 003 B.2, seed 004 sec. 4.4


def count(backbone):
    return tiny.meta_count(backbone, FullFineTuning, FtConfig())


def test_counts_on_meta_t5_are_the_whole_backbone():
    assert count("t5-small") == (60_506_624, 60_506_624)
    assert printed_matches("60M", 60_506_624)  # seed 003 Table 1
    assert count("t5-base") == (222_903_552, 222_903_552)  # seed 003 prints the nominal "220M"
    assert not printed_matches("220M", 222_903_552)


@pytest.mark.parametrize("family", FAMILY)
def test_everything_trains_and_the_trained_backbone_is_not_reused(family):
    model = tiny_model(family)
    pretrained = {k: v.clone() for k, v in model.state_dict().items()}
    method = build(model)
    assert all(p.requires_grad for p in model.parameters())
    assert {id(p) for p in method.parameters()} == {id(p) for p in model.parameters()}
    assert method.state_dict().keys() == {f"backbone.{k}" for k in model.state_dict()}
    start = loss(model, method, family)
    assert fit(model, method, family).diverged is None
    assert loss(model, method, family) != start
    assert any(not torch.equal(v, pretrained[k]) for k, v in model.state_dict().items())
    method.eval()  # the backbone is a submodule: validation runs without its dropout
    assert not model.training
    method.train()
    # no second build on fine-tuned weights, by ft or any other method: the pipeline loads afresh
    for cls in (FullFineTuning, BitFit):
        with pytest.raises(RuntimeError, match="fully fine-tuned by `ft`: load a fresh one"):
            build(model, cls=cls)


@pytest.mark.parametrize("family", FAMILY)
def test_same_seed_same_model_and_the_state_dict_round_trips(family):
    assert_seeded_and_round_trips(build, family)
