"""The report's knobs (params.yaml ``report:``): bootstrap size and seed, interval level, dagger threshold.

``ReportSettings`` is the dataclass params.yaml's ``report`` section parses into. Until the params
loader knows the section, ``report_settings`` accepts whatever a caller has: the params object
(with or without a ``report`` attribute), a plain mapping, a ``ReportSettings`` or nothing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ptbench.errors import ConfigError, reject_unknown_keys, require


@dataclass(frozen=True)
class ReportSettings:
    # Bootstrap over the test set: iterations and the seed of the resampling. Every method draws
    # the same resamples for a task (same seed, same test set), which is what makes the paired
    # test possible from the stored replicates alone.
    bootstrap_iterations: int = 1000
    bootstrap_seed: int = 0
    confidence: float = 0.95  # level of the percentile interval
    # A cell gets a dagger when any seed's share of invalid outputs (percent) exceeds this, as
    # seed 004 marks runs that "don't converge to always generate valid labels", or a seed diverged.
    invalid_threshold: float = 10.0

    def __post_init__(self) -> None:
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

    def bootstrap_key(self) -> dict[str, Any]:
        """What two rows files must share for their replicates to be paired."""
        return {"iterations": self.bootstrap_iterations, "seed": self.bootstrap_seed}


def report_settings(source: Any = None) -> ReportSettings:
    """Settings from a params object, a ``report`` mapping, a ReportSettings, or the defaults."""
    if isinstance(source, ReportSettings):
        return source
    if source is None:
        return ReportSettings()
    if hasattr(source, "bootstrap_iterations"):  # the params loader's own report dataclass
        source = dataclasses.asdict(source)
    if not isinstance(source, dict):  # a params object: its report section, if it has one
        section = getattr(source, "report", None)
        if section is None:
            section = (getattr(source, "raw", None) or {}).get("report")
        return report_settings(section)
    reject_unknown_keys("report", source, (f.name for f in dataclasses.fields(ReportSettings)))
    try:
        return ReportSettings(**source)
    except ConfigError as exc:
        raise ConfigError(f"report.{exc}") from None
