"""Learning-rate (or any knob) grids as DVC experiments: params.yaml ``sweep`` lists, per method,
the values each knob takes; ``ptbench sweep`` turns them into ``dvc exp run --queue`` commands
(DVC expands comma lists into the cross product), run with ``dvc queue start -j <workers>``.

Each queued experiment re-runs only the swept method's stages (its ``methods.<name>`` changed);
``dvc exp show`` lists every point with its metrics, from which the best point per task on
validation is read (the seeds select on validation).
"""
from __future__ import annotations

import shlex
from typing import Any

from ptbench.errors import ConfigError, require


def check_sweep(sweep: Any, methods: dict[str, dict]) -> dict[str, dict[str, list]]:
    """``sweep``: {method: {knob: [values...]}}; every value must give a valid method config."""
    from ptbench.methods import method_config

    require(isinstance(sweep, dict), "sweep", "must map method names to {knob: [values]}")
    for method, knobs in sweep.items():
        require(method in methods, "sweep", f"'{method}' has no section under methods")
        require(isinstance(knobs, dict) and knobs, f"sweep.{method}", "must map knobs to non-empty lists of values")
        for knob, values in knobs.items():
            require(isinstance(values, list) and values, f"sweep.{method}.{knob}", "must be a non-empty list")
            for value in values:
                try:
                    method_config(method, {**(methods[method] or {}), knob: value})
                except ConfigError as exc:
                    raise ConfigError(f"sweep.{method}.{knob}: value {value!r} is invalid ({exc})") from None
    return sweep


def queue_commands(sweep: dict[str, dict[str, list]]) -> list[list[str]]:
    """One ``dvc exp run --queue`` per method: the cross product of its knob lists."""
    commands = []
    for method, knobs in sweep.items():
        command = ["dvc", "exp", "run", "--queue"]
        for knob, values in knobs.items():
            command += ["-S", f"methods.{method}.{knob}=" + ",".join(str(v) for v in values)]
        commands.append(command)
    return commands


def render(commands: list[list[str]]) -> str:
    return "\n".join(shlex.join(command) for command in commands)
