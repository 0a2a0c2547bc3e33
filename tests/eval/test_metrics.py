"""Each metric against an independent computation written here."""
import math

import pytest

from ptbench.eval import metrics


def test_accuracy_counts_invalid_as_wrong():
    assert metrics.accuracy(["1", "0", "yes", " 1"], [["1"], ["1"], ["0"], ["1"]]) == 50.0


def test_binary_f1_flips_invalid_predictions_to_the_wrong_class():
    gold = ["1", "1", "0", "0"]
    preds = ["1", "x", "0", "y"]  # x -> 0 (wrong for gold 1), y -> 1 (wrong for gold 0)
    tp, fp, fn = 1, 1, 1
    expected = 100 * 2 * tp / (2 * tp + fp + fn)
    assert metrics.binary_f1(preds, [[g] for g in gold]) == pytest.approx(expected)


def test_matthews_against_the_formula():
    gold = ["1", "1", "0", "0", "1"]
    pred = ["1", "0", "0", "1", "1"]
    tp, tn, fp, fn = 2, 1, 1, 1
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert metrics.matthews(pred, [[g] for g in gold]) == pytest.approx(100 * expected)


def test_pearson_scores_unparsable_as_minus_one():
    gold = [[str(v)] for v in (1.0, 2.0, 3.0, 4.0)]
    values = [1.0, 2.0, -1.0, 4.0]
    mean_x, mean_y = sum(values) / 4, 2.5
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(values, (1, 2, 3, 4)))
    var_x = sum((x - mean_x) ** 2 for x in values)
    var_y = sum((y - mean_y) ** 2 for y in (1, 2, 3, 4))
    assert metrics.pearson(["1", "2", "oops", "4"], gold) == pytest.approx(100 * cov / math.sqrt(var_x * var_y))


def test_squad_normalisation_and_max_over_references():
    assert metrics.normalize_answer("The  Cat, sat!") == "cat sat"
    assert metrics.squad_em(["the cat"], [["a dog", "Cat"]]) == 100.0
    # "big red dog" vs "red dog": precision 2/3, recall 1 -> F1 0.8
    assert metrics.squad_f1(["big red dog"], [["red dog"]]) == pytest.approx(80.0)


def test_invalid_rate():
    assert metrics.invalid_rate(["0", "1", "2", "maybe"], ("0", "1")) == 50.0
    assert metrics.invalid_rate(["x", ""], None) == 50.0
