"""Why a table row is empty, and which profile would fill it.

A row of a seed table prints our numbers only from runs with the row's setting (its backbone, kind,
k, dropout and ``config.<knob>`` filters, report/layouts.py). When none exists, the row says which
setting it needs and which profiles schedule a run with it: each profile is resolved as
``ptbench profile <name>`` would write it (``pipeline.profiles``: composed on the base profile) and its
grid (or its few-shot plan) searched for a method or named variant with that setting.
Pure data: nothing is run, and the answer depends only on params.yaml and profiles/*.yaml.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ptbench.report.cells import merge_keys
from ptbench.report.inputs import full_method_config

PARAMS_FILE = Path("params.yaml")
PROFILE_DIR = Path("profiles")


@lru_cache(maxsize=2)
def resolved_profiles(params_path: Path = PARAMS_FILE, profile_dir: Path = PROFILE_DIR) -> dict[str, dict]:
    """Every profile as the params ``ptbench profile <name>`` would write (plain data; nothing written)."""
    from ptbench.pipeline.profiles import available, resolved_data

    from ptbench.errors import ConfigError

    resolved = {}
    for name in available(Path(profile_dir)):
        try:
            resolved[name] = resolved_data(name, Path(params_path), Path(profile_dir))
        except ConfigError:  # a profile `ptbench profile` itself refuses schedules nothing (it says why there)
            continue
    return resolved


def _candidates(params: dict, method: str, names: list[str]) -> list[tuple[dict, bool]]:
    """(configuration, dropout) of every grid name that runs ``method``: itself or a named variant of it."""
    variants = params.get("variants") or {}
    found = []
    for name in names:
        variant = variants.get(name)
        registered = variant["method"] if variant else name
        if registered != method:
            continue
        config = {**(params["methods"].get(method) or {}), **((variant or {}).get("knobs") or {})}
        dropout = (variant or {}).get("dropout")
        found.append((config, params.get("dropout") if dropout is None else dropout))
    return found


def _fits(config: dict, dropout: bool, k: int | None, where: dict[str, Any], ks: list[int]) -> bool:
    for name, want in where.items():
        if name.startswith("config."):
            if config.get(name.removeprefix("config.")) != want:
                return False
        elif name == "dropout":
            if dropout != want:
                return False
        elif name == "k":
            if want not in ks:
                return False
        else:  # a filter this matcher does not know: never claim a profile runs it
            return False
    return True


def _knob_candidates(params: dict, method: str, backbone: str, tasks: list[str]) -> list[tuple[dict, bool]]:
    """(configuration, dropout) of every knob point of ``method`` (or of a variant of it) that runs on ``backbone``
    and every one of ``tasks`` (``pipeline.knobs``: a point's knobs over its grid name's configuration)."""
    from ptbench.pipeline.knobs import knob_backbones, knob_points, parse_point

    knob_runs = params.get("knob_runs") or {"backbones": [], "methods": {}}
    found = []
    for name, entry in (knob_runs.get("methods") or {}).items():
        if backbone not in knob_backbones(knob_runs, name) or not set(tasks) <= set(entry.get("tasks", [])):
            continue
        for config, dropout in _candidates(params, method, [name]):
            found += [(full_method_config(method, {**config, **parse_point(point)}), dropout)
                      for point in knob_points(knob_runs, name, backbone)]
    return found


def schedules(params: dict, key: dict[str, Any], tasks: list[str]) -> bool:
    """Does a profile's resolved params run ``key``'s setting on every one of ``tasks``?"""
    method, backbone, where = key.get("method"), key.get("backbone"), key.get("where", {})
    if key.get("kind") == "knob":
        return any(_fits(config, dropout, None, where, []) for config, dropout in
                   _knob_candidates(params, method, backbone, tasks))
    if key.get("kind", "grid") == "fewshot":
        plan = params.get("few_shot") or {}
        names, backbones = [*plan.get("methods", []), *plan.get("transfer", [])], plan.get("backbones", [])
        task_list, ks = plan.get("tasks", []), plan.get("ks", [])
    else:
        grid = params.get("grid") or {}
        names, backbones = [*grid.get("methods", []), *grid.get("transfer", [])], params.get("backbones", [])
        task_list, ks = params.get("tasks", []), []
    if backbone not in backbones or not set(tasks) <= set(task_list):  # every cell of the row, not some
        return False
    return any(_fits(full_method_config(method, config), dropout, where.get("k"), where, ks)
               for config, dropout in _candidates(params, method, names))


def _filters(where: dict[str, Any]) -> str:
    filters = [f"{name.removeprefix('config.')} = {value}" for name, value in where.items() if name not in ("dropout", "k")]
    if "dropout" in where:
        filters.append("dropout " + ("on" if where["dropout"] else "off"))
    return ", ".join(filters)


def setting_text(keys: list[dict[str, Any]]) -> str:
    """The setting of a row's cells in words, e.g. "runs on t5-base of pt (length = 100)"."""
    key = keys[0]
    kinds = {"fewshot": f"k = {key.get('where', {}).get('k')} few-shot runs", "knob": "knob runs"}
    kind = kinds.get(key.get("kind"), "runs")
    methods = dict.fromkeys((k.get("method"), _filters(k.get("where", {}))) for k in keys)
    return f"{kind} on {key.get('backbone')} of " + ", ".join(m + (f" ({f})" if f else "") for m, f in methods)


def empty_row_note(spec: dict, block: dict, row: dict) -> str:
    """What an empty row needs and which profiles schedule all of it."""
    keys = [merge_keys(spec.get("fixed", {}), block, row, column) for column in spec["columns"]
            if "params" not in column]
    by_method: dict[tuple, list[str]] = {}
    for k in keys:
        tasks = [t for t, _ in k["members"]] if "members" in k else [k["task"]]
        by_method.setdefault((k.get("method"), repr(sorted(k.get("where", {}).items()))), []).extend(tasks)
    firsts = {m: next(k for k in keys if (k.get("method"), repr(sorted(k.get("where", {}).items()))) == m)
              for m in by_method}
    profiles = [name for name, params in resolved_profiles().items()
                if all(schedules(params, firsts[m], tasks) for m, tasks in by_method.items())]
    named = ", ".join(profiles[:-1]) + (" and " if len(profiles) > 1 else "") + (profiles[-1] if profiles else "")
    where = (f"scheduled by the {named} profile{'s' if len(profiles) > 1 else ''}" if profiles
             else "no profile schedules it (a DVC experiment with this setting can: docs/pipeline.md)")
    return f"{row['label']}: no run here; it needs {setting_text(keys)}; {where}"
