"""params.yaml: loading, typed sections and whole-file validation (``ptbench validate``).

Every check runs before any compute and raises a ConfigError naming the key and what is
allowed. Sections are plain dataclasses so that a stage can take exactly its slice.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ptbench.errors import ConfigError, reject_unknown_keys, require, require_choice
from ptbench.report.settings import ReportSettings
from ptbench.tasks.spec import LABEL_WORDS, SCORING_MODES  # the reference code's scoring, or its defects fixed

PARAMS_FILE = Path("params.yaml")
# dept: DePT/ATTEMPT's code; explosive: seed 003's Table 5 sizes; explosive_b1: seed 003's B.1 rule as written
SPLIT_PROTOCOLS = ("dept", "explosive", "explosive_b1")
DECODING = ("generate", "rank")  # greedy generation, or rank classification on classification tasks
MIXED_PRECISION = ("no", "fp16", "bf16")
OPTIMIZERS = ("adamw_legacy", "adamw_torch")  # ptbench.train.optim builds them
LR_SCHEDULES = ("linear", "constant")  # accelerate's autocast modes (fp16 needs a CUDA GPU)
STAGE_GRANULARITY = ("task", "method")  # runtime.stage_per
CPU_NUMERICS = ("avx2", "native")  # runtime.cpu_numerics (ptbench.numerics.PINS)
FEW_SHOT_SAMPLERS = ("dept", "balanced")  # few_shot.sampler


def _section(cls, key: str, data: Any):
    require(isinstance(data, dict), key, f"must be a mapping, got {type(data).__name__}")
    reject_unknown_keys(key, data, (f.name for f in dataclasses.fields(cls)))
    missing = sorted(f.name for f in dataclasses.fields(cls)
                     if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise ConfigError(f"{key}: missing key(s) {', '.join(missing)}")
    try:
        return cls(**data)
    except ConfigError as exc:
        raise ConfigError(f"{key}.{exc}") from None


def _positive_int(key: str, value: Any, minimum: int = 1) -> None:
    require(isinstance(value, int) and not isinstance(value, bool) and value >= minimum, key,
            f"must be an integer >= {minimum}, got {value!r}")


def _positive_number(key: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    require(ok, key, f"must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")


@dataclass
class HubConfig:
    mirror: str | None
    offline: bool

    def __post_init__(self) -> None:
        require(self.mirror is None or isinstance(self.mirror, str), "mirror", "must be a path or null")
        require(isinstance(self.offline, bool), "offline", "must be true or false")


@dataclass
class MirrorConfig:
    seed: int
    lexicon_size: int
    rows: dict[str, int]
    backbone: dict[str, int]
    pretrain: dict[str, Any]

    def __post_init__(self) -> None:
        for split in ("train", "validation", "test"):
            _positive_int(f"rows.{split}", self.rows.get(split))
        for key in ("d_model", "d_ff", "d_kv", "num_heads", "num_layers"):
            _positive_int(f"backbone.{key}", self.backbone.get(key))
        for key in ("steps", "batch_size", "rows_per_rule", "probe_rows"):
            _positive_int(f"pretrain.{key}", self.pretrain.get(key))
        _positive_number("pretrain.lr", self.pretrain.get("lr"))
        from ptbench.mirror.pretrain import pretraining_rules  # late: the mirror reads task specs

        rules = self.pretrain.get("rules")
        require(isinstance(rules, list) and rules, "pretrain.rules", "must be a non-empty list of rule names")
        for rule in rules:
            require_choice("pretrain.rules", rule, sorted(pretraining_rules()))
        unprefixed = self.pretrain.get("unprefixed")
        require(isinstance(unprefixed, list), "pretrain.unprefixed", "must be a list of rule names (may be empty)")
        for rule in unprefixed:  # those not among the rules are not pre-trained at all
            require_choice("pretrain.unprefixed", rule, sorted(pretraining_rules()))


@dataclass
class RuntimeConfig:
    """How the stages run on a machine. ``cpu_threads`` changes CPU results (floating-point sums
    split differently), so it is part of what a result depends on; ``stage_per`` only regroups
    the same library calls into processes (``ptbench pipelines``)."""

    # torch's intra-op threads in every stage (null: torch's default, all cores). Pinned, a CPU run
    # is byte-identical on an idle or a busy machine; unpinned, its threads spin-wait on any other load.
    cpu_threads: int | None
    # task: one train / evaluate / knob / few-shot process per task (a cell per GPU job, the paper
    # grid); method: one process per (backbone, method) running its tasks in turn (the smoke: the
    # ~4 s of imports per process is most of a tiny cell), same outputs, same numbers.
    stage_per: str
    # With stage_per: method, how many worker processes run a stage's independent runs (tasks, knob
    # points) side by side, each pinned to cpu_threads: 2 on the 2-core machines the smoke is sized for.
    # Each run trains and scores from a fresh backbone with its own seed, so the numbers do not depend
    # on it (not a DVC param); 1: in the stage's own process, in turn.
    # Which CPU kernels compute the bits (ptbench.numerics): avx2 pins ATen, MKL and oneDNN at the AVX2
    # level, so a result is the same on any Intel x86-64 CPU with AVX2; native lets each use the CPU's best.
    cpu_numerics: str
    task_workers: int = 1

    def __post_init__(self) -> None:
        if self.cpu_threads is not None:
            _positive_int("cpu_threads", self.cpu_threads)
        require_choice("cpu_numerics", self.cpu_numerics, CPU_NUMERICS)
        require_choice("stage_per", self.stage_per, STAGE_GRANULARITY)
        _positive_int("task_workers", self.task_workers)


@dataclass
class DataConfig:
    split_protocol: str
    split_seed: int
    max_length: int
    max_target_length: int
    scoring: str  # faithful | corrected (docs/tasks.md)
    task_prefix: bool  # ATTEMPT's "rte sentence1: ..." task-name prefix
    label_words: str  # digits (the reference code's "0"/"1") | names (T5's: the dataset's class names)
    # input lengths that differ from max_length (the seeds: MultiRC 348, MRQA 512); the prepared
    # data is truncated to it and DePT-style methods size their m x r matrix by it
    max_length_per_task: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(isinstance(self.max_length_per_task, dict), "max_length_per_task", "must map task names to lengths")
        for task, length in self.max_length_per_task.items():
            _positive_int(f"max_length_per_task.{task}", length, minimum=8)
        require_choice("split_protocol", self.split_protocol, SPLIT_PROTOCOLS)
        require_choice("scoring", self.scoring, SCORING_MODES)
        require_choice("label_words", self.label_words, LABEL_WORDS)
        require(isinstance(self.task_prefix, bool), "task_prefix", "must be true or false")
        _positive_int("split_seed", self.split_seed, minimum=0)
        _positive_int("max_length", self.max_length, minimum=8)
        _positive_int("max_target_length", self.max_target_length)

    def input_length(self, task: str) -> int:
        """m for ``task``: its own entry of max_length_per_task, else max_length."""
        return int(self.max_length_per_task.get(task, self.max_length))


@dataclass
class TrainConfig:
    steps: int
    batch_size: int
    eval_interval: int
    eval_batch_size: int
    max_new_tokens: int
    weight_decay: float
    warmup_steps: int
    # gradient clipping (total norm over the trained parameters); null: none. 1.0 is HF Trainer's default,
    # which the reference trainers (DePT, ATTEMPT, MPT, ResPrompt) keep; seed 003 and 004 do not state one
    max_grad_norm: float | None
    log_interval: int
    checkpoint_interval: int  # full training state saved every N steps; a killed run resumes from it
    decoding: str  # generate | rank (classification tasks only; free-form tasks always generate)
    # Hardware knobs (HF Accelerate); neither changes what one step learns. ``batch_size`` stays the
    # examples per optimizer step, split into ``gradient_accumulation_steps`` x processes micro-batches.
    mixed_precision: str = "no"  # no | fp16 (CUDA only) | bf16: autocast of the forward pass
    gradient_accumulation_steps: int = 1
    # The seeds' budget rules, resolved per task by ``steps_for``: seed 001 trains 300K steps on tasks
    # over 100K training rows (``large_task_steps``, ``large_task_rows``); seed 004 trains 80 epochs
    # (``epochs``) with no scheduler (``lr_schedule: constant``; else linear decay to 0 after warmup).
    large_task_steps: int | None = None
    large_task_rows: int = 100_000
    epochs: int | None = None
    lr_schedule: str = "linear"
    # adamw_legacy: transformers' legacy AdamW, which every reference trainer ran (ptbench.train.optim:
    # eps before the bias correction, weight decay after the update); adamw_torch: torch.optim.AdamW
    optimizer: str = "adamw_torch"
    # true: every validation also scores the test split into the history (the learning curve on the reported
    # set), which the selections that read a peak need (docs/protocols.md); it changes no learned bit
    test_curve: bool = False

    def steps_for(self, train_rows: int) -> int:
        """The optimizer steps of a task with ``train_rows`` training examples."""
        if self.epochs is not None:
            return max(1, math.ceil(self.epochs * train_rows / self.batch_size))
        if self.large_task_steps is not None and train_rows > self.large_task_rows:
            return self.large_task_steps
        return self.steps

    def __post_init__(self) -> None:
        require_choice("decoding", self.decoding, DECODING)
        require_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require(isinstance(self.test_curve, bool), "test_curve", f"must be true or false, got {self.test_curve!r}")
        for key in ("large_task_steps", "epochs"):
            if getattr(self, key) is not None:
                _positive_int(key, getattr(self, key))
        _positive_int("large_task_rows", self.large_task_rows)
        if self.mixed_precision is False:  # YAML 1.1 reads a bare `no` as false, and `dvc exp run -S`
            self.mixed_precision = "no"     # rewrites params.yaml without the quotes: both mean "no"
        require_choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        for key in ("steps", "batch_size", "eval_interval", "eval_batch_size", "max_new_tokens", "log_interval",
                    "checkpoint_interval", "gradient_accumulation_steps"):
            _positive_int(key, getattr(self, key))
        require(self.gradient_accumulation_steps <= self.batch_size, "gradient_accumulation_steps",
                f"must be at most batch_size ({self.batch_size}): each accumulation step takes a share of the "
                f"batch, got {self.gradient_accumulation_steps}")
        _positive_int("warmup_steps", self.warmup_steps, minimum=0)
        _positive_number("weight_decay", self.weight_decay, allow_zero=True)
        if self.max_grad_norm is not None:
            _positive_number("max_grad_norm", self.max_grad_norm)


@dataclass
class SourcePromptConfig:
    """Source-task pre-training: each listed method trained on each source task (DVC caches them).
    ``pt``'s prompts feed the transfer methods; every few-shot method starts from its own."""

    tasks: list[str]
    methods: list[str]
    steps: int

    def __post_init__(self) -> None:
        _positive_int("steps", self.steps)
        require(isinstance(self.methods, list), "methods", "must be a list of method names")


