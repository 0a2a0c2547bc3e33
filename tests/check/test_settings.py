"""The seeds' cells a profile runs, beside each paper's own profile (check.settings.paper_deviations): what
`ptbench plan` lists under "per-paper settings"."""
import functools

import pytest

from conftest import REPO
from ptbench.check.settings import paper_deviations, resolved_settings, summarize_deviations
from ptbench.planning.plan import profile_params


@pytest.fixture(scope="module")
def resolve():
    return functools.lru_cache(maxsize=None)(lambda name: profile_params(name, REPO / "params.yaml"))


def entry(profiles):
    return {"id": "seed004_table1", "profiles": profiles, "backbone": "t5-base-lm-adapt", "tasks": ["rte", "cb"],
            "rows": [{"method": "pt", "knobs": {"length": 10}, "dropout": False},
                     {"method": "superpos", "knobs": {"length": 10}, "dropout": True}]}


def test_a_profile_that_runs_the_papers_settings_has_no_deviation(resolve):
    same = lambda name: resolve("paper-004")  # noqa: E731 -- another profile name, the paper's own settings
    assert paper_deviations("copy", same, [entry(["paper-004", "copy"])]) == []
    assert paper_deviations("paper-004", resolve, [entry(["paper-004", "paper"])]) == []  # the reference itself


def test_the_union_profile_runs_seed_004s_cells_on_seed_003s_schedule(resolve):
    found = paper_deviations("paper", resolve, [entry(["paper-004", "paper"])])
    assert {(d.method, d.task) for d in found} == {("pt", "rte"), ("pt", "cb"), ("superpos", "rte"), ("superpos", "cb")}
    pt = next(d for d in found if (d.method, d.task) == ("pt", "rte"))
    assert pt.differences["train.epochs"] == (80, None) and pt.differences["train.lr_schedule"] == ("constant", "linear")
    assert pt.differences["knobs.lr"] == (0.01, 0.3)  # §4.4's PT rate; the union's is seed 003's
    assert "dropout" not in pt.differences  # the union's no-dropout variant is the closest run
    (line,) = summarize_deviations(found)
    assert line.startswith("  paper-004: 4 cells run under other settings") and "train.epochs 80 -> None (4)" in line


def test_a_cell_the_profile_does_not_run_is_listed_as_missing(resolve):
    found = paper_deviations("smoke", resolve, [entry(["paper-004", "smoke"])])
    assert found and all(d.missing for d in found)


def test_resolved_settings_apply_the_few_shot_rate_and_batch_rule(resolve):
    params = resolve("paper-003")
    fewshot = resolved_settings(params, "ft", "rte", fewshot=True)
    assert fewshot["knobs.lr"] == 0.001 and fewshot["train.steps"] == 10000 and fewshot["train.batch_size"] == "min(16, k)"
    grid = resolved_settings(params, "ft", "rte")
    assert grid["knobs.lr"] == 0.00001 and grid["train.steps"] == 30000 and grid["optimizer.eps"] == 1e-8
