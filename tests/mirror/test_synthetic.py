import random
import re
from collections import Counter

import pytest

from ptbench.mirror import synthetic
from ptbench.mirror.schemas import SCHEMAS
from ptbench.tasks import get_task


@pytest.fixture(scope="module")
def world():
    return synthetic.World.build(240, 0)


def _words(row) -> set[str]:
    """Every lower-case word of every string in the row (nested lists and dicts included)."""
    if isinstance(row, str):
        return set(re.findall(r"[a-z]+", row))
    if isinstance(row, dict):
        row = list(row.values())
    if isinstance(row, list):
        return set().union(*(_words(v) for v in row)) if row else set()
    return set()


# generator key -> (its rule, how to read the label id off a row, the distractor rule)
CLASSIFIERS = {
    ("nyu-mll/glue", "rte"): ("rte", "label", "mrpc"),
    ("nyu-mll/glue", "mrpc"): ("mrpc", "label", "rte"),
    ("nyu-mll/glue", "mnli"): ("mnli", "label", "rte"),
    ("nyu-mll/glue", "sst2"): ("sst2", "label", "cola"),
    ("nyu-mll/glue", "cola"): ("cola", "label", "sst2"),
    ("nyu-mll/glue", "qqp"): ("qqp", "label", "qnli"),
    ("nyu-mll/glue", "qnli"): ("qnli", "label", "qqp"),
    ("aps/super_glue", "boolq"): ("boolq", "label", "multirc"),
    ("aps/super_glue", "cb"): ("cb", "label", "mnli"),
    ("aps/super_glue", "wic"): ("wic", "label", "wsc"),
    ("aps/super_glue", "wsc.fixed"): ("wsc", "label", "wic"),
    ("aps/super_glue", "multirc"): ("multirc", "label", "boolq"),
    ("aps/super_glue", "copa"): ("copa", "label", "winogrande"),
    ("allenai/winogrande", "winogrande_xl"): ("winogrande", lambda r: int(r["answer"]) - 1, "copa"),
    ("fancyzhx/yelp_polarity", "plain_text"): ("yelp", "label", "sst2"),
    ("allenai/scitail", "snli_format"): ("scitail", lambda r: synthetic.SCITAIL_LABELS.index(r["gold_label"]), "rte"),
    ("google-research-datasets/paws", "labeled_final"): ("paws", "label", "rte"),
}
CLASSIFIER_GENERATORS = {key: synthetic.HUB_GENERATORS[key] for key in CLASSIFIERS}
CLASSIFIER_GENERATORS[("pretrain-only", "boolq_twin")] = synthetic.PRETRAIN_ONLY_GENERATORS["boolq_twin"][1]
CLASSIFIERS[("pretrain-only", "boolq_twin")] = ("multirc", "label", "boolq")

QA_KEYS = [("rajpurkar/squad", "plain_text"), ("aps/super_glue", "record"),
           ("lucadiliello/naturalquestionsshortqa", "default"), ("lucadiliello/hotpotqa", "default"),
           ("lucadiliello/searchqa", "default"), ("lucadiliello/newsqa", "default")]


def _label(row, reader) -> int:
    return reader(row) if callable(reader) else row[reader]


# --- the original rules stay byte for byte --------------------------------------------------

def test_existing_world_words_are_pinned():
    """Values computed with the code before the new rules were appended."""
    world = synthetic.World.build(240, 0)
    assert world.cues["rte"] == (("vuro", "vipi", "mapa", "nafi"), ("dusa", "zeva", "bomo", "lema"))
    assert world.cues["cola"] == (("bigu", "mesi", "gape", "vusi"), ("betu", "mivo", "pave", "keta"))
    assert world.answer_sets == (("vuvu", "zaki", "mave", "geni", "noso", "nuvo"),
                                 ("zuki", "zovo", "gita", "deba", "kure", "mune"))
    assert world.filler[:5] == ("gigi", "rimo", "pepu", "gifa", "lomu") and world.filler[-3:] == ("lebe", "gese", "noku")
    assert list(world.cues)[:5] == ["rte", "mrpc", "mnli", "sst2", "cola"]
    other = synthetic.World.build(100, 3)
    assert other.cues["mnli"] == (("nobi", "zupa", "goto", "veda"), ("fuge", "keni", "puri", "guzi"),
                                  ("nibi", "zuse", "bibe", "luru"))
    assert other.answer_sets == (("dise", "boro", "madu", "rado", "beze", "kivi"),
                                 ("dini", "raro", "vire", "kuze", "gosa", "belo"))


