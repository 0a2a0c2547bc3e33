"""The reference trainers' AdamW (transformers' legacy formula) against hand-computed values, and how it
differs from torch's: eps before the bias correction, weight decay after the update."""
import pytest
import torch

from ptbench.config import parse_params
from ptbench.errors import ConfigError
from ptbench.train.optim import LegacyAdamW, build_optimizer


def steps(optimizer_class, n: int, grad: float = 0.5, **kwargs) -> list[float]:
    """A scalar weight 1.0 under a constant gradient ``grad``, ``n`` steps at lr 0.1."""
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    optimizer = optimizer_class([{"params": [p], "lr": 0.1, **kwargs}])
    values = []
    for _ in range(n):
        p.grad = torch.tensor([grad], dtype=torch.float64)
        optimizer.step()
        values.append(p.item())
    return values


def test_two_steps_equal_the_legacy_formula_computed_by_hand():
    # t = 1: m = 0.05, v = 0.00025; step size 0.1 sqrt(0.001) / 0.1; p = 1 - 0.0316228 * 0.05 / (0.0158114 + 1e-6)
    # = 0.9000063, then p - 0.1 * 0.01 * p = 0.8991063; t = 2 likewise from m = 0.095, v = 0.00049975
    values = steps(LegacyAdamW, 2, eps=1e-6, weight_decay=0.01)
    assert values == pytest.approx([0.8991063178311903, 0.7983116800946229], abs=1e-15)


def test_twenty_steps_over_two_groups_give_the_reference_implementations_values():
    """transformers' legacy AdamW (the copy in microsoft/AdaMix, src/transformers/optimization.py) was run beside
    ours on these inputs while this was built: both gave these weights, bit for bit (float64; a prompt group at
    lr 0.4 with weight decay and gradients from 1 to 1e-4, a second group at lr 1e-4 without)."""
    g = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(7, 5, generator=g, dtype=torch.float64))
    b = torch.nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64))
    optimizer = LegacyAdamW([{"params": [p], "lr": 0.4, "weight_decay": 0.01}, {"params": [b], "lr": 1e-4}], eps=1e-6)
    for t in range(20):
        p.grad = torch.randn(7, 5, generator=g, dtype=torch.float64) * 10 ** (-t % 5)
        b.grad = torch.randn(5, generator=g, dtype=torch.float64)
        optimizer.step()
    weights = torch.cat([p.detach().flatten(), b.detach()])
    assert [weights[i].item() for i in (0, 17, 34, 35, 39)] == [
        -2.1190890563456417, 0.9847842827640634, -0.6499257957679087, -0.024293369384988578, -0.8346588323739375]


def test_weight_decay_comes_after_the_update_and_torch_decays_before():
    legacy = steps(LegacyAdamW, 1, eps=0.0, weight_decay=0.01)[0]
    torch_value = steps(torch.optim.AdamW, 1, eps=0.0, weight_decay=0.01)[0]
    assert legacy == pytest.approx((1.0 - 0.1) * (1 - 0.001), abs=1e-15)  # decay of the updated weight
    assert torch_value == pytest.approx(1.0 * (1 - 0.001) - 0.1, abs=1e-15)  # decay of the weight before
    assert legacy != pytest.approx(torch_value, abs=1e-6)


def test_without_eps_and_decay_both_are_adam():
    assert steps(LegacyAdamW, 5, eps=0.0) == pytest.approx(steps(torch.optim.AdamW, 5, eps=0.0, weight_decay=0.0),
                                                           abs=1e-12)


def test_the_legacy_eps_is_eps_over_the_root_of_the_bias_correction():
    """legacy step = lr m_hat / (sqrt(v_hat) + eps / sqrt(1 - b2^t)): at step 1 DePT's eps 1e-6 acts as
    3.16e-5, 3,162 x torch's default 1e-8 (1,000 x by step ~1,000 as 1 - b2^t grows)."""
    legacy = steps(LegacyAdamW, 1, grad=1e-6, eps=1e-6)[0]
    effective = 1e-6 / (1 - 0.999) ** 0.5
    assert effective / 1e-8 == pytest.approx(3162.3, abs=0.1)
    assert legacy == pytest.approx(steps(torch.optim.AdamW, 1, grad=1e-6, eps=effective, weight_decay=0.0)[0], abs=1e-15)
    assert legacy != pytest.approx(steps(torch.optim.AdamW, 1, grad=1e-6, weight_decay=0.0)[0], abs=1e-3)


def test_build_optimizer_takes_the_method_eps_or_the_optimizer_default():
    p = torch.nn.Parameter(torch.zeros(1))
    assert build_optimizer("adamw_legacy", [{"params": [p]}], None).defaults["eps"] == 1e-6
    assert build_optimizer("adamw_legacy", [{"params": [p]}], 1e-8).defaults["eps"] == 1e-8
    assert build_optimizer("adamw_torch", [{"params": [p]}], None).defaults["eps"] == 1e-8
    assert isinstance(build_optimizer("adamw_torch", [{"params": [p]}], 1e-6), torch.optim.AdamW)


def test_an_unknown_optimizer_is_refused_naming_the_choices(raw_params):
    raw_params["train"]["optimizer"] = "adam"
    with pytest.raises(ConfigError, match="optimizer.*adamw_legacy.*adamw_torch"):
        parse_params(raw_params)

