"""Each selection rule on hand-made rows: which checkpoint, which configuration, which seeds; the optimism gap,
the ranking verdicts and the expected-best budget curve (report/selection.py, report/protocols.py)."""
import json

import pytest

from ptbench.errors import ConfigError
from ptbench.report.protocols import (ProtocolInputs, budget_curves, budgets, expected_best, rankings,
                                      read_protocols)
from ptbench.report.selection import FAIR, SelectionRule, parse_selection, seed_scores, select


def row(method, task="rte", kind="grid", config=None, seeds=None, backbone="b", replicates=None, ref="r1"):
    """A rows-file entry: ``seeds`` maps a seed to (validation curve, test curve, reported test score), the
    curves as [step, value] lists (the reported score: the test score at the best-validation checkpoint)."""
    seeds = seeds or {"0": ([[10, 50.0], [20, 60.0]], [[10, 70.0], [20, 65.0]], 65.0)}
    history = {s: {"validation_accuracy": v, "test_accuracy": t} for s, (v, t, _) in seeds.items()}
    reported = [r for _, _, r in seeds.values()]
    metric = {"per_seed": reported, "mean": sum(reported) / len(reported)}
    if replicates is not None:
        metric.update(replicates=replicates, ci=[min(replicates), max(replicates)])
    return {"kind": kind, "backbone": backbone, "method": method, "task": task, "primary_metric": "accuracy",
            "seeds": list(seeds), "metrics": {"accuracy": metric}, "history": history,
            "config": config or {"lr": 0.3}, "references_hash": ref, "trainable_parameters": 100}


def rule(checkpoint="validation", configuration="given", seeds="mean"):
    return SelectionRule(checkpoint, configuration, seeds)


def test_checkpoint_rules_read_the_kept_score_the_curves_peak_or_its_last_point():
    r = row("pt")
    assert seed_scores(r, "validation") == {"0": (60.0, 65.0)}
    assert seed_scores(r, "test") == {"0": (60.0, 70.0)}  # the peak on the reported set, at step 10
    assert seed_scores(r, "last") == {"0": (60.0, 65.0)}
    no_curve = row("pt", seeds={"0": ([[10, 50.0]], [], 61.0)})
    assert seed_scores(no_curve, "test") == {"0": (50.0, None)}
    assert select([], no_curve, rule("test"), 1) is None  # a peak cannot be read without the test curve


def test_configuration_rules_choose_the_given_run_the_best_validation_or_the_best_test():
    given = row("pt", config={"lr": 0.3}, seeds={"0": ([[10, 60.0]], [[10, 60.0]], 60.0)})
    val_best = row("pt", kind="trial", config={"lr": 0.1}, seeds={"0": ([[10, 80.0]], [[10, 55.0]], 55.0)})
    test_best = row("pt", kind="trial", config={"lr": 0.01}, seeds={"0": ([[10, 40.0]], [[10, 90.0]], 90.0)})
    pool = [val_best, test_best]
    assert select(pool, given, rule(configuration="given"), 1).score == 60.0
    chosen = select(pool, given, rule(configuration="validation"), 1)
    assert (chosen.score, chosen.row["config"], chosen.candidates) == (55.0, {"lr": 0.1}, 2)
    assert select(pool, given, rule(configuration="test"), 1).score == 90.0


def test_validation_ties_go_to_the_earlier_draw():
    first = row("pt", kind="trial", config={"lr": 1}, seeds={"0": ([[10, 70.0]], [[10, 10.0]], 10.0)})
    second = row("pt", kind="trial", config={"lr": 2}, seeds={"0": ([[10, 70.0]], [[10, 90.0]], 90.0)})
    assert select([first, second], None, rule(configuration="validation"), 1).score == 10.0


