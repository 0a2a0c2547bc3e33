"""Metrics on generated strings, in percent, following the reference code (see docs/tasks.md).

Each metric takes the predictions and, per example, the list of reference strings
(classification tasks have exactly one). Arithmetic is delegated to scikit-learn / scipy.

Registries:
  METRICS          name -> metric(predictions, references)
  GROUPED_METRICS  name -> metric(predictions, references, groups), for metrics that score
                   groups of examples (MultiRC EM: one group per question)
  CLASS_METRICS    name -> metric(predictions, references, classes), for metrics over the task's
                   whole class set (CB macro F1 as the reference code: a class absent from the gold counts)
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
ClassMetric = Callable[[Sequence[str], Sequence[Sequence[str]], Sequence[str]], float]


def accuracy(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Exact string match; an invalid output counts as wrong."""
    return 100.0 * float(np.mean([p.strip() == refs[0] for p, refs in zip(predictions, references)]))


def binary_f1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Binary F1 of label "1"; an output other than "0"/"1" is flipped to the wrong class."""
    gold = [int(refs[0]) for refs in references]
    pred = [int(p.strip()) if p.strip() in ("0", "1") else 1 - g for p, g in zip(predictions, gold)]
    from sklearn.metrics import f1_score  # late: sklearn/scipy are ~0.5 s of every stage's start

    return 100.0 * float(f1_score(gold, pred, pos_label=1, zero_division=0))


def macro_f1(predictions: Sequence[str], references: Sequence[Sequence[str]], classes: Sequence[str]) -> float:
    """Unweighted mean of the per-class F1 over the task's classes (CB), as the reference code.

    DePT, ATTEMPT and T5 score CB with ``mean_multiclass_f1(num_classes=3)``: sklearn's macro
    ``fbeta_score(beta=1, labels=range(3))`` on the raw output strings. Every class of the task is
    averaged, so a class absent from the gold scores F1 0 (a test half without "neutral" averages in
    a 0); an output outside the classes (invalid) is a class of its own outside ``labels``: a false
    negative for its gold class, a false positive for none. ``classes``: the task's output classes
    (``TaskSpec.choices``). ``macro_f1_official`` is the official convention.
    """
    gold = [refs[0] for refs in references]
    labels = list(classes)
    from sklearn.metrics import f1_score  # late: sklearn/scipy are ~0.5 s of every stage's start

    return 100.0 * float(f1_score(gold, [p.strip() for p in predictions], labels=labels, average="macro",
                                  zero_division=0))


def macro_f1_official(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """CB's F1 as the official scorer (HF ``evaluate``'s super_glue ``cb``: sklearn ``f1_score(average=
    "macro")`` without ``labels``): the mean over the classes present in the gold or the predictions;
    every invalid output is one extra class (the scorer takes integer labels, an invalid output maps
    to -1), whose F1 is 0."""
    gold = [refs[0] for refs in references]
    classes = set(gold)
    invalid = "<invalid>"
    while invalid in classes:
        invalid += "_"
    outputs = [p.strip() for p in predictions]
    valid = classes | {o for o in outputs if o.isdigit() or o.lstrip("-").isdigit()}
    pred = [o if o in valid else invalid for o in outputs]
    from sklearn.metrics import f1_score

    return 100.0 * float(f1_score(gold, pred, average="macro", zero_division=0))


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


def normalize_answer(text: str, official: bool = False) -> str:
    """SQuAD normalisation: lowercase, drop ASCII punctuation, drop articles, fold whitespace.

    Faithful (T5's and DePT's ``qa_utils._normalize_answer``) removes the articles with the ``regex``
    module, the official SQuAD v1.1 script (``official``) with Python's ``re``: their ``\b`` differ
    around combining marks (``regex``: word characters) and No-category digits like ² ½ ③ (``re``: word
    characters), e.g. "a² + b²" -> "² b²" faithfully, "a² b²" officially; elsewhere they agree.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = (re if official else _regex()).sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(string.punctuation)


def _regex():
    import regex  # late: only the QA metrics need it

    return regex


def _token_f1(prediction: str, reference: str, official: bool = False) -> float:
    pred, ref = normalize_answer(prediction, official).split(), normalize_answer(reference, official).split()
    common = collections.Counter(pred) & collections.Counter(ref)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_em(predictions: Sequence[str], references: Sequence[Sequence[str]], official: bool = False) -> float:
    """Exact match after normalisation, the best over the references (faithful: T5/DePT's normaliser)."""
    return 100.0 * float(np.mean([max(normalize_answer(p, official) == normalize_answer(r, official) for r in refs)
                                  for p, refs in zip(predictions, references)]))


