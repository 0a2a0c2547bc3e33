"""The task registry: 24 declarative specs, both scoring modes, and clear errors for bad specs."""

import dataclasses

import numpy as np
import pytest
import yaml

from ptbench.errors import ConfigError
from ptbench.tasks import SPEC_DIR, all_tasks, get_task
from ptbench.tasks.spec import parse_spec

SEED_TASKS = {
    "glue": {"mnli", "qqp", "qnli", "sst2", "stsb", "mrpc", "rte", "cola"},
    "superglue": {"boolq", "cb", "wic", "wsc", "multirc", "copa", "record"},
    "mrqa": {"squad", "nq", "hotpotqa", "searchqa", "newsqa"},
    "others": {"winogrande", "yelp", "scitail", "paws"},
}


@pytest.mark.parametrize("scoring", ["faithful", "corrected"])
def test_the_registry_holds_the_24_tasks_of_the_seeds_tables(scoring):
    tasks = all_tasks(scoring)
    assert {family: {n for n, s in tasks.items() if s.family == family} for family in SEED_TASKS} == SEED_TASKS
    assert all(spec.scoring == scoring for spec in tasks.values())


def test_corrected_mode_changes_exactly_the_documented_defects():
    faithful, corrected = all_tasks("faithful"), all_tasks("corrected")
    changed = {name for name in faithful
               if (faithful[name].input, faithful[name].target, faithful[name].metrics)
               != (corrected[name].input, corrected[name].target, corrected[name].metrics)}
    assert changed == {"stsb", "winogrande", "copa", "record", "multirc", "nq", "hotpotqa", "searchqa", "newsqa", "cb",
                       "squad"}


ROWS = {
    "rte": {"sentence1": "A man sleeps .", "sentence2": "Someone rests .", "label": 0, "idx": 0},
    "winogrande": {"sentence": "The cup fit in the bag because _ was small .", "option1": "cup",
                   "option2": "bag", "answer": "2"},
    "copa": {"premise": "The man fell .", "choice1": "He slipped .", "choice2": "He sang .",
             "question": "cause", "label": 0, "idx": 0},
    "scitail": {"sentence1": "Plants need light .", "sentence2": "Light feeds plants .", "gold_label": "neutral"},
}


@pytest.mark.parametrize("task, scoring, text, targets", [
    ("rte", "faithful", "sentence1: A man sleeps . sentence2: Someone rests .", ["0"]),
    ("winogrande", "faithful", "sentence: The cup fit in the bag because _ was small . option0: cup option1: cup", ["1"]),
    ("winogrande", "corrected", "sentence: The cup fit in the bag because _ was small . option0: cup option1: bag", ["1"]),
    ("copa", "faithful", "premise: The man fell . choice1: He slipped . choice2: He sang .", ["0"]),
    ("copa", "corrected", "premise: The man fell . question: cause choice1: He slipped . choice2: He sang .", ["0"]),
    ("scitail", "faithful", "premise: Plants need light . hypothesis: Light feeds plants .", ["1"]),
])
def test_formats_follow_the_reference_code(task, scoring, text, targets):
    spec = get_task(task, scoring)
    assert spec.format_input(ROWS[task]) == text
    assert spec.targets(ROWS[task]) == targets


def test_task_prefix_is_atempts_task_name():
    # the whole input: the prefix, one space, then exactly the unprefixed format (nothing dropped after it)
    assert get_task("rte").format_input(ROWS["rte"], prefix="rte") == \
        "rte sentence1: A man sleeps . sentence2: Someone rests ."


# Computed by running the references on the hub's float32 labels (2026-12-03): DePT/ATTEMPT's
# round_stsb_target (np.round(label * 5 / 5, 1)) for faithful, T5's preprocessors.stsb
# (tf.as_string(tf.round(label * 5) / 5, precision=1), float32, ties to even) for corrected.
STSB_VECTORS = [  # label, DePT, T5
    (0.0, "0.0", "0.0"), (0.1, "0.1", "0.0"), (0.3, "0.3", "0.4"), (0.5, "0.5", "0.4"), (0.7, "0.7", "0.8"),
    (0.9, "0.9", "0.8"), (1.1, "1.1", "1.2"), (1.3, "1.3", "1.2"), (1.7, "1.7", "1.6"), (1.9, "1.9", "2.0"),
    (2.3, "2.3", "2.4"), (2.5, "2.5", "2.4"), (2.7, "2.7", "2.8"), (2.9, "2.9", "2.8"), (3.1, "3.1", "3.2"),
    (3.3, "3.3", "3.2"), (3.7, "3.7", "3.6"), (3.84, "3.8", "3.8"), (4.333, "4.3", "4.4"), (4.7, "4.7", "4.8"),
    (4.9, "4.9", "4.8"), (5.0, "5.0", "5.0"), (2.68, "2.7", "2.6"), (2.65, "2.7", "2.6"),
]


