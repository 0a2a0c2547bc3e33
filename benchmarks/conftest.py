"""Benchmarks run on config-initialised backbones (no weights needed), on the CPU, offline."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

from ptbench import numerics  # noqa: E402

# The CPU kernels the pipeline runs (params.yaml's runtime.cpu_numerics), set before torch is imported;
# test_numerics_cost.py compares both settings in processes of their own.
numerics.pin_from_params(Path(__file__).resolve().parents[1] / "params.yaml")