def test_existing_rows_are_pinned(world):
    assert synthetic.generate(synthetic.rte_row, world, 3, 5) == [
        {"sentence1": "zefe vepe gimo vuni zita lipe .", "sentence2": "dusa kepi nega nufa done .", "label": 1, "idx": 0},
        {"sentence1": "delu mapa zolo sevo nami ziri kivi .", "sentence2": "gigi nuri gefa rimo .", "label": 0, "idx": 1},
        {"sentence1": "fema vuto mute raru tetu vipi saru .", "sentence2": "guko nila zoba kasa .", "label": 0, "idx": 2}]
    assert synthetic.generate(synthetic.mnli_row, world, 1, 5) == [
        {"premise": "siza dose zefe fifo gimo vuni zita .", "hypothesis": "lazi dusa kepi nega .", "label": 2, "idx": 0}]
    assert synthetic.generate(synthetic.cola_row, world, 2, 5)[1] == {
        "sentence": "kana bidu leti saru mivo pita guna tete .", "label": 1, "idx": 1}
    assert synthetic.generate(synthetic.squad_row, world, 1, 5) == [
        {"id": "syn0000000", "title": "synthetic",
         "context": "zovo dogo sipa dabo kidi fuvu zoga siza pere refo teru geni .",
         "question": "which word is the answer ?", "answers": {"text": ["geni"], "answer_start": [55]}}]
    assert synthetic.generate(synthetic.reverse_squad_row, world, 1, 5)[0]["answers"] == {"text": ["zovo"], "answer_start": [0]}
    assert synthetic.generate(synthetic.mnli_rte_cue_row, world, 2, 5)[1] == {
        "premise": "pita guna tete denu gimo delu vipi .", "hypothesis": "nami depe ziri kivi .", "label": 0, "idx": 1}


def test_every_word_has_one_role(world):
    cues = [w for rule in world.cues.values() for group in rule for w in group]
    answers = [w for group in world.answer_sets for w in group] + list(world.record_answers)
    everything = list(world.filler) + cues + answers
    assert len(everything) == len(set(everything))
    assert list(world.cues) == list(synthetic.CLASSIFICATION_RULES)
    assert all(len(world.cues[r]) == n for r, n in synthetic.CLASSIFICATION_RULES.items())
    assert len(world.record_answers) == synthetic.N_RECORD_WORDS


# --- every generator --------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(synthetic.HUB_GENERATORS))
def test_rows_carry_exactly_the_hub_columns(world, key):
    for row in synthetic.generate(synthetic.HUB_GENERATORS[key], world, 5, seed=0):
        assert list(row) == list(SCHEMAS[key].features)


@pytest.mark.parametrize("name", sorted(synthetic.PRETRAIN_ONLY_GENERATORS))
def test_pretrain_only_rows_have_the_format_they_borrow(world, name):
    # the borrowed format is a task's: its hub dataset is found through the task registry, so a new
    # pre-training-only generator is checked without a list to extend here
    spec_name, generator = synthetic.PRETRAIN_ONLY_GENERATORS[name]
    hub = get_task(spec_name).hub
    assert set(generator(world, random.Random(0), 0)) == set(SCHEMAS[(hub.path, hub.name)].features)


@pytest.mark.parametrize("key", sorted(synthetic.HUB_GENERATORS))
def test_generation_is_deterministic(world, key):
    generator = synthetic.HUB_GENERATORS[key]
    first = synthetic.generate(generator, world, 40, 7)
    assert first == synthetic.generate(generator, world, 40, 7)
    assert first != synthetic.generate(generator, world, 40, 8)


