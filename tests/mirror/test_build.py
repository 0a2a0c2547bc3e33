"""The mirror through the real loaders: load_dataset on the hub layout, AutoTokenizer, from_pretrained."""
import json

from ptbench import hub
from ptbench.mirror.schemas import SCHEMAS


def test_load_dataset_reads_the_hub_layout_with_hub_types(smoke_mirror):
    dataset = hub.load_hub_dataset("nyu-mll/glue", "rte", "main", str(smoke_mirror), offline=True)
    assert set(dataset) == {"train", "validation", "test"}
    assert dataset["train"].features == SCHEMAS[("nyu-mll/glue", "rte")].features
    assert dataset["train"].features["label"].names == ["entailment", "not_entailment"]
    assert set(dataset["test"]["label"]) == {-1}  # GLUE test labels are -1 on the hub
    squad = hub.load_hub_dataset("rajpurkar/squad", "plain_text", "main", str(smoke_mirror), offline=True)
    assert set(squad["train"][0]["answers"]) == {"text", "answer_start"}


def test_tokenizer_round_trips_and_uses_t5_special_ids(smoke_mirror):
    tokenizer = hub.load_tokenizer("ptbench-mirror/tiny-t5", str(smoke_mirror), offline=True)
    sentence = "sentence1: " + " ".join(json.loads((smoke_mirror / "mirror.json").read_text())["datasets"])
    ids = tokenizer(sentence).input_ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == sentence
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, ids[-1]) == (0, 1, 1)
    assert tokenizer.unk_token_id not in ids


def test_pretrained_backbone_knows_the_rules_only_with_their_prefix(smoke_mirror):
    summary = json.loads((smoke_mirror / "mirror.json").read_text())
    with_prefix, without = summary["probe_accuracy_with_prefix"], summary["probe_accuracy_without_prefix"]
    assert min(with_prefix.values()) >= 95.0
    # Rules sharing a format disagree on about half the inputs: without the marker, no reading of
    # the input alone serves both, so a pair cannot score far above 100 + 50 together.
    for pair in (("rte", "mrpc"), ("squad", "rsquad"), ("mnli", "xnli"), ("sst2", "cola"), ("paws", "rte"),
                 ("boolq", "boolq_twin")):
        assert without[pair[0]] + without[pair[1]] < 170.0, (pair, without)


def test_without_prefix_every_smoke_task_starts_at_chance(smoke_mirror, repo_params_raw):
    """The unprefixed twins make a prefix-less input mean another rule: a prompt has to earn every point."""
    summary = json.loads((smoke_mirror / "mirror.json").read_text())
    without, chance = summary["probe_accuracy_without_prefix"], summary["probe_chance"]
    for task in repo_params_raw["tasks"]:
        assert without[task] <= chance[task] + 10.0, (task, without[task], chance[task])
    for twin in repo_params_raw["mirror"]["pretrain"]["unprefixed"]:
        assert without[twin] >= 95.0, twin  # the prefix-less input means the twin's rule


def test_model_loads_with_from_pretrained(smoke_mirror):
    model = hub.load_model("ptbench-mirror/tiny-t5", "seq2seq", str(smoke_mirror), offline=True)
    assert model.config.d_model == 64 and model.config.model_type == "t5"
