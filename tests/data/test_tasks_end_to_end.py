"""Every task end to end on its synthetic mirror: load (the real load_dataset) -> split ->
format -> tokenise -> predict with the smoke backbone -> score, in both scoring modes and both
split protocols."""
import dataclasses
import json

import pytest

from ptbench import hub
from ptbench.data.prepare import PreparedSplit, prepare_task, split_path
from ptbench.run.experiment import build_for, load_backbone
from ptbench.tasks import all_tasks, get_task
from ptbench.train.loop import Generate, RankChoices, predict, score

N_PREDICT = 6


@pytest.fixture(scope="module")
def backbone(smoke_params):
    return load_backbone(smoke_params)


@pytest.fixture(scope="module")
def datasets(smoke_params):
    cache = {}

    def load(spec):
        key = (spec.hub.path, spec.hub.name)
        if key not in cache:
            cache[key] = hub.load_hub_dataset(spec.hub.path, spec.hub.name, spec.hub.revision,
                                              smoke_params.hub.mirror, smoke_params.hub.offline)
        return cache[key]
    return load


@pytest.mark.parametrize("protocol", ["dept", "explosive"])
@pytest.mark.parametrize("scoring", ["faithful", "corrected"])
@pytest.mark.parametrize("task", sorted(all_tasks()))
def test_task_runs_end_to_end(task, scoring, protocol, smoke_params, backbone, datasets, tmp_path):
    spec = get_task(task, scoring)
    data_cfg = dataclasses.replace(smoke_params.data, split_protocol=protocol, scoring=scoring)
    summary = prepare_task(spec, datasets(spec), backbone.tokenizer, data_cfg, tmp_path)
    assert json.loads((tmp_path / "splits.json").read_text())["scoring"] == scoring
    assert summary["protocol"] == protocol and len(summary["split_hash"]) == 16
    test = PreparedSplit.load(split_path(tmp_path, "test"))
    assert len(test) > 0 and all(refs for refs in test.references)
    if spec.group:
        assert len(test.groups) == len(test)
    # the trained target is the (first) reference, and a classification reference is a verbalizer string
    for labels, refs in zip(test.label_ids, test.references):
        target = backbone.tokenizer.decode(labels, skip_special_tokens=True,
                                           clean_up_tokenization_spaces=spec.target.reference_from_labels)
        assert target.strip() == refs[0]  # the reference code's MRQA/SQuAD: the decoded labels themselves
        assert spec.choices is None or refs[0] in spec.choices
    # an oracle that outputs the references scores 100 on every metric of the task, with nothing invalid:
    # references, groups and metrics line up (a shifted or mis-grouped reference would lose points)
    oracle = score(spec, [refs[0] for refs in test.references], test)
    assert oracle == {**{name: 100.0 for name in spec.metrics}, "invalid_rate": 0.0}

    test = test.subset(list(range(min(N_PREDICT, len(test)))))
    method = build_for(backbone, smoke_params, "pt", seed=0)
    decoder = Generate(smoke_params.train.max_new_tokens)
    predictions = predict(backbone.runner, method, test, 8, decoder, backbone.pad_id)
    assert len(predictions) == len(test) and all(isinstance(p, str) for p in predictions)
    scores = score(spec, predictions, test)
    assert set(scores) == set(spec.metrics) | {"invalid_rate"}
    # what the model's outputs score, recomputed here from the strings themselves
    invalid = [p.strip() not in spec.choices if spec.choices is not None else not p.strip() for p in predictions]
    assert scores["invalid_rate"] == pytest.approx(100 * sum(invalid) / len(predictions), abs=1e-4)
    if "accuracy" in spec.metrics:
        right = [p.strip() == refs[0] for p, refs in zip(predictions, test.references)]
        assert scores["accuracy"] == pytest.approx(100 * sum(right) / len(predictions), abs=1e-4)
    for name in spec.metrics:  # percentages; correlations may be negative
        low = -100.0 if name in ("matthews", "pearson", "spearman") else 0.0
        assert low <= scores[name] <= 100.0, (name, scores[name])
    if spec.choices is not None:  # rank classification answers inside the verbalizer, always
        ranked = predict(backbone.runner, method, test, 8, RankChoices(
            spec.choices, backbone.tokenizer(list(spec.choices)).input_ids), backbone.pad_id)
        assert ranked and set(ranked) <= set(spec.choices)
        assert score(spec, ranked, test)["invalid_rate"] == 0.0


