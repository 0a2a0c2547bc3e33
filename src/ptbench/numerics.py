"""The CPU's numeric platform: which kernels compute a run's floating-point bits, pinned or not.

Pinning torch's threads (``runtime.cpu_threads``) makes a CPU run independent of the machine's load,
not of the machine: three libraries inside torch pick their kernels by what the CPU offers, and two
kernels of one operation round differently. Measured with torch 2.13 (docs/reliability.md: Numerics):
- ATen's vectorised kernels (softmax, layer norms, reductions): ``ATEN_CPU_CAPABILITY`` (AVX512 where
  the CPU has it, else AVX2, else DEFAULT);
- MKL (every fp32 matrix product, and element-wise maths through VML such as AdamW's sqrt): without
  its conditional numerical reproducibility (``MKL_CBWR``), its code branch and blocking follow the
  CPU model and cache sizes; two Intel AVX-512 machines of this project moved 82 committed smoke
  results that way;
- oneDNN (GELU, bf16 kernels): its JIT emits code for the CPU's best ISA (``ONEDNN_MAX_CPU_ISA``).
All three read their setting once, when torch first computes, so ``pin`` runs before torch is imported.

``runtime.cpu_numerics``: ``avx2`` pins all three at the AVX2 level every x86-64 CPU of the last decade
has; ``native`` lets each use the CPU's best (faster on AVX-512 machines; bits then differ between CPU
models). MKL honours a reproducibility branch only on Intel CPUs (Intel's documentation; on an emulated
AMD EPYC it reports AUTO): on AMD, ARM or a CPU without AVX2, ``avx2`` cannot give the baseline's bits,
and ``problems`` says so in one line each, and the platform fingerprint (``ptbench.fingerprint``) tells
that machine's regression check.
"""
from __future__ import annotations

import os
import platform
import re
import sys

from ptbench.errors import ConfigError

CPU_NUMERICS = ("avx2", "native")
# What each mode sets in the environment (read by torch's libraries at their first computation, and
# inherited by every process a stage starts). ``native`` removes them: the CPU's best kernels.
PINS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "DNNL_MAX_CPU_ISA": "AVX2"},  # DNNL_: the name older oneDNN releases read
    "native": {},
}
PINNED_VARIABLES = sorted({name for pins in PINS.values() for name in pins})
# mkl_cbwr_get's branch codes (mkl_service.h)
MKL_BRANCHES = {0: "OFF", 1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2",
                9: "AVX", 10: "AVX2", 11: "AVX512_MIC", 12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1"}


def pin(mode: str) -> None:
    """Set ``mode``'s environment for this process and the ones it starts. Before torch is imported it
    takes effect; after, it only may confirm what is in force: a change then raises (the kernels were
    chosen already, and a run would silently compute under the other setting)."""
    if mode not in PINS:
        raise ConfigError(f"runtime.cpu_numerics: {mode!r} is not one of {', '.join(CPU_NUMERICS)}")
    wanted = {name: PINS[mode].get(name) for name in PINNED_VARIABLES}
    current = {name: os.environ.get(name) for name in PINNED_VARIABLES}
    if wanted == current:
        return
    if "torch" in sys.modules:
        raise ConfigError(f"runtime.cpu_numerics: {mode} cannot take effect in this process: torch was imported "
                          f"under {mode_of(current)} ({_describe(current)}); set it before importing torch")
    for name, value in wanted.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pin_from_params(path) -> None:
    """``pin`` with the ``runtime.cpu_numerics`` of a params file, read as plain YAML: validating params
    imports the methods and so torch, which must come after the pins. A missing file or an invalid
    value is left to the validation that follows (it names the key)."""
    import yaml

    try:
        with open(path) as handle:
            mode = (yaml.safe_load(handle) or {}).get("runtime", {}).get("cpu_numerics")
    except (OSError, yaml.YAMLError, AttributeError):
        return
    if mode in PINS:
        pin(mode)


def mode_of(environment: dict[str, str | None]) -> str:
    for mode, pins in PINS.items():
        if all(environment.get(name) == pins.get(name) for name in PINNED_VARIABLES):
            return mode
    return "custom"


def _describe(environment: dict[str, str | None]) -> str:
    return ", ".join(f"{k}={v}" for k, v in environment.items() if v is not None) or "no pins"


def _cpuinfo(field: str) -> str | None:
    """A field of /proc/cpuinfo's first processor (Linux), or None."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux; the platform's answer elsewhere)."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_vendor() -> str:
    return _cpuinfo("vendor_id") or "unknown"


def _mkl_branch() -> str:
    """The MKL code branch in force (``mkl_cbwr_get``, exported by torch's CPU library), or ``none``
    (a torch without MKL: ARM, some CUDA builds) / ``unknown``."""
    import ctypes

    import torch

    if not torch.backends.mkl.is_available():
        return "none"
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib", "torch_cpu.dll"):
        path = os.path.join(os.path.dirname(torch.__file__), "lib", name)
        if os.path.exists(path):
            try:
                library = ctypes.CDLL(path)
                return MKL_BRANCHES.get(library.mkl_serv_cbwr_get(1), "unknown")  # 1: MKL_CBWR_BRANCH
            except (OSError, AttributeError):
                return "unknown"
    return "unknown"


def _library_versions() -> dict[str, str]:
    import torch

    shown = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([\w.\-]+)", shown)
    onednn = re.search(r"MKL-DNN v([\w.]+)", shown)
    return {"mkl": mkl.group(1) if mkl else "none", "onednn": onednn.group(1) if onednn else "none"}


def in_force() -> dict[str, object]:
    """What computes this process's CPU bits: the machine, the pins, and what the libraries actually
    chose (imports torch). Recorded in every result's provenance, runs.csv and the cost table."""
    import torch

    return {"machine": platform.machine(), "cpu": cpu_model(), "cpu_vendor": cpu_vendor(),
            "cpu_numerics": mode_of({name: os.environ.get(name) for name in PINNED_VARIABLES}),
            "aten_capability": torch.backends.cpu.get_cpu_capability(), "mkl_branch": _mkl_branch(),
            "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "native"), "threads": torch.get_num_threads(),
            "torch": str(torch.__version__),  # a TorchVersion: not a plain str to restricted unpicklers
            **_library_versions()}


def problems(record: dict[str, str]) -> list[str]:
    """One line for each way this machine cannot compute the ``avx2`` pins' bits (empty under
    ``native``, which promises nothing across machines)."""
    if record["cpu_numerics"] != "avx2":
        return []
    if record["machine"] not in ("x86_64", "AMD64"):
        return [f"runtime.cpu_numerics avx2 pins x86-64 kernels; this is {record['machine']}, whose CPU results are "
                f"not bit-equal to an x86-64 baseline"]
    lines = []
    if record["aten_capability"] != "AVX2":
        lines.append(f"this CPU ({record['cpu']}) runs ATen's {record['aten_capability']} kernels, not AVX2: it lacks "
                     f"AVX2, so its results are not bit-equal to an AVX2 baseline")
    elif record["mkl_branch"] not in ("AVX2", "none"):
        lines.append(f"MKL runs its {record['mkl_branch']} branch here, not AVX2 (MKL keeps a reproducibility branch "
                     f"only on Intel CPUs; this one is {record['cpu_vendor']}): matrix products are not bit-equal to "
                     f"an Intel baseline")
    return lines


def warn_problems(record: dict[str, str] | None = None) -> None:
    for line in problems(record or in_force()):
        print(f"ptbench: warning: {line}", file=sys.stderr)