def test_seed_rules_average_the_common_seeds_or_take_the_best_one():
    three = row("pt", seeds={"0": ([[10, 50.0]], [[10, 60.0]], 60.0), "1": ([[10, 55.0]], [[10, 70.0]], 70.0),
                             "2": ([[10, 52.0]], [[10, 80.0]], 80.0)}, replicates=[69.0, 71.0])
    mean = select([], three, rule(), 3)
    assert (mean.score, mean.std, mean.seeds, mean.ci) == (70.0, 10.0, ["0", "1", "2"], (69.0, 71.0))
    two = select([], three, rule(), 2)  # another method has two seeds: the first two of each
    assert (two.score, two.seeds, two.ci) == (65.0, ["0", "1"], None) and "2 of 3 seeds" in two.notes[0]
    best = select([], three, rule(seeds="best"), 3)
    assert (best.score, best.std, best.seeds) == (80.0, None, ["2"])


def test_a_bad_rule_names_its_key_and_the_allowed_values():
    with pytest.raises(ConfigError, match="checkpoint.*validation, test, last"):
        parse_selection({"paper": {"checkpoint": "best", "configuration": "given", "seeds": "mean"}})
    with pytest.raises(ConfigError, match="selection"):
        parse_selection({"paper": {"checkpoint": "test", "configuration": "given", "seeds": "mean"}, "fair": {}})
    assert parse_selection({"paper": {"checkpoint": "test", "configuration": "given", "seeds": "mean"}}) == rule("test")


def key(config):
    return json.dumps(config, sort_keys=True)


def test_the_gap_is_the_paper_reading_minus_the_fair_one_on_the_same_runs():
    # pt's given run peaks at 70 on test (the paper reading) but keeps 65 at its best-validation checkpoint;
    # its trials: lr 0.1 (validation 80, test 55) and lr 0.3 (= the given run)
    given = row("pt", replicates=[64.0, 66.0])
    trial = row("pt", kind="trial", config={"lr": 0.1}, seeds={"0": ([[10, 80.0]], [[10, 55.0]], 55.0)},
                replicates=[54.0, 56.0])
    drawn = {("b", "rte", "pt"): [key({"lr": 0.1}), key({"lr": 0.3})]}
    (cell,) = read_protocols([given, trial], drawn, rule("test"))
    assert (cell.paper.score, cell.fair.score, cell.gap) == (70.0, 55.0, 15.0)
    assert [r["config"] for r in cell.trials] == [{"lr": 0.1}, {"lr": 0.3}]  # draw order; the grid run is a trial
    # an untuned task reads every method at its given configuration, checkpoint on validation
    (other,) = read_protocols([row("pt", task="cb")], drawn, rule("test"))
    assert (other.paper.score, other.fair.score, other.fair.candidates) == (70.0, 65.0, 1)


def test_a_method_without_trials_gets_no_fair_score_where_others_were_tuned():
    drawn = {("b", "rte", "pt"): [key({"lr": 0.3})]}
    found = read_protocols([row("pt"), row("dept", config={"lr": 0.4})], drawn, rule())
    by_method = {c.method: c for c in found}
    assert by_method["pt"].fair is not None and by_method["dept"].fair is None


def ranked(scores, replicates):
    """Two methods on one task: ``scores`` (paper, fair) per method, with fair replicates."""
    rows = []
    for method, (paper, fair) in scores.items():
        rows.append(row(method, config={"m": method}, seeds={"0": ([[10, 50.0]], [[10, paper]], fair)},
                        replicates=replicates[method]))
    return rankings(read_protocols(rows, {}, rule("test")))


def test_rankings_kept_reversed_tied_by_the_paired_test():
    apart = {"a": [80.0 + i * 0.01 for i in range(50)], "b": [60.0 + i * 0.01 for i in range(50)]}
    (kept,) = ranked({"a": (90.0, 80.0), "b": (85.0, 60.0)}, apart)
    assert (kept.paper_order, kept.fair_order, kept.status) == (["a", "b"], ["a", "b"], "kept")
    (reversed_,) = ranked({"a": (90.0, 60.0), "b": (85.0, 80.0)},
                          {"a": apart["b"], "b": apart["a"]})
    assert (reversed_.fair_order, reversed_.status, reversed_.versus) == (["b", "a"], "reversed", "b")
    close = {"a": [70.0 + (i % 7) for i in range(50)], "b": [70.5 + (i % 5) for i in range(50)]}
    (tied,) = ranked({"a": (90.0, 70.0), "b": (85.0, 70.5)}, close)
    assert tied.status == "tied" and tied.p_value >= 0.05


