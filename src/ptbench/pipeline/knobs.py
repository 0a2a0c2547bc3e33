"""One-knob runs: the seeds' knob figures (number of spaces, broadcast length, learning rate, ...)
drawn from runs kept inside the pipeline.

params.yaml ``knob_runs`` names the backbones and, per grid method, the tasks and points::

    knob_runs:
      backbones: [t5-base]
      methods:
        ept_msp: {tasks: [cola, boolq], points: [num_experts=2, num_experts=8]}
        superpos: {tasks: [rte], points: [num_tokens=32], backbones: [t5-base-lm-adapt]}  # its own backbones
        pt: {tasks: [boolq], points: [lr=0.01, length=20], backbones: [t5-base, t5-large],
             points_on: {t5-large: [lr=0.01]}}  # on t5-large, only these of its points

A point is ``<knob>=<value>`` (or several, comma-separated: ``short_length=20,rank=60``): the
method's configuration with those knobs changed, everything else as in ``methods.<method>`` (for a
named variant, as in its knobs: seed 001 Fig. 5 sweeps the projection-only variant); the grid's own
run of the method is the figure's base point. Each point is a ``knob`` stage in the method's
pipeline file (train + test score on one task), written under ``results/knobs/`` in the grid's
layout, so the method's rows stage summarises it beside the grid runs (as kind ``knob``) and
``report/sweeps.py`` draws it. Unlike ``sweep`` (DVC experiments for choosing a learning rate),
these runs are part of the committed results.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from ptbench.errors import ConfigError, require


def _split_top_level(text: str) -> list[str]:
    """``"a=1,b=[2, 3]"`` -> ``["a=1", "b=[2, 3]"]``: commas inside brackets belong to a value."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def parse_point(point: Any) -> dict[str, Any]:
    """``"num_experts=2"`` -> ``{"num_experts": 2}``; several knobs at once, comma-separated:
    ``"short_length=20,rank=60"`` (seed 001 Fig. 4b holds the parameter count while s moves).
    Values are read as YAML: 0.03, true, null, [a, b]."""
    require(isinstance(point, str), "knob_runs", f"a point must read <knob>=<value>[,<knob>=<value>...], got {point!r}")
    knobs: dict[str, Any] = {}
    for part in _split_top_level(point):
        require("=" in part and part.split("=", 1)[0].strip(), "knob_runs",
                f"a point must read <knob>=<value>[,<knob>=<value>...], got {point!r}")
        knob, value = part.split("=", 1)
        require(knob.strip() not in knobs, "knob_runs", f"{point!r} sets {knob.strip()!r} twice")
        knobs[knob.strip()] = yaml.safe_load(value)
    return knobs


def check_knob_runs(knob_runs: Any, params) -> dict[str, Any]:
    """Backbones among params' backbones; every method a grid method or variant, every task in
    ``tasks``, every point a valid configuration that differs from the method's own in exactly
    its knobs."""
    require(isinstance(knob_runs, dict) and set(knob_runs) == {"backbones", "methods"}, "knob_runs",
            "must hold backbones: [...] and methods: {<grid method>: {tasks: [...], points: [...]}}")
    require(isinstance(knob_runs["backbones"], list), "knob_runs.backbones", "must be a list (empty: no knob runs)")
    for name in knob_runs["backbones"]:
        require(name in params.backbones, "knob_runs.backbones",
                f"'{name}' is not in backbones (its data stages): {', '.join(params.backbones)}")
    per_method = knob_runs["methods"] or {}
    require(isinstance(per_method, dict), "knob_runs.methods", "must map grid methods to {tasks: [...], points: [...]}")
    for method, entry in per_method.items():
        require(method in params.grid.methods, "knob_runs.methods",
                f"'{method}' is not in grid.methods (its grid run is the base point); grid.methods: "
                f"{', '.join(params.grid.methods)}")
        key = f"knob_runs.methods.{method}"
        require(isinstance(entry, dict) and {"tasks", "points"} <= set(entry) <= {"tasks", "points", "backbones",
                                                                                    "points_on"}, key,
                "must hold tasks: [...] and points: [<knob>=<value>, ...] (and optionally backbones: [...], "
                "else knob_runs.backbones, and points_on: {<backbone>: [a subset of points]})")
        for name in entry.get("backbones", []):
            require(name in params.backbones, f"{key}.backbones",
                    f"'{name}' is not in backbones (its data stages): {', '.join(params.backbones)}")
        points_on, runs_on = entry.get("points_on", {}), knob_backbones(knob_runs, method)
        require(isinstance(points_on, dict), f"{key}.points_on", "must map backbones to lists of its points")
        for name, points in points_on.items():
            require(name in runs_on, f"{key}.points_on", f"'{name}' is not one of its backbones: {', '.join(runs_on)}")
            require(isinstance(points, list) and points and set(points) <= set(entry["points"]),
                    f"{key}.points_on.{name}", f"must be a non-empty list of its points ({', '.join(entry['points'])})")
        for name in ("tasks", "points"):
            require(isinstance(entry[name], list) and entry[name], f"{key}.{name}", "must be a non-empty list")
        for task in entry["tasks"]:
            require(task in params.tasks, f"{key}.tasks", f"'{task}' must also be in tasks (its data stage is shared); "
                                                          f"tasks: {', '.join(params.tasks)}")
        require(len(set(entry["points"])) == len(entry["points"]), f"{key}.points", "names a point twice")
        base = params.method_config(method)
        allowed = sorted(f.name for f in dataclasses.fields(base))
        for point in entry["points"]:
            for knob in parse_point(point):
                require(knob in allowed, f"{key}.points", f"'{knob}' is not a knob of {method}; allowed: "
                                                          f"{', '.join(allowed)}")
            try:
                changed = with_point(params, method, point).method_config(method)
            except ConfigError as exc:
                raise ConfigError(f"{key}.points: {point!r} is invalid ({exc})") from None
            require(changed != base, f"{key}.points", f"{point!r} equals {method}'s own configuration (the grid "
                                                      "run is already that point)")
    return {"backbones": list(knob_runs["backbones"]), "methods": dict(per_method)}