@pytest.mark.parametrize("key", sorted(CLASSIFIERS))
def test_label_is_the_set_of_the_rules_own_cue(world, key):
    rule, reader, _ = CLASSIFIERS[key]
    for row in synthetic.generate(CLASSIFIER_GENERATORS[key], world, 200, seed=1):
        labels = {label for label, cues in enumerate(world.cues[rule]) if set(cues) & _words(row)}
        assert labels == {_label(row, reader)}


@pytest.mark.parametrize("key", sorted(CLASSIFIERS))
def test_rows_carry_a_cue_of_the_distractor_rule(world, key):
    """Rules sharing a format are ambiguous without the prefix: each row also holds a cue of another rule."""
    _, _, distractor = CLASSIFIERS[key]
    distractor_words = {w for group in world.cues[distractor] for w in group}
    for row in synthetic.generate(CLASSIFIER_GENERATORS[key], world, 50, seed=2):
        assert distractor_words & _words(row)


@pytest.mark.parametrize("key", sorted(CLASSIFIERS))
def test_labels_are_balanced_enough(world, key):
    rule, reader, _ = CLASSIFIERS[key]
    n_labels = synthetic.CLASSIFICATION_RULES[rule]
    counts = Counter(_label(r, reader) for r in synthetic.generate(CLASSIFIER_GENERATORS[key], world, 600, seed=2))
    assert set(counts) == set(range(n_labels))
    assert min(counts.values()) > 0.6 * 600 / n_labels


def test_rte_labels_are_balanced(world):
    rows = synthetic.generate(synthetic.rte_row, world, 1000, seed=2)
    assert 400 < sum(r["label"] for r in rows) < 600


# --- STS-B --------------------------------------------------------------------------------------

def test_stsb_score_follows_its_cue_and_is_off_the_02_grid_on_some_rows(world):
    rows = synthetic.generate(synthetic.stsb_row, world, 400, seed=1)
    differ = 0
    for row in rows:
        found = [(level, i) for level, cues in enumerate(world.cues["stsb"]) for i, cue in enumerate(cues)
                 if cue in _words(row)]
        assert len(found) == 1
        assert row["label"] == synthetic.stsb_label(*found[0])
        assert 0.0 <= row["label"] <= 5.0 and row["label"] == round(row["label"], 2)
        assert {w for g in world.cues["mrpc"] for w in g} & _words(row)
        differ += round(row["label"], 1) != round(row["label"] * 5) / 5
    assert 0.1 * len(rows) < differ < 0.35 * len(rows)  # faithful (0.1) and corrected (0.2) targets differ
    assert {round(r["label"]) for r in rows} == set(range(6))


# --- structural invariants ----------------------------------------------------------------------

def test_wic_offsets_point_at_the_word(world):
    for row in synthetic.generate(synthetic.wic_row, world, 200, seed=3):
        for n in "12":
            sentence = row["sentence" + n]
            assert sentence[row["start" + n]:row["end" + n]] == row["word"]
            assert sentence.split().count(row["word"]) == 1


def test_wsc_spans_are_the_words_at_their_indices(world):
    for row in synthetic.generate(synthetic.wsc_row, world, 200, seed=3):
        words = row["text"].split(" ")
        assert words[row["span1_index"]] == row["span1_text"] and words[row["span2_index"]] == row["span2_text"]
        assert row["span1_index"] < row["span2_index"]
        assert row["span2_text"] in synthetic.PRONOUNS and row["span1_text"] in world.filler


