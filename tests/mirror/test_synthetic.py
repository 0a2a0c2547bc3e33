import random

import pytest

from ptbench.mirror import synthetic
from ptbench.mirror.schemas import SCHEMAS


@pytest.fixture(scope="module")
def world():
    return synthetic.World.build(240, 0)


@pytest.mark.parametrize("key", sorted(synthetic.HUB_GENERATORS))
def test_rows_carry_exactly_the_hub_columns(world, key):
    row = synthetic.HUB_GENERATORS[key](world, random.Random(0), 0)
    assert set(row) == set(SCHEMAS[key].features)


@pytest.mark.parametrize("name", ["rte", "mrpc", "sst2", "cola"])
def test_label_is_the_set_of_the_rules_own_cue(world, name):
    generator = synthetic.HUB_GENERATORS[("nyu-mll/glue", name)]
    for row in synthetic.generate(generator, world, 200, seed=1):
        text = " ".join(v for v in row.values() if isinstance(v, str)).split()
        labels = {label for label, cues in enumerate(world.cues[name]) if set(cues) & set(text)}
        assert labels == {row["label"]}


def test_labels_are_balanced_enough(world):
    rows = synthetic.generate(synthetic.rte_row, world, 1000, seed=2)
    assert 400 < sum(r["label"] for r in rows) < 600


def test_squad_answer_is_a_span_of_the_context(world):
    for row in synthetic.generate(synthetic.squad_row, world, 100, seed=3):
        text, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
        assert row["context"][start:start + len(text)] == text
        assert text in world.answer_sets[0]


def test_rules_sharing_a_format_are_ambiguous_without_the_prefix(world):
    """rte rows carry an mrpc cue and vice versa: the input alone does not say which rule applies."""
    rng = random.Random(4)
    row = synthetic.rte_row(world, rng, 0)
    words = set((row["sentence1"] + " " + row["sentence2"]).split())
    assert any(set(cues) & words for cues in world.cues["mrpc"])


def test_generation_is_deterministic(world):
    assert synthetic.generate(synthetic.mnli_row, world, 50, 7) == synthetic.generate(synthetic.mnli_row, world, 50, 7)
