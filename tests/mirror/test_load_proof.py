"""The mirror stage is load-proof: with runtime.cpu_threads pinned, a build on a busy machine is
byte-identical to one on an idle machine (unpinned, torch's threads spin-wait on the other load
and the floating-point sums split differently: another backbone, other smoke numbers)."""
import hashlib
import subprocess
import sys

import pytest

from conftest import REPO
from repo_copy import edit_params, sh

pytestmark = pytest.mark.slow


def small_mirror(raw):
    raw["runtime"]["cpu_threads"] = 1
    raw["mirror"]["rows"] = {"train": 200, "validation": 40, "test": 40}
    raw["mirror"]["pretrain"].update(steps=40, rows_per_rule=200, probe_rows=20)


def build(folder):
    folder.mkdir()
    (folder / "params.yaml").write_text((REPO / "params.yaml").read_text())
    edit_params(folder / "params.yaml", small_mirror)
    sh(sys.executable, str(REPO / "stages" / "build_mirror.py"), cwd=folder)
    weights = folder / "mirror" / "models" / "ptbench-mirror" / "tiny-t5" / "model.safetensors"
    return hashlib.sha256(weights.read_bytes()).hexdigest(), (folder / "results" / "mirror.json").read_text()


def test_a_build_under_load_equals_an_idle_build(tmp_path):
    idle = build(tmp_path / "idle")
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]  # both cores busy
    try:
        busy = build(tmp_path / "busy")
    finally:
        for process in spinners:
            process.kill()
            process.wait()
    assert busy == idle
