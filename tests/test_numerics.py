"""The pinned numeric platform (ptbench.numerics): the pins at work on this machine, what they record,
and the one line for a CPU that cannot compute the pinned bits."""
import json
import os
import platform
import subprocess
import sys

import pytest
import torch

from ptbench import numerics
from ptbench.config import parse_params
from ptbench.errors import ConfigError

# The platform fingerprint's computation (ptbench.fingerprint) in a fresh process under ``mode``.
PROBE = ("import sys; from ptbench import numerics; numerics.pin(sys.argv[1]); import torch; torch.set_num_threads(1); "
         "from ptbench import fingerprint; print(fingerprint.compute())")
x86_avx2 = pytest.mark.skipif(platform.machine() != "x86_64" or torch.backends.cpu.get_cpu_capability() == "DEFAULT",
                              reason="the avx2 pins apply to x86-64 CPUs with AVX2")


def probe(mode: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_ENABLE_INSTRUCTIONS", *numerics.PINNED_VARIABLES)}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                          env={**env, **environment})
    return done.stdout.strip()


@x86_avx2
def test_the_pins_give_the_same_bits_whether_mkl_may_use_its_full_instruction_set_or_only_avx2():
    """MKL_ENABLE_INSTRUCTIONS=AVX2 makes this CPU's MKL choose kernels as on an AVX2-only CPU."""
    pinned, restricted = probe("avx2"), probe("avx2", MKL_ENABLE_INSTRUCTIONS="AVX2")
    assert pinned == restricted
    native, native_restricted = probe("native"), probe("native", MKL_ENABLE_INSTRUCTIONS="AVX2")
    if native == native_restricted:
        pytest.skip("this CPU's own MKL path is its AVX2 one: nothing here for the pins to remove")
    assert native != pinned  # without the pins the CPU's best kernels run, and they round differently


@x86_avx2
def test_a_pinned_process_reports_the_kernels_it_runs():
    record = numerics.in_force()  # conftest pinned params.yaml's avx2 before torch was imported
    assert record["cpu_numerics"] == "avx2" and record["aten_capability"] == "AVX2"
    assert record["onednn_max_isa"] == "AVX2" and record["torch"] == torch.__version__
    if record["cpu_vendor"] == "GenuineIntel":
        assert record["mkl_branch"] == "AVX2" and numerics.problems(record) == []


def test_pins_cannot_change_once_torch_is_imported():
    assert "torch" in sys.modules
    numerics.pin("avx2")  # what is in force: nothing to do
    with pytest.raises(ConfigError, match="cpu_numerics: native cannot take effect in this process: torch was imported"):
        numerics.pin("native")
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"


def test_native_removes_the_pins_for_a_process_started_from_a_pinned_one():
    code = ("import os; from ptbench import numerics; numerics.pin('native'); "
            "print(sorted(k for k in numerics.PINNED_VARIABLES if k in os.environ))")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "[]"


def test_pin_from_params_reads_the_mode_and_leaves_invalid_ones_to_validation(tmp_path):
    (tmp_path / "params.yaml").write_text("runtime: {cpu_numerics: fastest}\n")
    numerics.pin_from_params(tmp_path / "params.yaml")  # no error here: validation names the key
    numerics.pin_from_params(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"runtime.cpu_numerics: 'fastest' is not one of avx2, native"):
        numerics.pin("fastest")


def test_params_validation_names_the_key_and_the_allowed_values(raw_params):
    raw_params["runtime"]["cpu_numerics"] = "avx512"
    with pytest.raises(ConfigError, match="runtime.cpu_numerics.*avx2.*native"):
        parse_params(raw_params)
    del raw_params["runtime"]["cpu_numerics"]
    with pytest.raises(ConfigError, match="runtime: missing key.*cpu_numerics"):
        parse_params(raw_params)


INTEL = {"machine": "x86_64", "cpu": "Intel(R) Xeon(R)", "cpu_vendor": "GenuineIntel", "cpu_numerics": "avx2",
         "aten_capability": "AVX2", "mkl_branch": "AVX2", "onednn_max_isa": "AVX2"}


@pytest.mark.parametrize("change, says", [
    ({}, None),
    ({"cpu_vendor": "AuthenticAMD", "mkl_branch": "AUTO"}, "MKL runs its AUTO branch here, not AVX2"),
    ({"aten_capability": "DEFAULT", "mkl_branch": "AUTO"}, "lacks AVX2"),
    ({"machine": "arm64", "mkl_branch": "none", "aten_capability": "DEFAULT"}, "this is arm64"),
    ({"cpu_numerics": "native", "aten_capability": "AVX512", "mkl_branch": "OFF"}, None),
])
def test_a_cpu_that_cannot_compute_the_pinned_bits_gets_one_line_each(change, says):
    lines = numerics.problems({**INTEL, **change})
    if says is None:
        assert lines == []
    else:
        assert len(lines) == 1 and says in lines[0] and "\n" not in lines[0]


def test_every_result_records_its_platform():
    from ptbench.run.provenance import provenance

    recorded = json.loads(json.dumps(provenance()))["platform"]
    assert set(recorded) >= {"cpu", "cpu_numerics", "aten_capability", "mkl_branch", "mkl", "onednn", "torch"}
