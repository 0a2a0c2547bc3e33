"""Equal tuning budgets (pipeline/tuning.py): the draw, its checks, and the trial stages it generates."""
import copy

import pytest

from ptbench.config import parse_params
from ptbench.errors import ConfigError
from ptbench.pipeline.generate import method_pipeline
from ptbench.pipeline.tuning import draw, point_text, require_trial, space_points, trial_points, trials


def test_the_draw_is_seeded_by_a_string_the_same_on_every_machine():
    space = {"lr": [0.003, 0.01, 0.03, 0.1], "init": ["vocab", "uniform"]}
    assert [point_text(p) for p in draw(space, 4, 0, "pt")] == [
        "init=uniform,lr=0.03", "init=vocab,lr=0.03", "init=vocab,lr=0.003", "init=uniform,lr=0.01"]
    assert draw(space, 4, 0, "pt") != draw(space, 4, 1, "pt") and draw(space, 4, 0, "pt") != draw(space, 4, 0, "ept")
    assert len({point_text(p) for p in draw(space, 8, 0, "pt")}) == 8  # without replacement: the whole space
    assert space_points({"b": [1, 2], "a": [True]}) == [{"a": True, "b": 1}, {"a": True, "b": 2}]
    assert point_text({"lr": 5e-05, "init": None, "softmax": True}) == "init=null,lr=5e-05,softmax=true"


def with_tuning(raw, **tuning):
    raw = copy.deepcopy(raw)
    raw["tuning"].update(tuning)
    return parse_params(raw)


def test_bad_spaces_name_the_key(repo_params_raw):
    with pytest.raises(ConfigError, match="tuning.budget: 9 trials exceed pt's space"):
        with_tuning(repo_params_raw, budget=9)
    with pytest.raises(ConfigError, match="'width' is not a knob of pt"):
        with_tuning(repo_params_raw, spaces={"pt": {"width": [1, 2, 3, 4]}})
    with pytest.raises(ConfigError, match="'lora' is not in grid.methods"):
        with_tuning(repo_params_raw, spaces={"lora": {"lr": [1, 2, 3, 4]}})
    with pytest.raises(ConfigError, match="tuning.tasks: 'cb' is not in tasks"):
        with_tuning(repo_params_raw, tasks=["cb"])
    with pytest.raises(ConfigError, match="tuning.spaces.pt: 'init=nonsense"):
        with_tuning(repo_params_raw, spaces={"pt": {"init": ["nonsense", "vocab", "uniform", "text"]}})
    with pytest.raises(ConfigError, match="names a value twice"):
        with_tuning(repo_params_raw, spaces={"pt": {"lr": [0.1, 0.1, 0.2, 0.3]}})


def test_a_drawn_configuration_equal_to_the_grids_is_the_grid_run(smoke_params):
    drawn = [point_text(k) for k in trials(smoke_params.tuning, "pt")]
    own = f"init={smoke_params.methods['pt']['init']},lr={smoke_params.methods['pt']['lr']}"
    assert own in drawn and len(drawn) == smoke_params.tuning["budget"]
    assert trial_points(smoke_params, "pt", "tiny-t5") == [p for p in drawn if p != own]
    assert trial_points(smoke_params, "pt", "t5-base") == []  # not a tuning backbone
    with pytest.raises(ConfigError, match="is not one of pt's trials"):
        require_trial(smoke_params, "pt", own, "rte")
    with pytest.raises(ConfigError, match="tuning.tasks"):
        require_trial(smoke_params, "pt", trial_points(smoke_params, "pt", "tiny-t5")[0], "mnli")


def test_trial_stages_depend_on_their_own_space_only(repo_params_raw):
    raw = copy.deepcopy(repo_params_raw)
    raw["runtime"]["stage_per"] = "task"
    params = parse_params(raw)
    stage = method_pipeline(params, "tiny-t5", "dept")["stages"]["trial"]
    assert stage["matrix"] == {"point": trial_points(params, "dept", "tiny-t5"), "task": "${tuning.tasks}"}
    assert "tuning.spaces.dept" in stage["params"] and "tuning.spaces.pt" not in stage["params"]
    assert "trial" not in method_pipeline(params, "tiny-t5", "dpt")["stages"]  # no space: no trials
