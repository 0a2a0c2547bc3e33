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


# --- macro F1 (CB) -------------------------------------------------------------------------
CB = ("0", "1", "2")


def _macro_f1_from_scratch(preds, gold, classes):
    """Per-class F1 from TP/FP/FN counts over ``classes``, averaged without weights."""
    scores = []
    for c in classes:
        tp = sum(p == c and g == c for p, g in zip(preds, gold))
        fp = sum(p == c and g != c for p, g in zip(preds, gold))
        fn = sum(p != c and g == c for p, g in zip(preds, gold))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return 100 * sum(scores) / len(scores)


def test_macro_f1_hand_computed_with_an_invalid_prediction():
    gold = ["0", "0", "1", "1", "2", "2"]
    preds = ["0", "1", "1", "maybe", "2", "0"]
    # class 0: tp 1, fp 1 (idx 5), fn 1 (idx 1) -> 1/2
    # class 1: tp 1, fp 1 (idx 1), fn 1 (idx 3, invalid: no false positive anywhere) -> 1/2
    # class 2: tp 1, fp 0, fn 1 (idx 5) -> 2/3
    expected = 100 * (1 / 2 + 1 / 2 + 2 / 3) / 3
    assert metrics.macro_f1(preds, [[g] for g in gold], CB) == pytest.approx(expected)
    assert metrics.macro_f1([" 0", "1", "2"], [["0"], ["1"], ["2"]], CB) == 100.0  # outputs are stripped


def test_macro_f1_matches_a_from_scratch_implementation():
    gold = list("0120120021")
    cases = [list("0120120021"), list("0000000000"), list("2101201x2?"), list("11xx22yy00")]
    for preds in cases:
        assert metrics.macro_f1(preds, [[g] for g in gold], CB) == pytest.approx(_macro_f1_from_scratch(preds, gold, CB))


# CB F1 test vectors computed by running the reference implementations on the same inputs (2026-12-03):
# DePT src/metrics.py and ATTEMPT attempt/metrics/metrics.py `mean_multiclass_f1(num_classes=3)` (T5's own
# gives the same), and HF evaluate's super_glue "cb" (fraction there; invalid outputs mapped to -1 by the
# caller). Cases: all classes present; "2" predicted but absent from the gold; "2" absent from both; an
# invalid output; one class predicted; invalid + "2" absent from the gold; perfect without "2".
CB_VECTORS = [  # gold, predictions, reference code (faithful), official scorer x 100 (corrected)
    ("00112201", "00112212", 75.5556, 75.5556),
    ("001101", "021102", 53.3333, 53.3333),
    ("001101", "011100", 44.4444, 66.6667),
    ("001122", ["0", "0", "1", "maybe", "2", "2"], 88.8889, 66.6667),
    ("001122", "000000", 16.6667, 16.6667),
    ("0011", ["0", "0", "1", "foo"], 55.5556, 55.5556),
    ("0101", "0101", 66.6667, 100.0),
]


@pytest.mark.parametrize("gold, predictions, reference, official", CB_VECTORS)
def test_cb_f1_equals_the_reference_code_faithful_and_the_official_scorer_corrected(gold, predictions, reference,
                                                                                   official):
    references = [[g] for g in gold]
    assert metrics.compute_metric("macro_f1", list(predictions), references, classes=CB) == pytest.approx(reference, abs=1e-4)
    assert metrics.compute_metric("macro_f1_official", list(predictions), references) == pytest.approx(official, abs=1e-4)


def test_the_cb_spec_scores_faithful_with_the_reference_f1_and_corrected_with_the_official_one():
    from ptbench.tasks import get_task

    assert get_task("cb", "faithful").metrics == ("accuracy", "macro_f1")
    assert get_task("cb", "corrected").metrics == ("accuracy", "macro_f1_official")
    assert get_task("cb", "faithful").choices == CB


def test_a_class_metric_needs_the_classes():
    with pytest.raises(ValueError, match="needs the task's classes"):
        metrics.compute_metric("macro_f1", ["0"], [["0"]])


