"""Benchmarks run on config-initialised backbones (no weights needed), on the CPU, offline."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