def test_multirc_rows_walk_through_paragraph_question_answer_groups(world):
    rows = synthetic.generate(synthetic.multirc_row, world, 300, seed=3)
    assert rows[0]["idx"] == {"paragraph": 0, "question": 0, "answer": 0}
    paragraphs, questions = {}, {}
    answers_per_question, questions_per_paragraph = Counter(), {}
    for previous, row in zip([None] + rows, rows):
        idx = row["idx"]
        assert paragraphs.setdefault(idx["paragraph"], row["paragraph"]) == row["paragraph"]
        assert questions.setdefault(idx["question"], (idx["paragraph"], row["question"])) == (idx["paragraph"], row["question"])
        answers_per_question[idx["question"]] += 1
        questions_per_paragraph.setdefault(idx["paragraph"], set()).add(idx["question"])
        if previous is not None:
            before = previous["idx"]
            if idx["question"] == before["question"]:
                assert idx["answer"] == before["answer"] + 1 and idx["paragraph"] == before["paragraph"]
            else:
                assert idx["question"] == before["question"] + 1 and idx["answer"] == 0
                assert idx["paragraph"] in (before["paragraph"], before["paragraph"] + 1)
        assert "<b>Sent 1: </b>" in row["paragraph"] and "<br>" in row["paragraph"]
    complete = list(answers_per_question.values())[:-1]  # the last group may be cut by n_rows
    assert set(complete) == {2, 3, 4}
    assert {len(q) for q in list(questions_per_paragraph.values())[:-1]} == {1, 2}
    assert len(set(paragraphs.values())) == len(paragraphs)  # each paragraph has its own text


# (paragraph, question, answer) of rows 0-15, recorded from the generator: the mirror's MultiRC groups
MULTIRC_LAYOUT_HEAD = [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0), (0, 1, 1), (0, 1, 2),
                       (1, 2, 0), (1, 2, 1), (1, 2, 2), (1, 2, 3),
                       (2, 3, 0), (2, 3, 1), (2, 3, 2), (2, 4, 0), (2, 4, 1), (3, 5, 0)]


def test_multirc_layout_is_a_function_of_the_row_index(monkeypatch):
    """The layout is memoised in a module list; whatever order rows are asked in (a fresh process may
    first ask for row 37), each row gets the same position."""
    in_order = [synthetic.multirc_position(i) for i in range(50)]
    assert in_order[:16] == MULTIRC_LAYOUT_HEAD
    monkeypatch.setattr(synthetic, "_MULTIRC_LAYOUT", [])  # a cold memo, as in a new process
    assert synthetic.multirc_position(37) == in_order[37] == (9, 11, 3)
    assert [synthetic.multirc_position(i) for i in reversed(range(50))] == in_order[::-1]
    monkeypatch.setattr(synthetic, "_MULTIRC_LAYOUT", [])
    row = synthetic.multirc_row(synthetic.World.build(240, 0), random.Random(1), 37)  # out of order: a valid row
    assert row["idx"] == {"paragraph": 9, "question": 11, "answer": 3}
    assert row["paragraph"].startswith("<b>Sent 1: </b>") and row["question"] and row["label"] in (0, 1)


def test_record_entity_spans_and_answers(world):
    rows = synthetic.generate(synthetic.record_row, world, 200, seed=3)
    for i, row in enumerate(rows):
        spans = row["entity_spans"]
        assert len(spans["text"]) == len(spans["start"]) == len(spans["end"])
        for text, start, end in zip(spans["text"], spans["start"], spans["end"]):
            assert row["passage"][start:end] == text
        assert spans["start"] == sorted(spans["start"])
        assert row["entities"] == sorted(set(spans["text"]))
        assert 1 <= len(row["answers"]) <= 2 and set(row["answers"]) <= set(row["entities"])
        assert row["answers"] == sorted(row["answers"]) and row["answers"][0] in world.record_answers
        assert row["passage"].count("\n@highlight\n") == 2
        assert row["query"].split().count("@placeholder") == 1
        assert row["idx"] == {"passage": i, "query": i}
    assert {len(r["answers"]) for r in rows} == {1, 2}


@pytest.mark.parametrize("key, answer_set", [(("lucadiliello/naturalquestionsshortqa", "default"), 0),
                                             (("lucadiliello/newsqa", "default"), 0),
                                             (("lucadiliello/hotpotqa", "default"), 1),
                                             (("lucadiliello/searchqa", "default"), 1)])