@dataclass
class GridConfig:
    """Which configured methods get train/evaluate stages on every task: ``methods`` (from
    scratch) and ``transfer`` (built on pt's source prompts: SPoT, ATTEMPT; stages that also
    depend on the source prompts). Profiles choose the grid; ``methods`` holds every knob."""

    methods: list[str]
    transfer: list[str]

    def __post_init__(self) -> None:
        for key in ("methods", "transfer"):
            require(isinstance(getattr(self, key), list), key, "must be a list of method names")
        require(bool(self.methods), "methods", "must list at least one method")


@dataclass
class FewShotConfig:
    """k-shot transfer: each method's source-trained state fine-tuned on k target examples."""

    backbones: list[str]  # among params' backbones (seed 001: T5-base)
    methods: list[str]  # each starts from its own state pre-trained on ``source``
    transfer: list[str]  # transfer methods (grid.transfer): each starts from its source prompts
    tasks: list[str]
    ks: list[int]
    # the source task whose pre-trained state starts every target; best: the source scoring highest on
    # the target's validation split; scratch: no source (seed 003)
    source: str
    sampling_seeds: list[int]  # one k-shot draw (and one run per training seed) per sampling seed
    steps: int
    # how the k examples are drawn (data/splits.py): dept (DePT's train.py: a datasets shuffle with the
    # seed, greedy k // classes per class, the last pick free, shuffled order) | balanced (classes in turn)
    sampler: str
    # the learning rate of a method's few-shot runs where it differs from its grid rate (seed 003 B.2: "For
    # the few-shot experiments, we use a learning rate of 1e-3 for fine-tuning"); {}: every method its own
    lr: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive_int("steps", self.steps)
        require_choice("sampler", self.sampler, FEW_SHOT_SAMPLERS)
        for key in ("backbones", "methods", "transfer", "tasks", "ks", "sampling_seeds"):
            require(isinstance(getattr(self, key), list), key, "must be a list")
        for k in self.ks:
            _positive_int("ks", k)
        require(bool(self.sampling_seeds), "sampling_seeds", "must be a non-empty list of integers")
        for seed in self.sampling_seeds:
            _positive_int("sampling_seeds", seed, minimum=0)
        require(isinstance(self.lr, dict), "lr", "must map few-shot method names to learning rates")
        for method, rate in self.lr.items():
            require(method in self.methods + self.transfer, f"lr.{method}",
                    f"must name a few-shot method ({', '.join(self.methods + self.transfer) or 'none'})")
            _positive_number(f"lr.{method}", rate)


