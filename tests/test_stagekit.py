"""``run_jobs``: a stage's independent runs in turn, or side by side in worker processes set up as the
stage (runtime.task_workers); results and failures come back to the stage's process in job order."""
import os

import pytest
import torch

from ptbench.config import parse_params
from ptbench.errors import PtbenchError
from ptbench.stagekit import run_jobs
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


def test_a_failing_job_is_raised_in_the_stage_with_its_message(raw_params):
    with pytest.raises(PtbenchError, match="nope"):
        collect(get_task, [("rte",), ("nope",)], params_with(raw_params, 2))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_task_workers_must_be_a_positive_integer(raw_params, bad):
    raw_params["runtime"]["task_workers"] = bad
    with pytest.raises(PtbenchError, match="runtime.task_workers"):
        parse_params(raw_params)
