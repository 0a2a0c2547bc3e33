"""Hub schemas (column names, types, split names) of the datasets the mirror imitates.

Taken from the hub's dataset cards (../shared/reference/hub.md, Table A). GLUE test splits
carry label -1 on the hub, and so do they here.
"""
from __future__ import annotations

from dataclasses import dataclass

from datasets import ClassLabel, Features, Sequence, Value


@dataclass(frozen=True)
class HubSchema:
    features: Features
    splits: tuple[str, ...]
    unlabeled_splits: tuple[str, ...] = ()  # rows whose label is -1 on the hub


def _glue(columns: dict, labels: list[str], splits=("train", "validation", "test")) -> HubSchema:
    features = Features({**{c: Value("string") for c in columns}, "label": ClassLabel(names=labels),
                         "idx": Value("int32")})
    return HubSchema(features, splits, unlabeled_splits=tuple(s for s in splits if s.startswith("test")))


SCHEMAS: dict[tuple[str, str], HubSchema] = {
    ("nyu-mll/glue", "rte"): _glue(["sentence1", "sentence2"], ["entailment", "not_entailment"]),
    ("nyu-mll/glue", "mrpc"): _glue(["sentence1", "sentence2"], ["not_equivalent", "equivalent"]),
    ("nyu-mll/glue", "mnli"): _glue(["premise", "hypothesis"], ["entailment", "neutral", "contradiction"],
                                    splits=("train", "validation_matched", "validation_mismatched",
                                            "test_matched", "test_mismatched")),
    ("nyu-mll/glue", "sst2"): _glue(["sentence"], ["negative", "positive"]),
    ("nyu-mll/glue", "cola"): _glue(["sentence"], ["unacceptable", "acceptable"]),
    ("rajpurkar/squad", "plain_text"): HubSchema(
        Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                  "question": Value("string"),
                  "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")})}),
        ("train", "validation")),
}
