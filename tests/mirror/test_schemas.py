import random

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from ptbench.mirror import synthetic
from ptbench.mirror.schemas import SCHEMAS, HubSchema, blank_unlabeled

GLUE_LIKE = [("nyu-mll/glue", c) for c in ("rte", "mnli", "sst2", "cola", "qqp", "qnli")] + [
    ("aps/super_glue", c) for c in ("boolq", "cb", "wic", "wsc.fixed", "multirc", "copa")]
MRQA = [(f"lucadiliello/{name}", "default") for name in ("naturalquestionsshortqa", "hotpotqa", "searchqa", "newsqa")]


@pytest.fixture(scope="module")
def world():
    return synthetic.World.build(240, 0)


def test_every_generator_has_a_schema():
    assert set(SCHEMAS) == set(synthetic.HUB_GENERATORS)
    assert len(SCHEMAS) == 24


@pytest.mark.parametrize("key", sorted(SCHEMAS))
def test_every_split_loads_with_the_hub_features(world, key):
    """As build.py writes them: every split, unlabelled splits blanked, through Dataset.from_list."""
    schema = SCHEMAS[key]
    for number, split in enumerate(schema.splits):
        records = synthetic.generate(synthetic.HUB_GENERATORS[key], world, 12, seed=number)
        if split in schema.unlabeled_splits:
            records = [blank_unlabeled(schema, r) for r in records]
        dataset = Dataset.from_list(records, features=schema.features)
        assert dataset.features == schema.features and len(dataset) == 12
        if split in schema.unlabeled_splits:
            for column, value in schema.unlabeled_values.items():
                assert dataset[column] == [value] * 12


@pytest.mark.parametrize("key", GLUE_LIKE)
def test_glue_and_superglue_tests_are_unlabelled_with_minus_one(world, key):
    schema = SCHEMAS[key]
    assert schema.unlabeled_splits == tuple(s for s in schema.splits if s.startswith("test"))
    assert schema.unlabeled_values == {"label": -1}
    row = synthetic.HUB_GENERATORS[key](world, random.Random(0), 0)
    assert blank_unlabeled(schema, row) == {**row, "label": -1}


def test_mrpc_is_the_glue_task_whose_test_split_is_labelled_on_the_hub():
    """huggingface/datasets PR #2216 ("added real label for glue/mrpc to test set", 2021): the hub's MRPC test
    rows carry their labels, so the mirror's do, and seed 003 Table 5's 3,668 / 408 / 1,725 can be run."""
    schema = SCHEMAS[("nyu-mll/glue", "mrpc")]
    assert schema.splits == ("train", "validation", "test") and schema.unlabeled_splits == ()
    assert schema.features["label"] == ClassLabel(names=["not_equivalent", "equivalent"])


def test_special_unlabelled_conventions(world):
    stsb, record, wino = (SCHEMAS[("nyu-mll/glue", "stsb")], SCHEMAS[("aps/super_glue", "record")],
                          SCHEMAS[("allenai/winogrande", "winogrande_xl")])
    assert blank_unlabeled(stsb, synthetic.stsb_row(world, random.Random(0), 0))["label"] == -1.0
    assert stsb.features["label"] == Value("float32")
    row = synthetic.record_row(world, random.Random(0), 0)
    blank = blank_unlabeled(record, row)
    # only the answers go: the candidates (entities) and their spans stay, as in the hub's test split
    assert row["answers"] and blank["answers"] == [] and "label" not in blank
    assert blank == {**row, "answers": []} and len(blank["entities"]) >= 2
    assert blank_unlabeled(wino, synthetic.winogrande_row(world, random.Random(0), 0))["answer"] == ""
    for schema in (stsb, record, wino):
        assert schema.unlabeled_splits == ("test",)


@pytest.mark.parametrize("key", MRQA + [("fancyzhx/yelp_polarity", "plain_text"), ("allenai/scitail", "snli_format"),
                                        ("google-research-datasets/paws", "labeled_final"),
                                        ("rajpurkar/squad", "plain_text")])
def test_labelled_tests_or_no_test(key):
    assert SCHEMAS[key].unlabeled_splits == ()


def test_blank_unlabeled_copies():
    schema = SCHEMAS[("aps/super_glue", "record")]
    row = {"answers": ["a"], "passage": "p"}
    first, second = blank_unlabeled(schema, row), blank_unlabeled(schema, row)
    first["answers"].append("x")
    assert row == {"answers": ["a"], "passage": "p"} and second["answers"] == []


def test_split_names():
    assert SCHEMAS[("fancyzhx/yelp_polarity", "plain_text")].splits == ("train", "test")
    for key in MRQA:
        assert SCHEMAS[key].splits == ("train", "validation")
    for key in [("allenai/scitail", "snli_format"), ("google-research-datasets/paws", "labeled_final"),
                ("allenai/winogrande", "winogrande_xl"), ("aps/super_glue", "record"), ("nyu-mll/glue", "qqp")]:
        assert SCHEMAS[key].splits == ("train", "validation", "test")


def test_hub_feature_types():
    i32, s = Value("int32"), Value("string")
    assert SCHEMAS[("aps/super_glue", "cb")].features["label"].names == ["entailment", "contradiction", "neutral"]
    assert SCHEMAS[("aps/super_glue", "copa")].features["label"].names == ["choice1", "choice2"]
    assert SCHEMAS[("aps/super_glue", "boolq")].features["label"].names == ["False", "True"]
    assert SCHEMAS[("nyu-mll/glue", "qqp")].features["label"].names == ["not_duplicate", "duplicate"]
    assert SCHEMAS[("fancyzhx/yelp_polarity", "plain_text")].features["label"] == ClassLabel(names=["1", "2"])
    assert SCHEMAS[("google-research-datasets/paws", "labeled_final")].features == Features(
        {"id": i32, "sentence1": s, "sentence2": s, "label": ClassLabel(names=["0", "1"])})
    assert SCHEMAS[("aps/super_glue", "multirc")].features["idx"] == {"paragraph": i32, "question": i32, "answer": i32}
    record = SCHEMAS[("aps/super_glue", "record")].features
    assert list(record) == ["passage", "query", "entities", "entity_spans", "answers", "idx"]
    assert record["entity_spans"] == Sequence({"text": s, "start": i32, "end": i32})  # a struct of lists
    assert SCHEMAS[("allenai/winogrande", "winogrande_xl")].features["answer"] == s
    scitail = SCHEMAS[("allenai/scitail", "snli_format")].features
    assert scitail["gold_label"] == s and scitail["annotator_labels"] == Sequence(s)
    mrqa = SCHEMAS[MRQA[0]].features
    assert list(mrqa) == ["context", "question", "answers", "key", "labels"]
    # the card's `list:` -- a list of structs, each with int64 lists
    assert str(mrqa.arrow_schema.field("labels").type) == \
        "list<item: struct<end: list<item: int64>, start: list<item: int64>>>"
    wic = SCHEMAS[("aps/super_glue", "wic")].features
    assert all(wic[c] == i32 for c in ("start1", "start2", "end1", "end2", "idx"))


def test_schema_validation():
    features = Features({"text": Value("string"), "answer": Value("string")})
    with pytest.raises(ValueError):
        HubSchema(features, ("train", "test"), unlabeled_splits=("test",))  # default {"label": -1}: no such column
    with pytest.raises(ValueError):
        HubSchema(features, ("train",), unlabeled_splits=("test",), unlabeled_values={"answer": ""})
    assert HubSchema(features, ("train", "test"), ("test",), {"answer": ""}).unlabeled_values == {"answer": ""}
