"""ptbench: a reproducibility benchmark suite for soft-prompt tuning."""
__version__ = "0.1.0"
