"""Declarative task specs: one YAML file per task under ``specs/``, parsed into a TaskSpec."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ptbench.errors import ConfigError, require_choice

SPLIT_RULES = ("small", "large", "official")
TARGET_KINDS = ("label", "answers")
FAMILIES = ("glue", "superglue", "mrqa", "others")


@dataclass(frozen=True)
class HubDataset:
    path: str
    name: str | None
    revision: str


@dataclass(frozen=True)
class Target:
    """How a row becomes target strings.

    ``label``: ``row[field]`` mapped through ``verbalizer`` (one target, a closed set of outputs).
    ``answers``: ``row[field]`` is a list of answer strings (dotted field paths reach into structs);
    training uses the first, scoring takes the best over all.
    """

    kind: str
    field: str
    verbalizer: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    family: str
    hub: HubDataset
    splits: dict[str, str]
    split_rule: str
    input: str
    target: Target
    metrics: tuple[str, ...]

    def __post_init__(self) -> None:
        where = f"task '{self.name}'"
        require_choice(f"{where}: split_rule", self.split_rule, SPLIT_RULES)
        require_choice(f"{where}: family", self.family, FAMILIES)
        require_choice(f"{where}: target.kind", self.target.kind, TARGET_KINDS)
        if self.target.kind == "label" and not self.target.verbalizer:
            raise ConfigError(f"{where}: target.verbalizer is required for label targets")
        if self.split_rule == "official" and "test" not in self.splits:
            raise ConfigError(f"{where}: split_rule 'official' needs splits.test")
        for key in ("train", "validation"):
            if key not in self.splits:
                raise ConfigError(f"{where}: splits.{key} is missing")
        from ptbench.eval.metrics import METRICS  # late import: metrics import nothing from tasks

        for metric in self.metrics:
            require_choice(f"{where}: metrics", metric, sorted(METRICS))

    # --- formatting ---------------------------------------------------------------------
    @property
    def input_fields(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.input) if name]

    @property
    def required_fields(self) -> list[str]:
        return self.input_fields + [self.target.field.split(".")[0]]

    def format_input(self, row: dict[str, Any], prefix: str | None = None) -> str:
        text = self.input.format(**{k: row[k] for k in self.input_fields})
        return f"{prefix} {text}" if prefix else text

    def targets(self, row: dict[str, Any]) -> list[str]:
        value: Any = row
        for part in self.target.field.split("."):
            value = value[part]
        if self.target.kind == "label":
            return [self.target.verbalizer[int(value)]]
        answers = [str(a) for a in value]
        return answers or ["<unk>"]

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The closed output set of a classification task (None for free-form answers)."""
        return tuple(self.target.verbalizer.values()) if self.target.kind == "label" else None


def parse_spec(data: dict[str, Any], source: str) -> TaskSpec:
    try:
        target = data["target"]
        return TaskSpec(
            name=data["name"],
            family=data["family"],
            hub=HubDataset(**data["hub"]),
            splits=dict(data["splits"]),
            split_rule=data["split_rule"],
            input=data["input"],
            target=Target(kind=target["kind"], field=target["field"],
                          verbalizer={int(k): str(v) for k, v in target.get("verbalizer", {}).items()}),
            metrics=tuple(data["metrics"]),
        )
    except KeyError as exc:
        raise ConfigError(f"task spec {source}: missing key {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"task spec {source}: {exc}") from None


def load_spec_file(path: Path) -> TaskSpec:
    spec = parse_spec(yaml.safe_load(path.read_text()), str(path))
    if spec.name != path.stem:
        raise ConfigError(f"task spec {path}: name '{spec.name}' must match the file name '{path.stem}'")
    return spec
