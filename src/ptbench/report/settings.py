"""The report's knobs, params.yaml ``report:`` (docs/report.md): bootstrap size and seed, interval
level, dagger threshold, and which of our backbones may stand in for a paper's in its tables.

``ReportSettings`` is what that section parses into; every key is required (params.yaml is the one
place the values live).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ptbench.errors import require


@dataclass(frozen=True)
class ReportSettings:
    # Bootstrap over the test set: iterations and the seed of the resampling. Every method draws
    # the same resamples for a task (same seed, same test set), which is what makes the paired
    # test possible from the stored replicates alone.
    bootstrap_iterations: int
    bootstrap_seed: int
    confidence: float  # level of the percentile interval
    # A cell gets a dagger when any seed's share of invalid outputs (percent) exceeds this, as
    # seed 004 marks runs that "don't converge to always generate valid labels", or a seed diverged.
    invalid_threshold: float
    # {our backbone: [paper backbones]}: our results on the first fill the paper-layout tables'
    # columns of the others, each such value marked (STAND_IN). The smoke's tiny T5 stands in for
    # the papers' backbones so that its tables exercise every cell; {} in the paper profiles.
    stand_in: dict[str, list[str]]

    def __post_init__(self) -> None:
        from ptbench.backbones import get_backbone

        for key in ("bootstrap_iterations", "bootstrap_seed"):
            value = getattr(self, key)
            minimum = 0 if key == "bootstrap_seed" else 1
            require(isinstance(value, int) and not isinstance(value, bool) and value >= minimum, key,
                    f"must be an integer >= {minimum}, got {value!r}")
        require(isinstance(self.confidence, float) and 0 < self.confidence < 1, "confidence",
                f"must be a number strictly between 0 and 1, got {self.confidence!r}")
        require(isinstance(self.invalid_threshold, (int, float)) and not isinstance(self.invalid_threshold, bool)
                and 0 <= self.invalid_threshold <= 100, "invalid_threshold",
                f"must be a percentage in [0, 100], got {self.invalid_threshold!r}")
        require(isinstance(self.stand_in, dict) and all(isinstance(v, list) for v in self.stand_in.values()),
                "stand_in", "must map our backbone to a list of paper backbones ({} for none)")
        for ours, papers in self.stand_in.items():
            for name in (ours, *papers):
                get_backbone(name)
            require(ours not in papers, "stand_in", f"'{ours}' cannot stand in for itself")

    def bootstrap_key(self) -> dict[str, Any]:
        """What two rows files must share for their replicates to be paired."""
        return {"iterations": self.bootstrap_iterations, "seed": self.bootstrap_seed}