@dataclass(frozen=True)
class Variant:
    """A named variant (``variants.<name>``): a registered method with a set of its knobs changed
    (and optionally the backbone's dropout), a row of its own. It has its own stages and cache
    scope (``pipelines/<backbone>/<name>/``, params ``methods.<method>`` + ``variants.<name>``), and
    its results name it (``method: <name>``, ``registered_method: <method>``)."""

    method: str
    knobs: dict[str, Any]
    dropout: bool | None = None  # None: params.yaml's dropout (seed 004's with/without pairs set it)
    label: str | None = None  # its row label in the tables; None: the name


VARIANT_KEYS = ("method", "knobs", "dropout", "label")


def check_variants(raw: Any, methods: dict[str, dict]) -> dict[str, Variant]:
    """Every variant names a method of ``methods`` and changes valid knobs of it (or the dropout)."""
    from ptbench.methods import METHODS, method_config

    raw = raw or {}
    require(isinstance(raw, dict), "variants", "must map variant names to {method, knobs[, dropout, label]}")
    variants = {}
    for name, entry in raw.items():
        key = f"variants.{name}"
        require(isinstance(name, str) and name.replace("_", "").replace("-", "").isalnum(), "variants",
                f"{name!r} must be a name of letters, digits, _ and - (it names folders and stages)")
        require(name not in METHODS, "variants", f"'{name}' is a registered method; give the variant its own name")
        require(isinstance(entry, dict), key, "must be a mapping: {method: <method>, knobs: {<knob>: <value>, ...}}")
        reject_unknown_keys(key, entry, VARIANT_KEYS)
        require("method" in entry, key, "missing key method (the registered method it varies)")
        require_choice(f"{key}.method", entry["method"], sorted(methods))
        knobs = entry.get("knobs") or {}
        require(isinstance(knobs, dict), f"{key}.knobs", "must map knobs of the method to values")
        base = method_config(entry["method"], methods[entry["method"]])
        changed = method_config(entry["method"], {**(methods[entry["method"]] or {}), **knobs}, f"{key}.knobs")
        dropout = entry.get("dropout")
        require(dropout is None or isinstance(dropout, bool), f"{key}.dropout", "must be true, false or absent")
        require(changed != base or dropout is not None, key,
                f"equals methods.{entry['method']}: a variant must change a knob or the dropout")
        label = entry.get("label")
        require(label is None or isinstance(label, str), f"{key}.label", "must be a string")
        variants[name] = Variant(entry["method"], dict(knobs), dropout, label)
    return variants


