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
from pathlib import Path
from typing import Any

# train keys that do not change what a run learns or scores (how often it logs or checkpoints)
BOOKKEEPING = ("log_interval", "checkpoint_interval")


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
    from ptbench.train.optim import DEFAULT_EPS

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
                "data.scoring": data.scoring, "data.task_prefix": data.task_prefix, "data.label_words": data.label_words,
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
    from ptbench.pipeline.knobs import point_backbones, with_point

    runs = []
    for name in params.grid.methods + params.grid.transfer:
        runs.append(ScheduledRun(name, "grid", params.registered_method(name), tuple(params.backbones),
                                 tuple(params.tasks), params, name))
        entry = params.knob_runs["methods"].get(name)
        for point in entry["points"] if entry else []:
            runs.append(ScheduledRun(f"{name}@{point}", "knob", params.registered_method(name),
                                     tuple(point_backbones(params.knob_runs, name, point)), tuple(entry["tasks"]),
                                     with_point(params, name, point), name))
    few = params.few_shot
    for name in few.methods + few.transfer:
        for k in few.ks:
            runs.append(ScheduledRun(f"{name}@k{k}", "fewshot", params.registered_method(name), tuple(few.backbones),
                                     tuple(few.tasks), params, name))
    return runs


SEED_SETTINGS = Path(__file__).resolve().parents[1] / "report" / "reference" / "seed_settings.yaml"


@dataclass(frozen=True)
class Deviation:
    """A seed table's or figure's cell as ``profile`` runs it, beside the paper's own profile: the settings
    that differ (key -> (the paper profile's value, ours)), or ``missing`` when ``profile`` runs no match."""

    entry: str  # the seed_settings.yaml id
    own_profile: str
    method: str
    backbone: str
    task: str
    differences: dict[str, tuple[Any, Any]]
    missing: bool = False


def _matching(runs: list[ScheduledRun], method: str, knobs: dict, dropout: bool | None, backbone: str,
              task: str) -> list[ScheduledRun]:
    out = []
    for run in runs:
        if run.kind == "fewshot" or run.method != method or backbone not in run.backbones or task not in run.tasks:
            continue
        config = dataclasses.asdict(run.params.method_config(run.config_name))
        if all(config.get(k) == v for k, v in knobs.items()) and \
                (dropout is None or run.params.for_method(run.config_name).dropout == dropout):
            out.append(run)
    return out


def paper_deviations(profile: str, resolve, entries: list[dict] | None = None) -> list[Deviation]:
    """Every cell of every seed table or figure ``profile`` schedules (``seed_settings.yaml`` lists it among the
    entry's profiles) compared with the paper's own profile (``paper-<seed>``...): the cell's fully resolved
    settings, key by key. ``resolve(name)`` gives a profile's Params. A paper's own profile has none; a union
    profile that runs a paper's cells under another paper's settings lists them here."""
    import yaml

    entries = entries if entries is not None else yaml.safe_load(SEED_SETTINGS.read_text())
    if profile.startswith("paper-"):  # a paper's own profile is the reference
        return []
    out, runs_of = [], {}
    for entry in entries:
        if profile not in entry["profiles"]:
            continue
        seed = entry["id"].removeprefix("seed")[:3]
        own = [p for p in entry["profiles"] if p.startswith(f"paper-{seed}")]
        rows = entry.get("rows") or [{"method": entry["method"], "knobs": entry.get("base", {})}]
        for name in [profile, *own]:
            runs_of.setdefault(name, scheduled_runs(resolve(name)))
        for reference in own:
            for row in rows:
                for task in entry["tasks"]:
                    args = (row["method"], row.get("knobs", {}), row.get("dropout"), entry["backbone"], task)
                    theirs, ours = _matching(runs_of[reference], *args), _matching(runs_of[profile], *args)
                    if not theirs:
                        continue
                    want = theirs[0].settings(task)
                    if not ours:
                        out.append(Deviation(entry["id"], reference, row["method"], entry["backbone"], task, {}, True))
                        continue
                    # the closest of ours: the union may run several configurations of the method
                    best = min((run.settings(task) for run in ours),
                               key=lambda have: sum(have.get(k) != v for k, v in want.items()))
                    differences = {k: (v, best.get(k)) for k, v in want.items() if best.get(k) != v}
                    if differences:
                        out.append(Deviation(entry["id"], reference, row["method"], entry["backbone"], task,
                                             differences))
    return out


def summarize_deviations(deviations: list[Deviation], top: int = 6) -> list[str]:
    """Per paper profile: how many of its cells run otherwise, and the settings that differ most often."""
    from collections import Counter

    lines = []
    for own in sorted({d.own_profile for d in deviations}):
        mine = [d for d in deviations if d.own_profile == own]
        cells = {(d.method, d.backbone, d.task) for d in mine}
        counts = Counter(key for key in {(key, repr(values[0]), repr(values[1]), d.method, d.backbone, d.task)
                                         for d in mine if not d.missing for key, values in d.differences.items()}
                         for key in [key[:3]])
        missing = sum(d.missing for d in mine)
        shown = "; ".join(f"{key} {theirs} -> {ours} ({n})" for (key, theirs, ours), n in counts.most_common(top))
        lines.append(f"  {own}: {len(cells)} cells run under other settings than {own}'s"
                     + (f" ({missing} not run at all)" if missing else "") + (f": {shown}" if shown else ""))
    return lines
