"""Source-task pre-training feeding few-shot targets and transfer methods, on the smoke mirror."""
import dataclasses
import json

import pytest
import torch

from ptbench import hub
from ptbench.artifacts import STATE_FILE, load_state
from ptbench.data.prepare import PreparedSplit, prepare_task, split_path
from ptbench.errors import DataError
from ptbench.run.experiment import load_backbone, train_run
from ptbench.tasks import get_task
from ptbench.run.transfer import few_shot_split, fewshot_run, load_source_prompts


@pytest.fixture(scope="module")
def setting(smoke_params, tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    params = dataclasses.replace(smoke_params, train=dataclasses.replace(smoke_params.train, steps=6, eval_interval=3),
                                 few_shot=dataclasses.replace(smoke_params.few_shot, steps=4))
    tokenizer = hub.load_tokenizer("ptbench-mirror/tiny-t5", params.hub.mirror, True)
    for task in ("rte", "mnli"):
        spec = get_task(task)
        dataset = hub.load_hub_dataset(spec.hub.path, spec.hub.name, "main", params.hub.mirror, True)
        prepare_task(spec, dataset, tokenizer, params.data, root / "data" / task)
    for method in ("pt", "ept_msp"):
        train_run(params, method, "mnli", root / "data" / "mnli", root / "sources" / method / "mnli", steps=6)
    return params, root


def test_source_prompts_are_the_pretrained_pt_prompts(setting):
    params, root = setting
    prompts = load_source_prompts(params, load_backbone(params), ["mnli"], 0, root / "sources")
    state = load_state(root / "sources" / "pt" / "mnli" / "seed0" / STATE_FILE)
    assert torch.equal(prompts["mnli"], state["embedding"])


def test_missing_source_state_is_one_clear_line(setting, tmp_path):
    params, _ = setting
    with pytest.raises(DataError, match="no source-trained state of 'pt' on 'qqp'.*dvc repro source_prompt"):
        load_source_prompts(params, load_backbone(params), ["qqp"], 0, tmp_path)


def test_few_shot_split_is_balanced_and_seeded(setting):
    _, root = setting
    split = PreparedSplit.load(split_path(root / "data" / "rte", "train"))
    subset, indices = few_shot_split(get_task("rte"), split, 16, sampling_seed=3)
    labels = [refs[0] for refs in subset.references]
    assert len(subset) == 16 and labels.count("0") == labels.count("1") == 8
    assert few_shot_split(get_task("rte"), split, 16, sampling_seed=3)[1] == indices
    assert few_shot_split(get_task("rte"), split, 16, sampling_seed=4)[1] != indices


@pytest.mark.parametrize("method", ["pt", "ept_msp"])
def test_fewshot_run_starts_from_the_source_state_and_records_k_source_and_seed(setting, method, tmp_path):
    params, root = setting
    out = tmp_path / "k4.json"
    payload = fewshot_run(params, method, "rte", 4, 0, root / "data" / "rte", out, root / "sources")
    assert json.loads(out.read_text()) == payload
    few = payload["provenance"]["few_shot"]
    assert (few["k"], few["source_task"], few["sampling_seed"], few["steps"]) == (4, "mnli", 0, 4)
    assert len(few["sample_hash"]) == 16
    assert set(payload["metrics"]) == {"accuracy", "invalid_rate"}


def test_best_source_is_the_one_scoring_highest_on_the_target_validation(setting):
    """``few_shot.source: best`` evaluates every source state of the method on the target's
    validation split before training and keeps the argmax (first of ties)."""
    from ptbench.run.experiment import score_state
    from ptbench.run.transfer import pick_source

    params, root = setting
    if not (root / "sources" / "pt" / "rte").exists():
        train_run(params, "pt", "rte", root / "data" / "rte", root / "sources" / "pt" / "rte", steps=6)
    params = dataclasses.replace(params, source_prompts=dataclasses.replace(params.source_prompts, tasks=["mnli", "rte"]),
                                 few_shot=dataclasses.replace(params.few_shot, source="best"))
    spec = get_task("rte")
    val = PreparedSplit.load(split_path(root / "data" / "rte", "validation"))
    scores = {task: score_state(params, "pt", spec, load_state(root / "sources" / "pt" / task / "seed0" / STATE_FILE),
                                val, 0)[0]["accuracy"] for task in ("mnli", "rte")}
    expected = "rte" if scores["rte"] > scores["mnli"] else "mnli"
    assert pick_source(params, "pt", spec, val, 0, root / "sources", root / "transfer") == expected
    fixed = dataclasses.replace(params, few_shot=dataclasses.replace(params.few_shot, source="mnli"))
    assert pick_source(fixed, "pt", spec, val, 0, root / "sources", root / "transfer") == "mnli"


def test_scratch_starts_from_the_methods_own_build(setting, tmp_path):
    params, root = setting
    params = dataclasses.replace(params, few_shot=dataclasses.replace(params.few_shot, source="scratch"))
    payload = fewshot_run(params, "pt", "rte", 4, 0, root / "data" / "rte", tmp_path / "k4.json", tmp_path / "none")
    assert payload["provenance"]["few_shot"]["source_task"] == "scratch"


@pytest.mark.parametrize("method", ["spot", "mpt"])
def test_transfer_sources_are_built_once_and_feed_training_and_few_shot(setting, method, tmp_path):
    """spot collects pt's prompts; mpt distils them (here one source) into P*, U, V; both are read
    back by the pipeline's build, and a few-shot run starts from them."""
    from ptbench.run.transfer import build_transfer_sources, load_transfer_sources

    params, root = setting
    knobs = {**params.methods[method], "sources": ["mnli"], "length": 10}
    if method == "mpt":
        knobs["distill_steps"] = 4
    params = dataclasses.replace(params, methods={**params.methods, method: knobs})
    out = tmp_path / "transfer" / method
    build_transfer_sources(params, method, out, root / "sources", root / "data")
    prompts, states = load_transfer_sources(method, params.method_config(method), 0, tmp_path / "transfer")
    if method == "spot":
        assert set(prompts) == {"mnli"} and not states
        assert torch.equal(prompts["mnli"], load_state(root / "sources" / "pt" / "mnli" / "seed0" / STATE_FILE)["embedding"])
    else:
        distilled = states["mpt"]
        assert not prompts and distilled["tasks"] == ["mnli"] and distilled["shared"].shape == (10, 64)
        assert [h["step"] for h in distilled["history"]][-1] == 4
    payload = fewshot_run(params, method, "rte", 4, 0, root / "data" / "rte", tmp_path / "k4.json", root / "sources",
                          tmp_path / "transfer")
    assert payload["provenance"]["few_shot"]["source_task"] == "mnli"


def test_missing_transfer_sources_name_the_stage(setting, tmp_path):
    from ptbench.run.transfer import load_transfer_sources

    params, _ = setting
    with pytest.raises(DataError, match=r"no transfer sources of 'attempt'.*dvc repro transfer_source@attempt"):
        load_transfer_sources("attempt", params.method_config("attempt"), 0, tmp_path)