@dataclass
class ZeroShotConfig:
    """Zero-shot transfer (seed 003 Fig. 10, right): each grid run's trained state, as it is, scored on every
    other task of ``tasks`` (no training: the state must fit the other tasks, as a prompt does)."""

    methods: list[str]  # grid methods (their runs are the sources)
    backbones: list[str]  # among params' backbones

    def __post_init__(self) -> None:
        for key in ("methods", "backbones"):
            require(isinstance(getattr(self, key), list), key, "must be a list")


@dataclass
class Params:
    profile: str
    hub: HubConfig
    mirror: MirrorConfig
    backbones: list[str]  # every backbone the grid runs on; stages pick one (``for_backbone``)
    dropout: bool
    data: DataConfig
    tasks: list[str]
    seeds: list[int]
    train: TrainConfig
    methods: dict[str, dict[str, Any]]
    method: str
    source_prompts: SourcePromptConfig
    grid: GridConfig
    few_shot: FewShotConfig
    sweep: dict[str, dict[str, list]]  # knob grids queued as DVC experiments (ptbench sweep)
    knob_runs: dict[str, Any]  # {backbones, methods: {m: {tasks, points}}}: the knob figures' runs (ptbench.pipeline.knobs)
    zero_shot: ZeroShotConfig  # each grid run's state scored on the other tasks (seed 003 Fig. 10)
    tuning: dict[str, Any]  # equal-budget trials per method (ptbench.pipeline.tuning)
    selection: Any  # the paper protocol's selection rule (report.selection.SelectionRule; docs/protocols.md)
    report: ReportSettings  # bootstrap and table settings (docs/report.md)
    launcher: str  # the training stages' command prefix: python | accelerate launch ... (docs/pipeline.md)
    runtime: RuntimeConfig  # threads and process grouping (docs/pipeline.md)
    variants: dict[str, Variant] = field(default_factory=dict)  # named variants (``Variant``)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    # The backbone the library calls run on: set by each stage's --backbone (``for_backbone``);
    # the first of ``backbones`` for whole-profile tools (``ptbench params``).
    backbone: str = ""

    def __post_init__(self) -> None:
        self.backbone = self.backbone or self.backbones[0]

    def for_backbone(self, name: str) -> "Params":
        """These params on one backbone of the grid (a stage's --backbone)."""
        require_choice("backbones", name, self.backbones)
        return dataclasses.replace(self, backbone=name)

    def method_names(self) -> list[str]:
        """What a grid, a knob run or a source-prompt list may name: a configured method or a variant."""
        return sorted([*self.methods, *self.variants])

    def registered_method(self, name: str) -> str:
        """The registered method behind a name of ``method_names`` (itself, unless a variant)."""
        require_choice("method", name, self.method_names())
        return self.variants[name].method if name in self.variants else name

    def method_section(self, name: str) -> dict[str, Any]:
        """The knobs params.yaml gives ``name``: its ``methods`` section, a variant's knobs over its method's."""
        base = self.registered_method(name)
        section = self.methods[base] or {}
        return {**section, **self.variants[name].knobs} if name in self.variants else section

    def method_config(self, name: str):
        from ptbench.methods import method_config

        key = f"variants.{name}.knobs" if name in self.variants else None
        return method_config(self.registered_method(name), self.method_section(name), key)

    def method_param_keys(self, name: str) -> list[str]:
        """The params.yaml keys ``name``'s runs depend on (its stages' DVC params)."""
        base = self.registered_method(name)
        return [f"methods.{base}", *([f"variants.{name}"] if name in self.variants else [])]

    def for_method(self, name: str) -> "Params":
        """These params as ``name``'s runs see them: a variant's dropout replaces the global one."""
        self.registered_method(name)  # a known name, else a ConfigError naming the allowed ones
        variant = self.variants.get(name)
        if variant is None or variant.dropout is None:
            return self
        return dataclasses.replace(self, dropout=variant.dropout)