def squad_f1(predictions: Sequence[str], references: Sequence[Sequence[str]], official: bool = False) -> float:
    """Token F1 after normalisation, the best over the references (faithful: T5/DePT's normaliser)."""
    return 100.0 * float(np.mean([max(_token_f1(p, r, official) for r in refs)
                                  for p, refs in zip(predictions, references)]))


def squad_em_official(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """squad_em with the official SQuAD v1.1 script's normaliser (Python ``re``): corrected scoring."""
    return squad_em(predictions, references, official=True)


def squad_f1_official(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """squad_f1 with the official SQuAD v1.1 script's normaliser (Python ``re``): corrected scoring."""
    return squad_f1(predictions, references, official=True)


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "binary_f1": binary_f1,
    "macro_f1_official": macro_f1_official,
    "matthews": matthews,
    "multirc_f1a": multirc_f1a,
    "pearson": pearson,
    "spearman": spearman,
    "squad_em": squad_em,
    "squad_f1": squad_f1,
    "squad_em_official": squad_em_official,
    "squad_f1_official": squad_f1_official,
}

GROUPED_METRICS: dict[str, GroupedMetric] = {
    "multirc_em": multirc_em,
}

CLASS_METRICS: dict[str, ClassMetric] = {
    "macro_f1": macro_f1,
}

METRIC_TARGET_KINDS = frozenset({"label", "regression", "answers"})
"""label: closed verbalizer strings; regression: numeric strings; answers: free-form answers."""

_LABEL, _REGRESSION, _ANSWERS = (frozenset({kind}) for kind in ("label", "regression", "answers"))
METRIC_TARGETS: dict[str, frozenset[str]] = {
    "accuracy": _LABEL,
    "binary_f1": _LABEL,
    "macro_f1": _LABEL,
    "macro_f1_official": _LABEL,
    "matthews": _LABEL,
    "multirc_f1a": _LABEL,
    "multirc_em": _LABEL,
    "pearson": _REGRESSION,
    "spearman": _REGRESSION,
    "squad_em": _ANSWERS,
    "squad_f1": _ANSWERS,
    "squad_em_official": _ANSWERS,
    "squad_f1_official": _ANSWERS,
}


def metric_names() -> list[str]:
    """Every metric compute_metric() accepts, plain and grouped, sorted."""
    return sorted({*METRICS, *GROUPED_METRICS, *CLASS_METRICS})


def compute_metric(name: str, predictions: Sequence[str], references: Sequence[Sequence[str]],
                   groups: Sequence[Hashable] | None = None, classes: Sequence[str] | None = None) -> float:
    """Score `predictions` with metric `name` (percent).

    `groups` (one hashable key per example) is required by GROUPED_METRICS and `classes` (the
    task's output classes, ``TaskSpec.choices``) by CLASS_METRICS; the plain METRICS ignore both,
    so a task can pass them for all its metrics.
    Raises ValueError for an unknown name, a grouped metric without groups, a class metric without
    classes, or inputs of different lengths.
    """
    if name not in metric_names():
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(metric_names())}")
    if len(predictions) != len(references):
        raise ValueError(f"{name}: {len(predictions)} predictions but {len(references)} references")
    if groups is not None and len(groups) != len(predictions):
        raise ValueError(f"{name}: {len(predictions)} predictions but {len(groups)} groups")
    plain = METRICS.get(name)
    if plain is not None:
        return plain(predictions, references)
    if name in CLASS_METRICS:
        if not classes:
            raise ValueError(f"metric {name!r} needs the task's classes (classes=None given)")
        return CLASS_METRICS[name](predictions, references, classes)
    if groups is None:
        raise ValueError(f"metric {name!r} needs per-example groups (groups=None given)")
    return GROUPED_METRICS[name](predictions, references, groups)


def invalid_rate(predictions: Sequence[str], choices: Sequence[str] | None) -> float:
    """Share (percent) of outputs outside the verbalizer; free-form tasks: empty outputs."""
    if choices is None:
        return 100.0 * float(np.mean([not p.strip() for p in predictions])) if predictions else 0.0
    allowed = set(choices)
    return 100.0 * float(np.mean([p.strip() not in allowed for p in predictions])) if predictions else 0.0
