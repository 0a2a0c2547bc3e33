"""Shared plumbing of the stage scripts: params first, environment second, one-line errors, atomic outputs."""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterator

from ptbench.errors import PtbenchError
from ptbench.run.process import is_main_process, load_prepared, prepare_process


def run_stage(main: Callable[[argparse.Namespace, object], None], parser: argparse.ArgumentParser,
              argv: list[str] | None = None) -> None:
    """Validate params.yaml before any compute; turn user errors into one line and exit 2. Under
    ``ptbench repro`` the script runs in a fork of its warm zygote instead (``ptbench.run.zygote``)."""
    if argv is None:
        from ptbench.run.zygote import delegate

        status = delegate()
        if status is not None:
            sys.exit(status)
    args = parser.parse_args(argv)
    try:
        main(args, load_prepared(getattr(args, "params", None) or "params.yaml"))
    except PtbenchError as exc:
        print(f"ptbench: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        # A file the stage reads or writes: unwritable folder, a file where a folder belongs, full
        # disk, a missing input. The user fixes these, so one line, not a traceback. An OSError
        # without a file name (a library's own failure) stays a traceback: that is a bug to report.
        if exc.filename is None:
            raise
        print(f"ptbench: error: {os_error_line(exc)}", file=sys.stderr)
        sys.exit(2)


def _worker_setup(runtime, offline: bool, stage_pid: int) -> None:
    """A worker process starts as a stage does (``prepare_process``); on Linux it is also told to end
    with the stage's process (a killed stage leaves no worker behind)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != stage_pid:  # the stage died before this line: end now
            os._exit(1)
    prepare_process(runtime, offline)


def run_jobs(function: Callable, jobs: list[tuple], params, on_result: Callable[[tuple, object], None]) -> None:
    """``function(*job)`` for every job, ``on_result(job, result)`` as each ends (in the stage's process).

    The jobs are independent runs (a task, a knob point: each from a fresh backbone and its own seed).
    ``runtime.task_workers`` 1 runs them here in turn; n > 1 in n worker processes set up as this one,
    so the numbers are the same either way. The first failure cancels the jobs not yet started and is
    raised here (a PtbenchError still ends the stage in one line)."""
    workers = min(params.runtime.task_workers, len(jobs))
    if workers <= 1:
        for job in jobs:
            on_result(job, function(*job))
        return
    from concurrent.futures import ProcessPoolExecutor

    context = worker_context()
    if context.get_start_method() == "fork":
        _import_what_a_run_imports(params)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup,
                               initargs=(params.runtime, params.hub.offline, os.getpid()))
    try:
        futures = [(job, pool.submit(function, *job)) for job in jobs]
        for job, future in futures:  # in submission order: the log reads as the sequential one
            on_result(job, future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def worker_context():
    """How workers start. ``fork`` on Linux while this process has not initialised CUDA: a forked
    worker inherits the stage's imports (torch, transformers and the backbone's model code: ~6 s a
    process on the smoke machine, most of a small cell's cost). ``spawn`` elsewhere (macOS, Windows,
    a process holding a CUDA context, which a forked child cannot use). Either way a run seeds its own
    generators, so the numbers do not depend on it."""
    import multiprocessing

    cuda_initialised = "torch" in sys.modules and sys.modules["torch"].cuda.is_initialized()
    if sys.platform.startswith("linux") and not cuda_initialised:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _import_what_a_run_imports(params) -> None:
    """Before forking: the imports every worker's first run would repeat (its backbone's model and
    tokenizer code), with no weights loaded and no compute that could start threads."""
    from ptbench import hub
    from ptbench.backbones import get_backbone

    info = get_backbone(params.backbone)
    hub.import_model_code(info.hub_id, info.family, params.hub.mirror, params.hub.offline)


def os_error_line(exc: OSError) -> str:
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    return f"{paths}: {exc.strerror or type(exc).__name__}"


def check_writable(folder: Path) -> None:
    """Fail before any compute when the outputs could not be written: ``folder`` (created if missing)
    must be a writable directory. For stages whose output is a file written at the very end."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
    except OSError as exc:
        raise PtbenchError(f"cannot write outputs under {folder}: {os_error_line(exc)}") from None


def each(chosen, every) -> list:
    """The one item a stage was given (``--task rte``: a stage per task), else every item of the
    params list (``runtime.stage_per: method``: one process for them all)."""
    return [chosen] if chosen is not None else list(every)


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Write into ``<target>.partial`` and move it into place only when the block succeeds,
    so that a failed stage never leaves an output DVC could record as good."""
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    if not is_main_process():  # under `accelerate launch`: the main process alone writes outputs
        yield partial
        return
    shutil.rmtree(partial, ignore_errors=True)
    try:  # before the stage's compute: an unwritable output location costs nothing
        partial.mkdir(parents=True)
    except OSError as exc:
        raise PtbenchError(f"cannot write output folder {target}: {os_error_line(exc)}") from None
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def run_points(stage: str, params, method: str, cells: list[tuple[str, str]], params_at: Callable[[str], object],
               root: Path) -> None:
    """Train and score ``method`` at each (point, task) of ``cells`` on ``params.backbone`` (``params_at(point)``:
    the params with the point's knobs), into ``root``'s runs/, metrics/, records/ and predictions/ (the knob
    runs' layout, ``layout.knob_*``); ``stage``: the checkpoint folder's name and the printed prefix."""
    from ptbench.pipeline import layout
    from ptbench.run.experiment import train_and_evaluate

    b = params.backbone
    jobs = [(params_at(point), method, task, layout.data_dir(b, task),
             layout.knob_run_dir(b, method, point, task, root), layout.knob_metrics_path(b, method, point, task, root),
             layout.knob_predictions_path(b, method, point, task, root),
             layout.checkpoint_dir(stage, b, method, point, task), layout.transfer_root(b)) for point, task in cells]
    points = {id(job): point for job, (point, _) in zip(jobs, cells)}
    run_jobs(train_and_evaluate, jobs, params,  # runtime.task_workers side by side
             lambda job, payload: print(f"{stage} {b}/{method}/{points[id(job)]}/{job[2]}: {payload['metrics']}",
                                        flush=True))