@pytest.mark.parametrize("label, dept, t5", STSB_VECTORS)
def test_stsb_targets_are_depts_faithfully_and_t5s_when_corrected(label, dept, t5):
    value = float(np.float32(label))  # what `datasets` hands over from the hub's float32 column
    assert get_task("stsb", "faithful").targets({"label": value}) == [dept]
    assert get_task("stsb", "corrected").targets({"label": value}) == [t5]



def test_record_duplicates_rows_per_answer_and_corrected_scores_against_all():
    golds = ["Obama", "Barack Obama"]
    faithful, corrected = get_task("record", "faithful").target, get_task("record", "corrected").target
    assert faithful.examples(golds, training=True) == [("Obama", ["Obama"]), ("Barack Obama", ["Barack Obama"])]
    assert faithful.examples(golds, training=False) == [("Obama", ["Obama"]), ("Barack Obama", ["Barack Obama"])]
    assert corrected.examples(golds, training=True) == faithful.examples(golds, training=True)
    assert corrected.examples(golds, training=False) == [("Obama", golds)]
    assert get_task("record").targets({"answers": []}) == ["<unk>"]


def test_mrqa_scores_the_first_answer_faithfully_and_every_answer_when_corrected():
    golds = ["Paris", "paris , France"]
    assert get_task("nq", "faithful").target.examples(golds, training=False) == [("Paris", ["Paris"])]
    assert get_task("nq", "corrected").target.examples(golds, training=False) == [("Paris", golds)]
    assert get_task("squad", "corrected").target.examples(golds, training=False) == [("Paris", golds)]


def test_multirc_groups_answers_by_question():
    spec = get_task("multirc", "corrected")
    assert spec.metrics == ("multirc_f1a", "multirc_em")
    row = {"idx": {"paragraph": 3, "question": 7, "answer": 1}}
    assert spec.group_key(row) == "3/7"


def test_required_fields_name_hub_columns():
    assert get_task("squad").required_fields == ["question", "context", "answers"]
    assert get_task("multirc").required_fields == ["question", "answer", "paragraph", "label", "idx"]


def _raw(task="rte"):
    return yaml.safe_load((SPEC_DIR / f"{task}.yaml").read_text())


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(metrics=["squad_f1"]), "metric 'squad_f1' does not fit label targets; it fits answers"),
    (lambda d: d.update(metrics=["bleu"]), "metrics: unknown value 'bleu'; allowed:"),
    (lambda d: d.update(metrics=["multirc_em"]), "metric 'multirc_em' needs a 'group' field"),
    (lambda d: d.update(split_rule="medium"), "task 'rte': split_rule: unknown value 'medium'; allowed: small, large, official"),
    (lambda d: d.update(transforms={"sentence1": "lowercase"}), "transforms.sentence1: unknown value 'lowercase'"),
    (lambda d: d.update(colour="red"), "unknown key(s) colour"),
    (lambda d: d["target"].update(kind="span"), "target.kind: unknown value 'span'"),
    (lambda d: d["target"].update(verbalizer={}), "target.verbalizer (the digits) and target.names"),
    (lambda d: d["target"].pop("names"), "target.names (the dataset's class names) are both required"),
    (lambda d: d["target"].update(names={0: "entailment"}), "target.names must name the same labels"),
    (lambda d: d["target"].update(round="x"), "target: unknown key(s) round"),
    (lambda d: d.pop("input"), "missing key 'input'"),
    (lambda d: d.update(metrics=[]), "metrics must list at least one metric"),
])
def test_bad_specs_fail_with_one_line_naming_the_task_and_key(edit, message):
    data = _raw()
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_spec(data, "rte.yaml")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_unknown_scoring_mode_names_the_allowed_values():
    with pytest.raises(ConfigError, match="data.scoring: unknown value 'lenient'; allowed: faithful, corrected"):
        all_tasks("lenient")


