"""Metrics on generated strings, in percent, following the reference code (see docs/tasks.md).

Each metric takes the predictions and, per example, the list of reference strings
(classification tasks have exactly one). Arithmetic is delegated to scikit-learn / scipy.
"""
from __future__ import annotations

import collections
import re
import string
from typing import Callable, Sequence

import numpy as np
from scipy import stats
from sklearn.metrics import f1_score, matthews_corrcoef

Metric = Callable[[Sequence[str], Sequence[Sequence[str]]], float]


def accuracy(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Exact string match; an invalid output counts as wrong."""
    return 100.0 * float(np.mean([p.strip() == refs[0] for p, refs in zip(predictions, references)]))


def binary_f1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Binary F1 of label "1"; an output other than "0"/"1" is flipped to the wrong class."""
    gold = [int(refs[0]) for refs in references]
    pred = [int(p.strip()) if p.strip() in ("0", "1") else 1 - g for p, g in zip(predictions, gold)]
    return 100.0 * float(f1_score(gold, pred, pos_label=1, zero_division=0))


def matthews(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Matthews correlation on the raw strings, as the reference code (no guard for invalid)."""
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
    return _correlation(stats.pearsonr, predictions, references)


def spearman(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
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
    "matthews": matthews,
    "pearson": pearson,
    "spearman": spearman,
    "squad_em": squad_em,
    "squad_f1": squad_f1,
}


def invalid_rate(predictions: Sequence[str], choices: Sequence[str] | None) -> float:
    """Share (percent) of outputs outside the verbalizer; free-form tasks: empty outputs."""
    if choices is None:
        return 100.0 * float(np.mean([not p.strip() for p in predictions])) if predictions else 0.0
    allowed = set(choices)
    return 100.0 * float(np.mean([p.strip() not in allowed for p in predictions])) if predictions else 0.0