def parse_params(raw: dict[str, Any]) -> Params:
    """Validate the whole of params.yaml; the first problem raises a ConfigError."""
    from ptbench.backbones import get_backbone
    from ptbench.pipeline.knobs import check_knob_runs
    from ptbench.methods import METHODS, method_config
    from ptbench.pipeline.sweep import check_sweep
    from ptbench.pipeline.tuning import check_tuning
    from ptbench.report.selection import parse_selection
    from ptbench.tasks import get_task

    require(isinstance(raw, dict), "params.yaml", "must be a mapping")
    expected = {f.name for f in dataclasses.fields(Params)} - {"raw", "backbone"}
    reject_unknown_keys("params.yaml", raw, expected)
    missing = sorted(expected - set(raw))
    if missing:
        raise ConfigError(f"params.yaml: missing key(s) {', '.join(missing)}")
    require(isinstance(raw["backbones"], list) and raw["backbones"], "backbones",
            "must be a non-empty list of backbone names")
    require(len(set(raw["backbones"])) == len(raw["backbones"]), "backbones", f"names a backbone twice: {raw['backbones']}")
    for name in raw["backbones"]:
        get_backbone(name)
    require(isinstance(raw["dropout"], bool), "dropout", "must be true or false")
    require(isinstance(raw["launcher"], str) and raw["launcher"].split()[:1] in (["python"], ["accelerate"]),
            "launcher", f"must start with python or accelerate (launch ...), got {raw['launcher']!r}")
    require(isinstance(raw["tasks"], list) and raw["tasks"], "tasks", "must be a non-empty list of task names")
    for task in raw["tasks"]:
        get_task(task)
    for task in (raw.get("data") or {}).get("max_length_per_task") or {}:
        get_task(task)
    require(isinstance(raw["seeds"], list) and raw["seeds"], "seeds", "must be a non-empty list of integers")
    for seed in raw["seeds"]:
        _positive_int("seeds", seed, minimum=0)
    require(isinstance(raw["methods"], dict) and raw["methods"], "methods", "must map method names to their knobs")
    for name, section in raw["methods"].items():
        require_choice("methods", name, sorted(METHODS))
        method_config(name, section)
    variants = check_variants(raw.get("variants"), raw["methods"])
    # the variant stage's method: a configured method (dvc.yaml's params name methods.${method}); a named
    # variant gets its own stages through the grid
    require_choice("method", raw["method"], sorted(raw["methods"]))
    params = Params(
        profile=raw["profile"],
        hub=_section(HubConfig, "hub", raw["hub"]),
        mirror=_section(MirrorConfig, "mirror", raw["mirror"]),
        backbones=list(raw["backbones"]),
        dropout=raw["dropout"],
        data=_section(DataConfig, "data", raw["data"]),
        tasks=list(raw["tasks"]),
        seeds=list(raw["seeds"]),
        train=_section(TrainConfig, "train", raw["train"]),
        methods=dict(raw["methods"]),
        method=raw["method"],
        source_prompts=_section(SourcePromptConfig, "source_prompts", raw["source_prompts"]),
        grid=_section(GridConfig, "grid", raw["grid"]),
        few_shot=_section(FewShotConfig, "few_shot", raw["few_shot"]),
        sweep=check_sweep(raw["sweep"] if raw["sweep"] is not None else {}, raw["methods"]),
        knob_runs={},  # checked below, against the grid
        zero_shot=_section(ZeroShotConfig, "zero_shot", raw["zero_shot"]),
        tuning={},  # checked below, against the grid
        selection=parse_selection(raw["selection"]),
        report=_section(ReportSettings, "report", raw["report"]),
        launcher=raw["launcher"],
        runtime=_section(RuntimeConfig, "runtime", raw["runtime"]),
        variants=variants,
        raw=raw,
    )
    _check_transfer(params)
    params.knob_runs = check_knob_runs(raw["knob_runs"], params)
    _check_zero_shot(params)
    params.tuning = check_tuning(raw["tuning"], params)
    require(params.selection.checkpoint == "validation" or params.train.test_curve, "train.test_curve",
            f"must be true: selection.paper.checkpoint '{params.selection.checkpoint}' reads the test curve")
    for name in params.backbones:
        if get_backbone(name).mirror_only:
            require(params.hub.mirror is not None, "backbones",
                    f"'{name}' exists only in the local mirror; set hub.mirror or choose a hub backbone")
    return params