def test_faithful_record_duplicates_rows_and_corrected_does_not(smoke_params, backbone, datasets, tmp_path):
    sizes = {}
    for scoring in ("faithful", "corrected"):
        spec = get_task("record", scoring)
        data_cfg = dataclasses.replace(smoke_params.data, scoring=scoring)
        sizes[scoring] = prepare_task(spec, datasets(spec), backbone.tokenizer, data_cfg, tmp_path / scoring)["sizes"]
    assert sizes["faithful"]["train"] == sizes["corrected"]["train"]  # one training example per answer in both
    assert sizes["faithful"]["test"] > sizes["corrected"]["test"]  # duplicated rows only when faithful


def test_a_wrong_label_type_names_the_task_and_field(smoke_params, backbone, datasets, tmp_path):
    from ptbench.errors import DataError

    spec = get_task("scitail")
    dataset = datasets(spec)
    broken = {split: part.map(lambda row: {"gold_label": "contradiction"}) for split, part in dataset.items()}
    with pytest.raises(DataError, match="task 'scitail': row 0 of split .* target field 'gold_label'"):
        prepare_task(spec, broken, backbone.tokenizer, smoke_params.data, tmp_path)


def test_an_empty_split_names_the_task_and_split(smoke_params, backbone, datasets, tmp_path):
    from ptbench.errors import DataError

    spec = get_task("rte")
    dataset = dict(datasets(spec))
    dataset["validation"] = dataset["validation"].select([])
    with pytest.raises(DataError, match="task 'rte': split 'validation' is empty"):
        prepare_task(spec, dataset, backbone.tokenizer, smoke_params.data, tmp_path)


@pytest.mark.parametrize("task", sorted(t for t, s in all_tasks().items() if s.target.kind == "label"))
def test_label_tasks_write_the_hubs_class_names_under_label_words_names(task, smoke_params, backbone, datasets,
                                                                        tmp_path):
    spec = get_task(task, "faithful", "names")
    data_cfg = dataclasses.replace(smoke_params.data, label_words="names")
    assert prepare_task(spec, datasets(spec), backbone.tokenizer, data_cfg, tmp_path)["label_words"] == "names"
    test = PreparedSplit.load(split_path(tmp_path, "test"))
    assert {refs[0] for refs in test.references} <= set(spec.choices)
    assert set(spec.choices) == set(spec.target.names.values()) != set(get_task(task).choices) or task == "paws"
    feature = datasets(spec)[spec.splits["train"]].features[spec.target.field]
    if hasattr(feature, "names"):  # the spec's names are the mirror's ClassLabel names, which are the hub's
        assert list(spec.choices) == feature.names


def test_class_names_that_differ_from_the_hubs_stop_the_data_stage(smoke_params, backbone, datasets, tmp_path):
    from datasets import ClassLabel

    from ptbench.errors import DataError

    spec = get_task("rte", "faithful", "names")
    renamed = {split: part.cast_column("label", ClassLabel(names=["not_entailment", "entailment"]))
               for split, part in datasets(spec).items()}
    with pytest.raises(DataError, match=r"task 'rte': split 'train' labels its classes \['not_entailment', "
                                        r"'entailment'\], the spec's target.names say \['entailment', 'not_entailment'\]"):
        prepare_task(spec, renamed, backbone.tokenizer, smoke_params.data, tmp_path)
