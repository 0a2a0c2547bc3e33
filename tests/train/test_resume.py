"""Reliability of the loop: a run killed with SIGKILL resumes from its checkpoint to exactly the
result of an uninterrupted run; a blown-up loss ends the run as `diverged`, not as a crash."""
import copy
import json
import os
import signal
import subprocess
import sys
import time

import torch
import yaml

from ptbench.artifacts import STATE_FILE, load_checkpoint, load_state
from ptbench.config import parse_params
from ptbench.run.experiment import train_run

SCRIPT = """
import sys
from pathlib import Path
from ptbench.config import load_params
from ptbench.run.experiment import train_run
params = load_params(sys.argv[1])
train_run(params, "pt", "rte", Path(sys.argv[2]), Path(sys.argv[3]), checkpoint_dir=Path(sys.argv[4]))
"""


def test_killed_run_resumes_to_the_uninterrupted_result(smoke_params, rte_data, tmp_path):
    reference = train_run(smoke_params, "pt", "rte", rte_data, tmp_path / "reference")[0]

    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(smoke_params.raw))
    checkpoints, out = tmp_path / "checkpoints", tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, str(params_file), str(rte_data), str(out), str(checkpoints)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (checkpoints / "seed0.pt").exists():
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (checkpoints / "seed0.done.pt").exists(), "the run finished before it could be killed"
    saved = load_checkpoint(checkpoints / "seed0.pt")
    killed_at = saved["step"]
    assert 0 < killed_at < smoke_params.train.steps and saved["train_seconds"] > 0

    resumed = train_run(smoke_params, "pt", "rte", rte_data, tmp_path / "resumed", checkpoint_dir=checkpoints)[0]
    assert resumed == reference
    # wall-clock time: the killed part counts too; it lives beside train.json, never in it
    timing = json.loads((tmp_path / "resumed" / "seed0" / "timing.json").read_text())
    assert timing["train_seconds"] >= saved["train_seconds"]
    assert "train_seconds" not in (tmp_path / "resumed" / "seed0" / "train.json").read_text()
    assert torch.equal(load_state(tmp_path / "resumed" / "seed0" / STATE_FILE)["embedding"],
                       load_state(tmp_path / "reference" / "seed0" / STATE_FILE)["embedding"])


def test_checkpoint_of_another_configuration_is_not_resumed(smoke_params, rte_data, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    train_run(smoke_params, "pt", "rte", rte_data, tmp_path / "a", steps=4, checkpoint_dir=checkpoints)
    raw = copy.deepcopy(smoke_params.raw)
    raw["methods"]["pt"]["lr"] = 0.1
    other = train_run(parse_params(raw), "pt", "rte", rte_data, tmp_path / "b", steps=4, checkpoint_dir=checkpoints)[0]
    fresh = train_run(parse_params(raw), "pt", "rte", rte_data, tmp_path / "c", steps=4)[0]
    assert other == fresh


def test_a_blown_up_loss_ends_the_run_as_diverged(smoke_params, rte_data, tmp_path):
    raw = copy.deepcopy(smoke_params.raw)
    raw["methods"]["pt"]["lr"] = 1e30  # one AdamW step moves the prompt by ~1e30: the loss overflows
    record = train_run(parse_params(raw), "pt", "rte", rte_data, tmp_path / "run", steps=20)[0]
    assert record["diverged"] is not None and record["diverged"]["step"] <= 20
    assert record["diverged"]["last_finite_loss"] is not None
    saved = json.loads((tmp_path / "run" / "seed0" / "train.json").read_text())
    assert saved["diverged"] == record["diverged"]
