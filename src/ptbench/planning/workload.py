"""What a profile runs: its DVC stages (as ``ptbench pipelines`` generates them) and, inside each,
the training runs with their steps and the examples they score. No compute, no hub: split sizes
come from the task specs' hub sizes (or the mirror's row counts) through the same split rules the
data stage applies."""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from ptbench.config import Params

# The per-(backbone, method) stage kinds that train (their runs below); the others only read files.
TRAINING_KINDS = ("source_prompt", "transfer_source", "cells", "train", "knob", "trial", "fewshot")
TUNING_KINDS = ("trial",)  # the equal-budget trials: `ptbench plan` shows their cost apart
SCORING_KINDS = ("evaluate", "zeroshot")  # stages whose runs score trained states and train nothing


@dataclass(frozen=True)
class Run:
    """One training run (one seed) and what it scores: validation passes and the test split."""

    backbone: str
    method: str  # a method or a named variant (its registered method builds it)
    task: str
    steps: int
    batch_size: int
    validation_examples: int  # per validation pass
    validation_passes: int
    test_examples: int
    curve_examples: int = 0  # per validation pass: the test split scored too (train.test_curve)


@dataclass(frozen=True)
class Stage:
    address: str  # as `dvc status` names it: pipelines/<b>/<m>/dvc.yaml:<kind>, or a root stage
    kind: str  # platform, mirror, data, source_prompt, transfer_source, cells, train, evaluate, knob, fewshot, rows, ...
    backbone: str
    method: str
    runs: tuple[Run, ...] = ()
    processes: int = 1  # one per task/point/k (stage_per: task) or one for all (stage_per: method)
    workers: int = 1  # processes running the runs side by side (runtime.task_workers, stage_per: method)
    rows: int = 0  # data stage: the rows it tokenises


@functools.lru_cache(maxsize=None)
def _split_sizes(task: str, scoring: str, protocol: str, seed: int, mirror_rows: tuple | None) -> dict[str, int]:
    from ptbench.data.splits import plan_splits
    from ptbench.tasks import get_task

    spec = get_task(task, scoring)
    if mirror_rows is not None:  # the mirror writes each hub split with its role's row count
        rows = dict(mirror_rows)
        sizes = {split: rows["train" if split == "train" else "test" if split.startswith("test") else "validation"]
                 for split in {*spec.hub_rows, *spec.splits.values()}}
    else:
        sizes = dict(spec.hub_rows)
    plan = plan_splits(spec, sizes, protocol, seed)
    return {part: len(split.indices) for part, split in plan.items()}


def split_sizes(params: Params, task: str) -> dict[str, int]:
    """train / validation / test rows of ``task`` as the data stage will build them."""
    mirror_rows = tuple(sorted(params.mirror.rows.items())) if params.hub.mirror else None
    return _split_sizes(task, params.data.scoring, params.data.split_protocol, params.data.split_seed, mirror_rows)


def _run(params: Params, backbone: str, method: str, task: str, steps: int, batch_size: int | None = None,
         test: bool = True, curve: bool = False) -> Run:
    """``curve``: a run whose history scores the test split at each validation when train.test_curve is on
    (grid, knob and trial runs; not source prompts or k-shot runs)."""
    sizes = split_sizes(params, task)
    interval = params.train.eval_interval
    return Run(backbone, method, task, steps, batch_size or params.train.batch_size, sizes["validation"],
               steps // interval + (steps % interval != 0), sizes["test"] if test else 0,
               sizes["test"] if curve and params.train.test_curve else 0)


def _grid_steps(params: Params, task: str) -> int:
    return params.train.steps_for(split_sizes(params, task)["train"])


