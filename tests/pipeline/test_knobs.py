"""params.yaml `knob_runs`: validated one-knob points, and the params a knob stage trains with."""
import dataclasses

import pytest

from ptbench.config import parse_params
from ptbench.errors import ConfigError
from ptbench.pipeline.knobs import parse_point, require_point, with_point


@pytest.mark.parametrize("point, parsed", [
    ("num_experts=2", {"num_experts": 2}), ("lr=0.03", {"lr": 0.03}), ("softmax=true", {"softmax": True}),
    ("init = text", {"init": "text"}), ("short_length=20,rank=60", {"short_length": 20, "rank": 60}),
    ("sources=[mnli, qqp],lr=0.1", {"sources": ["mnli", "qqp"], "lr": 0.1}),
])
def test_a_point_is_knobs_and_yaml_values(point, parsed):
    assert parse_point(point) == parsed


@pytest.mark.parametrize("point", ["lr 0.1", "lr=0.1,", "lr=0.1,lr=0.2", 3])
def test_a_malformed_point_is_rejected(point):
    with pytest.raises(ConfigError, match="knob_runs"):
        parse_point(point)


@pytest.mark.parametrize("knob_runs, message", [
    ({"methods": {}}, "knob_runs: must hold backbones: [...] and methods:"),
    ({"backbones": ["t5-base"], "methods": {}}, "knob_runs.backbones: 't5-base' is not in backbones"),
    ({"backbones": ["tiny-t5"], "methods": {"spot": {"tasks": ["rte"], "points": ["lr=0.1"]}}},
     "knob_runs.methods: 'spot' is not in grid.methods"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"points": ["lr=0.1"]}}},
     "knob_runs.methods.pt: must hold tasks: [...] and points:"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["cola"], "points": ["lr=0.1"]}}},
     "knob_runs.methods.pt.tasks: 'cola' must also be in tasks"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["rte"], "points": ["lr 0.1"]}}},
     "knob_runs: a point must read <knob>=<value>[,<knob>=<value>...], got 'lr 0.1'"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["rte"], "points": ["colour=red"]}}},
     "knob_runs.methods.pt.points: 'colour' is not a knob of pt; allowed:"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["rte"], "points": ["lr=-1"]}}},
     "knob_runs.methods.pt.points: 'lr=-1' is invalid (methods.pt.lr: must be a positive number"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["rte"], "points": ["lr=0.03"]}}},
     "knob_runs.methods.pt.points: 'lr=0.03' equals pt's own configuration"),
    ({"backbones": ["tiny-t5"], "methods": {"pt": {"tasks": ["rte"], "points": ["lr=0.1", "lr=0.1"]}}},
     "knob_runs.methods.pt.points: names a point twice"),
])
def test_bad_knob_runs_are_one_line_naming_the_key(raw_params, knob_runs, message):
    raw_params["knob_runs"] = knob_runs
    with pytest.raises(ConfigError) as err:
        parse_params(raw_params)
    assert str(err.value).startswith(message) and "\n" not in str(err.value), str(err.value)


def test_a_point_changes_its_knob_alone(raw_params):
    params = parse_params(raw_params)
    changed = with_point(params, "ept_msp", "num_experts=2")
    assert changed.method_config("ept_msp").num_experts == 2
    before, after = params.method_config("ept_msp").__dict__, changed.method_config("ept_msp").__dict__
    assert {k for k in before if before[k] != after[k]} == {"num_experts"}
    assert params.method_config("ept_msp").num_experts == raw_params["methods"]["ept_msp"]["num_experts"]
    assert changed.methods["pt"] == params.methods["pt"]


def test_a_knob_stage_runs_only_listed_points(raw_params):
    params = parse_params(raw_params).for_backbone("tiny-t5")
    require_point(params, "ept_msp", "short_length=5", "rte")
    require_point(params, "ept_msp_no_fusion", "num_experts=2", "rte")  # a sweep from a named variant
    for args, key in [(("ept_msp", "num_experts=3", "rte"), "knob_runs.methods.ept_msp.points"),
                      (("ept_msp", "short_length=5", "mnli"), "knob_runs.methods.ept_msp.tasks"),
                      (("dept", "length=20", "rte"), "knob_runs.methods")]:
        with pytest.raises(ConfigError, match=key):
            require_point(params, *args)


