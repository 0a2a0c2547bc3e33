"""params.yaml `sweep`: validated knob grids, queued as DVC experiments by `ptbench sweep`."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from ptbench.config import parse_params
from ptbench.errors import ConfigError
from ptbench.pipeline.sweep import queue_commands, render


@pytest.mark.parametrize("sweep, message", [
    ({"warp": {"lr": [0.1]}}, "sweep: 'warp' has no section under methods"),
    ({"pt": {}}, "sweep.pt: must map knobs to non-empty lists"),
    ({"pt": {"lr": 0.3}}, "sweep.pt.lr: must be a non-empty list"),
    ({"pt": {"lr": [0.3, -1]}}, "sweep.pt.lr: value -1 is invalid (methods.pt.lr: must be a positive number"),
    ({"pt": {"colour": ["red"]}}, "sweep.pt.colour: value 'red' is invalid (methods.pt: unknown key(s) colour"),
])
def test_bad_sweeps_are_one_line_naming_the_key(raw_params, sweep, message):
    raw_params["sweep"] = sweep
    with pytest.raises(ConfigError) as err:
        parse_params(raw_params)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_commands_are_one_queued_grid_per_method():
    commands = queue_commands({"dept": {"lr": [0.3, 0.4], "lr_low_rank": [0.0001, 0.005]}, "pt": {"lr": [0.3]}})
    assert render(commands).splitlines() == [
        "dvc exp run --queue -S methods.dept.lr=0.3,0.4 -S methods.dept.lr_low_rank=0.0001,0.005",
        "dvc exp run --queue -S methods.pt.lr=0.3"]


def test_sweep_queues_the_cross_product_as_dvc_experiments(tmp_path):
    """The real `dvc exp run --queue`: 2 x 2 points of dept's grid become 4 queued experiments."""
    for name in ("dvc.yaml", "pipelines", "params.yaml", "profiles", "stages"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    (tmp_path / ".dvc").mkdir()
    shutil.copy(REPO / ".dvc" / "config", tmp_path / ".dvc" / "config")
    raw = yaml.safe_load((tmp_path / "params.yaml").read_text())
    raw["sweep"] = {"dept": {"lr": [0.3, 0.4], "lr_low_rank": [0.0001, 0.005]}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DVC_NO_ANALYTICS": "1", "HOME": str(tmp_path),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    run = dict(cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "grid"]):
        assert subprocess.run(command, **run).returncode == 0
    queued = subprocess.run([sys.executable, "-m", "ptbench.cli", "sweep", "--queue"], **run)
    assert queued.returncode == 0, queued.stderr[-2000:]
    status = subprocess.run([str(bin_dir / "dvc"), "queue", "status"], **run)
    assert status.stdout.count("Queued") == 4, status.stdout
