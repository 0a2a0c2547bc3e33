"""`ptbench plan --device`: GPU-hours from FLOPs and peak figures, checked on hand-computed values, and the
paper plan on an H100 per backbone x method with its total."""
import json
import subprocess
import sys

import pytest

from conftest import REPO
from ptbench.errors import ConfigError
from ptbench.planning.devices import DEVICES, Device, FlopsBackbone, check_utilisation, get_device
from ptbench.planning.plan import make_plan, render

GPU = Device("test", bf16_tflops=100.0, memory_gb=80, bandwidth_tb_s=1.0, source="a round device", cuda_name="test")


def backbone(family="seq2seq", parameters=1_000_000_000):
    return FlopsBackbone("b", parameters, family, GPU, utilisation=0.5, target_tokens=20, input_tokens=100, eval_batch=10)


def test_a_step_costs_its_flops_over_the_reached_peak():
    seconds = 100e12 * 0.5
    # T5: the input through the encoder's half, the target through the decoder's: P x (100 + 20) forward
    assert backbone().frozen_step_per_row(100) == pytest.approx(2 * 1e9 * 120 / seconds)  # + backward to inputs
    assert backbone().full_step_per_row(100) == pytest.approx(3 * 1e9 * 120 / seconds)  # + weight gradients
    # decoder-only: both through every parameter, 2 FLOPs each
    assert backbone("causal").frozen_step_per_row(100) == pytest.approx(2 * 2e9 * 120 / seconds)


def test_decoding_is_bound_by_the_slower_of_arithmetic_and_reading_the_weights():
    seconds = 100e12 * 0.5
    encode = 1e9 * 100 / seconds
    # per token: 2 x 0.5e9 FLOPs = 2e-5 s, against 2 bytes x 0.5e9 / 1e12 B/s / 10 examples = 1e-4 s: memory
    assert backbone().decode_per_example(3) == pytest.approx(encode + 3 * 1e-4)
    big_batch = FlopsBackbone("b", 1_000_000_000, "seq2seq", GPU, 0.5, 20, 100, eval_batch=1000)
    assert big_batch.decode_per_example(3) == pytest.approx(encode + 3 * 2e-5)  # now arithmetic


def test_an_unknown_device_or_utilisation_is_one_line_naming_the_choices():
    with pytest.raises(ConfigError, match="--device.*H100"):
        get_device("TPU")
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ConfigError, match="--utilisation"):
            check_utilisation(bad)
    assert get_device("H100") is DEVICES["H100"] and check_utilisation(1.0) == 1.0


def test_the_paper_plan_on_an_h100_gives_gpu_hours_per_backbone_and_method_and_a_total(tmp_path):
    plan = make_plan("paper", REPO / "params.yaml", tmp_path / "calibration.json", check_cache=False, device="H100")
    text = render(plan)
    assert "device: H100" in text and "utilisation 35%" in text and "GPU-hours" in text
    lines = [line for line in text.splitlines() if line.startswith(("t5-", "llama-2-7b"))]
    assert any(" ept (trials) " in line for line in lines)  # the equal-budget trials, a line of their own
    rows = [line.split() for line in lines if "(trials)" not in line]
    backbones = {row[0] for row in rows}
    assert {"t5-small", "t5-base", "t5-large", "t5-3b", "t5-11b", "llama-2-7b"} <= backbones
    hours = {(row[0], row[1]): float(row[5].replace(",", "")) for row in rows}
    total = float(text.split("total: ")[1].split(" GPU-hours")[0].replace(",", ""))
    assert total == pytest.approx(sum(plan.seconds.values()) / 3600, rel=1e-3)
    assert hours[("t5-11b", "ept")] > hours[("t5-base", "ept")] > hours[("t5-small", "ept")] > 0  # scales with size
    assert hours[("t5-base", "ft")] > hours[("t5-base", "lora")]  # weight gradients cost a third more
    assert "no measured calibration of a H100 here" in text
    assert not (tmp_path / "calibration.json").exists()  # nothing measured on this machine


def test_the_cli_prints_the_device_plan(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ptbench.cli", "plan", "paper-003", "--device", "A100-80GB",
                          "--utilisation", "0.5", "--no-cache-check", "--calibration", str(tmp_path / "c.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "A100-80GB" in out.stdout and "utilisation 50%" in out.stdout and "GPU-hours on one A100-80GB" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "ptbench.cli", "plan", "--device", "TPU"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--device" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_measured_calibration_is_found_by_the_gpus_own_name_only(tmp_path):
    """An A10 plan never reads an A100's calibration, nor an H100 SXM plan an H100 PCIe's."""
    import re

    names = {"A10": "NVIDIA A10", "A100-80GB": "NVIDIA A100-SXM4-80GB", "A100-40GB": "NVIDIA A100-SXM4-40GB",
             "H100": "NVIDIA H100 80GB HBM3", "H100-PCIe": "NVIDIA H100 PCIe", "L4": "NVIDIA L4"}
    for device, cuda in names.items():
        matching = {d for d, info in DEVICES.items() if re.search(info.cuda_name, f"cuda {cuda} x1")}
        assert matching == {device}, (device, matching)
