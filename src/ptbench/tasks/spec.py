"""Declarative task specs: one YAML file per task under ``specs/``, parsed into a TaskSpec.

A spec file holds the *faithful* reading (the reference code's format and scoring); an
optional ``corrected:`` mapping overrides top-level keys for ``scoring: corrected`` (the
reference code's known defects fixed, see docs/tasks.md). Parsing picks one mode, so the rest
of the suite sees a single, plain TaskSpec.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ptbench.errors import ConfigError, require_choice
from ptbench.tasks.transforms import TRANSFORMS

SPLIT_RULES = ("small", "large", "official")
TARGET_KINDS = ("label", "regression", "answers")
FAMILIES = ("glue", "superglue", "mrqa", "others")
SCORING_MODES = ("faithful", "corrected")
TRAIN_ANSWERS = ("first", "each")  # train on the first answer, or one example per answer
ROUNDING = ("python", "t5")  # a regression target's rounding rule (Target.rounding)
EVAL_ANSWERS = ("all", "first", "each")  # references: every answer, the first, or one row per answer
# a label task's output words (data.label_words): digits, the reference code's str(label) (DePT/ATTEMPT:
# "0", "1"); names, the dataset's own class names, which T5's text-to-text preprocessors emit (Raffel et
# al. 2020: label_names[label], e.g. "entailment", "not_entailment")
LABEL_WORDS = ("digits", "names")
SPEC_KEYS = {"name", "family", "hub", "splits", "split_rule", "input", "target", "metrics", "transforms",
             "group", "train_rows", "hub_rows", "corrected", "explosive_split", "scoring_note"}
# seed 003 Table 5's split where it contradicts its B.1 rule: small (whole train, validation halved) | official
# (the hub's train / validation / test, the test labelled: MRPC)
EXPLOSIVE_SPLITS = ("small", "official")


def field_value(row: dict[str, Any], path: str) -> Any:
    """``row["idx"]["question"]`` for the dotted path ``idx.question``."""
    value: Any = row
    for part in path.split("."):
        value = value[part]
    return value


@dataclass(frozen=True)
class HubDataset:
    path: str
    name: str | None
    revision: str


@dataclass(frozen=True)
class Target:
    """How a row becomes target strings (see TARGET_KINDS).

    ``label``: ``row[field]`` through ``verbalizer`` (keys are the hub values as strings): the words of the
    spec's ``label_words`` reading, picked at parsing from the file's ``verbalizer`` (digits) or ``names``
    (the dataset's class names, kept here too so that data preparation can check them against the hub's).
    ``regression``: a number rounded to a multiple of ``round_to``, printed with one decimal; ``rounding``
    says how: ``python`` (``round(x / round_to) * round_to`` in float64: DePT/ATTEMPT's ``np.round(x, 1)``
    on every STS-B label) or ``t5`` (T5's ``tf.round(x * (1 / round_to)) / (1 / round_to)`` in float32,
    half to even: 0.1 -> 0.0, 0.3 -> 0.4, 0.7 -> 0.8).
    ``answers``: ``row[field]`` is a list of answer strings; ``train`` and ``eval`` say which
    answers become training targets and scoring references (``empty`` stands in for none). As the
    reference code (DePT/ATTEMPT) builds them, faithfully: ``whole`` takes the field's whole value as
    one string (``str(example['answers'])``, SQuAD's dict of texts and offsets), ``transform`` passes
    every answer through a named transform (``pad_punctuation``), and ``reference_from_labels`` scores
    each row (``eval: first``, or ``each``: a row per answer, ReCoRD) against its own target as the reference
    code's labels hold it: tokenised to ``data.max_target_length``
    tokens (EOS included; DePT's 20 for QA), decoded (``data/prepare.py: references_from_labels``).
    """

    kind: str
    field: str
    verbalizer: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # label: the dataset's class names (LABEL_WORDS)
    round_to: float | None = None
    rounding: str = "python"  # python | t5 (regression targets)
    train: str = "first"
    eval: str = "all"
    empty: str = "<unk>"
    whole: bool = False  # answers: str(row[field]) as the one answer
    transform: str | None = None  # answers: a TRANSFORMS name applied to each answer
    reference_from_labels: bool = False  # answers: the reference is the decoded training labels

    def strings(self, value: Any) -> list[str]:
        if self.kind == "label":
            return [self.verbalizer[str(value)]]
        if self.kind == "regression":
            if self.rounding == "t5":  # float32 throughout, as TF reads the label; np.round is half to even
                steps = np.float32(round(1 / self.round_to))
                return [f"{float(np.round(np.float32(value) * steps) / steps):.1f}"]
            return [f"{round(float(value) / self.round_to) * self.round_to:.1f}"]
        answers = [str(value)] if self.whole else [str(a) for a in value]
        if self.transform is not None:
            answers = [TRANSFORMS[self.transform]({"answer": a}, "answer") for a in answers]
        return answers or [self.empty]

    def examples(self, golds: list[str], training: bool) -> list[tuple[str, list[str]]]:
        """(target string, references) pairs a row with these gold strings becomes."""
        if self.kind != "answers":
            return [(golds[0], golds)]
        reading = self.train if training else self.eval
        if reading == "each":
            return [(gold, [gold]) for gold in golds]
        return [(golds[0], golds if reading == "all" else golds[:1])]


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
    scoring: str = "faithful"
    label_words: str = "digits"  # which words ``target.verbalizer`` holds (LABEL_WORDS)
    transforms: dict[str, str] = field(default_factory=dict)  # field -> transform applied before formatting
    group: tuple[str, ...] = ()  # dotted fields whose values group rows for grouped metrics (MultiRC)
    train_rows: int | None = None  # keep the first N rows of the training part, after the split (DePT's Yelp)
    hub_rows: dict[str, int] = field(default_factory=dict)  # the real hub split sizes, for the records
    # seed 003's Table 5 sizes where they contradict its B.1 rule (split_protocol explosive; explosive_b1
    # ignores it): small = the whole training split and the validation halved, whatever the training size
    explosive_split: str | None = None
    scoring_note: str | None = None  # what this mode's scoring does to the score, printed beside its cells

    def __post_init__(self) -> None:
        from ptbench.eval.metrics import GROUPED_METRICS, METRIC_TARGETS, metric_names  # metrics import no tasks

        where = f"task '{self.name}'"
        require_choice(f"{where}: split_rule", self.split_rule, SPLIT_RULES)
        require_choice(f"{where}: family", self.family, FAMILIES)
        require_choice(f"{where}: scoring", self.scoring, SCORING_MODES)
        require_choice(f"{where}: target.kind", self.target.kind, TARGET_KINDS)
        require_choice(f"{where}: label_words", self.label_words, LABEL_WORDS)
        if self.target.kind == "label" and not (self.target.verbalizer and self.target.names):
            raise ConfigError(f"{where}: target.verbalizer (the digits) and target.names (the dataset's class "
                              "names) are both required for label targets")
        if self.target.kind == "label" and set(self.target.names) != set(self.target.verbalizer):
            raise ConfigError(f"{where}: target.names must name the same labels as target.verbalizer "
                              f"({', '.join(self.target.verbalizer)})")
        if self.target.kind == "regression" and not (self.target.round_to or 0) > 0:
            raise ConfigError(f"{where}: target.round_to must be a positive number for regression targets")
        require_choice(f"{where}: target.rounding", self.target.rounding, ROUNDING)
        if self.target.transform is not None:
            require_choice(f"{where}: target.transform", self.target.transform, sorted(TRANSFORMS))
        if self.target.reference_from_labels and (self.target.kind != "answers" or self.target.eval not in ("first", "each")):
            raise ConfigError(f"{where}: target.reference_from_labels scores each row against its own trained target: "
                              "it needs kind answers and eval first or each")
        if self.explosive_split is not None:
            require_choice(f"{where}: explosive_split", self.explosive_split, EXPLOSIVE_SPLITS)
        require_choice(f"{where}: target.train", self.target.train, TRAIN_ANSWERS)
        require_choice(f"{where}: target.eval", self.target.eval, EVAL_ANSWERS)
        if self.split_rule == "official" and "test" not in self.splits:
            raise ConfigError(f"{where}: split_rule 'official' needs splits.test")
        for key in ("train", "validation"):
            if key not in self.splits:
                raise ConfigError(f"{where}: splits.{key} is missing")
        for field_name, transform in self.transforms.items():
            require_choice(f"{where}: transforms.{field_name}", transform, sorted(TRANSFORMS))
        if not self.metrics:
            raise ConfigError(f"{where}: metrics must list at least one metric")
        for metric in self.metrics:
            require_choice(f"{where}: metrics", metric, metric_names())
            if self.target.kind not in METRIC_TARGETS[metric]:
                raise ConfigError(f"{where}: metric '{metric}' does not fit {self.target.kind} targets; "
                                  f"it fits {', '.join(sorted(METRIC_TARGETS[metric]))}")
            if metric in GROUPED_METRICS and not self.group:
                raise ConfigError(f"{where}: metric '{metric}' needs a 'group' field")

    # --- formatting ---------------------------------------------------------------------
    @property
    def input_fields(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.input) if name]

    @property
    def required_fields(self) -> list[str]:
        """Hub columns a row must carry (top-level names)."""
        names = self.input_fields + list(self.transforms) + [self.target.field] + list(self.group)
        return list(dict.fromkeys(name.split(".")[0] for name in names))

    def format_input(self, row: dict[str, Any], prefix: str | None = None) -> str:
        values = {name: TRANSFORMS[self.transforms[name]](row, name) if name in self.transforms else row[name]
                  for name in self.input_fields}
        text = self.input.format(**values)
        return f"{prefix} {text}" if prefix else text

    def targets(self, row: dict[str, Any]) -> list[str]:
        """Every gold string of a row (one for label and regression targets)."""
        return self.target.strings(field_value(row, self.target.field))

    def group_key(self, row: dict[str, Any]) -> str:
        return "/".join(str(field_value(row, path)) for path in self.group)

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The closed output set of a classification task (None for free-form outputs)."""
        return tuple(dict.fromkeys(self.target.verbalizer.values())) if self.target.kind == "label" else None


def _target(data: dict[str, Any], label_words: str) -> Target:
    known = {"kind", "field", "verbalizer", "names", "round_to", "rounding", "train", "eval", "empty", "whole",
             "transform", "reference_from_labels"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise TypeError(f"target: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    as_strings = lambda key: {str(k): str(v) for k, v in data.get(key, {}).items()}  # noqa: E731
    digits, names = as_strings("verbalizer"), as_strings("names")
    return Target(**{**data, "verbalizer": names if label_words == "names" else digits, "names": names})


def parse_spec(data: dict[str, Any], source: str, scoring: str = "faithful", label_words: str = "digits") -> TaskSpec:
    """The spec in one scoring mode (``corrected`` overlays the ``corrected:`` mapping), its label targets
    in one reading of LABEL_WORDS."""
    require_choice("data.scoring", scoring, SCORING_MODES)
    require_choice("data.label_words", label_words, LABEL_WORDS)
    try:
        unknown = sorted(set(data) - SPEC_KEYS)
        if unknown:
            raise TypeError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(SPEC_KEYS))}")
        overrides = data.get("corrected", {}) if scoring == "corrected" else {}
        if "corrected" in overrides or "name" in overrides:
            raise TypeError("'corrected' may not override name or nest itself")
        merged = {**data, **overrides}
        return TaskSpec(
            name=merged["name"],
            family=merged["family"],
            hub=HubDataset(**merged["hub"]),
            splits=dict(merged["splits"]),
            split_rule=merged["split_rule"],
            input=merged["input"],
            target=_target(merged["target"], label_words),
            metrics=tuple(merged["metrics"]),
            scoring=scoring,
            label_words=label_words,
            transforms=dict(merged.get("transforms", {})),
            group=tuple(merged.get("group", ())),
            train_rows=merged.get("train_rows"),
            hub_rows={str(k): int(v) for k, v in merged.get("hub_rows", {}).items()},
            explosive_split=merged.get("explosive_split"),
            scoring_note=merged.get("scoring_note"),
        )
    except KeyError as exc:
        raise ConfigError(f"task spec {source}: missing key {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"task spec {source}: {exc}") from None


def load_spec_file(path: Path, scoring: str = "faithful", label_words: str = "digits") -> TaskSpec:
    spec = parse_spec(yaml.safe_load(path.read_text()), str(path), scoring, label_words)
    if spec.name != path.stem:
        raise ConfigError(f"task spec {path}: name '{spec.name}' must match the file name '{path.stem}'")
    return spec
