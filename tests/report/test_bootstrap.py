import numpy as np
import pytest

from ptbench.eval.metrics import compute_metric
from ptbench.report.bootstrap import (MEAN_OVER_EXAMPLES, draws, paired_p_value, percentile_interval,
                                      replicate_scores, resampling_units)

RNG = np.random.default_rng(7)
GOLD = [[str(v)] for v in RNG.integers(0, 2, 60)]
NOISY = [g[0] if RNG.random() < 0.7 else str(1 - int(g[0])) for g in GOLD]
SQUAD_REFS = [["the cat sat", "a cat"], ["blue sky"], ["seven"], ["new york city"], ["red"]] * 6
SQUAD_PREDS = ["cat sat", "sky", "seven", "york", "green"] * 6


@pytest.mark.parametrize("metric, predictions, references", [("accuracy", NOISY, GOLD),
                                                            ("squad_f1", SQUAD_PREDS, SQUAD_REFS),
                                                            ("squad_em", SQUAD_PREDS, SQUAD_REFS)])
def test_per_example_shortcut_equals_compute_metric_on_each_resample(metric, predictions, references):
    assert metric in MEAN_OVER_EXAMPLES
    fast = replicate_scores(metric, [predictions], references, None, iterations=20, seed=3)
    slow = [compute_metric(metric, [predictions[i] for i in idx], [references[i] for i in idx])
            for idx in draws(len(references), 20, 3)]
    np.testing.assert_allclose(fast, slow, atol=1e-9)


def test_replicates_average_the_seeds_on_the_same_resamples():
    other = ["1"] * len(GOLD)
    both = replicate_scores("binary_f1", [NOISY, other], GOLD, None, iterations=15, seed=1)
    each = [replicate_scores("binary_f1", [p], GOLD, None, iterations=15, seed=1) for p in (NOISY, other)]
    np.testing.assert_allclose(both, (each[0] + each[1]) / 2)


def test_groups_are_resampled_whole_and_a_question_drawn_twice_counts_twice():
    # 10 questions of 3 answer rows; questions 0-3 entirely right, the others have one wrong row
    groups = [q for q in range(10) for _ in range(3)]
    references = [["1"]] * 30
    predictions = ["1" if q < 4 or row else "0" for q in range(10) for row in range(3)]
    units = resampling_units(30, groups)
    assert [len(u) for u in units] == [3] * 10
    reps = replicate_scores("multirc_em", [predictions], references, groups, iterations=200, seed=0)
    # each replicate is (right questions drawn) / 10 draws: a multiple of 10 points
    np.testing.assert_allclose(reps % 10, 0, atol=1e-9)
    assert 30 < reps.mean() < 50  # around the observed 40
    assert len(set(np.round(reps, 6))) > 3


def test_draws_depend_only_on_seed_and_size():
    a = [d.tolist() for d in draws(50, 5, seed=11)]
    assert a == [d.tolist() for d in draws(50, 5, seed=11)]
    assert a != [d.tolist() for d in draws(50, 5, seed=12)]
    assert a != [d.tolist() for d in draws(51, 5, seed=11)]


def test_interval_brackets_the_score():
    reps = replicate_scores("accuracy", [NOISY], GOLD, None, iterations=300, seed=0)
    low, high = percentile_interval(reps, 0.95)
    observed = compute_metric("accuracy", NOISY, GOLD)
    assert low < observed < high and 0 <= low and high <= 100
    narrow = percentile_interval(reps, 0.5)
    assert low < narrow[0] < narrow[1] < high


def test_paired_test_separates_a_real_difference_from_none():
    perfect = [g[0] for g in GOLD]
    flipped = NOISY[:]  # NOISY with 8 more errors (every 6th example made wrong)
    for i in range(0, 60, 6):
        flipped[i] = str(1 - int(GOLD[i][0]))

    def p(a, b):
        ra, rb = (replicate_scores("accuracy", [x], GOLD, None, 500, 0) for x in (a, b))
        return paired_p_value(compute_metric("accuracy", a, GOLD), compute_metric("accuracy", b, GOLD), ra, rb)

    assert p(NOISY, NOISY) == 1.0
    assert p(perfect, NOISY) < 0.01
    assert p(NOISY, flipped) < 0.05
    one_change = NOISY[:]
    one_change[0] = str(1 - int(one_change[0]))
    assert p(NOISY, one_change) > 0.2  # one example apart: no evidence


def test_paired_test_needs_the_same_resamples():
    with pytest.raises(ValueError):
        paired_p_value(1.0, 0.0, [1.0, 2.0], [1.0])