def test_mrqa_labels_point_at_the_answers(world, key, answer_set):
    rows = synthetic.generate(synthetic.HUB_GENERATORS[key], world, 200, seed=3)
    for row in rows:
        answers = row["answers"]
        assert answers[0] in world.answer_sets[answer_set]
        assert set(answers[1:]) <= {f"the {answers[0]}", answers[0].capitalize()}
        assert len(row["labels"]) == len(answers)
        for text, label in zip(answers, row["labels"]):
            assert label["start"] and len(label["start"]) == len(label["end"])
            for start, end in zip(label["start"], label["end"]):
                assert row["context"][start:end + 1] == text  # MRQA char spans: inclusive ends
        assert re.fullmatch(r"[0-9a-f]{32}", row["key"])
    assert {len(r["answers"]) for r in rows} == {1, 2, 3}


@pytest.mark.parametrize("key", QA_KEYS)
def test_squad_like_main_answer_is_a_span_of_the_context(world, key):
    for row in synthetic.generate(synthetic.HUB_GENERATORS[key], world, 100, seed=3):
        if key[0] == "rajpurkar/squad":
            context, text, start = row["context"], row["answers"]["text"][0], row["answers"]["answer_start"][0]
        elif key[0] == "aps/super_glue":
            spans = row["entity_spans"]
            context, text = row["passage"], row["answers"][0]
            start = spans["start"][spans["text"].index(text)]
        else:
            context, text, start = row["context"], row["answers"][0], row["labels"][0]["start"][0]
        assert context[start:start + len(text)] == text


def test_squad_answer_is_a_span_of_the_context(world):
    for row in synthetic.generate(synthetic.squad_row, world, 100, seed=3):
        text, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
        assert row["context"][start:start + len(text)] == text
        assert text in world.answer_sets[0]


def test_winogrande_copa_scitail_paws_shapes(world):
    for row in synthetic.generate(synthetic.winogrande_row, world, 50, seed=4):
        words = row["sentence"].split()
        assert words.count("_") == 1 and row["option1"] in words and row["option2"] in words
        assert row["answer"] in ("1", "2")
    assert {r["question"] for r in synthetic.generate(synthetic.copa_row, world, 50, seed=4)} == {"cause", "effect"}
    for row in synthetic.generate(synthetic.scitail_row, world, 50, seed=4):
        assert row["annotator_labels"] == [row["gold_label"]] and row["gold_label"] in ("entailment", "neutral")
        assert re.findall(r"[^() ]+", row["sentence1_binary_parse"]) == row["sentence1"].split()
        assert row["sentence2_parse"].startswith("(ROOT (S ")
    assert [r["id"] for r in synthetic.generate(synthetic.paws_row, world, 5, seed=4)] == [1, 2, 3, 4, 5]


def _cue_label(world, rule, words) -> int:
    (label,) = [label for label, cues in enumerate(world.cues[rule]) if set(cues) & words]
    return label


def test_rules_sharing_a_format_are_ambiguous_without_the_prefix(world):
    """rte rows carry an mrpc cue and vice versa, drawn independently of the row's label and in either
    sentence: reading a row by the wrong rule is right only by chance, so the input alone cannot say
    which rule applies (only the task prefix can)."""
    rows = synthetic.generate(synthetic.rte_row, world, 1000, seed=4)
    agree = cue_first = 0
    for row in rows:
        first, second = set(row["sentence1"].split()), set(row["sentence2"].split())
        rte, mrpc = _cue_label(world, "rte", first | second), _cue_label(world, "mrpc", first | second)
        assert rte == row["label"]
        agree += mrpc == rte
        cue_first += bool({w for g in world.cues["rte"] for w in g} & first)
    assert 400 < agree < 600  # the mrpc reading of an rte row: a coin flip, not the label
    assert 400 < cue_first < 600  # nor does the position of the cue give the rule away


def test_boolq_twin_is_registered_for_pretraining():
    assert synthetic.PRETRAIN_ONLY_GENERATORS["boolq_twin"] == ("boolq", synthetic.boolq_twin_row)
