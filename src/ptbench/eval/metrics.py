"""Metrics on generated strings, in percent, following the reference code (see docs/tasks.md).

Each metric takes the predictions and, per example, the list of reference strings
(classification tasks have exactly one). Arithmetic is delegated to scikit-learn / scipy.

Registries:
  METRICS          name -> metric(predictions, references)
  GROUPED_METRICS  name -> metric(predictions, references, groups), for metrics that score
                   groups of examples (MultiRC EM: one group per question)
  METRIC_TARGETS   name -> the target kinds ("label", "regression", "answers") it fits
Callers that may meet a grouped metric go through compute_metric(); metric_names() lists all.
"""
from __future__ import annotations

import collections
import re
import string
from collections.abc import Callable, Hashable, Sequence

import numpy as np

Metric = Callable[[Sequence[str], Sequence[Sequence[str]]], float]
GroupedMetric = Callable[[Sequence[str], Sequence[Sequence[str]], Sequence[Hashable]], float]


def accuracy(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Exact string match; an invalid output counts as wrong."""
    return 100.0 * float(np.mean([p.strip() == refs[0] for p, refs in zip(predictions, references)]))


def binary_f1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Binary F1 of label "1"; an output other than "0"/"1" is flipped to the wrong class."""
    gold = [int(refs[0]) for refs in references]
    pred = [int(p.strip()) if p.strip() in ("0", "1") else 1 - g for p, g in zip(predictions, gold)]
    from sklearn.metrics import f1_score  # late: sklearn/scipy are ~0.5 s of every stage's start

    return 100.0 * float(f1_score(gold, pred, pos_label=1, zero_division=0))


def macro_f1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Unweighted mean of the per-class F1 over the gold label strings present (CB).

    ATTEMPT's `mean_multiclass_f1(num_classes=3)`: sklearn macro F1 over the classes. Here the
    class set is the sorted set of gold strings, so a class absent from the evaluated gold is
    not averaged in (ATTEMPT's fixed `range(3)` would average in a 0 for it). A prediction
    outside that set (invalid output, or a class absent from the gold) is mapped to a sentinel
    class outside `labels=`: it is a false negative for its gold class and a false positive
    for no class, i.e. it only lowers recall. A valid wrong prediction lowers both.
    """
    gold = [refs[0] for refs in references]
    labels = sorted(set(gold))
    sentinel = "<invalid>"
    while sentinel in labels:
        sentinel += "_"
    pred = [p.strip() if p.strip() in labels else sentinel for p in predictions]
    from sklearn.metrics import f1_score

    return 100.0 * float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))


def multirc_f1a(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """MultiRC F1a: binary F1 over all answer rows (one row per question-answer pair).

    ATTEMPT's `multirc_f1_over_all_answers`, which is `f1_score_with_invalid` on the rows:
    identical to binary_f1, including flipping invalid outputs to the wrong class.
    """
    return binary_f1(predictions, references)


def multirc_em(predictions: Sequence[str], references: Sequence[Sequence[str]],
               groups: Sequence[Hashable]) -> float:
    """MultiRC EM: percent of groups (questions) whose every row is predicted exactly right.

    ATTEMPT's `mean_group_metric(exact_match)`: rows are grouped by `groups[i]` (any hashable
    key, e.g. the question index) and each group counts once, whatever its size. A row is
    right when the stripped output equals its reference string; an invalid output is wrong.
    Scores are only comparable to the paper when every group is complete.
    """
    if not len(predictions) == len(references) == len(groups):
        raise ValueError(f"multirc_em: {len(predictions)} predictions, {len(references)} references, "
                         f"{len(groups)} groups")
    correct: dict[Hashable, bool] = {}
    for p, refs, g in zip(predictions, references, groups):
        correct[g] = correct.get(g, True) and p.strip() == refs[0]
    return 100.0 * float(np.mean(list(correct.values()))) if correct else 0.0


def matthews(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Matthews correlation on the raw strings, as the reference code (no guard for invalid)."""
    from sklearn.metrics import matthews_corrcoef

    return 100.0 * float(matthews_corrcoef([r[0] for r in references], [p.strip() for p in predictions]))


def _floats(predictions: Sequence[str]) -> list[float]:
    out = []
    for p in predictions:
        try:
            out.append(float(p.strip()))
        except ValueError:
            out.append(-1.0)  # reference code: unparsable output scores as -1
    return out


def _correlation(fn, predictions, references) -> float:
    value = fn(_floats(predictions), [float(r[0]) for r in references])[0]
    return 0.0 if np.isnan(value) else 100.0 * float(value)


def pearson(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    from scipy import stats

    return _correlation(stats.pearsonr, predictions, references)


def spearman(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    from scipy import stats

    return _correlation(stats.spearmanr, predictions, references)


def normalize_answer(text: str) -> str:
    """T5's SQuAD normalisation: lowercase, drop punctuation and articles, fold whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    common = collections.Counter(pred) & collections.Counter(ref)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_em(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    return 100.0 * float(np.mean([max(normalize_answer(p) == normalize_answer(r) for r in refs)
                                  for p, refs in zip(predictions, references)]))


def squad_f1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    return 100.0 * float(np.mean([max(_token_f1(p, r) for r in refs)
                                  for p, refs in zip(predictions, references)]))


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "binary_f1": binary_f1,
    "macro_f1": macro_f1,
    "matthews": matthews,
    "multirc_f1a": multirc_f1a,
    "pearson": pearson,
    "spearman": spearman,
    "squad_em": squad_em,
    "squad_f1": squad_f1,
}

GROUPED_METRICS: dict[str, GroupedMetric] = {
    "multirc_em": multirc_em,
}

METRIC_TARGET_KINDS = frozenset({"label", "regression", "answers"})
"""label: closed verbalizer strings; regression: numeric strings; answers: free-form answers."""

_LABEL, _REGRESSION, _ANSWERS = (frozenset({kind}) for kind in ("label", "regression", "answers"))
METRIC_TARGETS: dict[str, frozenset[str]] = {
    "accuracy": _LABEL,
    "binary_f1": _LABEL,
    "macro_f1": _LABEL,
    "matthews": _LABEL,
    "multirc_f1a": _LABEL,
    "multirc_em": _LABEL,
    "pearson": _REGRESSION,
    "spearman": _REGRESSION,
    "squad_em": _ANSWERS,
    "squad_f1": _ANSWERS,
}


def metric_names() -> list[str]:
    """Every metric compute_metric() accepts, plain and grouped, sorted."""
    return sorted({*METRICS, *GROUPED_METRICS})


def compute_metric(name: str, predictions: Sequence[str], references: Sequence[Sequence[str]],
                   groups: Sequence[Hashable] | None = None) -> float:
    """Score `predictions` with metric `name` (percent).

    `groups` (one hashable key per example) is required by GROUPED_METRICS and ignored by the
    plain METRICS, so a task with groups can pass them for all its metrics.
    Raises ValueError for an unknown name, a grouped metric without groups, or inputs of
    different lengths.
    """
    if name not in METRICS and name not in GROUPED_METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(metric_names())}")
    if len(predictions) != len(references):
        raise ValueError(f"{name}: {len(predictions)} predictions but {len(references)} references")
    if groups is not None and len(groups) != len(predictions):
        raise ValueError(f"{name}: {len(predictions)} predictions but {len(groups)} groups")
    plain = METRICS.get(name)
    if plain is not None:
        return plain(predictions, references)
    if groups is None:
        raise ValueError(f"metric {name!r} needs per-example groups (groups=None given)")
    return GROUPED_METRICS[name](predictions, references, groups)


def invalid_rate(predictions: Sequence[str], choices: Sequence[str] | None) -> float:
    """Share (percent) of outputs outside the verbalizer; free-form tasks: empty outputs."""
    if choices is None:
        return 100.0 * float(np.mean([not p.strip() for p in predictions])) if predictions else 0.0
    allowed = set(choices)
    return 100.0 * float(np.mean([p.strip() not in allowed for p in predictions])) if predictions else 0.0
