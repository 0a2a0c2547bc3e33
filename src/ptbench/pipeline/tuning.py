"""Equal tuning budgets: every method gets the same number of trials, drawn with a fixed seed from its own
documented search space (docs/protocols.md gives each space's source).

params.yaml ``tuning``::

    tuning:
      budget: 4            # trials per method, the same for every method
      sample_seed: 0       # the draw (per method: seeded by "<sample_seed>/<method>")
      backbones: [t5-base]
      tasks: [rte, cb]
      spaces:              # a grid method -> {knob: [values]}; a trial is one value per knob
        pt: {lr: [0.003, 0.01, 0.03, 0.1, 0.3], init: [vocab, uniform, text]}

A trial is a point in the knob-run sense (``lr=0.01,init=text``: the method's configuration with those knobs
changed), trained and scored on each task as a ``trial`` stage (results/trials/, the grid's layout). A drawn
point that is the grid's own configuration is the grid run itself (no stage of its own). The report's
``selection`` reads the trials beside the grid runs; its budget curves are the expected score of the
validation-chosen best of b trials (report/budget.py).
"""
from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Any

from ptbench.errors import ConfigError, require

KEYS = {"budget", "sample_seed", "backbones", "tasks", "spaces"}


def point_text(knobs: dict[str, Any]) -> str:
    """``{"lr": 0.01, "init": "text"}`` -> ``"init=text,lr=0.01"``: one spelling per configuration (knobs
    sorted), so a trial's folder and stage name do not depend on the space's key order."""
    def value(v: Any) -> str:
        return "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    return ",".join(f"{k}={value(v)}" for k, v in sorted(knobs.items()))


def space_points(space: dict[str, list]) -> list[dict[str, Any]]:
    """Every configuration of a space (one value per knob), knobs in name order, values in the listed order."""
    names = sorted(space)
    return [dict(zip(names, values)) for values in itertools.product(*(space[n] for n in names))]


def draw(space: dict[str, list], budget: int, sample_seed: int, method: str) -> list[dict[str, Any]]:
    """``budget`` distinct configurations of ``space``, drawn without replacement by a generator seeded with
    ``"<sample_seed>/<method>"`` (a string seed: the same draw on every machine and Python), in draw order."""
    points = space_points(space)
    chosen = random.Random(f"{sample_seed}/{method}").sample(range(len(points)), budget)
    return [points[i] for i in chosen]


def check_tuning(raw: Any, params) -> dict[str, Any]:
    """Backbones and tasks among params'; every space a grid method's, its knobs the method's, its values valid
    configurations; the budget no larger than the smallest space (else some method could not get it)."""
    from ptbench.pipeline.knobs import with_knobs

    require(isinstance(raw, dict) and set(raw) == KEYS, "tuning",
            f"must hold {', '.join(sorted(KEYS))} (budget: trials per method; spaces: {{<grid method>: "
            "{<knob>: [values]}}; an empty spaces: no trials)")
    budget, seed = raw["budget"], raw["sample_seed"]
    require(isinstance(budget, int) and not isinstance(budget, bool) and budget >= 1, "tuning.budget",
            f"must be an integer >= 1, got {budget!r}")
    require(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0, "tuning.sample_seed",
            f"must be an integer >= 0, got {seed!r}")
    for key, allowed in (("backbones", params.backbones), ("tasks", params.tasks)):
        require(isinstance(raw[key], list), f"tuning.{key}", "must be a list")
        for name in raw[key]:
            require(name in allowed, f"tuning.{key}", f"'{name}' is not in {key}: {', '.join(allowed)}")
    spaces = raw["spaces"] or {}
    require(isinstance(spaces, dict), "tuning.spaces", "must map grid methods to {<knob>: [values]}")
    for method, space in spaces.items():
        key = f"tuning.spaces.{method}"
        require(method in params.grid.methods, "tuning.spaces",
                f"'{method}' is not in grid.methods; grid.methods: {', '.join(params.grid.methods)}")
        require(isinstance(space, dict) and space, key, "must map knobs to non-empty lists of values")
        allowed = sorted(f.name for f in dataclasses.fields(params.method_config(method)))
        for knob, values in space.items():
            require(knob in allowed, key, f"'{knob}' is not a knob of {method}; allowed: {', '.join(allowed)}")
            require(isinstance(values, list) and values, f"{key}.{knob}", "must be a non-empty list")
            require(len({repr(v) for v in values}) == len(values), f"{key}.{knob}", f"names a value twice: {values}")
        size = len(space_points(space))
        require(budget <= size, "tuning.budget", f"{budget} trials exceed {method}'s space ({size} configurations): "
                                                 "every method must get the same number")
        for point in space_points(space):
            try:
                with_knobs(params, method, point).method_config(method)
            except ConfigError as exc:
                raise ConfigError(f"{key}: {point_text(point)!r} is invalid ({exc})") from None
    require(not spaces or (raw["backbones"] and raw["tasks"]), "tuning",
            "spaces are set: backbones and tasks must name where the trials run")
    return {**raw, "spaces": dict(spaces)}


def trials(tuning: dict[str, Any], method: str) -> list[dict[str, Any]]:
    """``method``'s drawn trials (its configurations' knob changes), in draw order; none without a space."""
    space = (tuning.get("spaces") or {}).get(method)
    return draw(space, tuning["budget"], tuning["sample_seed"], method) if space else []


def trial_points(params, method: str, backbone: str) -> list[str]:
    """The trial stages of ``method`` on ``backbone``: its drawn points, but the one (if any) that is the grid's
    own configuration (the grid run is that trial)."""
    from ptbench.pipeline.knobs import with_knobs

    if backbone not in params.tuning["backbones"]:
        return []
    own = params.method_config(method)
    return [point_text(knobs) for knobs in trials(params.tuning, method)
            if with_knobs(params, method, knobs).method_config(method) != own]


def require_trial(params, method: str, point: str, task: str) -> None:
    """A trial stage's arguments must name a drawn point and a listed task (else its results would not be
    the ones the pipeline file says)."""
    points = trial_points(params, method, params.backbone)
    require(point in points, f"tuning.spaces.{method}",
            f"{point!r} is not one of {method}'s trials on {params.backbone}: {', '.join(points) or 'none'}")
    require(task in params.tuning["tasks"], "tuning.tasks",
            f"'{task}' is not listed; allowed: {', '.join(params.tuning['tasks'])}")
