"""One-knob runs: the seeds' knob figures (number of spaces, broadcast length, learning rate, ...)
drawn from runs kept inside the pipeline.

params.yaml ``knob_runs`` names the backbones and, per grid method, the tasks and points::

    knob_runs:
      backbones: [t5-base]
      methods:
        ept_msp: {tasks: [cola, boolq], points: [num_experts=2, num_experts=8]}

A point is ``<knob>=<value>``: the method's configuration with that one knob changed, everything
else as in ``methods.<method>``; the grid's own run of the method is the figure's base point. Each
point is a ``knob`` stage in the method's pipeline file (train + test score on one task), written
under ``results/knobs/`` in the grid's layout, so the method's rows stage summarises it beside the
grid runs (as kind ``knob``) and ``report/sweeps.py`` draws it. Unlike ``sweep`` (DVC experiments
for choosing a learning rate), these runs are part of the committed results.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from ptbench.errors import ConfigError, require


def parse_point(point: Any) -> tuple[str, Any]:
    """``"num_experts=2"`` -> ``("num_experts", 2)`` (the value read as YAML: 0.03, true, null, [a, b])."""
    require(isinstance(point, str) and "=" in point and point.split("=", 1)[0].strip(), "knob_runs",
            f"a point must read <knob>=<value>, got {point!r}")
    knob, value = point.split("=", 1)
    return knob.strip(), yaml.safe_load(value)


def check_knob_runs(knob_runs: Any, methods: dict[str, dict], grid_methods: list[str], tasks: list[str],
                    backbones: list[str]) -> dict[str, Any]:
    """Backbones among ``backbones``; every method a grid method, every task in ``tasks``, every
    point a valid configuration that differs from the method's own in exactly its knob."""
    from ptbench.methods import method_config

    require(isinstance(knob_runs, dict) and set(knob_runs) == {"backbones", "methods"}, "knob_runs",
            "must hold backbones: [...] and methods: {<grid method>: {tasks: [...], points: [...]}}")
    require(isinstance(knob_runs["backbones"], list), "knob_runs.backbones", "must be a list (empty: no knob runs)")
    for name in knob_runs["backbones"]:
        require(name in backbones, "knob_runs.backbones",
                f"'{name}' is not in backbones (its data stages): {', '.join(backbones)}")
    per_method = knob_runs["methods"] or {}
    require(isinstance(per_method, dict), "knob_runs.methods", "must map grid methods to {tasks: [...], points: [...]}")
    for method, entry in per_method.items():
        require(method in grid_methods, "knob_runs.methods",
                f"'{method}' is not in grid.methods (its grid run is the base point); grid.methods: "
                f"{', '.join(grid_methods)}")
        key = f"knob_runs.methods.{method}"
        require(isinstance(entry, dict) and set(entry) == {"tasks", "points"}, key,
                "must hold exactly tasks: [...] and points: [<knob>=<value>, ...]")
        for name in ("tasks", "points"):
            require(isinstance(entry[name], list) and entry[name], f"{key}.{name}", "must be a non-empty list")
        for task in entry["tasks"]:
            require(task in tasks, f"{key}.tasks", f"'{task}' must also be in tasks (its data stage is shared); "
                                                   f"tasks: {', '.join(tasks)}")
        require(len(set(entry["points"])) == len(entry["points"]), f"{key}.points", "names a point twice")
        base = method_config(method, methods[method] or {})
        for point in entry["points"]:
            knob, value = parse_point(point)
            require(knob in {f.name for f in dataclasses.fields(base)}, f"{key}.points",
                    f"'{knob}' is not a knob of {method}; allowed: "
                    f"{', '.join(sorted(f.name for f in dataclasses.fields(base)))}")
            try:
                changed = method_config(method, {**(methods[method] or {}), knob: value})
            except ConfigError as exc:
                raise ConfigError(f"{key}.points: {point!r} is invalid ({exc})") from None
            require(changed != base, f"{key}.points", f"{point!r} equals methods.{method} (the grid run is "
                                                      "already that point)")
    return {"backbones": list(knob_runs["backbones"]), "methods": dict(per_method)}


def with_point(params, method: str, point: str):
    """These params with ``methods.<method>`` changed at the point's knob alone."""
    knob, value = parse_point(point)
    methods = {**params.methods, method: {**(params.methods[method] or {}), knob: value}}
    return dataclasses.replace(params, methods=methods)


def require_point(params, method: str, point: str, task: str) -> None:
    """A knob stage's arguments must name a point params.yaml lists (else its results would not be
    the ones the pipeline file says)."""
    entry = params.knob_runs["methods"].get(method)
    require(entry is not None, "knob_runs.methods", f"'{method}' has no knob runs; listed: "
                                                    f"{', '.join(params.knob_runs['methods']) or 'none'}")
    require(point in entry["points"], f"knob_runs.methods.{method}.points",
            f"{point!r} is not listed; allowed: {', '.join(entry['points'])}")
    require(task in entry["tasks"], f"knob_runs.methods.{method}.tasks",
            f"'{task}' is not listed; allowed: {', '.join(entry['tasks'])}")
    require(params.backbone in params.knob_runs["backbones"], "knob_runs.backbones",
            f"'{params.backbone}' is not listed; allowed: {', '.join(params.knob_runs['backbones']) or 'none'}")
