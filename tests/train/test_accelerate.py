"""The training loop under HF Accelerate: gradient accumulation, bf16 autocast, `accelerate launch`.

A step is one optimizer update on ``train.batch_size`` examples whatever the hardware: accumulating
over micro-batches, or splitting them over processes, gives the update of the whole batch at once
(up to float rounding); one process without accumulation or mixed precision is the plain loop, bit
for bit.
"""
import copy
import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch
from tiny import DigitTokenizer, build, tiny_model, toy_split

from ptbench.config import TrainConfig, parse_params
from ptbench.errors import ConfigError
from ptbench.methods import METHODS
from ptbench.methods.pt import PromptTuning
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES
from ptbench.train.loop import _lr_lambda, collate, micro_batches, train

CFG = TrainConfig(steps=6, batch_size=8, eval_interval=3, eval_batch_size=5, max_new_tokens=3, weight_decay=0.01,
                  warmup_steps=2, max_grad_norm=1.0, log_interval=1, checkpoint_interval=2, decoding="generate")
TRAIN, VALIDATION = toy_split(25), toy_split(11, seed=1)  # 25: every epoch ends on a 1-example batch


def run(family, cfg, method="pt", checkpoint=None):
    model = tiny_model(family)
    entry = METHODS[method]
    built = build(model, entry.module, entry.config, name=method)
    result = train(FAMILIES[family](model, DigitTokenizer()), built, get_task("rte"), TRAIN, VALIDATION, cfg, seed=0,
                   pad_id=0, checkpoint=checkpoint, fingerprint="f")
    return result, built


def losses(result):
    return [(entry["step"], entry["loss"]) for entry in result.history if "loss" in entry]


def assert_same_training(a, b, atol=1e-4):
    """Same steps logged and validated, the same best step, losses and states equal up to rounding."""
    assert [step for step, _ in losses(a)] == [step for step, _ in losses(b)]
    assert [e for e in a.history if "loss" not in e] == [e for e in b.history if "loss" not in e]
    assert a.best_step == b.best_step
    torch.testing.assert_close([l for _, l in losses(a)], [l for _, l in losses(b)], atol=atol, rtol=0)
    assert a.best_state.keys() == b.best_state.keys()
    for key in a.best_state:
        torch.testing.assert_close(a.best_state[key], b.best_state[key], atol=atol, rtol=1e-4)


def test_micro_batches_split_the_batch_once_in_order():
    batch = list(range(100, 111))  # 11 examples
    for accumulation, processes in [(1, 1), (2, 1), (3, 1), (2, 2), (1, 3), (4, 3)]:
        parts = [part for rank in range(processes) for part in micro_batches(batch, accumulation, rank, processes)]
        assert len(parts) == accumulation * processes
        assert [i for part in parts for i in part] == batch  # each once; process p holds the p-th slice
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert micro_batches(batch, 1, 0, 1) == [batch]  # the plain loop's batch itself
    assert micro_batches([7], 2, 0, 1) == [[], [7]]  # a 1-example end of epoch: one part stays empty


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
@pytest.mark.parametrize("method", ["pt", "lora"])
def test_accumulation_gives_the_update_of_the_whole_batch(family, method):
    """Two micro-batches of 4 accumulated = one batch of 8 (and three unequal parts too): each
    micro-batch's mean loss is weighted by its share of the batch's target tokens."""
    whole, _ = run(family, CFG, method)
    for accumulation in (2, 3):
        accumulated, _ = run(family, dataclasses.replace(CFG, gradient_accumulation_steps=accumulation), method)
        assert_same_training(whole, accumulated)


def test_accumulation_counts_optimizer_steps():
    """``steps`` counts optimizer updates (and so does the LR schedule), not micro-batches."""
    cfg = dataclasses.replace(CFG, gradient_accumulation_steps=2, warmup_steps=3)
    model = tiny_model("seq2seq")
    method = build(model, PromptTuning)
    rates, real_step = [], torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    torch.optim.AdamW.step = step
    try:
        train(FAMILIES["seq2seq"](model, DigitTokenizer()), method, get_task("rte"), TRAIN, VALIDATION, cfg, seed=0,
              pad_id=0)
    finally:
        torch.optim.AdamW.step = real_step
    factor = _lr_lambda(cfg.warmup_steps, cfg.steps)
    assert rates == [pytest.approx(method.config.lr * factor(k)) for k in range(cfg.steps)]


@pytest.mark.parametrize("optimizer_name, max_grad_norm", [("adamw_torch", 1.0), ("adamw_torch", 0.001),
                                                           ("adamw_torch", None), ("adamw_legacy", 0.001)])
