"""Every seed table and figure whose settings the seed states (report/reference/seed_settings.yaml,
beside its values) is scheduled by its paper profiles exactly: each table row by a grid method or
named variant with the row's knobs and dropout, each figure's points by the grid and knob runs,
no point missing and none the figure does not plot."""
import dataclasses
import shutil
from dataclasses import dataclass

import pytest
import yaml

from conftest import REPO
from ptbench.config import load_params
from ptbench.check.counting import count_parameters
from ptbench.pipeline.knobs import with_point
from ptbench.pipeline.profiles import apply_profile

SETTINGS = yaml.safe_load((REPO / "src/ptbench/report/reference/seed_settings.yaml").read_text())


@dataclass
class Run:
    name: str
    method: str  # the registered method
    config: dict
    built: object  # the MethodConfig
    dropout: bool
    tasks: set
    backbones: set


def scheduled_runs(params) -> list[Run]:
    """What the profile trains: every grid method or variant on the grid's tasks and backbones, and
    each of its knob points on the point's tasks and backbones."""
    runs = []
    for name in params.grid.methods + params.grid.transfer:
        method, dropout = params.registered_method(name), params.for_method(name).dropout
        config = params.method_config(name)
        runs.append(Run(name, method, dataclasses.asdict(config), config, dropout, set(params.tasks), set(params.backbones)))
        entry = params.knob_runs["methods"].get(name)
        for point in entry["points"] if entry else []:
            config = with_point(params, name, point).method_config(name)
            runs.append(Run(f"{name}@{point}", method, dataclasses.asdict(config), config, dropout, set(entry["tasks"]),
                            set(params.knob_runs["backbones"])))
    return runs


@pytest.fixture(scope="module")
def profile_runs(tmp_path_factory):
    cache = {}

    def runs(profile: str) -> list[Run]:
        if profile not in cache:
            work = tmp_path_factory.mktemp(profile)
            shutil.copy(REPO / "params.yaml", work / "params.yaml")
            apply_profile(profile, work / "params.yaml", REPO / "profiles")
            cache[profile] = scheduled_runs(load_params(work / "params.yaml"))
        return cache[profile]
    return runs


def has(config: dict, knobs: dict) -> bool:
    return all(config.get(knob) == value for knob, value in knobs.items())


def x_value(config: dict, knob: str):
    if knob == "prompt_length":  # EPT's prepended prompt: s, or the whole l with decomposition off
        return config["short_length"] if config["decomposition"] else config["length"]
    return config[knob]


def covers(run: Run, entry: dict) -> bool:
    return entry["backbone"] in run.backbones and set(entry["tasks"]) <= run.tasks


CASES = [(entry["id"], profile) for entry in SETTINGS for profile in entry["profiles"]]


@pytest.mark.parametrize("entry_id, profile", CASES, ids=[f"{e}-{p}" for e, p in CASES])
def test_the_profile_schedules_what_the_seed_states(entry_id, profile, profile_runs):
    entry = next(e for e in SETTINGS if e["id"] == entry_id)
    runs = profile_runs(profile)
    if "rows" in entry:
        for row in entry["rows"]:
            found = [r.name for r in runs if r.method == row["method"] and has(r.config, row.get("knobs", {}))
                     and ("dropout" not in row or r.dropout == row["dropout"]) and covers(r, entry)]
            assert found, f"{profile}: no run for {entry_id} row {row} on {entry['backbone']}, {entry['tasks']}"
        return
    with_knobs = entry.get("with", {})
    plotted = {}
    for run in runs:
        if run.method != entry["method"] or not has(run.config, entry["base"]) or not covers(run, entry):
            continue
        x = x_value(run.config, entry["knob"])
        if has(run.config, with_knobs.get(x, {})):
            plotted.setdefault(x, []).append(run.name)
            if "stored_parameters" in entry:  # a figure at a constant budget: every point holds it
                stored = count_parameters(run.method, run.built, entry["backbone"])["stored"]
                assert stored == entry["stored_parameters"], f"{profile}: {run.name} stores {stored}"
    assert sorted(plotted) == sorted(entry["values"]), (
        f"{profile} schedules {entry_id} at {entry['knob']} = {sorted(plotted)}, the seed at {entry['values']}: {plotted}")


def test_the_settings_name_registered_methods_and_tasks():
    from ptbench.methods import METHODS
    from ptbench.tasks import all_tasks

    for entry in SETTINGS:
        for method in [row["method"] for row in entry.get("rows", [])] + [entry.get("method", "pt")]:
            assert method in METHODS, (entry["id"], method)
        assert set(entry["tasks"]) <= set(all_tasks()), entry["id"]
        assert set(entry["profiles"]) <= {p.stem for p in (REPO / "profiles").glob("*.yaml")}, entry["id"]
