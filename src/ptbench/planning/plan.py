"""``ptbench plan [profile]``: the stages and runs a profile implies, their estimated cost on this
machine, the total, and what DVC has already cached; before anything runs."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ptbench.config import Params
from ptbench.errors import PtbenchError
from ptbench.planning.calibration import (CALIBRATION_FILE, CALIBRATION_ROWS, CALIBRATION_TOKENS, calibrate, machine_key,
                                          shape_key)
from ptbench.planning.estimate import Backbone, Estimator, shape_of
from ptbench.planning.workload import SCORING_KINDS, TUNING_KINDS, Stage, plan_stages

SHORT_LENGTH = 16  # the calibration's shorter encoder length (the longer: the plan's longest)
DECODE_BATCH = 32


@dataclass
class Plan:
    profile: str
    machine: str
    stages: list[Stage]
    seconds: dict[str, float]  # stage address -> estimated seconds
    cached: set[str] | None  # addresses DVC reports up to date; None: not checked (``unchecked`` says why)
    estimated_from: dict[str, str]  # backbone -> "measured" | "scaled from <backbone> by parameter count"
    unchecked: str = ""
    device: str | None = None  # a GPU class estimated from FLOPs (``--device``), else this machine
    compared: str = ""  # beside a device estimate: the measured calibration of that GPU here, or why none
    disk: str = ""  # what the profile leaves on disk (planning/disk.py), as a line
    # the seeds' cells this profile runs under other settings than their paper's own profile (check.settings)
    deviations: list[str] = field(default_factory=list)

    def total(self, stages: list[Stage] | None = None) -> float:
        return sum(self.seconds[s.address] for s in (self.stages if stages is None else stages))

    def to_run(self) -> list[Stage]:
        return [s for s in self.stages if self.cached is None or s.address not in self.cached]

    def dvc_stages(self) -> list[Stage]:
        return [s for s in self.stages if s.kind != "zygote"]


def profile_params(name: str | None, params_path: Path = Path("params.yaml")) -> Params:
    """params.yaml with the profile's keys applied, in memory (params.yaml itself unchanged)."""
    from ptbench.config import load_params, parse_params
    from ptbench.pipeline.profiles import resolved_data

    if name is None:
        return load_params(params_path)
    return parse_params(resolved_data(name, params_path))


