"""What a run's method sees of its task: the class labels label initialisation embeds follow data.label_words."""
import copy

import torch

from ptbench.config import parse_params
from ptbench.methods.base import initial_prompt
from ptbench.run.experiment import load_backbone, method_context


def test_label_initialisation_embeds_the_words_data_label_words_names(smoke_params, repo_params_raw, smoke_mirror):
    backbone = load_backbone(smoke_params)
    prompts = {}
    for words, classes in (("digits", ("0", "1")), ("names", ("entailment", "not_entailment"))):
        raw = copy.deepcopy(repo_params_raw)
        raw["hub"]["mirror"] = str(smoke_mirror)
        raw["data"]["label_words"] = words
        ctx = method_context(backbone, parse_params(raw), seed=0, task="rte")
        assert ctx.label_texts == classes
        prompts[words] = initial_prompt(ctx, 2, "label")
    embed = backbone.model.get_input_embeddings().weight.detach()
    first_word = embed[torch.tensor(backbone.tokenizer("entailment", add_special_tokens=False).input_ids)].mean(0)
    assert torch.equal(prompts["names"][0], first_word)  # the first class's words, averaged over its tokens
    assert not torch.equal(prompts["names"], prompts["digits"])


def test_ept_at_s0_with_depts_init_trains_as_dept_through_build_for(repo_params_raw, smoke_mirror):
    """Seed 001's s = 0 claim through the stage's own path: the same seed builds (build_for) and trains
    (dropout on) EPT at s = 0 with DePT's A, B init and DePT at length 0 into the same state, step for step.
    Building EPT's fusion and projection networks must not shift the global stream the dropout masks use."""
    import dataclasses

    from ptbench.fingerprint import toy_split
    from ptbench.run.experiment import build_for
    from ptbench.tasks import get_task
    from ptbench.train.loop import train

    raw = copy.deepcopy(repo_params_raw)
    raw["hub"]["mirror"] = str(smoke_mirror)
    raw["methods"]["ept_msp"].update(short_length=0, low_rank_init="dept")
    raw["methods"]["dept"].update(length=0)
    raw["knob_runs"]["methods"] = {}  # the smoke's points at s = 0 would now equal the methods' own configurations
    params = parse_params(raw)
    assert params.dropout and params.method_config("ept_msp").rank == params.method_config("dept").rank
    cfg = dataclasses.replace(params.train, steps=6, eval_interval=3, log_interval=1, checkpoint_interval=100)
    runs = {}
    for name in ("ept_msp", "dept"):
        backbone = load_backbone(params)
        method = build_for(backbone, params, name, seed=0, task="rte")
        runs[name] = train(backbone.runner, method, get_task("rte"), toy_split(), toy_split(12, seed=1), cfg, seed=0,
                           pad_id=backbone.pad_id)
    ept, dept = runs["ept_msp"], runs["dept"]
    assert [h.get("train_loss") for h in ept.history] == [h.get("train_loss") for h in dept.history]
    assert torch.equal(ept.best_state["lora_a"], dept.best_state["lora_a"])
    assert torch.equal(ept.best_state["lora_b"], dept.best_state["lora_b"])
    assert not torch.equal(dept.best_state["lora_b"], torch.zeros_like(dept.best_state["lora_b"])) or dept.best_step == 0


def test_a_projection_records_its_gate_at_initialisation(smoke_params):
    """Seed 001 Fig. 8 sets the trained gate beside the gate at initialisation: train_seed records the latter."""
    import dataclasses

    from ptbench.fingerprint import toy_split
    from ptbench.run.experiment import train_seed

    cfg = dataclasses.replace(smoke_params.train, steps=2, eval_interval=2, log_interval=1, checkpoint_interval=100)
    done = train_seed(smoke_params, "ept_msp", "rte", toy_split(), toy_split(12, seed=1), cfg, 0, "", None)
    gates = torch.tensor(done["record"]["initial_gate_weights"])
    config = smoke_params.method_config("ept_msp")
    assert gates.shape == (config.short_length, config.num_experts)
    assert torch.allclose(gates.sum(-1), torch.ones(config.short_length), atol=1e-3)  # a softmax over the spaces
    plain = train_seed(smoke_params, "pt", "rte", toy_split(), toy_split(12, seed=1), cfg, 0, "", None)
    assert "initial_gate_weights" not in plain["record"]  # no gate, no entry


def test_zero_shot_transfer_scores_every_source_state_on_every_other_task(smoke_params, monkeypatch, tmp_path):
    """Seed 003 Fig. 10 (right): each grid run's state (the source task's run folder) on each other task's data,
    written under results/zeroshot/<source>/<target>.json with the source in the provenance."""
    import pytest

    from ptbench.errors import ConfigError
    from ptbench.run import experiment

    calls = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(experiment, "evaluate_run", lambda params, method, task, data_dir, run_dir, metrics_path, **kw:
                        calls.append((task, str(data_dir), str(run_dir), str(metrics_path), kw)) or {"metrics": {}})
    pairs = list(experiment.zero_shot_transfer(smoke_params, "ept_star"))
    tasks = smoke_params.tasks
    assert [(s, t) for s, t, _ in pairs] == [(s, t) for s in tasks for t in tasks if s != t]
    target, data_dir, run_dir, metrics_path, extra = calls[0]
    source = tasks[0]
    assert (data_dir, run_dir) == (f"data/prepared/tiny-t5/{target}", f"results/runs/tiny-t5/ept_star/{source}")
    assert metrics_path == f"results/zeroshot/metrics/tiny-t5/ept_star/{source}/{target}.json"
    assert extra["zero_shot_source"] == source and extra["predictions_path"].name == f"{target}.json"
    with pytest.raises(ConfigError, match="zero_shot: 'pt' on 'tiny-t5' is not listed"):
        list(experiment.zero_shot_transfer(smoke_params, "pt"))
