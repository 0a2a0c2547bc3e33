"""dvclive logs of a run (ptbench.train.live): the loop's history, entry by entry, as dvclive's files in
the directory the caller gives, written by the main process alone, rewritten whole on resume, and
without touching any repository, experiment or Studio whatever the environment says."""
import csv
import dataclasses
import json
import os
import subprocess
import sys
import types

import dvclive.live
import pytest
import torch
from tiny import DigitTokenizer, build, tiny_model, toy_split

from ptbench.run import experiment, process
from ptbench.artifacts import load_checkpoint
from ptbench.config import TrainConfig, parse_params
from ptbench.data.prepare import split_path
from ptbench.methods import METHODS
from ptbench.run.stagekit import atomic_dir
from ptbench.tasks import get_task
from ptbench.train import live, loop
from ptbench.train.backbone import FAMILIES

CFG = TrainConfig(steps=6, batch_size=8, eval_interval=3, eval_batch_size=6, max_new_tokens=3, weight_decay=0.0,
                  warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=2, decoding="generate")
TRAIN, VALIDATION = toy_split(24), toy_split(12, seed=1)


def run(live_dir=None, checkpoint=None, fingerprint="f", method="pt", cfg=CFG):
    model = tiny_model("seq2seq")
    entry = METHODS[method]
    built = build(model, entry.module, entry.config, name=method)
    return loop.train(FAMILIES["seq2seq"](model, DigitTokenizer()), built, get_task("rte"), TRAIN, VALIDATION, cfg,
                      seed=0, pad_id=0, checkpoint=checkpoint, fingerprint=fingerprint, live_dir=live_dir)


def rows(live_dir, name):
    """The (step, value) rows of dvclive's plots/metrics/<name>.tsv."""
    with open(live_dir / "plots" / "metrics" / f"{name}.tsv", newline="") as handle:
        return [(int(row["step"]), float(row[name.split("/")[-1]])) for row in csv.DictReader(handle, delimiter="\t")]


def logged(history, name):
    return [(entry["step"], entry[name]) for entry in history if name in entry]


def files(directory):
    return {path.relative_to(directory): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def test_every_history_value_is_a_tsv_row_at_its_step(tmp_path):
    result = run(tmp_path / "dvclive")
    names = {key for entry in result.history for key in entry} - {"step"}
    assert {"loss", "prompt_norm", "validation_accuracy", "validation_invalid_rate"} <= names
    for name in names:
        assert rows(tmp_path / "dvclive", name) == logged(result.history, name), name
    assert [step for step, _ in rows(tmp_path / "dvclive", "loss")] == list(range(1, CFG.steps + 1))
    assert [step for step, _ in rows(tmp_path / "dvclive", "validation_accuracy")] == [3, 6]
    summary = json.loads((tmp_path / "dvclive" / "metrics.json").read_text())
    assert summary["step"] == CFG.steps and summary["loss"] == result.history[-2]["loss"]
    # dvclive's own files only: no dvc.yaml, report, params or experiment files
    assert {str(path) for path in files(tmp_path)} == {"dvclive/metrics.json",
                                                       *(f"dvclive/plots/metrics/{name}.tsv" for name in names)}


def test_the_history_is_the_same_with_and_without_dvclive(tmp_path):
    assert run(tmp_path / "dvclive").history == run().history


def test_lists_are_logged_per_index_and_non_numbers_skipped(tmp_path):
    live.RunLog(tmp_path, [{"step": 2, "gate": [0.25, 0.75], "loss": 1.5, "note": "x", "diverged": None},
                           {"step": 4, "gate": [0.5, 0.5], "loss": 1.25}])
    assert rows(tmp_path, "gate/0") == [(2, 0.25), (4, 0.5)] and rows(tmp_path, "gate/1") == [(2, 0.75), (4, 0.5)]
    assert rows(tmp_path, "loss") == [(2, 1.5), (4, 1.25)]
    assert sorted(path.name for path in (tmp_path / "plots" / "metrics").rglob("*.tsv")) == ["0.tsv", "1.tsv",
                                                                                            "loss.tsv"]


def test_a_process_other_than_the_main_one_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(process, "process_state", lambda: types.SimpleNamespace(is_main_process=False))
    result = run(tmp_path / "dvclive")
    assert result.history and not (tmp_path / "dvclive").exists()


class Killed(Exception):
    pass


def test_a_resumed_run_writes_the_files_of_an_uninterrupted_run(tmp_path, monkeypatch):
    """Killed after step 5 was logged, resumed from the step-4 checkpoint: steps 5 and 6 once each."""
    reference = run(tmp_path / "reference")
    real_log = live.RunLog.log

    def log_then_kill(self, entry):
        real_log(self, entry)
        if entry["step"] == 5:
            raise Killed

    monkeypatch.setattr(live.RunLog, "log", log_then_kill)
    with pytest.raises(Killed):
        run(tmp_path / "resumed", checkpoint=tmp_path / "checkpoint.pt")
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 4
    assert rows(tmp_path / "resumed", "loss")[-1][0] == 5  # the killed run logged past its checkpoint
    monkeypatch.setattr(live.RunLog, "log", real_log)
    resumed = run(tmp_path / "resumed", checkpoint=tmp_path / "checkpoint.pt")
    assert resumed.history == reference.history
    assert [step for step, _ in rows(tmp_path / "resumed", "loss")] == list(range(1, CFG.steps + 1))
    assert files(tmp_path / "resumed") == files(tmp_path / "reference")


@pytest.mark.parametrize("dvclive_test", [None, "true"])
def test_no_repository_experiment_or_studio_whatever_the_environment(tmp_path, monkeypatch, dvclive_test):
    """As under `dvc exp run` (DVC_ROOT, DVC_EXP_*), with a Studio token and DVCLIVE_RESUME, and with
    DVCLIVE_TEST or without (dvclive then skips its repository set-up for a temporary folder): dvclive must
    not open a DVC repository, post to Studio or signal VS Code, and its files stay where asked."""
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "0" * 40)
    monkeypatch.setenv("DVC_EXP_NAME", "exp")
    monkeypatch.setenv("DVC_STUDIO_TOKEN", "token")
    monkeypatch.setenv("DVC_STUDIO_REPO_URL", "https://example.invalid/repo.git")
    if dvclive_test:
        monkeypatch.setenv("DVCLIVE_TEST", dvclive_test)
    monkeypatch.setenv("DVCLIVE_RESUME", "true")

    def forbidden(*args, **kwargs):
        raise AssertionError("dvclive reached for a repository, an experiment or Studio")

    for name in ("get_dvc_repo", "get_dvc_studio_config", "post_to_studio", "mark_dvclive_only_started",
                 "mark_dvclive_step_completed", "cleanup_dvclive_step_completed", "make_dvcyaml"):
        monkeypatch.setattr(dvclive.live, name, forbidden)
    history = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}]
    live.RunLog(tmp_path / "dvclive", history)
    live.RunLog(tmp_path / "dvclive", history)  # again, DVCLIVE_RESUME set: rewritten, not continued
    assert rows(tmp_path / "dvclive", "loss") == [(1, 2.0), (2, 1.0)]
    assert not (tmp_path / ".dvc").exists() and not list(tmp_path.rglob("dvc.yaml"))


