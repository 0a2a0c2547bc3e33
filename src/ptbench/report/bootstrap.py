"""Bootstrap over the test set: percentile intervals and a paired test between two methods.

A resample draws test *units* with replacement: examples, or whole questions for a task with
groups (MultiRC: a question's answer rows stay together, and a question drawn twice counts twice).
The draws depend only on (seed, number of units), so every method evaluated on the same test set
gets the same resamples: two methods' stored replicate scores are then paired, and the paired
test needs no predictions at table time. Scores are recomputed with ``compute_metric``; for the
metrics that are a mean over examples, the per-example scores come from ``compute_metric`` on
each example alone, and a resample's score is their mean over the drawn examples (identical to
``compute_metric`` on the resample, and a thousand times cheaper on SQuAD-sized test sets).
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from ptbench.eval.metrics import compute_metric

# Metrics whose value on a set is the mean of their value on each example (tests check this).
MEAN_OVER_EXAMPLES = frozenset({"accuracy", "squad_em", "squad_f1", "squad_em_official", "squad_f1_official"})


def resampling_units(n: int, groups: Sequence[Hashable] | None) -> list[np.ndarray]:
    """The resampled units: one example each, or the rows of one group (first-seen order)."""
    if groups is None:
        return [np.array([i]) for i in range(n)]
    members: dict[Hashable, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    return [np.array(rows) for rows in members.values()]


def draws(n_units: int, iterations: int, seed: int):
    """Yield ``iterations`` resamples (unit indices); the same for every method on a test set."""
    rng = np.random.default_rng([seed, n_units])
    for _ in range(iterations):
        yield rng.integers(0, n_units, size=n_units)


def replicate_scores(metric: str, per_seed_predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                     groups: Sequence[Hashable] | None, iterations: int, seed: int,
                     classes: Sequence[str] | None = None) -> np.ndarray:
    """One score per resample: the metric on the resampled test set, averaged over seeds (``classes``:
    the task's output classes, for the metrics over the whole class set)."""
    units = resampling_units(len(references), groups)
    per_example = None
    if metric in MEAN_OVER_EXAMPLES:
        per_example = np.array([[compute_metric(metric, [p], [r]) for p, r in zip(predictions, references)]
                                for predictions in per_seed_predictions])
    out = np.empty(iterations)
    for b, drawn in enumerate(draws(len(units), iterations, seed)):
        rows = drawn if groups is None else np.concatenate([units[u] for u in drawn])  # one unit = one example
        if per_example is not None:
            out[b] = per_example[:, rows].mean(axis=1).mean()
            continue
        # a drawn unit gets its draw position as group key, so a question drawn twice counts twice
        new_groups = None if groups is None else np.concatenate([[j] * len(units[u]) for j, u in enumerate(drawn)])
        refs = [references[i] for i in rows]
        out[b] = np.mean([compute_metric(metric, [predictions[i] for i in rows], refs,
                                         None if new_groups is None else new_groups.tolist(), classes)
                          for predictions in per_seed_predictions])
    return out


def percentile_interval(replicates: Sequence[float], confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(replicates, dtype=float), [tail, 1 - tail])
    return float(low), float(high)


def paired_p_value(observed_a: float, observed_b: float, replicates_a: Sequence[float],
                   replicates_b: Sequence[float]) -> float:
    """Two-sided paired bootstrap test of "A and B score the same" on shared resamples.

    The replicate differences, shifted to mean zero under the null (centred on the observed
    difference), are compared with the observed difference (Efron & Tibshirani 1993, 16.4;
    Berg-Kirkpatrick et al. 2012); +1 in numerator and denominator keeps p > 0."""
    a, b = np.asarray(replicates_a, dtype=float), np.asarray(replicates_b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired test needs replicates on the same resamples, got {a.size} and {b.size}")
    observed = observed_a - observed_b
    extreme = np.abs((a - b) - observed) >= abs(observed) - 1e-12
    return float((extreme.sum() + 1) / (a.size + 1))
