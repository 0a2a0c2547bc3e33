import json
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def ptbench(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "ptbench.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_methods_tasks_backbones_list_the_registries():
    methods = ptbench("methods").stdout
    assert {line.split()[0] for line in methods.splitlines()} >= {"pt", "ept", "ept_star"}
    tasks = ptbench("tasks").stdout.splitlines()
    assert len(tasks) == 24  # the seeds' GLUE, SuperGLUE, MRQA and "Others" tasks
    rows = {line.split()[0]: line for line in tasks}
    assert "metrics=accuracy " in rows["rte"] and "split=small" in rows["rte"]
    assert "metrics=squad_f1,squad_em" in rows["squad"] and "split=large" in rows["squad"]
    assert "corrected: metrics -> multirc_f1a,multirc_em" in rows["multirc"]
    assert "google-t5/t5-base" in ptbench("backbones").stdout


def test_params_prints_trainable_and_stored_counts():
    result = ptbench("params", "--method", "ept", "--backbone", "t5-large")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert (counts["trainable"], counts["stored"]) == (3072, 1024)


def test_params_overrides_a_knob():
    counts = json.loads(ptbench("params", "--method", "pt", "--backbone", "t5-base", "--set", "length=100").stdout)
    assert counts["trainable"] == 76_800


@pytest.mark.parametrize("args, needle", [
    (("params", "--method", "nope", "--backbone", "t5-base"), "method: unknown value 'nope'; allowed: adamix, adapter, adapter_drop, attempt, bitfit, control, dept"),
    (("params", "--method", "pt", "--backbone", "t5-xxl"), "backbone: unknown value 't5-xxl'; allowed:"),
    (("params", "--method", "pt", "--backbone", "t5-base", "--set", "length=-3"), "methods.pt.length"),
    (("profile", "huge"), "profile: unknown value 'huge'; allowed: paper, paper-001, paper-001-large, paper-003, paper-004, quick, smoke, smoke-full"),
])
def test_unknown_values_exit_nonzero_with_one_line(args, needle):
    result = ptbench(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and needle in result.stderr and "Traceback" not in result.stderr


def test_validate_reports_the_bad_key(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text((REPO / "params.yaml").read_text().replace("backbones: [tiny-t5]", "backbones: [gpt-9]"))
    result = ptbench("validate", "--params", str(bad))
    assert result.returncode == 2 and "backbone: unknown value 'gpt-9'" in result.stderr


@pytest.mark.parametrize("stage, args", [("train.py", ["--backbone", "tiny-t5", "--method", "warp", "--task", "rte"]),
                                         ("train.py", ["--backbone", "tiny-t5", "--method", "pt", "--task", "imagenet"]),
                                         ("prepare_data.py", ["--backbone", "tiny-t5", "--task", "imagenet"])])
def test_stages_reject_unknown_names_before_any_compute(stage, args):
    result = subprocess.run([sys.executable, f"stages/{stage}", *args], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and "unknown value" in result.stderr and "Traceback" not in result.stderr


def test_paper_profile_offline_stops_at_the_first_hub_access_in_one_line(tmp_path):
    """The paper profile on a machine without the hub: one clear line, exit 2, no traceback."""
    for name in ("params.yaml", "profiles", "stages"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    assert ptbench("profile", "paper", cwd=tmp_path).returncode == 0
    params = tmp_path / "params.yaml"
    params.write_text(params.read_text().replace("offline: false", "offline: true"))  # no probe: deterministic
    result = subprocess.run([sys.executable, "stages/prepare_data.py", "--backbone", "t5-base", "--task", "rte"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "needs the hub" in result.stderr