def test_expected_best_of_b_trials_is_exact():
    trials = [(1.0, 10.0), (3.0, 30.0), (2.0, 20.0)]  # (validation, test)
    assert expected_best(trials, 1) == pytest.approx(20.0)  # the mean
    # pairs: {1,3}->30, {1,2}->20, {3,2}->30
    assert expected_best(trials, 2) == pytest.approx((30 + 20 + 30) / 3)
    assert expected_best(trials, 3) == pytest.approx(30.0)  # the validation-best of all
    # on a validation tie the earlier draw wins, as select does
    assert expected_best([(5.0, 1.0), (5.0, 9.0)], 2) == 1.0
    assert budgets(4) == [1, 2, 4] and budgets(6) == [1, 2, 4, 6] and budgets(1) == [1]
    with pytest.raises(ValueError):
        expected_best(trials, 4)


def test_budget_curves_need_every_drawn_trial():
    configs = [{"lr": 0.1}, {"lr": 0.3}, {"lr": 1.0}]
    rows = [row("pt", kind="trial" if c != {"lr": 0.3} else "grid", config=c,
                seeds={"0": ([[10, 10.0 * i]], [[10, 5.0 * i]], 5.0 * i)}) for i, c in enumerate(configs, 1)]
    drawn = {("b", "rte", "pt"): [key(c) for c in configs]}
    curves = budget_curves(read_protocols(rows, drawn, rule()))
    assert curves == {("b", "pt", "rte"): [(1, 10.0), (2, pytest.approx(40 / 3)), (3, 15.0)]}
    assert budget_curves(read_protocols(rows[:2], drawn, rule())) == {}  # one trial missing: no curve


def test_protocol_inputs_from_the_committed_params(smoke_params):
    inputs = ProtocolInputs.from_params(smoke_params)
    assert inputs.paper == smoke_params.selection
    tuned = {k for k in inputs.drawn}
    assert {(b, t) for b, t, _ in tuned} == {(b, t) for b in smoke_params.tuning["backbones"]
                                                for t in smoke_params.tuning["tasks"]}
    assert all(len(v) == smoke_params.tuning["budget"] for v in inputs.drawn.values())
    assert inputs.added_tokens["pt"] == smoke_params.method_config("pt").length


def test_the_fair_rule_is_validation_for_checkpoint_and_configuration_over_every_common_seed():
    assert FAIR == SelectionRule("validation", "validation", "mean")


def test_a_paper_reading_of_the_curve_needs_the_curve(repo_params_raw):
    import copy

    from ptbench.config import parse_params

    raw = copy.deepcopy(repo_params_raw)
    raw["selection"]["paper"]["checkpoint"] = "last"
    raw["train"]["test_curve"] = False
    with pytest.raises(ConfigError, match="train.test_curve: must be true: selection.paper.checkpoint 'last'"):
        parse_params(raw)
    raw["selection"]["paper"]["checkpoint"] = "validation"
    assert parse_params(raw).train.test_curve is False


def test_a_configuration_rule_chooses_among_the_given_run_and_the_trials_never_a_knob_figures_points():
    given = row("pt", seeds={"0": ([[10, 60.0]], [[10, 60.0]], 60.0)})
    knob = row("pt", kind="knob", config={"lr": 9.9}, seeds={"0": ([[10, 99.0]], [[10, 99.0]], 99.0)})
    trial = row("pt", kind="trial", config={"lr": 0.1}, seeds={"0": ([[10, 70.0]], [[10, 50.0]], 50.0)})
    drawn = {("b", "rte", "pt"): [key({"lr": 0.1})]}
    (cell,) = read_protocols([given, knob, trial], drawn, rule(configuration="validation"))
    assert [c["config"] for c in cell.candidates] == [{"lr": 0.3}, {"lr": 0.1}]
    assert (cell.paper.score, cell.paper.candidates) == (50.0, 2)
