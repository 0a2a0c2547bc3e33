"""The platform fingerprint (ptbench.fingerprint): deterministic, committed with the smoke, and the one
line a regression check gives on a platform that computes other bits."""
import json
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, require_committed_platform
from ptbench import fingerprint

COMMITTED = REPO / fingerprint.BASELINE


def test_the_fingerprint_is_deterministic_in_one_process():
    assert fingerprint.compute() == fingerprint.compute()


def test_this_machine_computes_the_committed_smokes_bits(platform_verdict):
    """What every regression check asks first (conftest.require_committed_platform)."""
    assert COMMITTED.exists()
    require_committed_platform(platform_verdict)


def test_a_cpu_the_pins_cannot_hold_is_told_apart_from_a_drift():
    """An AMD CPU (MKL ignores the AVX2 branch) is not comparable exactly: the checks skip with the line;
    pins switched off on an Intel CPU are: they fail."""
    committed = json.loads(COMMITTED.read_text())
    amd = {**committed["platform"], "cpu_vendor": "AuthenticAMD", "mkl_branch": "AUTO"}
    native = {**committed["platform"], "cpu_numerics": "native", "mkl_branch": "OFF"}
    assert fingerprint.hardware_limits(committed, {"fingerprint": "f" * 64, "platform": amd})
    assert fingerprint.hardware_limits(committed, {"fingerprint": "f" * 64, "platform": native}) == []


def test_the_verdict_is_one_line_naming_what_differs():
    committed = json.loads(COMMITTED.read_text())
    assert fingerprint.mismatch(committed, committed) is None
    other = {"fingerprint": "f" * 64, "platform": {**committed["platform"], "cpu_numerics": "native",
                                                   "aten_capability": "AVX512", "mkl_branch": "OFF"}}
    line = fingerprint.mismatch(committed, other)
    assert "\n" not in line and line.startswith("platform check: this machine computes other floating-point bits")
    assert "cpu_numerics 'avx2' -> 'native'" in line and "aten_capability 'AVX2' -> 'AVX512'" in line
    assert "cpu " not in line.split("(fingerprint")[1].replace("cpu_", "")  # an unchanged CPU model is not named
    unexplained = fingerprint.mismatch(committed, {"fingerprint": "f" * 64, "platform": committed["platform"]})
    assert "no recorded setting differs" in unexplained


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "ptbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def native_params(tmp_path_factory):
    """params.yaml with the pins switched off; skipped where the CPU's native kernels compute the pinned bits."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["runtime"]["cpu_numerics"] = "native"
    path = tmp_path_factory.mktemp("native") / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    printed = cli("fingerprint", "--params", str(path))
    assert printed.returncode == 0, printed.stderr
    if json.loads(printed.stdout)["fingerprint"] == json.loads(COMMITTED.read_text())["fingerprint"]:
        pytest.skip("this CPU's native kernels compute the pinned bits")
    return path


@pytest.mark.parametrize("command", [["fingerprint", "--check"], ["audit", "--sample", "1"]])
def test_with_the_pins_off_the_regression_check_fails_with_the_one_line_platform_message(native_params, command):
    done = cli(*command, "--params", str(native_params))
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ptbench: platform check: this machine computes other")
    assert "cpu_numerics 'avx2' -> 'native'" in lines[0] and "results/metrics" not in done.stderr + done.stdout


def test_the_pinned_check_passes_from_the_cli():
    done = cli("fingerprint", "--check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "platform check: this machine computes the bits of results/platform.json"