# DePT's own preprocessors (src/tasks.py: pad_punctuation(...).split("\\t")), run on these rows (2026-12-03).
SQUAD_ROW = {"question": "Which coalition (U.S.-led) entered Baghdad?", "context": "In 2003, the U.S.-led coalition.",
             "answers": {"text": ["the U.S.-led coalition", "U.S.-led coalition"], "answer_start": [9, 13]}}
NEWSQA_ANSWER = "costs rose 12.5% (to $1,000,000) year-on-year, driven by fuel, wages, and the so-called 'green' levy"


def test_faithful_squad_trains_on_the_padded_text_of_the_whole_answers_dict_as_depts_code():
    spec = get_task("squad", "faithful")
    assert spec.targets(SQUAD_ROW) == [
        "{ ' text ' : [ ' the U . S . - led coalition ' , ' U . S . - led coalition ' ] , ' answer_start ' : [ 9 , 13 ] }"]
    assert spec.target.reference_from_labels  # scored against its label tokens, decoded
    assert get_task("squad", "corrected").targets(SQUAD_ROW) == ["the U.S.-led coalition", "U.S.-led coalition"]


@pytest.mark.parametrize("task", ["nq", "hotpotqa", "searchqa", "newsqa"])
def test_faithful_mrqa_pads_the_first_answer_as_depts_code(task):
    row = {"answers": [NEWSQA_ANSWER, "fuel"]}
    assert get_task(task, "faithful").targets(row)[0] == ("costs rose 12 . 5 % ( to $ 1 , 000 , 000 ) year - on - year ,"
                                                          " driven by fuel , wages , and the so - called ' green ' levy")
    assert get_task(task, "corrected").targets(row) == [NEWSQA_ANSWER, "fuel"]


def test_faithful_record_scores_each_answer_row_against_its_decoded_labels_as_dept():
    """DePT duplicates a ReCoRD row per answer and scores it against that answer as its labels hold it
    (tokenised to the target length, decoded back); corrected scores one row per query against every answer."""
    faithful, corrected = get_task("record", "faithful"), get_task("record", "corrected")
    assert (faithful.target.eval, faithful.target.reference_from_labels) == ("each", True)
    assert (corrected.target.eval, corrected.target.reference_from_labels) == ("all", False)


def test_references_from_labels_need_each_row_to_have_its_own_target():
    data = yaml.safe_load((SPEC_DIR / "record.yaml").read_text())
    data["target"]["eval"] = "all"  # a row per query, several references: no one label to decode
    with pytest.raises(ConfigError, match="reference_from_labels .* eval first or each"):
        parse_spec(data, "record.yaml")


def test_unknown_label_words_name_the_allowed_values():
    with pytest.raises(ConfigError, match="data.label_words: unknown value 'words'; allowed: digits, names"):
        all_tasks("faithful", "words")


@pytest.mark.parametrize("task, digits, names", [
    ("rte", ("0", "1"), ("entailment", "not_entailment")),
    ("mnli", ("0", "1", "2"), ("entailment", "neutral", "contradiction")),
    ("cb", ("0", "1", "2"), ("entailment", "contradiction", "neutral")),
    ("cola", ("0", "1"), ("unacceptable", "acceptable")),
    ("boolq", ("0", "1"), ("False", "True")),
    ("copa", ("0", "1"), ("choice1", "choice2")),
    ("scitail", ("0", "1"), ("entailment", "neutral")),
    ("winogrande", ("0", "1"), ("1", "2")),
    ("yelp", ("0", "1"), ("1", "2")),
])
def test_label_words_digits_are_the_reference_codes_and_names_t5s(task, digits, names):
    assert get_task(task, "faithful", "digits").choices == digits
    assert get_task(task, "corrected", "names").choices == names
    assert get_task(task, "faithful", "names").label_words == "names"


def test_label_words_change_the_targets_only_of_label_tasks():
    row = {"sentence1": "a", "sentence2": "b", "label": 1}
    assert get_task("rte", "faithful", "digits").targets(row) == ["1"]
    assert get_task("rte", "faithful", "names").targets(row) == ["not_entailment"]
    assert get_task("rte", "faithful", "names").format_input(row) == get_task("rte").format_input(row)
    for name in ("stsb", "squad", "record"):
        assert get_task(name, "faithful", "names") == dataclasses.replace(get_task(name), label_words="names")