def _check_zero_shot(params: Params) -> None:
    zero = params.zero_shot
    for method in zero.methods:
        require(method in params.grid.methods, "zero_shot.methods",
                f"'{method}' is not in grid.methods (its grid runs are the sources); grid.methods: "
                f"{', '.join(params.grid.methods)}")
    for name in zero.backbones:
        require(name in params.backbones, "zero_shot.backbones",
                f"'{name}' is not in backbones: {', '.join(params.backbones)}")
    require(not zero.methods or len(params.tasks) > 1, "zero_shot.methods", "needs two tasks or more in tasks")


def _check_transfer(params: Params) -> None:
    """Source tasks, source methods, transfer sources and few-shot targets must line up."""
    from ptbench.tasks import get_task

    sources = params.source_prompts
    for task in sources.tasks:
        get_task(task)
        require(task in params.tasks, "source_prompts.tasks",
                f"'{task}' must also be in tasks (its data stage is shared); tasks: {', '.join(params.tasks)}")
    for method in sources.methods:
        require_choice("source_prompts.methods", method, params.method_names())
    for key in ("methods", "transfer"):
        names = getattr(params.grid, key)
        require(len(set(names)) == len(names), f"grid.{key}", f"names a method twice: {names}")
    for name in params.grid.methods:
        require_choice("grid.methods", name, params.method_names())
        require(not params.method_config(name).source_tasks(), "grid.methods",
                f"'{name}' reads source prompts; list it under grid.transfer")
    for name in params.grid.transfer:
        require_choice("grid.transfer", name, params.method_names())
        tasks = params.method_config(name).source_tasks()
        require(bool(tasks), "grid.transfer", f"'{name}' reads no source prompts; list it under grid.methods")
        require("pt" in sources.methods, "source_prompts.methods",
                "must include pt: the transfer methods read pt's source prompts")
        for task in tasks:
            require(task in sources.tasks, f"methods.{name}.sources",
                    f"'{task}' is not pre-trained; source_prompts.tasks: {', '.join(sources.tasks)}")
    few = params.few_shot
    for method in few.methods:
        require(method in sources.methods, "few_shot.methods",
                f"'{method}' has no source-trained state; source_prompts.methods: {', '.join(sources.methods)}")
    for name in few.backbones:
        require(name in params.backbones, "few_shot.backbones",
                f"'{name}' is not in backbones (its data and source stages): {', '.join(params.backbones)}")
    for method in few.transfer:
        require(method in params.grid.transfer, "few_shot.transfer",
                f"'{method}' is not a transfer method of the grid; grid.transfer: {', '.join(params.grid.transfer)}")
    for task in few.tasks:
        get_task(task)
        require(task in params.tasks, "few_shot.tasks",
                f"'{task}' must also be in tasks (its data stage is shared); tasks: {', '.join(params.tasks)}")
        require(few.sampler != "dept" or task == "stsb" or get_task(task).choices is not None, "few_shot.sampler",
                f"dept draws per class, and '{task}' has none (DePT's code samples classification tasks and "
                "STS-B); allowed for it: balanced")
    if few.methods:
        require(few.source in [*sources.tasks, "best", "scratch"], "few_shot.source",
                f"'{few.source}' is not pre-trained; allowed: best, scratch, or one of source_prompts.tasks: "
                f"{', '.join(sources.tasks)}")


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run from the repository root)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_params(raw)
