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
from ptbench.check.settings import scheduled_runs
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


def table_runs(params) -> list[Run]:
    """The grid and knob runs (``check.settings.scheduled_runs``) with their method configurations."""
    runs = []
    for run in scheduled_runs(params):
        if run.kind == "fewshot":
            continue
        config = run.params.method_config(run.config_name)
        runs.append(Run(run.name, run.method, dataclasses.asdict(config), config,
                        run.params.for_method(run.config_name).dropout, set(run.tasks), set(run.backbones)))
    return runs


@pytest.fixture(scope="module")
def profile_params(tmp_path_factory):
    cache = {}

    def resolve(profile: str):
        if profile not in cache:
            work = tmp_path_factory.mktemp(profile)
            shutil.copy(REPO / "params.yaml", work / "params.yaml")
            apply_profile(profile, work / "params.yaml", REPO / "profiles")
            cache[profile] = load_params(work / "params.yaml")
        return cache[profile]
    return resolve


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
def test_the_profile_schedules_what_the_seed_states(entry_id, profile, profile_params):
    entry = next(e for e in SETTINGS if e["id"] == entry_id)
    runs = table_runs(profile_params(profile))
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


# ---- every setting of every scheduled run, against what the seed states (paper_settings.yaml) ----

PAPER_SETTINGS = yaml.safe_load((REPO / "src/ptbench/report/reference/paper_settings.yaml").read_text())
# the method knobs every run must account for when it has them (besides train.*, data.*, dropout, seeds, optimizer.*)
REQUIRED_KNOBS = ("knobs.lr", "knobs.lr_low_rank", "knobs.lr_networks", "knobs.length", "knobs.init")
SAMPLED_INITS = ("vocab", "label")  # initialisations that draw from knobs.vocab_pool


def paper_spec(paper: str, method: str, kind: str) -> dict[str, tuple]:
    """key -> (value, words, "says"/"ours") for ``method``'s runs of ``kind`` under ``paper``'s entry (its
    ``extends`` first, then the paper's own, the method's, the few-shot section's and its methods')."""
    entry = next(e for e in PAPER_SETTINGS if e["paper"] == paper)
    spec = paper_spec(entry["extends"], method, kind) if "extends" in entry else {}
    layers = [entry, entry.get("methods", {}).get(method, {})]
    if kind == "fewshot":
        few = entry.get("fewshot", {})
        layers += [few, few.get("methods", {}).get(method, {})]
    for layer in layers:
        for source in ("says", "ours"):
            spec.update({key: (value, words, source) for key, (value, words) in (layer.get(source) or {}).items()})
    return spec


def required(settings: dict, method: str) -> list[str]:
    keys = [k for k in settings if k.startswith(("train.", "data.", "optimizer.", "few_shot.")) or k in ("dropout", "seeds")]
    keys += [k for k in REQUIRED_KNOBS if k in settings]
    if settings.get("knobs.init") in SAMPLED_INITS or method == "superpos":
        keys.append("knobs.vocab_pool")
    return keys


def expected(value, task: str):
    return value.get(task, value["default"]) if isinstance(value, dict) else value


RESOLVED_CASES = [(entry["paper"], profile) for entry in PAPER_SETTINGS for profile in entry["profiles"]]


@pytest.mark.parametrize("paper, profile", RESOLVED_CASES, ids=[f"{p}-{q}" for p, q in RESOLVED_CASES])
def test_every_setting_of_every_run_is_the_seed_s_or_a_recorded_choice(paper, profile, profile_params):
    params = profile_params(profile)
    problems = []
    for run in scheduled_runs(params):
        if run.kind == "knob":  # a knob point changes one setting on purpose (seed_settings.yaml checks it)
            continue
        spec = paper_spec(paper, run.method, run.kind)
        variant = params.variants.get(run.config_name)
        changed = {f"knobs.{k}" for k in variant.knobs} | ({"dropout"} if variant.dropout is not None else set()) \
            if variant else set()
        for task in run.tasks:
            settings = run.settings(task)
            missing = [k for k in required(settings, run.method) if k not in spec and k not in changed]
            problems += [(run.name, k, f"{settings[k]!r} is neither stated (says) nor chosen (ours)", task)
                         for k in missing]
            for key, (value, words, source) in spec.items():
                if key in changed or key not in settings:
                    continue
                if settings[key] != expected(value, task):
                    problems.append((run.name, key, f"{settings[key]!r}, {source} {expected(value, task)!r} ({words})", task))
    by_setting: dict[tuple, list[str]] = {}
    for name, key, message, task in problems:
        by_setting.setdefault((name, key, message), []).append(task)
    lines = [f"{name}: {key} = {message} [{', '.join(tasks)}]" for (name, key, message), tasks in sorted(by_setting.items())]
    assert not lines, f"{profile}: {len(lines)} problems:\n" + "\n".join(lines[:60])


def test_method_entries_name_settings_their_runs_have():
    """A method-level entry for a knob the method lacks would check nothing: a typo, or a stale entry."""
    from ptbench.methods import method_config

    for entry in PAPER_SETTINGS:
        for method, layers in {**entry.get("methods", {}), **entry.get("fewshot", {}).get("methods", {})}.items():
            knobs = set(dataclasses.asdict(method_config(method, {})))
            for source in ("says", "ours"):
                for key in (layers or {}).get(source) or {}:
                    if key.startswith("knobs."):
                        assert key.removeprefix("knobs.") in knobs, (entry["paper"], method, key)