def stage_runs(params: Params, kind: str, backbone: str, method: str) -> list[Run]:
    """The runs of one generated stage kind of (backbone, method), every seed included."""
    seeds = len(params.seeds)
    if kind == "source_prompt":
        return [_run(params, backbone, method, t, params.source_prompts.steps, test=False)
                for t in params.source_prompts.tasks for _ in range(seeds)]
    if kind == "transfer_source":  # a distillation (MPT) trains; collecting prompts (SPoT, ATTEMPT) does not
        config = params.method_config(method)
        if "distill_steps" not in {f.name for f in dataclasses.fields(config)}:
            return []
        steps = getattr(config, "distill_steps") or params.source_prompts.steps
        return [_run(params, backbone, method, params.source_prompts.tasks[0], steps, test=False) for _ in range(seeds)]
    if kind in ("cells", "train"):
        return [_run(params, backbone, method, t, _grid_steps(params, t), curve=True) for t in params.tasks
                for _ in range(seeds)]
    if kind == "knob":
        from ptbench.pipeline.knobs import knob_points

        tasks = params.knob_runs["methods"][method]["tasks"]
        return [_run(params, backbone, method, t, _grid_steps(params, t), curve=True)
                for _ in knob_points(params.knob_runs, method, backbone) for t in tasks for _ in range(seeds)]
    if kind == "trial":
        from ptbench.pipeline.tuning import trial_points

        return [_run(params, backbone, method, t, _grid_steps(params, t), curve=True)
                for _ in trial_points(params, method, backbone) for t in params.tuning["tasks"] for _ in range(seeds)]
    if kind == "zeroshot":  # the grid's states scored on each other task: test examples only, no step
        return [_run(params, backbone, method, target, 0) for source in params.tasks for target in params.tasks
                if source != target for _ in range(seeds)]
    if kind == "fewshot":
        few = params.few_shot
        return [_run(params, backbone, method, t, few.steps, min(params.train.batch_size, k))
                for t in few.tasks for k in few.ks for _ in few.sampling_seeds for _ in range(seeds)]
    return []


def _processes(params: Params, kind: str, method: str, runs: list[Run]) -> int:
    if params.runtime.stage_per == "method" or kind not in TRAINING_KINDS or kind == "transfer_source":
        return 1
    if kind in ("knob", "trial"):  # a process per (point, task) of this backbone's points
        return len(runs) // len(params.seeds)
    if kind == "fewshot":
        return len(params.few_shot.tasks) * len(params.few_shot.ks)
    if kind == "source_prompt":
        return len(params.source_prompts.tasks)
    return len(params.tasks)


def plan_stages(params: Params) -> list[Stage]:
    """Every stage ``dvc repro`` runs for these params, in pipeline order, with its runs."""
    from ptbench.pipeline.generate import method_pipeline

    grouped = params.runtime.stage_per == "method"
    workers = params.runtime.task_workers if grouped else 1
    stages: list[Stage] = [Stage("platform", "platform", "", ""),  # the platform fingerprint (ptbench.fingerprint)
                           Stage("pipelines/code/dvc.yaml:code", "code", "", "")]  # the code fingerprints (pipeline.code)
    if params.hub.mirror:
        stages.append(Stage("mirror", "mirror", "", ""))
    methods = dict.fromkeys([*params.grid.methods, *params.grid.transfer, *params.source_prompts.methods])
    for b in params.backbones:
        rows = sum(sum(split_sizes(params, t).values()) for t in params.tasks)
        stages.append(Stage(f"pipelines/{b}/dvc.yaml:data", "data", b, "", processes=1 if grouped else len(params.tasks),
                            rows=rows))
        variant = [_run(params, b, params.method, t, _grid_steps(params, t)) for t in params.tasks
                   for _ in params.seeds]
        stages.append(Stage(f"variant@{b}", "variant", b, params.method, tuple(variant), workers=workers))
        for m in methods:
            pipeline = method_pipeline(params, b, m)
            for kind in (pipeline or {}).get("stages", {}):
                runs = stage_runs(params, "cells" if kind == "train" else kind, b, m)
                if kind == "evaluate":  # scores what the train stage trained: test examples only
                    runs = [dataclasses.replace(r, steps=0, validation_passes=0) for r in
                            stage_runs(params, "cells", b, m)]
                stages.append(Stage(f"pipelines/{b}/{m}/dvc.yaml:{kind}", kind, b, m, tuple(runs),
                                    processes=_processes(params, kind, m, runs),
                                    workers=workers if kind in TRAINING_KINDS else 1))
    stages.append(Stage("tables", "tables", "", ""))
    return stages