def knob_backbones(knob_runs: dict[str, Any], method: str) -> list[str]:
    """The backbones ``method``'s knob points run on: its entry's ``backbones``, else ``knob_runs.backbones``
    (the union runs seed 004 Fig. 2c on T5 v1.1 LM-adapt, the other seeds' knob figures on T5-base)."""
    entry = knob_runs["methods"].get(method) or {}
    return list(entry.get("backbones", knob_runs["backbones"]))


def knob_points(knob_runs: dict[str, Any], method: str, backbone: str) -> list[str]:
    """The points ``method`` runs on ``backbone``: its entry's ``points_on`` list for that backbone, else every
    point (none off its backbones). The union runs seed 003 Fig. 8's learning rates on T5-Large too, not ept's
    other figures' points."""
    if backbone not in knob_backbones(knob_runs, method):
        return []
    entry = knob_runs["methods"].get(method) or {}
    return list((entry.get("points_on") or {}).get(backbone, entry.get("points", [])))


def point_backbones(knob_runs: dict[str, Any], method: str, point: str) -> list[str]:
    """The backbones ``method``'s ``point`` runs on."""
    return [b for b in knob_backbones(knob_runs, method) if point in knob_points(knob_runs, method, b)]


def with_point(params, method: str, point: str):
    """These params with ``method``'s knobs changed at the point alone (a variant's knobs when
    ``method`` names one: a sweep starts from it)."""
    return with_knobs(params, method, parse_point(point))


def with_knobs(params, method: str, changes: dict[str, Any]):
    """These params with ``method``'s knobs ``changes`` applied (over a variant's knobs when it names one)."""
    if method in params.variants:
        variant = params.variants[method]
        variants = {**params.variants, method: dataclasses.replace(variant, knobs={**variant.knobs, **changes})}
        return dataclasses.replace(params, variants=variants)
    methods = {**params.methods, method: {**(params.methods[method] or {}), **changes}}
    return dataclasses.replace(params, methods=methods)


def require_point(params, method: str, point: str, task: str) -> None:
    """A knob stage's arguments must name a point params.yaml lists (else its results would not be
    the ones the pipeline file says)."""
    entry = params.knob_runs["methods"].get(method)
    require(entry is not None, "knob_runs.methods", f"'{method}' has no knob runs; listed: "
                                                    f"{', '.join(params.knob_runs['methods']) or 'none'}")
    require(task in entry["tasks"], f"knob_runs.methods.{method}.tasks",
            f"'{task}' is not listed; allowed: {', '.join(entry['tasks'])}")
    backbones = knob_backbones(params.knob_runs, method)
    require(params.backbone in backbones, f"knob_runs.methods.{method}.backbones",
            f"'{params.backbone}' is not listed; allowed: {', '.join(backbones) or 'none'}")
    points = knob_points(params.knob_runs, method, params.backbone)
    require(point in points, f"knob_runs.methods.{method}.points",
            f"{point!r} is not listed for {params.backbone}; allowed: {', '.join(points)}")
