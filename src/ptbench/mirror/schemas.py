"""Hub schemas (column names, types, split names) of the datasets the mirror imitates.

Taken from the hub's dataset cards (../shared/reference/hub.md, Table A). Unlabelled splits
are blanked as on the hub, and each schema says how (``unlabeled_values``): GLUE and SuperGLUE
ClassLabel columns hold -1, STS-B's float label -1.0, ReCoRD's answers an empty list and
WinoGrande's answer an empty string. Yelp polarity, SciTail, PAWS and the MRQA sets have no
unlabelled split (their test splits, where they exist, are labelled).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from datasets import ClassLabel, Features, Sequence, Value


@dataclass(frozen=True)
class HubSchema:
    features: Features
    splits: tuple[str, ...]
    unlabeled_splits: tuple[str, ...] = ()  # splits whose rows carry no gold answer on the hub
    # column -> the value those rows hold on the hub instead of the gold answer
    unlabeled_values: dict[str, Any] = field(default_factory=lambda: {"label": -1})

    def __post_init__(self) -> None:
        unknown = set(self.unlabeled_splits) - set(self.splits)
        if unknown:
            raise ValueError(f"unlabeled splits {sorted(unknown)} are not among the splits {self.splits}")
        if self.unlabeled_splits:
            missing = set(self.unlabeled_values) - set(self.features)
            if missing or not self.unlabeled_values:
                raise ValueError(f"unlabeled_values {self.unlabeled_values} must name columns of {list(self.features)}")


def blank_unlabeled(schema: HubSchema, record: dict) -> dict:
    """``record`` as the hub stores it in an unlabelled split: a new dict whose answer columns
    hold ``schema.unlabeled_values`` (label -1, answers [], answer "", ...). The caller decides
    which splits are unlabelled (``split in schema.unlabeled_splits``)."""
    return {**record, **copy.deepcopy(schema.unlabeled_values)}


def _test_unlabeled(features: Features, splits=("train", "validation", "test"), **unlabeled_values) -> HubSchema:
    """Splits whose name starts with "test" are unlabelled (GLUE, SuperGLUE, WinoGrande)."""
    return HubSchema(features, splits, unlabeled_splits=tuple(s for s in splits if s.startswith("test")),
                     unlabeled_values=unlabeled_values or {"label": -1})


def _glue(columns: dict, labels: list[str], splits=("train", "validation", "test"), test_labels: bool = False) -> HubSchema:
    """``test_labels``: the hub's test split carries its gold labels (MRPC: huggingface/datasets PR #2216,
    "added real label for glue/mrpc to test set", merged 2021-04-13; the parquet copies derive from it)."""
    features = Features({**{c: Value("string") for c in columns}, "label": ClassLabel(names=labels),
                         "idx": Value("int32")})
    return HubSchema(features, splits) if test_labels else _test_unlabeled(features, splits)


def _superglue(columns: dict[str, Any], labels: list[str]) -> HubSchema:
    """SuperGLUE column order: the inputs, idx, label."""
    return _test_unlabeled(Features({**columns, "idx": Value("int32"), "label": ClassLabel(names=labels)}))


_S = Value("string")
_I32 = Value("int32")
_BOOL = ["False", "True"]

# lucadiliello's MRQA sets: `labels` is a list of structs whose start/end are int64 lists
# (the card's YAML says `list:`, i.e. a list of structs, not `sequence:`, a struct of lists).
_MRQA = HubSchema(
    Features({"context": _S, "question": _S, "answers": Sequence(_S), "key": _S,
              "labels": [{"end": Sequence(Value("int64")), "start": Sequence(Value("int64"))}]}),
    ("train", "validation"))

SCHEMAS: dict[tuple[str, str], HubSchema] = {
    ("nyu-mll/glue", "rte"): _glue(["sentence1", "sentence2"], ["entailment", "not_entailment"]),
    ("nyu-mll/glue", "mrpc"): _glue(["sentence1", "sentence2"], ["not_equivalent", "equivalent"], test_labels=True),
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
    # --- GLUE ---
    ("nyu-mll/glue", "qqp"): _glue(["question1", "question2"], ["not_duplicate", "duplicate"]),
    ("nyu-mll/glue", "qnli"): _glue(["question", "sentence"], ["entailment", "not_entailment"]),
    ("nyu-mll/glue", "stsb"): _test_unlabeled(
        Features({"sentence1": _S, "sentence2": _S, "label": Value("float32"), "idx": _I32}), label=-1.0),
    # --- SuperGLUE ---
    ("aps/super_glue", "boolq"): _superglue({"question": _S, "passage": _S}, _BOOL),
    ("aps/super_glue", "cb"): _superglue({"premise": _S, "hypothesis": _S}, ["entailment", "contradiction", "neutral"]),
    ("aps/super_glue", "wic"): _superglue(
        {"word": _S, "sentence1": _S, "sentence2": _S, "start1": _I32, "start2": _I32, "end1": _I32, "end2": _I32},
        _BOOL),
    ("aps/super_glue", "wsc.fixed"): _superglue(
        {"text": _S, "span1_index": _I32, "span2_index": _I32, "span1_text": _S, "span2_text": _S}, _BOOL),
    ("aps/super_glue", "multirc"): _test_unlabeled(Features({
        "paragraph": _S, "question": _S, "answer": _S,
        "idx": {"paragraph": _I32, "question": _I32, "answer": _I32}, "label": ClassLabel(names=_BOOL)})),
    ("aps/super_glue", "copa"): _superglue({"premise": _S, "choice1": _S, "choice2": _S, "question": _S},
                                           ["choice1", "choice2"]),
    ("aps/super_glue", "record"): _test_unlabeled(Features({
        "passage": _S, "query": _S, "entities": Sequence(_S),
        "entity_spans": Sequence({"text": _S, "start": _I32, "end": _I32}),
        "answers": Sequence(_S), "idx": {"passage": _I32, "query": _I32}}), answers=[]),
    # --- MRQA ---
    ("lucadiliello/naturalquestionsshortqa", "default"): _MRQA,
    ("lucadiliello/hotpotqa", "default"): _MRQA,
    ("lucadiliello/searchqa", "default"): _MRQA,
    ("lucadiliello/newsqa", "default"): _MRQA,
    # --- others ---
    ("allenai/winogrande", "winogrande_xl"): _test_unlabeled(
        Features({"sentence": _S, "option1": _S, "option2": _S, "answer": _S}), answer=""),
    ("fancyzhx/yelp_polarity", "plain_text"): HubSchema(
        Features({"text": _S, "label": ClassLabel(names=["1", "2"])}), ("train", "test")),
    ("allenai/scitail", "snli_format"): HubSchema(
        Features({"sentence1_binary_parse": _S, "sentence1_parse": _S, "sentence1": _S, "sentence2_parse": _S,
                  "sentence2": _S, "annotator_labels": Sequence(_S), "gold_label": _S}),
        ("train", "validation", "test")),
    ("google-research-datasets/paws", "labeled_final"): HubSchema(
        Features({"id": _I32, "sentence1": _S, "sentence2": _S, "label": ClassLabel(names=["0", "1"])}),
        ("train", "validation", "test")),
}
