"""Source-task pre-training feeding few-shot targets and transfer methods, on the smoke mirror."""
import dataclasses
import json

import pytest
import torch

from ptbench import hub
from ptbench.data.prepare import PreparedSplit, prepare_task
from ptbench.errors import DataError
from ptbench.experiment import load_backbone, train_run
from ptbench.tasks import get_task
from ptbench.transfer import few_shot_split, fewshot_run, load_source_prompts


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
    state = torch.load(root / "sources" / "pt" / "mnli" / "seed0" / "state.pt")
    assert torch.equal(prompts["mnli"], state["embedding"])


def test_missing_source_state_is_one_clear_line(setting, tmp_path):
    params, _ = setting
    with pytest.raises(DataError, match="no source-trained state of 'pt' on 'qqp'.*dvc repro source_prompt"):
        load_source_prompts(params, load_backbone(params), ["qqp"], 0, tmp_path)


def test_few_shot_split_is_balanced_and_seeded(setting):
    _, root = setting
    split = PreparedSplit.load(root / "data" / "rte" / "train.pt")
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
