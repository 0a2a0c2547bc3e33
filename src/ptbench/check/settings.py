"""What a profile runs, fully resolved: every scheduled training run (grid methods and named variants,
their knob points, few-shot runs) with every setting that shapes its result.

The seeds' settings test (tests/test_seed_settings.py) checks these values against what each seed states
(``report/reference/seed_settings.yaml``: its words beside each value; a value it does not state is our
choice, with its source). A value read here is the value the run uses: the method's configuration with
its code defaults filled in (``method_config``), the training settings with a variant's changes, the
learning rate groups, weight decay and eps as the optimizer receives them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# train keys that do not change what a run learns or scores (how often it logs or checkpoints)
BOOKKEEPING = ("log_interval", "checkpoint_interval")
# the optimizer's eps when a method's adam_eps is null (ptbench.train.optim)
DEFAULT_EPS = {"adamw_legacy": 1e-6, "adamw_torch": 1e-8}


@dataclass(frozen=True)
class ScheduledRun:
    """A training run a profile schedules: ``name`` (a method or variant, ``@point`` for a knob point,
    ``@k<k>`` for few-shot) on ``backbones`` x ``tasks``, and its settings per task (``settings``)."""

    name: str
    kind: str  # grid | knob | fewshot
    method: str  # the registered method
    backbones: tuple[str, ...]
    tasks: tuple[str, ...]
    params: Any  # the Params the run sees (a knob point's knobs changed)
    config_name: str  # the method or variant name its configuration is read under

    def settings(self, task: str) -> dict[str, Any]:
        return resolved_settings(self.params, self.config_name, task, fewshot=self.kind == "fewshot")


def resolved_settings(params, name: str, task: str, fewshot: bool = False) -> dict[str, Any]:
    """Every setting of ``name``'s run on ``task``, as flat ``section.key`` -> value."""
    if fewshot:  # its few_shot.lr, if any (ptbench.run.transfer.few_shot_params)
        from ptbench.run.transfer import few_shot_params

        params = few_shot_params(params, name)
    run = params.for_method(name)
    config = run.method_config(name)
    train = {k: v for k, v in dataclasses.asdict(run.train).items() if k not in BOOKKEEPING}
    if fewshot:  # few_shot.steps, and k examples fill at most a batch of k (ptbench.run.transfer.fewshot_run)
        train.update(steps=params.few_shot.steps, large_task_steps=None, epochs=None,
                     batch_size=f"min({run.train.batch_size}, k)")
    out = {f"knobs.{key}": value for key, value in dataclasses.asdict(config).items()}
    out.update({f"train.{key}": value for key, value in train.items()})
    data = run.data
    out.update({"data.split_protocol": data.split_protocol, "data.split_seed": data.split_seed,
                "data.max_length": data.input_length(task), "data.max_target_length": data.max_target_length,
                "data.scoring": data.scoring, "data.task_prefix": data.task_prefix,
                "dropout": run.dropout, "seeds": len(run.seeds)})
    # as the optimizer receives them: the weight decay (a method's own, else train's) and eps
    out["optimizer.weight_decay"] = config.decay(run.train.weight_decay)
    out["optimizer.eps"] = config.adam_eps if config.adam_eps is not None else DEFAULT_EPS[run.train.optimizer]
    if fewshot:
        out.update({"few_shot.source": params.few_shot.source, "few_shot.sampler": params.few_shot.sampler,
                    "few_shot.sampling_seeds": len(params.few_shot.sampling_seeds)})
    return out


def scheduled_runs(params) -> list[ScheduledRun]:
    """Every training run the profile schedules: each grid method or variant on the grid's backbones and
    tasks, each of its knob points on the point's, each few-shot method on the few-shot tasks."""
    from ptbench.pipeline.knobs import with_point

    runs = []
    for name in params.grid.methods + params.grid.transfer:
        runs.append(ScheduledRun(name, "grid", params.registered_method(name), tuple(params.backbones),
                                 tuple(params.tasks), params, name))
        entry = params.knob_runs["methods"].get(name)
        for point in entry["points"] if entry else []:
            runs.append(ScheduledRun(f"{name}@{point}", "knob", params.registered_method(name),
                                     tuple(params.knob_runs["backbones"]), tuple(entry["tasks"]),
                                     with_point(params, name, point), name))
    few = params.few_shot
    for name in few.methods + few.transfer:
        for k in few.ks:
            runs.append(ScheduledRun(f"{name}@k{k}", "fewshot", params.registered_method(name), tuple(few.backbones),
                                     tuple(few.tasks), params, name))
    return runs