# --- MultiRC -------------------------------------------------------------------------------
MULTIRC_GOLD = ["1", "0", "1", "0", "0", "1"]
MULTIRC_GROUPS = ["q1", "q1", "q2", "q2", "q2", "q3"]


def test_multirc_f1a_is_binary_f1_over_all_rows_with_invalid_flipped():
    preds = ["1", "0", "1", "1", "?", "0"]  # row 4 wrong (fp), row 5 invalid -> 1 (fp), row 6 wrong (fn)
    tp, fp, fn = 2, 2, 1
    expected = 100 * 2 * tp / (2 * tp + fp + fn)
    assert metrics.multirc_f1a(preds, [[g] for g in MULTIRC_GOLD]) == pytest.approx(expected)
    assert metrics.METRICS["multirc_f1a"] is metrics.multirc_f1a


def test_multirc_em_a_group_with_one_wrong_answer_fails():
    refs = [[g] for g in MULTIRC_GOLD]
    assert metrics.multirc_em(MULTIRC_GOLD, refs, MULTIRC_GROUPS) == 100.0
    one_wrong = ["1", "0", "1", "0", "1", "1"]  # q2 has one wrong row out of three
    assert metrics.multirc_em(one_wrong, refs, MULTIRC_GROUPS) == pytest.approx(100 * 2 / 3)
    invalid = ["1", "maybe", "1", "0", "0", " 1"]  # q1 fails on an invalid row; stripped " 1" is right
    assert metrics.multirc_em(invalid, refs, MULTIRC_GROUPS) == pytest.approx(100 * 2 / 3)


def test_multirc_em_counts_each_group_once_whatever_its_size_or_order():
    preds = ["1", "0", "0", "0", "0", "1"]  # one wrong row (in q2): 2 of 3 groups, not 5 of 6 rows
    refs = [[g] for g in MULTIRC_GOLD]
    assert metrics.multirc_em(preds, refs, MULTIRC_GROUPS) == pytest.approx(100 * 2 / 3)
    order = [5, 2, 0, 4, 1, 3]  # interleaved groups, integer keys
    keys = [{"q1": 0, "q2": 1, "q3": 2}[g] for g in MULTIRC_GROUPS]
    assert metrics.multirc_em([preds[i] for i in order], [refs[i] for i in order],
                              [keys[i] for i in order]) == pytest.approx(100 * 2 / 3)


def test_multirc_em_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="groups"):
        metrics.multirc_em(["1", "0"], [["1"], ["0"]], ["q1"])


# --- registry, dispatch, target kinds ------------------------------------------------------
def test_metric_names_lists_every_metric_sorted():
    names = metrics.metric_names()
    # written out: the task specs name these strings, so a renamed or dropped metric must show here
    assert names == ["accuracy", "binary_f1", "macro_f1", "macro_f1_official", "matthews", "multirc_em",
                     "multirc_f1a", "pearson", "spearman", "squad_em", "squad_em_official", "squad_f1",
                     "squad_f1_official"]
    assert set(names) == set(metrics.METRICS) | set(metrics.GROUPED_METRICS) | set(metrics.CLASS_METRICS)
    assert not set(metrics.METRICS) & set(metrics.GROUPED_METRICS)
    assert {"macro_f1", "multirc_f1a", "multirc_em"} <= set(names)
    assert "multirc_em" in metrics.GROUPED_METRICS and "multirc_f1a" in metrics.METRICS


# MULTIRC_GOLD against one wrong row (index 4: "1" for gold "0"): tp 3 (rows 0, 2, 5), tn 2 (rows 1, 3),
# fp 1 (row 4), fn 0. Every plain metric's value worked out by hand from these counts.
DISPATCH_PREDS = ["1", "0", "1", "0", "1", "1"]
_PHI = (3 * 2 - 1 * 0) / math.sqrt((3 + 1) * (3 + 0) * (2 + 1) * (2 + 0))  # 6 / sqrt(72)
DISPATCH_EXPECTED = {
    "accuracy": 100 * 5 / 6,
    "binary_f1": 100 * 2 * 3 / (2 * 3 + 1 + 0),  # F1 = 2tp / (2tp + fp + fn) = 6/7
    "multirc_f1a": 100 * 6 / 7,
    "macro_f1_official": 100 * (2 * 2 / (2 * 2 + 0 + 1) + 6 / 7) / 2,  # class "0": tp 2, fp 0, fn 1; "1": 6/7
    "matthews": 100 * _PHI,
    # two-valued data: Pearson of the values and Pearson of their (tied, averaged) ranks are both the phi coefficient
    "pearson": 100 * _PHI,
    "spearman": 100 * _PHI,
    "squad_em": 100 * 5 / 6,  # one token per answer: EM and token F1 are both 1 or 0 per row
    "squad_f1": 100 * 5 / 6,
    "squad_em_official": 100 * 5 / 6,
    "squad_f1_official": 100 * 5 / 6,
}


