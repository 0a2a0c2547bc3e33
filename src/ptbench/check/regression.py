"""The smoke as a regression check: every metric a run produced against the committed one.

On the CPU, with ``runtime.cpu_threads`` and ``runtime.cpu_numerics`` pinned, the smoke is deterministic:
the same commit gives the same numbers on any Intel x86-64 CPU with AVX2, idle or busy, which the
platform fingerprint checks first (``ptbench.fingerprint``). So CI re-runs the smoke stages
with ``dvc repro`` in a scratch copy of the repository and compares, exactly, each metric file the
repository commits (the DVC metrics: ``cache: false``, tracked by git) with the one it produced.
A change in any method's forward or prompt moves that method's cells and fails the check.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The committed metric files (git-tracked DVC metrics), relative to the repository root.
METRIC_GLOBS = ("results/metrics/**/*.json", "results/knobs/metrics/**/*.json", "results/variant/*/metrics/*.json",
                "results/mirror.json")
# What a result's numbers are; the rest of a metrics file (provenance: commit, package versions,
# machine) describes how it was made and may differ between two equal runs.
COMPARED_KEYS = ("metrics", "per_seed", "trainable_parameters", "stored_parameters", "test_examples",
                 "pretrain_final_loss", "probe_accuracy_with_prefix", "probe_accuracy_without_prefix")
UPDATE_COMMAND = "make smoke && git add results dvc.lock pipelines && git commit"


@dataclass(frozen=True)
class Moved:
    path: str  # repository-relative metric file
    committed: object  # None: the file is new
    observed: object  # None: the run did not produce it

    def line(self) -> str:
        if self.observed is None:
            return f"{self.path}: committed but not produced"
        if self.committed is None:
            return f"{self.path}: produced but not committed"
        return f"{self.path}: committed {_short(self.committed)} -> now {_short(self.observed)}"


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def compared_part(payload: dict) -> dict:
    """A metrics file's numbers (COMPARED_KEYS), without its provenance."""
    return {key: payload[key] for key in COMPARED_KEYS if key in payload}


def metric_files(root: Path) -> dict[str, dict]:
    """Repository-relative path -> the compared part of every metric file under ``root``."""
    found = {}
    for pattern in METRIC_GLOBS:
        for path in sorted(Path(root).glob(pattern)):
            found[path.relative_to(root).as_posix()] = compared_part(json.loads(path.read_text()))
    return found


def moved_cells(committed_root: Path, observed_root: Path) -> list[Moved]:
    """Every metric file whose numbers differ between the committed tree and a fresh run (or that
    only one of them has), by path."""
    committed, observed = metric_files(committed_root), metric_files(observed_root)
    moved = []
    for path in sorted(set(committed) | set(observed)):
        before, after = committed.get(path), observed.get(path)
        if before != after:
            if before is not None and after is not None:
                before, after = _difference(before, after)
            moved.append(Moved(path, before, after))
    return moved


def _difference(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ (the cells that moved, not the whole file)."""
    keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def report(moved: list[Moved]) -> str:
    """What a failing check prints: the cells that moved and how to accept them on purpose."""
    lines = [f"{len(moved)} smoke metric file(s) differ from the committed ones:"]
    lines += [f"  {m.line()}" for m in moved]
    lines.append(f"If the change is intended, update the baseline: {UPDATE_COMMAND}")
    return "\n".join(lines)
