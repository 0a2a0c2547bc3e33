"""The plugin's own tests: registered through its entry point, its count, its gate."""
import pytest
import torch

from ptbench.errors import ConfigError
from ptbench.methods import METHODS, build_method, method_config
from ptbench.methods.base import BackboneContext


def context(d=8, vocab=50):
    return BackboneContext(d_model=d, word_embeddings=torch.nn.Embedding(vocab, d), max_length=16,
                           generator=torch.Generator().manual_seed(0))


def test_ptbench_finds_the_method_through_the_entry_point():
    entry = METHODS["gated_pt"]
    assert entry.source == "ptbench-plugin-example"


def test_count_and_gate():
    method = build_method("gated_pt", method_config("gated_pt", {"length": 4, "gate_init": 0.0}), context())
    assert method.trainable_parameter_count() == 4 * 8 + 1
    assert torch.count_nonzero(method.prompt()) == 0  # tanh(0) = 0: the gate closes the prompt
    method = build_method("gated_pt", method_config("gated_pt", {"length": 4}), context())
    torch.testing.assert_close(method.prompt(), torch.tanh(torch.tensor(1.0)) * method.embedding)


def test_bad_knobs_name_the_key():
    with pytest.raises(ConfigError, match="methods.gated_pt.gate_init"):
        method_config("gated_pt", {"gate_init": float("nan")})