def test_compute_metric_dispatches_every_plain_metric_to_its_hand_computed_value():
    # a metric added to the registry without a hand value here fails, so the loop never silently skips it
    assert set(DISPATCH_EXPECTED) == set(metrics.METRICS)
    refs = [[g] for g in MULTIRC_GOLD]
    for name, expected in DISPATCH_EXPECTED.items():
        assert metrics.compute_metric(name, DISPATCH_PREDS, refs) == pytest.approx(expected), name
        # a task with groups passes them for all its metrics: the plain ones ignore them
        assert metrics.compute_metric(name, DISPATCH_PREDS, refs, groups=MULTIRC_GROUPS) == pytest.approx(expected), name
    # q1 right, q2 has the wrong row 4, q3 right
    assert metrics.compute_metric("multirc_em", DISPATCH_PREDS, refs, MULTIRC_GROUPS) == pytest.approx(100 * 2 / 3)
    assert metrics.compute_metric("pearson", ["1", "2", "3"], [["1"], ["2"], ["3"]]) == pytest.approx(100.0)


# --- Spearman --------------------------------------------------------------------------------
def _average_ranks(values):
    """1-based ranks, ties sharing the mean of the ranks they span (the textbook Spearman convention)."""
    order = sorted(values)
    return [sum(i + 1 for i, v in enumerate(order) if v == x) / order.count(x) for x in values]