def test_train_run_logs_each_seed_inside_the_stage_output_and_again_after_a_rerun(tmp_path, monkeypatch,
                                                                                  raw_params):
    """As stages/train.py: train_run writes into atomic_dir's partial folder, so the logs land in
    <out>/seed<k>/dvclive; a re-run (fresh partial folder) of a finished seed rewrites them from its
    record's history."""
    raw_params["seeds"] = [0, 1]
    params = parse_params(raw_params)
    data = tmp_path / "data"
    data.mkdir()
    TRAIN.save(split_path(data, "train"))
    VALIDATION.save(split_path(data, "validation"))
    VALIDATION.save(split_path(data, "test"))  # the test curve's (train.test_curve)
    (data / "splits.json").write_text(json.dumps({"split_hash": "h"}))
    trained = []

    def train_seed(params, method_name, task_name, train_split, val_split, cfg, seed, fingerprint, checkpoint,
                   transfer_root, live_dir=None, curve_split=None):  # the real loop on the tiny backbone
        trained.append(seed)
        result = run(live_dir, checkpoint, fingerprint, cfg=dataclasses.replace(CFG, steps=4 + seed))
        return {"fingerprint": fingerprint, "record": {"seed": seed, "history": result.history},
                "best_state": result.best_state}

    monkeypatch.setattr(experiment, "train_seed", train_seed)
    out, checkpoints = tmp_path / "results" / "pt" / "rte", tmp_path / "checkpoints"
    with atomic_dir(out) as partial:
        experiment.train_run(params, "pt", "rte", data, partial, checkpoint_dir=checkpoints)
    first = {seed: files(out / f"seed{seed}" / "dvclive") for seed in (0, 1)}
    for seed in (0, 1):
        history = json.loads((out / f"seed{seed}" / "train.json").read_text())["history"]
        assert rows(out / f"seed{seed}" / "dvclive", "loss") == logged(history, "loss")
    assert [step for step, _ in rows(out / "seed1" / "dvclive", "loss")] == [1, 2, 3, 4, 5]

    with atomic_dir(out) as partial:  # a re-run: both seeds finished, nothing trains
        experiment.train_run(params, "pt", "rte", data, partial, checkpoint_dir=checkpoints)
    assert trained == [0, 1]
    assert {seed: files(out / f"seed{seed}" / "dvclive") for seed in (0, 1)} == first
    assert not out.with_name("rte.partial").exists()


# --- through the launcher ------------------------------------------------------------------------------
SCRIPT = """
import json, sys
from pathlib import Path
import ptbench.train.loop as loop
import ptbench.run.process as process
from ptbench.config import TrainConfig
from ptbench.methods import METHODS
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES
from tiny import DigitTokenizer, build, tiny_model, toy_split

out, cfg = Path(sys.argv[1]), TrainConfig(**json.loads(sys.argv[2]))
state = process.process_state()
model = tiny_model("seq2seq")
method = build(model, METHODS["pt"].module, METHODS["pt"].config, name="pt")
result = loop.train(FAMILIES["seq2seq"](model, DigitTokenizer()), method, get_task("rte"), toy_split(24),
                    toy_split(12, seed=1), cfg, seed=0, pad_id=0, live_dir=out / f"live{state.process_index}")
(out / f"rank{state.process_index}.json").write_text(json.dumps(result.history))
state.wait_for_everyone()
state.destroy_process_group()
"""


def test_under_accelerate_launch_only_the_main_process_logs(tmp_path):
    """Two CPU processes, each given its own folder: rank 0 writes its run's history, rank 1 nothing."""
    (tmp_path / "script.py").write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "ACCELERATE_USE_CPU": "1"}
    cfg = dataclasses.replace(CFG, steps=3)
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--main_process_port", "0", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            str(tmp_path / "script.py"), str(tmp_path), json.dumps(dataclasses.asdict(cfg))]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((tmp_path / "rank0.json").read_text())
    assert rows(tmp_path / "live0", "loss") == logged(history, "loss") and len(history) > 3
    assert (tmp_path / "rank1.json").exists() and not (tmp_path / "live1").exists()