def calibration_shapes(params: Params) -> dict[str, dict[str, Any]]:
    """Per backbone, the encoder lengths to calibrate at: short, and the longest input any run
    gives it (input m plus the tokens its method adds)."""
    # what a module adds does not depend on the backbone (estimate.shape_of): the same for every backbone
    methods = dict.fromkeys([*params.grid.methods, *params.grid.transfer, params.method])
    lengths = [m_in + shape_of(params, m, m_in)[0] for m in methods
               for m_in in {params.data.input_length(t) for t in params.tasks}]
    long = max(lengths + [SHORT_LENGTH + 1])
    rows = max(4, min(params.train.batch_size, CALIBRATION_ROWS, CALIBRATION_TOKENS // long))
    longest = {b: {"lengths": (SHORT_LENGTH, long), "rows": rows, "target_tokens": params.data.max_target_length,
                   "decode_batch": DECODE_BATCH} for b in params.backbones}
    if params.hub.mirror and "tiny-t5" not in longest:  # the mirror's pre-training
        longest["tiny-t5"] = {"lengths": (SHORT_LENGTH, params.data.max_length), "rows": CALIBRATION_ROWS,
                              "target_tokens": params.data.max_target_length, "decode_batch": DECODE_BATCH}
    return longest


def backbone_rates(params: Params, record: dict[str, Any], shapes: dict[str, dict]) -> tuple[dict[str, Backbone], dict[str, str]]:
    """Each backbone's measured entry, or the largest measured one scaled by parameter count."""
    from ptbench.check.counting import backbone_size

    entries = record.get("backbones", {})
    measured = {}
    for name, shape in shapes.items():
        key = shape_key(name, shape)
        if key in entries:
            measured[name] = entries[key]
    if not measured:
        raise PtbenchError("plan: none of the profile's backbones is small enough to calibrate on this machine "
                           "(planning/calibration.py: CALIBRATE_MAX_PARAMETERS); add t5-small to its backbones, or "
                           "plan on a machine with a GPU")
    reference = max(measured.values(), key=lambda e: e["parameters"])
    rates, source = {}, {}
    for name in shapes:
        if name in measured:
            rates[name] = Backbone(name, measured[name]["parameters"], measured[name])
            source[name] = "measured"
        else:
            size = backbone_size(name, params.mirror.backbone)
            rates[name] = Backbone(name, size, reference, size / reference["parameters"])
            source[name] = f"scaled from {reference['backbone']} by parameter count"
    return rates, source


MIRROR_SAMPLE_ROWS = 20  # per pre-training rule: enough for the longest input a batch pads to


def mirror_input_length(params: Params) -> int:
    """The longest pre-training input of the mirror's mixture (a sample generated here: the word-level
    tokenizer gives a token per word, and EOS): what a pre-training batch is padded to."""
    from ptbench.mirror import synthetic
    from ptbench.mirror.pretrain import mixture

    cfg = params.mirror
    world = synthetic.World.build(cfg.lexicon_size, cfg.seed)
    sample = mixture(world, MIRROR_SAMPLE_ROWS, seed=cfg.seed, rules=cfg.pretrain["rules"],
                     unprefixed=cfg.pretrain["unprefixed"])
    return max(len(e.input.split()) + 1 for e in sample)


def prepared_input_lengths(params: Params) -> dict[tuple[str, str], float]:
    """The longest input of each task's prepared validation split, where the data stage has run (a
    batch is padded to its longest input)."""
    from ptbench.data.prepare import PreparedSplit, split_path
    from ptbench.pipeline.layout import data_dir

    lengths = {}
    for b in params.backbones:
        for task in params.tasks:
            path = split_path(data_dir(b, task), "validation")
            if path.exists():
                ids = PreparedSplit.load(path).input_ids
                if ids:
                    lengths[(b, task)] = max(len(x) for x in ids)
    return lengths


def cached_stages(stages: list[Stage]) -> set[str] | None:
    """The planned stages ``dvc status`` does not list as changed (params.yaml must hold the profile);
    None when dvc status fails."""
    out = subprocess.run(["dvc", "status", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    changed = set(json.loads(out.stdout or "{}"))
    stale = code_stale_keys() if CODE_STAGE in changed else set()
    return {s.address for s in stages if s.address not in changed and s.kind != "zygote"
            and fingerprint_key(s) not in stale}


CODE_STAGE = "pipelines/code/dvc.yaml:code"


def fingerprint_key(stage: Stage) -> str:
    """The code-fingerprint set a generated stage depends on (pipeline.code): ``<method>/<kind>``, ``data``."""
    return stage.kind if stage.kind == "data" else f"{stage.method}/{stage.kind}"


def code_stale_keys() -> set[str]:
    """After a code edit `dvc status` names only the code stage; the stages it will make run are those whose
    fingerprint the code as it is now changes (pipeline.code.stale_keys)."""
    from ptbench.pipeline.code import SETS_FILE, stale_keys

    return stale_keys(json.loads(SETS_FILE.read_text())) if SETS_FILE.is_file() else set()


def make_plan(profile: str | None, params_path: Path = Path("params.yaml"), calibration_path: Path = CALIBRATION_FILE,
              check_cache: bool = True, zygote: bool = True, log: Callable[[str], None] = print,
              device: str | None = None, utilisation: float | None = None) -> Plan:
    """``zygote``: the stages run under ``ptbench repro`` (``make smoke``), else under plain ``dvc repro``.
    ``device``: estimate on that GPU class from FLOPs (planning/devices.py) instead of this machine."""
    from ptbench.config import load_params

    params = profile_params(profile, params_path)
    stages = ([Stage("ptbench repro: warm process", "zygote", "", "")] if zygote else []) + plan_stages(params)
    lengths = prepared_input_lengths(params)
    compared = ""
    if device is not None:
        from ptbench.planning import devices

        gpu = devices.get_device(device)
        utilisation = devices.check_utilisation(devices.DEFAULT_UTILISATION if utilisation is None else utilisation)
        record, rates = devices.PROCESS_SECONDS, devices.device_backbones(params, gpu, utilisation)
        source = {name: f"FLOPs on {gpu.name} at {utilisation:.0%} of its dense BF16 peak" for name in rates}
        machine = (f"{gpu.name} ({gpu.source}); utilisation {utilisation:.0%}: an estimate from FLOPs and peak "
                   f"figures, not a measurement")
        compared = measured_on_device(params, gpu.name, calibration_path, stages, lengths, zygote)
    else:
        shapes = calibration_shapes(params)
        record = calibrate(shapes, params.runtime.cpu_threads, calibration_path, params.mirror.backbone, log)
        rates, source = backbone_rates(params, record, shapes)
        machine = machine_key(params.runtime.cpu_threads)
    if params.hub.mirror:  # the mirror stage's pre-training (the estimate's ("mirror", "pretrain") length)
        lengths[("mirror", "pretrain")] = mirror_input_length(params)
    estimator = Estimator(params, record, rates, lengths, zygote)
    seconds = {s.address: estimator.stage_seconds(s) for s in stages}
    current = load_params(params_path)
    active = profile is None or (current.profile == profile and current.raw == params.raw)
    cached, unchecked = None, "--no-cache-check"
    if check_cache and not active:
        unchecked = "params.yaml holds another profile; `ptbench profile` it to see"
    elif check_cache:
        cached, unchecked = cached_stages(stages), "dvc status failed"
    from ptbench.planning.disk import estimate_disk

    disk = estimate_disk(params, stages).line()
    return Plan(params.profile, machine, stages, seconds, cached, source, unchecked, device, compared, disk,
                paper_settings_lines(params.profile, params_path))


def paper_settings_lines(profile: str, params_path: Path) -> list[str]:
    """Where a profile that serves several seeds (the union ``paper``) runs a seed's table cells under other
    settings than that seed's own profile: per paper profile, how many cells and which settings differ."""
    import functools

    from ptbench.check.settings import paper_deviations, summarize_deviations

    resolve = functools.lru_cache(maxsize=None)(lambda name: profile_params(name, params_path))
    return summarize_deviations(paper_deviations(profile, resolve))


def measured_on_device(params: Params, device: str, calibration_path: Path, stages: list[Stage],
                       lengths: dict, zygote: bool) -> str:
    """The same plan from a calibration measured on that GPU class (``ptbench plan`` run on one), where
    this machine's calibration file holds one; else a line saying there is none."""
    from ptbench.planning.calibration import load

    import re

    from ptbench.planning.devices import get_device

    pattern = re.compile(get_device(device).cuda_name)
    # machine_key: "<cpu> | <cores> | threads .. | cuda <torch.cuda.get_device_name()> x<count> | torch .."
    records = {key: record for key, record in load(calibration_path).items()
               if any(part.startswith("cuda ") and pattern.search(part) for part in key.split(" | "))}
    if not records:
        return f"no measured calibration of a {device} here (`ptbench plan` run on one measures it)"
    key, record = next(iter(sorted(records.items())))
    try:
        rates, _ = backbone_rates(params, record, calibration_shapes(params))
    except PtbenchError as exc:
        return f"the calibration of {key} does not cover this profile's backbones ({exc})"
    measured = sum(Estimator(params, record, rates, lengths, zygote).stage_seconds(s) for s in stages)
    return f"measured calibration of {key}: {measured / 3600:,.1f} GPU-hours"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:,.1f} h"


def render(plan: Plan) -> str:
    """Per backbone and method: stages, runs, steps, estimated time (GPU-hours with ``--device``); then the totals."""
    groups: dict[tuple[str, str], list[Stage]] = {}
    for s in plan.stages:  # a method's equal-budget trials on a line of their own (their cost apart)
        name = f"{s.method} (trials)" if s.kind in TUNING_KINDS else s.method or s.kind
        groups.setdefault((s.backbone or "-", name), []).append(s)
    cost_header = "GPU-hours" if plan.device else "estimated"
    trained = sum(len(s.runs) for s in plan.stages if s.kind not in SCORING_KINDS)
    scored = sum(len(s.runs) for s in plan.stages if s.kind in SCORING_KINDS)
    lines = [f"plan: profile {plan.profile}, {len(plan.dvc_stages())} stages, {trained} training runs"
             + (f", {scored} scoring-only runs" if scored else ""),
             f"{'device' if plan.device else 'machine'}: {plan.machine}",
             *(f"  {b}: {how}" for b, how in sorted(plan.estimated_from.items())),
             "", f"{'backbone':18s} {'method / stage':28s} {'stages':>6s} {'runs':>6s} {'steps':>10s} "
                 f"{cost_header:>10s} {'cached':>7s}"]

    def cost(seconds: float) -> str:
        return f"{seconds / 3600:,.1f}" if plan.device else duration(seconds)
    for (backbone, name), members in groups.items():
        cached = "" if plan.cached is None else f"{sum(s.address in plan.cached for s in members)}/{len(members)}"
        lines.append(f"{backbone:18s} {name:28s} {len(members):6d} {sum(len(s.runs) for s in members):6d} "
                     f"{sum(r.steps for s in members for r in s.runs):10,d} {cost(plan.total(members)):>10s} "
                     f"{cached:>7s}")
    total = plan.total()
    trials = [s for s in plan.stages if s.kind in TUNING_KINDS]
    if trials:
        lines += ["", f"equal-budget trials (tuning; docs/protocols.md): {len(trials)} stages, "
                      f"{sum(len(s.runs) for s in trials)} runs, {cost(plan.total(trials))}"
                      f"{' GPU-hours' if plan.device else ''}; the rest: {cost(total - plan.total(trials))}"]
    if plan.device:
        lines += ["", f"total: {total / 3600:,.1f} GPU-hours on one {plan.device} (stages one after another; "
                      f"{total / 3600 / 24:,.1f} days)", f"compared: {plan.compared}"]
    else:
        lines += ["", f"total: {duration(total)} ({total:,.0f} s) on this machine"]
    if plan.disk:
        lines.append(plan.disk)
    if plan.deviations:
        lines += ["", f"per-paper settings: the seeds' table cells {plan.profile} runs under other settings than the "
                      f"paper's own profile (a cell: a method on a task and backbone; per setting, the paper's value "
                      f"-> {plan.profile}'s (cells)); run the paper's own profile for its settings "
                      f"(docs/pipeline.md: Profiles)", *plan.deviations]
    if plan.cached is None:
        lines.append(f"cached: not checked ({plan.unchecked})")
    else:
        left = plan.total(plan.to_run())
        lines.append(f"cached: {len(plan.cached)} of {len(plan.dvc_stages())} stages; "
                     f"left to run: {cost(left)}{' GPU-hours' if plan.device else ''} ({left:,.0f} s)")
    return "\n".join(lines)


RESULT_KINDS = ("cells", "train", "knob", "trial", "fewshot")  # the stage kinds whose runs write results rows
TIMED_KINDS = ("cells", "train", "knob", "trial")  # ... of them, those with a timing record (k-shot runs have none)


def planned_run_counts(params: Params) -> dict[str, int]:
    """How many training runs (every seed) the plan counts: those that write results rows (grid, knob and
    few-shot: what the cost table times) and all of them (source prompts and distillations too)."""
    stages = plan_stages(params)
    return {"with_results": sum(len(s.runs) for s in stages if s.kind in RESULT_KINDS),
            "all": sum(len(s.runs) for s in stages if s.kind not in SCORING_KINDS)}  # scoring trains nothing


def estimated_training_seconds(params: Params, calibration_path: Path = CALIBRATION_FILE) -> dict[tuple[str, str], float]:
    """Per (backbone, method): the training seconds (validation included, as measured) of its grid and knob
    runs (the runs whose timing the cost table shows), from this machine's stored calibration; empty without
    one (nothing is measured here: the tables stage calls this)."""
    from ptbench.planning.calibration import load

    record = load(calibration_path).get(machine_key(params.runtime.cpu_threads))
    if not record:
        return {}
    try:
        rates, _ = backbone_rates(params, record, calibration_shapes(params))
    except PtbenchError:
        return {}
    estimator = Estimator(params, record, rates, prepared_input_lengths(params))
    out: dict[tuple[str, str], float] = {}
    for stage in plan_stages(params):
        if stage.kind in TIMED_KINDS and stage.backbone in rates:
            key = (stage.backbone, stage.method)
            out[key] = out.get(key, 0.0) + sum(estimator.train_seconds(r) for r in stage.runs)
    return out