def _pearson(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


def test_spearman_on_the_textbook_example():
    # IQ vs hours of TV per week (the Wikipedia example for Spearman's rho): sum d^2 = 194,
    # rho = 1 - 6 * 194 / (10 * (10^2 - 1)) = -29/165
    iq = [106, 86, 100, 101, 99, 103, 97, 113, 112, 110]
    tv = [7, 0, 27, 50, 28, 29, 20, 12, 6, 17]
    ranks_iq, ranks_tv = _average_ranks(iq), _average_ranks(tv)
    assert sum((a - b) ** 2 for a, b in zip(ranks_iq, ranks_tv)) == 194
    assert _pearson(ranks_iq, ranks_tv) == pytest.approx(-29 / 165)
    score = metrics.spearman([str(v) for v in iq], [[str(v)] for v in tv])
    assert score == pytest.approx(100 * -29 / 165)  # -17.5758
    assert metrics.compute_metric("spearman", [str(v) for v in iq], [[str(v)] for v in tv]) == pytest.approx(score)


def test_spearman_averages_tied_ranks_and_scores_unparsable_as_minus_one():
    # predictions read as [-0.5, 2, 2, -1, 5] (-1 ranks below -0.5; read as 0 it would not): ranks
    # [2, 3.5, 3.5, 1, 5] against [1, 2, 3, 4, 5]; deviations from the mean rank 3: [-1, .5, .5, -2, 2]
    # and [-2, -1, 0, 1, 2] -> 3.5 / sqrt(9.5 * 10)
    preds, gold = ["-0.5", "2", " 2", "oops", "5"], [["1"], ["2"], ["3"], ["4"], ["5"]]
    assert _average_ranks([-0.5, 2.0, 2.0, -1.0, 5.0]) == [2, 3.5, 3.5, 1, 5]
    assert metrics.spearman(preds, gold) == pytest.approx(100 * 3.5 / math.sqrt(95))  # 35.909
    # monotone but not linear: Spearman is exactly 100 where Pearson is not
    squares = ["1", "4", "9", "16", "25"]
    assert metrics.spearman(squares, gold) == pytest.approx(100.0)
    assert metrics.pearson(squares, gold) == pytest.approx(100 * _pearson([1, 4, 9, 16, 25], [1, 2, 3, 4, 5]))
    assert metrics.pearson(squares, gold) < 99.0


@pytest.mark.filterwarnings("ignore:An input array is constant")  # scipy: undefined on a constant input
def test_constant_predictions_have_no_correlation_and_score_zero():
    gold = [["1"], ["2"], ["3"]]
    assert metrics.spearman(["2", "2", "2"], gold) == 0.0
    assert metrics.pearson(["x", "y", "z"], gold) == 0.0  # all unparsable: all -1


def test_compute_metric_errors():
    with pytest.raises(ValueError, match="multirc_em"):
        metrics.compute_metric("multirc_em", ["1"], [["1"]])
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.compute_metric("f1", ["1"], [["1"]])
    with pytest.raises(ValueError, match="references"):
        metrics.compute_metric("accuracy", ["1", "0"], [["1"]])
    with pytest.raises(ValueError, match="groups"):
        metrics.compute_metric("multirc_em", ["1", "0"], [["1"], ["0"]], groups=["q1"])


def test_metric_targets_cover_every_metric_with_known_kinds():
    assert set(metrics.METRIC_TARGETS) == set(metrics.metric_names())
    for name, kinds in metrics.METRIC_TARGETS.items():
        assert kinds and kinds <= metrics.METRIC_TARGET_KINDS, name
    assert metrics.METRIC_TARGETS["accuracy"] == {"label"}
    assert metrics.METRIC_TARGETS["pearson"] == metrics.METRIC_TARGETS["spearman"] == {"regression"}
    assert metrics.METRIC_TARGETS["squad_f1"] == metrics.METRIC_TARGETS["squad_em"] == {"answers"}
    for name in ("binary_f1", "macro_f1", "macro_f1_official", "matthews", "multirc_f1a", "multirc_em"):
        assert metrics.METRIC_TARGETS[name] == {"label"}, name


# The QA normaliser, computed by running DePT's src/qa_utils.py (T5's qa_utils: `import regex as re`) and the
# official SQuAD v1.1 script's (Python `re`) on the same strings (2026-12-03). They agree on ASCII and on
# most Unicode ("Café — “quoted” answer!" -> "café — “quoted” answer", "1,000 – 2,000" -> "1000 – 2000").
NORMALISED = [  # text, DePT (faithful), official (corrected)
    ("Café — “quoted” answer!", "café — “quoted” answer", "café — “quoted” answer"),
    ("The  cat's  hat", "cats hat", "cats hat"),
    ("1,000 – 2,000", "1000 – 2000", "1000 – 2000"),
    ("a² + b²", "² b²", "a² b²"),
    ("A\u0301ngel Di Mari\u0301a", "a\u0301ngel di mari\u0301a", "\u0301ngel di mari\u0301"),
]


@pytest.mark.parametrize("text, dept, official", NORMALISED)
def test_the_qa_normaliser_is_depts_faithfully_and_the_official_scripts_when_corrected(text, dept, official):
    assert metrics.normalize_answer(text) == dept
    assert metrics.normalize_answer(text, official=True) == official


@pytest.mark.parametrize("prediction, reference, dept, official", [  # EM / F1 from running both
    ("½ cup", "a½ cup", (100.0, 100.0), (0.0, 50.0)),
    ("²", "a²", (100.0, 100.0), (0.0, 0.0)),
    ("the③ line", "③ line", (100.0, 100.0), (0.0, 50.0)),
])
def test_squad_scores_follow_the_normaliser_of_each_mode(prediction, reference, dept, official):
    refs = [[reference]]
    assert (metrics.squad_em([prediction], refs), metrics.squad_f1([prediction], refs)) == pytest.approx(dept)
    assert (metrics.compute_metric("squad_em_official", [prediction], refs),
            metrics.compute_metric("squad_f1_official", [prediction], refs)) == pytest.approx(official)