def test_one_process_without_accumulation_is_the_plain_loop(optimizer_name, max_grad_norm):
    """Bit for bit what AdamW (torch's, or the reference trainers' legacy one) + clipping (none when
    ``max_grad_norm`` is null) + LambdaLR do without Accelerate (one validation at the end: the best state
    is the final one)."""
    from ptbench.train.optim import LegacyAdamW

    cfg = dataclasses.replace(CFG, eval_interval=CFG.steps, optimizer=optimizer_name, max_grad_norm=max_grad_norm)
    result, _ = run("seq2seq", cfg)
    model = tiny_model("seq2seq")
    method = build(model, PromptTuning)
    runner = FAMILIES["seq2seq"](model, DigitTokenizer())
    optimizer = (LegacyAdamW if optimizer_name == "adamw_legacy" else torch.optim.AdamW)(method.param_groups(cfg.weight_decay))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg.warmup_steps, cfg.steps))
    generator, order = None, []
    for step in range(1, cfg.steps + 1):
        epoch, position = divmod(step - 1, 4)  # 25 examples in batches of 8: 4 per epoch
        if position == 0:
            generator = torch.Generator().manual_seed(epoch)
            order = torch.randperm(len(TRAIN), generator=generator).tolist()
        loss = runner.loss(method, collate(TRAIN, order[position * 8:(position + 1) * 8], 0))
        loss.backward()
        if cfg.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(list(method.parameters()), cfg.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        assert losses(result)[step - 1] == (step, round(loss.item(), 6))
    assert torch.equal(result.best_state["embedding"], method.embedding.detach())


def test_clipping_and_the_optimizer_each_change_the_run():
    """The settings the plain-loop test exercises matter here: clipping at 0.001 bites (gradients on this
    task stay under norm 1, so 1.0 would not), and the two AdamW formulas give other weights, so a loop that
    ignored either would fail that test."""
    base = dataclasses.replace(CFG, eval_interval=CFG.steps, max_grad_norm=0.001)
    clipped, _ = run("seq2seq", base)
    unclipped, _ = run("seq2seq", dataclasses.replace(base, max_grad_norm=None))
    legacy, _ = run("seq2seq", dataclasses.replace(base, optimizer="adamw_legacy"))
    assert not torch.equal(clipped.best_state["embedding"], unclipped.best_state["embedding"])
    assert not torch.equal(clipped.best_state["embedding"], legacy.best_state["embedding"])


def test_bf16_autocast_trains_and_keeps_the_method_in_float32():
    plain, _ = run("seq2seq", CFG)
    mixed, method = run("seq2seq", dataclasses.replace(CFG, mixed_precision="bf16"))
    assert mixed.diverged is None and method.embedding.dtype == torch.float32
    assert losses(mixed) != losses(plain)  # the forward ran in bf16
    assert losses(mixed)[-1][1] < losses(mixed)[0][1]


def test_fp16_needs_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="train.mixed_precision: fp16 needs a CUDA GPU"):
        run("seq2seq", dataclasses.replace(CFG, mixed_precision="fp16"))


@pytest.mark.parametrize("value, message", [
    ("fp8", "train.mixed_precision: unknown value 'fp8'; allowed: no, fp16, bf16"),
])
def test_mixed_precision_is_validated(raw_params, value, message):
    raw_params["train"]["mixed_precision"] = value
    with pytest.raises(ConfigError, match=message):
        parse_params(raw_params)


def test_a_bare_no_is_no(raw_params):
    """YAML 1.1 reads `no` as false, and `dvc exp run -S` rewrites params.yaml without the quotes."""
    raw_params["train"]["mixed_precision"] = False
    assert parse_params(raw_params).train.mixed_precision == "no"


@pytest.mark.parametrize("value, message", [
    (0, "train.gradient_accumulation_steps: must be an integer >= 1, got 0"),
    (1.5, "train.gradient_accumulation_steps: must be an integer >= 1, got 1.5"),
    (10_000, "train.gradient_accumulation_steps: must be at most batch_size"),
])
def test_gradient_accumulation_steps_is_validated(raw_params, value, message):
    raw_params["train"]["gradient_accumulation_steps"] = value
    with pytest.raises(ConfigError, match=message):
        parse_params(raw_params)


def test_the_new_keys_are_optional_and_default_to_the_plain_loop(raw_params):
    raw = copy.deepcopy(raw_params)
    raw["train"].pop("mixed_precision", None)
    raw["train"].pop("gradient_accumulation_steps", None)
    train_cfg = parse_params(raw).train
    assert (train_cfg.mixed_precision, train_cfg.gradient_accumulation_steps) == ("no", 1)


