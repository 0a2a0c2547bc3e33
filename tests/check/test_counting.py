"""Parameter counts printed in the seeds (seed 003 Table 1 and Table 4), pinned."""
import pytest

from ptbench.check.counting import count_parameters
from ptbench.methods import method_config


@pytest.mark.parametrize("method, backbone, trainable, stored", [
    ("pt", "t5-small", 5_120, 5_120),      # PT 5.1K
    ("pt", "t5-base", 7_680, 7_680),       # PT 7.6K
    ("pt", "t5-large", 10_240, 10_240),    # PT 10K
    ("ept", "t5-small", 1_536, 512),       # EPT 1.5K
    ("ept", "t5-base", 2_304, 768),        # EPT 2.3K / 768 (Table 4)
    ("ept", "t5-large", 3_072, 1_024),     # EPT 3K
    ("ept_star", "t5-base", 2_304, 768),   # EPT* 2.3K / 768
])
def test_seed_003_counts(method, backbone, trainable, stored):
    counts = count_parameters(method, method_config(method, {}), backbone)
    assert (counts["trainable"], counts["stored"]) == (trainable, stored)


def test_pt_length_100_on_t5_base_is_seed_001s_budget():
    assert count_parameters("pt", method_config("pt", {"length": 100}), "t5-base")["trainable"] == 76_800


@pytest.mark.parametrize("backbone, total", [("t5-small", 60_506_624), ("t5-base", 222_903_552)])
def test_backbones_count_on_meta_device(backbone, total):
    assert count_parameters("pt", method_config("pt", {}), backbone)["backbone_parameters"] == total


def test_decoder_only_backbone_counts():
    counts = count_parameters("ept_star", method_config("ept_star", {}), "llama-2-7b")
    assert counts["d_model"] == 4096 and counts["trainable"] == 3 * 4096
    assert counts["backbone_parameters"] == 6_738_415_616
