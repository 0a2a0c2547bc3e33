"""Selection protocols: a reading of the cached runs, never a re-run (docs/protocols.md).

A rule picks, for one (backbone, method, task), a configuration among the runs of it (the candidates), a
checkpoint of each seed's run, and how the seeds combine:

- ``checkpoint``: ``validation`` (the checkpoint the run kept, best on the validation split: the test score
  the evaluate stage wrote) | ``test`` (the peak of the run's learning curve on the test split, the set the
  score is reported on: ``train.test_curve``) | ``last`` (the curve's last point);
- ``configuration``: ``given`` (the profile's own configuration: the grid run) | ``validation`` (the candidate
  with the best mean validation score) | ``test`` (the best reported score);
- ``seeds``: ``mean`` (every method over the same number of seeds: the first n of each, n the fewest any
  method of the comparison has) | ``best`` (the best seed's score).

``selection.paper`` in params.yaml is what the profile's seed did; ``FAIR`` is fixed: the validation split
(disjoint from the reported test split by the split rules) chooses both the checkpoint and the configuration,
among the method's equal-budget trials (``tuning``; the given configuration where the task has none), and
every method is averaged over the same seeds, with the std and the bootstrap interval.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ptbench.errors import require, require_choice

CHECKPOINTS = ("validation", "test", "last")
CONFIGURATIONS = ("given", "validation", "test")
SEED_RULES = ("mean", "best")


@dataclass(frozen=True)
class SelectionRule:
    checkpoint: str
    configuration: str
    seeds: str

    def __post_init__(self) -> None:
        require_choice("checkpoint", self.checkpoint, CHECKPOINTS)
        require_choice("configuration", self.configuration, CONFIGURATIONS)
        require_choice("seeds", self.seeds, SEED_RULES)

    def text(self) -> str:
        return f"checkpoint: {self.checkpoint}, configuration: {self.configuration}, seeds: {self.seeds}"


FAIR = SelectionRule("validation", "validation", "mean")


def parse_selection(raw: Any) -> SelectionRule:
    """params.yaml ``selection: {paper: {checkpoint, configuration, seeds}}``: the paper protocol's rule."""
    from ptbench.config import _section

    require(isinstance(raw, dict) and set(raw) == {"paper"}, "selection",
            "must hold paper: {checkpoint, configuration, seeds} (the fair rule is fixed: docs/protocols.md)")
    return _section(SelectionRule, "selection.paper", raw["paper"])


def _curve(row: dict[str, Any], seed: str, name: str) -> list[float]:
    points = (row.get("history") or {}).get(seed, {}).get(name) or []
    return [value for _, value in sorted(points)]


def seed_scores(row: dict[str, Any], checkpoint: str) -> dict[str, tuple[float | None, float | None]]:
    """Per seed of ``row``: (its best validation score, its test score at ``checkpoint``)."""
    primary = row["primary_metric"]
    reported = (row["metrics"].get(primary) or {}).get("per_seed") or []
    out = {}
    for i, seed in enumerate(row["seeds"]):
        validation = _curve(row, seed, f"validation_{primary}")
        curve = _curve(row, seed, f"test_{primary}")
        if checkpoint == "validation":
            test = reported[i] if i < len(reported) else None
        else:
            test = (max(curve) if checkpoint == "test" else curve[-1]) if curve else None
        out[seed] = (max(validation) if validation else None, test)
    return out


@dataclass
class Selected:
    """What a rule chose for one (backbone, method, task) and the score it reports."""

    rule: SelectionRule
    row: dict[str, Any]  # the chosen candidate's row
    score: float
    std: float | None  # over the seeds used (seeds: mean)
    seeds: list[str]
    candidates: int
    ci: tuple[float, float] | None = None  # the bootstrap interval, when it covers exactly these runs
    replicates: list[float] | None = None
    notes: list[str] = field(default_factory=list)


def candidate_score(row: dict[str, Any], rule: SelectionRule,
                    n_seeds: int) -> tuple[float | None, float | None, float | None, list[str]]:
    """(reported score, its std, mean validation score, seeds used) of one candidate under ``rule``."""
    import statistics  # here: params parsing imports this module, and a stage's first imports stay few (run/zygote.py)
    scores = seed_scores(row, rule.checkpoint)
    used = list(scores)[:n_seeds]
    tests = [scores[s][1] for s in used]
    validations = [scores[s][0] for s in used]
    validation = statistics.fmean(validations) if used and None not in validations else None
    if not used or None in tests:
        return None, None, validation, used
    if rule.seeds == "best":
        best = max(range(len(used)), key=lambda i: tests[i])
        return tests[best], None, validations[best], [used[best]]
    return statistics.fmean(tests), statistics.stdev(tests) if len(tests) > 1 else None, validation, used


def select(candidates: list[dict[str, Any]], given: dict[str, Any] | None, rule: SelectionRule,
           n_seeds: int) -> Selected | None:
    """``rule`` applied to one cell's candidate rows (``given``: the profile's own run); None when the rule
    cannot be read from these runs (no test curve for a peak, no validation history, no given run)."""
    pool = [given] if rule.configuration == "given" else candidates
    scored = []
    for row in pool:
        if row is None:
            continue
        score, std, validation, used = candidate_score(row, rule, n_seeds)
        key = validation if rule.configuration == "validation" else score
        if score is not None and key is not None:
            scored.append((key, score, std, used, row))
    if not scored:
        return None
    # ties: the first candidate in the given order (the draw order of the trials), a stable choice
    key, score, std, used, row = max(scored, key=lambda item: item[0])
    chosen = Selected(rule, row, score, std, used, len(pool))
    summary = row["metrics"].get(row["primary_metric"]) or {}
    if rule.checkpoint == "validation" and rule.seeds == "mean" and used == list(row["seeds"]):
        chosen.ci = tuple(summary["ci"]) if summary.get("ci") else None
        chosen.replicates = summary.get("replicates")
    elif rule.checkpoint == "validation" and rule.seeds == "mean":
        chosen.notes.append(f"{len(used)} of {len(row['seeds'])} seeds: no interval (it covers every seed)")
    return chosen


def config_key(row: dict[str, Any]) -> str:
    return json.dumps(row.get("config"), sort_keys=True, default=str)


def changed_knobs(row: dict[str, Any], given: dict[str, Any] | None) -> str:
    """The chosen configuration as its knobs that differ from the given one (``given``: the same)."""
    if given is None:
        return "?"
    mine, theirs = row.get("config") or {}, given.get("config") or {}
    changed = {k: v for k, v in sorted(mine.items()) if theirs.get(k) != v}
    return ",".join(f"{k}={v}" for k, v in changed.items()) or "given"
