"""``run_jobs``: a stage's independent runs in turn, or side by side in worker processes set up as the
stage (runtime.task_workers); results and failures come back to the stage's process in job order."""
import json
import os
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO
from ptbench.config import parse_params
from ptbench.errors import PtbenchError
from ptbench.run.stagekit import run_jobs, worker_context
from ptbench.tasks import get_task


def params_with(raw_params, workers):
    raw_params["runtime"]["task_workers"] = workers
    return parse_params(raw_params)


def collect(function, jobs, params):
    seen = []
    run_jobs(function, jobs, params, lambda job, result: seen.append((job, result)))
    return seen


def test_one_worker_runs_the_jobs_here_in_turn(raw_params):
    seen = collect(os.getpid, [(), ()], params_with(raw_params, 1))
    assert [pid for _, pid in seen] == [os.getpid()] * 2


def test_workers_run_elsewhere_pinned_as_the_stage_and_report_in_job_order(raw_params):
    params = params_with(raw_params, 2)
    assert params.runtime.cpu_threads == 1
    pids = collect(os.getpid, [(), (), ()], params)
    assert os.getpid() not in {pid for _, pid in pids} and len({pid for _, pid in pids}) <= 2
    assert [threads for _, threads in collect(torch.get_num_threads, [(), ()], params)] == [1, 1]
    jobs = [(name,) for name in ("rte", "mnli", "boolq")]
    assert [(job, spec.name) for job, spec in collect(get_task, jobs, params)] == [(job, job[0]) for job in jobs]


def _seen_modules(*names):
    return [name in sys.modules for name in names]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-started workers are Linux's")
def test_forked_workers_start_with_the_stages_imports_and_the_backbones_model_code(tmp_path, raw_params):
    """What the stage imported before its workers start is theirs without importing it again (~6 s
    a process): the stage's own modules and, imported on purpose, the backbone's model class. In a
    fresh process, as a stage that has not loaded its backbone yet; the mirror holds only the tiny
    T5's config (what the model code is chosen by)."""
    import subprocess

    from transformers import T5Config

    T5Config(d_model=8, d_ff=16, d_kv=4, num_heads=2, num_layers=1, vocab_size=32).save_pretrained(
        tmp_path / "mirror" / "models" / "ptbench-mirror" / "tiny-t5")
    raw = {**raw_params, "hub": {**raw_params["hub"], "mirror": str(tmp_path / "mirror")},
           "runtime": {**raw_params["runtime"], "task_workers": 2}}
    (tmp_path / "params.json").write_text(json.dumps(raw))
    script = tmp_path / "stage.py"
    script.write_text(
        "import json, sys\n"
        "import fractions\n"  # a module this stage imported, that nothing else would
        "from ptbench.config import parse_params\n"
        "from ptbench.run.stagekit import run_jobs, worker_context\n"
        "sys.path[:0] = [%r, %r]\n"  # this file, and tests/ for its conftest
        "from test_stagekit import _seen_modules\n"
        "if __name__ == '__main__':\n"
        "    params = parse_params(json.load(open('params.json')))\n"
        "    before = _seen_modules('transformers.models.t5.modeling_t5')\n"
        "    seen = []\n"
        "    run_jobs(_seen_modules, [('fractions', 'transformers.models.t5.modeling_t5')] * 2, params,\n"
        "             lambda job, result: seen.append(result))\n"
        "    print(json.dumps([worker_context().get_start_method(), before, seen]))\n"
        % (str(Path(__file__).parent), str(Path(__file__).parents[1])))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["fork", [False], [[True, True], [True, True]]]


def test_a_failing_job_is_raised_in_the_stage_with_its_message(raw_params):
    with pytest.raises(PtbenchError, match="nope"):
        collect(get_task, [("rte",), ("nope",)], params_with(raw_params, 2))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_task_workers_must_be_a_positive_integer(raw_params, bad):
    raw_params["runtime"]["task_workers"] = bad
    with pytest.raises(PtbenchError, match="runtime.task_workers"):
        parse_params(raw_params)


def _sleep_forever():
    import time

    time.sleep(600)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_stage_leaves_no_worker_behind(tmp_path):
    """The stage process killed mid-run (as `kill` or a CI timeout would): its workers end with it."""
    import signal
    import subprocess
    import time

    script = tmp_path / "stage.py"
    script.write_text(
        "import os, sys, yaml\n"
        "from ptbench.config import parse_params\n"
        "from ptbench.run.stagekit import run_jobs\n"
        "sys.path[:0] = [%r, %r]\n"  # this file, and tests/ for its conftest
        "from test_stagekit import _sleep_forever\n"
        "raw = yaml.safe_load(open(%r))\n"
        "raw['runtime']['task_workers'] = 2\n"
        "if __name__ == '__main__':\n"
        "    run_jobs(_sleep_forever, [(), ()], parse_params(raw), lambda job, result: None)\n"
        % (str(Path(__file__).parent), str(REPO / "tests"), str(REPO / "params.yaml")))
    stage = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.time() + 60
    # 2 workers, and a resource tracker when they are spawned
    expected = 2 if worker_context().get_start_method() == "fork" else 3
    while time.time() < deadline and len(children(stage.pid)) < expected:
        time.sleep(0.5)
    time.sleep(3)  # killed while the workers start or while they run a job: both covered
    workers = children(stage.pid)
    assert len(workers) >= expected
    stage.send_signal(signal.SIGKILL)
    stage.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.5)
    assert not any(alive(pid) for pid in workers)


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