def test_a_point_may_move_several_knobs(raw_params):
    params = parse_params(raw_params)
    changed = with_point(params, "ept_msp", "short_length=5,rank=8")
    before, after = params.method_config("ept_msp").__dict__, changed.method_config("ept_msp").__dict__
    assert {k for k in before if before[k] != after[k]} == {"short_length", "rank"}
    assert (after["short_length"], after["rank"]) == (5, 8)


def test_a_knob_entry_may_run_on_its_own_backbones(raw_params):
    """seed 004 Fig. 2c sweeps SuperPos on T5 v1.1 LM-adapt while the other knob figures are on T5-base: an
    entry's ``backbones`` replace knob_runs.backbones for its points alone."""
    from ptbench.config import parse_params
    from ptbench.pipeline.generate import method_pipeline
    from ptbench.pipeline.knobs import knob_backbones

    raw_params["backbones"] = ["tiny-t5", "t5-small"]
    raw_params["knob_runs"]["methods"]["superpos"]["backbones"] = ["t5-small"]
    params = parse_params(raw_params)
    assert knob_backbones(params.knob_runs, "superpos") == ["t5-small"]
    assert knob_backbones(params.knob_runs, "pt") == params.knob_runs["backbones"] == ["tiny-t5"]
    assert "knob" in method_pipeline(params, "t5-small", "superpos")["stages"]
    assert "knob" not in method_pipeline(params, "tiny-t5", "superpos")["stages"]
    assert "knob" in method_pipeline(params, "tiny-t5", "pt")["stages"]
    raw_params["knob_runs"]["methods"]["superpos"]["backbones"] = ["t5-large"]
    with pytest.raises(ConfigError, match="knob_runs.methods.superpos.backbones: 't5-large' is not in backbones"):
        parse_params(raw_params)


def test_points_on_runs_a_subset_of_an_entrys_points_on_one_backbone(raw_params):
    """seed 003 Fig. 8's learning rates run on T5-Large too, ept's other figures' points on T5-base alone:
    ``points_on`` restricts a backbone to some of the entry's points, in the stages, the plan and the checks."""
    from ptbench.check.settings import scheduled_runs
    from ptbench.pipeline.generate import method_pipeline
    from ptbench.pipeline.knobs import knob_points, point_backbones
    from ptbench.planning.workload import stage_runs

    raw_params["backbones"] = ["tiny-t5", "t5-small"]
    raw_params["knob_runs"]["methods"]["pt"].update(backbones=["tiny-t5", "t5-small"], points_on={"t5-small": ["lr=0.3"]})
    params = parse_params(raw_params)
    assert knob_points(params.knob_runs, "pt", "tiny-t5") == ["lr=0.3", "length=5"]
    assert knob_points(params.knob_runs, "pt", "t5-small") == ["lr=0.3"]
    assert knob_points(params.knob_runs, "superpos", "t5-small") == []  # off its backbones
    assert point_backbones(params.knob_runs, "pt", "length=5") == ["tiny-t5"]
    runs = {run.name: run.backbones for run in scheduled_runs(params)}
    assert runs["pt@lr=0.3"] == ("tiny-t5", "t5-small") and runs["pt@length=5"] == ("tiny-t5",)
    per_task = dataclasses.replace(params, runtime=dataclasses.replace(params.runtime, stage_per="task"))
    assert method_pipeline(per_task, "t5-small", "pt")["stages"]["knob"]["matrix"]["point"] == \
        "${knob_runs.methods.pt.points_on.t5-small}"
    assert method_pipeline(per_task, "tiny-t5", "pt")["stages"]["knob"]["matrix"]["point"] == \
        "${knob_runs.methods.pt.points}"
    assert len(stage_runs(params.for_backbone("t5-small"), "knob", "t5-small", "pt")) == len(params.seeds)
    require_point(params.for_backbone("t5-small"), "pt", "lr=0.3", "rte")
    with pytest.raises(ConfigError, match="'length=5' is not listed for t5-small; allowed: lr=0.3"):
        require_point(params.for_backbone("t5-small"), "pt", "length=5", "rte")
    for points_on, message in [({"t5-large": ["lr=0.3"]}, "points_on: 't5-large' is not one of its backbones"),
                               ({"t5-small": ["lr=0.1"]}, "points_on.t5-small: must be a non-empty list of its points")]:
        raw_params["knob_runs"]["methods"]["pt"]["points_on"] = points_on
        with pytest.raises(ConfigError, match=message):
            parse_params(raw_params)
