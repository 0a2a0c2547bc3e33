"""params.yaml: loading, typed sections and whole-file validation (``ptbench validate``).

Every check runs before any compute and raises a ConfigError naming the key and what is
allowed. Sections are plain dataclasses so that a stage can take exactly its slice.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ptbench.errors import ConfigError, reject_unknown_keys, require, require_choice

PARAMS_FILE = Path("params.yaml")
SPLIT_PROTOCOLS = ("dept", "explosive")


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
        for key in ("steps", "batch_size", "rows_per_rule"):
            _positive_int(f"pretrain.{key}", self.pretrain.get(key))
        _positive_number("pretrain.lr", self.pretrain.get("lr"))


@dataclass
class DataConfig:
    split_protocol: str
    split_seed: int
    max_length: int
    max_target_length: int

    def __post_init__(self) -> None:
        require_choice("split_protocol", self.split_protocol, SPLIT_PROTOCOLS)
        _positive_int("split_seed", self.split_seed, minimum=0)
        _positive_int("max_length", self.max_length, minimum=8)
        _positive_int("max_target_length", self.max_target_length)


@dataclass
class TrainConfig:
    steps: int
    batch_size: int
    eval_interval: int
    eval_batch_size: int
    max_new_tokens: int
    weight_decay: float
    warmup_steps: int
    max_grad_norm: float
    log_interval: int
    checkpoint_interval: int  # full training state saved every N steps; a killed run resumes from it

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "eval_interval", "eval_batch_size", "max_new_tokens", "log_interval",
                    "checkpoint_interval"):
            _positive_int(key, getattr(self, key))
        _positive_int("warmup_steps", self.warmup_steps, minimum=0)
        _positive_number("weight_decay", self.weight_decay, allow_zero=True)
        _positive_number("max_grad_norm", self.max_grad_norm)


@dataclass
class SourcePromptConfig:
    tasks: list[str]
    method: str
    steps: int

    def __post_init__(self) -> None:
        _positive_int("steps", self.steps)


@dataclass
class Params:
    profile: str
    hub: HubConfig
    mirror: MirrorConfig
    backbone: str
    dropout: bool
    data: DataConfig
    tasks: list[str]
    seeds: list[int]
    train: TrainConfig
    methods: dict[str, dict[str, Any]]
    method: str
    source_prompts: SourcePromptConfig
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def method_config(self, name: str):
        from ptbench.methods import method_config

        require_choice("method", name, sorted(self.methods))
        return method_config(name, self.methods[name])


def parse_params(raw: dict[str, Any]) -> Params:
    """Validate the whole of params.yaml; the first problem raises a ConfigError."""
    from ptbench.backbones import get_backbone
    from ptbench.methods import METHODS, method_config
    from ptbench.tasks import get_task

    require(isinstance(raw, dict), "params.yaml", "must be a mapping")
    expected = {f.name for f in dataclasses.fields(Params)} - {"raw"}
    reject_unknown_keys("params.yaml", raw, expected)
    missing = sorted(expected - set(raw))
    if missing:
        raise ConfigError(f"params.yaml: missing key(s) {', '.join(missing)}")
    get_backbone(raw["backbone"])
    require(isinstance(raw["dropout"], bool), "dropout", "must be true or false")
    require(isinstance(raw["tasks"], list) and raw["tasks"], "tasks", "must be a non-empty list of task names")
    for task in raw["tasks"]:
        get_task(task)
    require(isinstance(raw["seeds"], list) and raw["seeds"], "seeds", "must be a non-empty list of integers")
    for seed in raw["seeds"]:
        _positive_int("seeds", seed, minimum=0)
    require(isinstance(raw["methods"], dict) and raw["methods"], "methods", "must map method names to their knobs")
    for name, section in raw["methods"].items():
        require_choice("methods", name, sorted(METHODS))
        method_config(name, section)
    require_choice("method", raw["method"], sorted(raw["methods"]))
    params = Params(
        profile=raw["profile"],
        hub=_section(HubConfig, "hub", raw["hub"]),
        mirror=_section(MirrorConfig, "mirror", raw["mirror"]),
        backbone=raw["backbone"],
        dropout=raw["dropout"],
        data=_section(DataConfig, "data", raw["data"]),
        tasks=list(raw["tasks"]),
        seeds=list(raw["seeds"]),
        train=_section(TrainConfig, "train", raw["train"]),
        methods=dict(raw["methods"]),
        method=raw["method"],
        source_prompts=_section(SourcePromptConfig, "source_prompts", raw["source_prompts"]),
        raw=raw,
    )
    for task in params.source_prompts.tasks:
        get_task(task)
        require(task in params.tasks, "source_prompts.tasks",
                f"'{task}' must also be in tasks (its data stage is shared); tasks: {', '.join(params.tasks)}")
    require_choice("source_prompts.method", params.source_prompts.method, sorted(params.methods))
    if get_backbone(params.backbone).mirror_only:
        require(params.hub.mirror is not None, "backbone",
                f"'{params.backbone}' exists only in the local mirror; set hub.mirror or choose a hub backbone")
    return params


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run from the repository root)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_params(raw)