# --- through the launcher ------------------------------------------------------------------------------
SCRIPT = """
import json, os, sys
from pathlib import Path
import torch
import ptbench.train.loop as loop
import ptbench.run.process as process
from ptbench.config import TrainConfig
from ptbench.methods import METHODS
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES
from tiny import DigitTokenizer, build, tiny_model, toy_split

out, cfg = Path(sys.argv[1]), TrainConfig(**json.loads(sys.argv[2]))
state = process.process_state()  # as the stages would ask, before the loop's Accelerator exists
saves = []
real_save = loop.save_checkpoint
loop.save_checkpoint = lambda path, payload: (saves.append(payload["step"]), real_save(path, payload))
model = tiny_model("seq2seq")
method = build(model, METHODS["pt"].module, METHODS["pt"].config, name="pt")
runner = FAMILIES["seq2seq"](model, DigitTokenizer())
validation = toy_split(11, seed=1)
result = loop.train(runner, method, get_task("rte"), toy_split(25), validation, cfg, seed=0, pad_id=0,
                    checkpoint=out / "checkpoint.pt", fingerprint="f")
accelerator = loop.make_accelerator(cfg)
sharded = loop.predict_sharded(accelerator, runner, method, validation, 4, loop.Generate(3), 0)
(out / f"rank{state.process_index}.json").write_text(json.dumps({
    "launched_cpu": os.environ.get("ACCELERATE_USE_CPU"), "distributed_type": str(state.distributed_type),
    "processes": state.num_processes, "history": result.history, "best_step": result.best_step, "saves": saves,
    "sharded_predictions": sharded,
    "predictions": loop.predict(runner, method, validation, 4, loop.Generate(3), 0)}))
if state.is_main_process:
    torch.save(result.best_state, out / "best_state.pt")
state.wait_for_everyone()
state.destroy_process_group()
"""


def launch(tmp_path, launcher_args, cfg, env_extra=None):
    script = tmp_path / "train_tiny.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env_extra or {})}
    argv = [sys.executable, "-m", "accelerate.commands.launch", *launcher_args, "--num_machines", "1",
            "--mixed_precision", "no", "--dynamo_backend", "no", str(script), str(tmp_path),
            json.dumps(dataclasses.asdict(cfg))]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = sorted(tmp_path.glob("rank*.json"))
    return [json.loads(path.read_text()) for path in ranks], torch.load(tmp_path / "best_state.pt")


def test_accelerate_launch_runs_the_loop_on_one_cpu_process(tmp_path):
    """`accelerate launch --cpu --num_processes 1`: the same run, bit for bit, as in this process."""
    ranks, state = launch(tmp_path, ["--cpu", "--num_processes", "1"], CFG)
    reference, _ = run("seq2seq", CFG)
    (rank,) = ranks
    assert rank["launched_cpu"] == "True" and rank["distributed_type"] == "DistributedType.NO"
    assert rank["history"] == reference.history and rank["best_step"] == reference.best_step
    assert torch.equal(state["embedding"], reference.best_state["embedding"])
    assert rank["saves"] == [2, 4] and (tmp_path / "checkpoint.pt").exists()
    assert rank["sharded_predictions"] == rank["predictions"]


def test_two_processes_split_each_batch_and_match_one_process(tmp_path):
    """Two CPU processes (torch.distributed over gloo, through the launcher): each trains on its half
    of every batch, the gradients are summed, so the run is the one-process run up to rounding; only
    the main process writes checkpoints; validation is split and gathered back in order."""
    ranks, state = launch(tmp_path, ["--multi_gpu", "--num_processes", "2", "--main_process_port", "0"], CFG,
                          {"ACCELERATE_USE_CPU": "1"})
    reference, _ = run("seq2seq", CFG)
    assert [r["distributed_type"] for r in ranks] == ["DistributedType.MULTI_CPU"] * 2
    assert [r["processes"] for r in ranks] == [2, 2]
    assert ranks[0]["history"] == ranks[1]["history"]  # every process holds the same run
    assert ranks[0]["saves"] == [2, 4] and ranks[1]["saves"] == []
    for r in ranks:
        assert r["sharded_predictions"] == r["predictions"]
    launched = dataclasses.replace(reference, history=ranks[0]["history"], best_step=ranks[0]["best_step"],
                                   best_state=state)
    assert_same_training(reference, launched)
