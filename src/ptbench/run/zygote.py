"""A warm process the stages of one ``ptbench repro`` fork from, instead of each importing torch and
transformers again (~6.5 s per stage process on the 2-core smoke machine, a third of the smoke).

``ptbench repro`` starts the zygote, runs ``dvc repro`` with ``PTBENCH_ZYGOTE`` naming its socket and
stops it afterwards. A stage script (``stagekit.run_stage``) finding that variable hands its command
line, folder, environment and standard streams to the zygote, which forks a child that runs the
script exactly as ``python <script> <args>`` would (``runpy`` as ``__main__``), in the stage's folder
with the stage's environment; the script's exit status becomes the stage's. Plain ``dvc repro``
(no variable) runs every stage as its own process, as before: the numbers are the same either way
(tests/test_regression.py re-runs every method's RTE cell in one plain process and compares it with the
committed smoke, which `make smoke` made through the zygote).

What keeps a child equal to a fresh process: the zygote prepares itself as a stage does before its
imports (``process.prepare_process`` with params.yaml's CPU kernels, threads and hub settings, which
libraries read when imported) and only imports, never computes (no thread pool to inherit); a child
refuses to start when a preloaded ptbench file changed since or the stage's environment pins other CPU
kernels (``ptbench.numerics``; the stage then runs on its own), and the
zygote serves one stage at a time (DVC runs them in turn). A killed stage takes its child along.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import traceback
from pathlib import Path

SOCKET_ENV = "PTBENCH_ZYGOTE"
# What stage processes import: the training stack with T5's model code, the data and report stacks.
PRELOAD = ("ptbench.run.experiment", "ptbench.run.transfer", "ptbench.run.distill", "ptbench.pipeline.knobs", "ptbench.data.prepare",
           "ptbench.mirror.build", "ptbench.mirror.pretrain", "ptbench.report.build", "ptbench.report.rows",
           "ptbench.pipeline.generate", "transformers.models.t5.modeling_t5", "dvclive", "peft", "matplotlib.pyplot")
FALLBACK = 97  # a child's status meaning "run the stage yourself" (stale preload, bad request)


def _ptbench_files() -> dict[str, float]:
    return {m.__file__: os.stat(m.__file__).st_mtime for name, m in list(sys.modules.items())
            if name.startswith("ptbench") and getattr(m, "__file__", None)}


def preload(params_path: Path, modules: tuple[str, ...] = PRELOAD) -> None:
    """Set up as a stage would before its imports, then import what stages import."""
    import importlib

    from ptbench.run.process import load_prepared

    load_prepared(params_path)
    os.environ["MPLBACKEND"] = os.environ.get("MPLBACKEND", "Agg")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional stack missing here: its stages import it themselves
            pass


def serve(socket_path: Path, params_path: Path, modules: tuple[str, ...] = PRELOAD) -> None:
    preload(params_path, modules)
    files = _ptbench_files()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    socket_path = Path(socket_path)
    socket_path.unlink(missing_ok=True)
    server.bind(str(socket_path))
    server.listen(8)
    ready = socket_path.with_suffix(".ready")
    ready.write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            connection, _ = server.accept()
            with connection:
                _serve_one(connection, server, files)
    finally:
        socket_path.unlink(missing_ok=True)
        ready.unlink(missing_ok=True)


def _serve_one(connection: socket.socket, server: socket.socket, files: dict[str, float]) -> None:
    message, fds, _, _ = socket.recv_fds(connection, 1 << 22, 3)
    request = json.loads(message.decode())
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the stage
        server.close()
        connection.close()
        os._exit(_run_child(request, fds, files))
    for fd in fds:
        os.close(fd)
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    while True:  # the child's end, or the stage's client gone (killed): then the child goes too
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            connection.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            return
        readable, _, _ = select.select([connection], [], [], 0.05)
        if readable and not connection.recv(1, socket.MSG_PEEK):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            return


def _run_child(request: dict, fds: list[int], files: dict[str, float]) -> int:
    import atexit
    import runpy
    import threading

    try:
        if _ptbench_files_changed(files) or len(fds) != 3 or _other_numerics(request["env"]):
            return FALLBACK
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False, buffering=1)
        sys.stderr = open(2, "w", closefd=False, buffering=1)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop(SOCKET_ENV, None)  # the script runs here, not through the zygote again
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.argv = list(request["argv"])
        sys.path[0] = str(Path(request["argv"][0]).resolve().parent)
        runpy.run_path(request["argv"][0], run_name="__main__")
        return 0
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if not isinstance(code, int):
            print(code, file=sys.stderr)
            return 1
        return code
    except BaseException:
        traceback.print_exc()
        return 1
    finally:  # as an interpreter's own exit: wait for non-daemon threads, run the exit handlers
        getattr(threading, "_shutdown", lambda: None)()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def _other_numerics(env: dict[str, str]) -> bool:
    """A stage whose environment pins other CPU kernels than the ones this process imported torch under
    (``ptbench.numerics``): it runs on its own, where its pins take effect."""
    from ptbench.numerics import PINNED_VARIABLES

    return any(env.get(name) != os.environ.get(name) for name in PINNED_VARIABLES)


def _ptbench_files_changed(files: dict[str, float]) -> bool:
    try:
        return any(os.stat(path).st_mtime != mtime for path, mtime in files.items())
    except OSError:
        return True


def delegate() -> int | None:
    """In a stage script: run it in a child of the zygote named by ``PTBENCH_ZYGOTE`` and return its
    exit status; None when there is no zygote (or it declined): the script then runs here."""
    path = os.environ.get(SOCKET_ENV)
    # a process of a distributed launch (accelerate, torchrun) meets its peers: the zygote serves stages
    # one at a time, so they run on their own
    if not path or "RANK" in os.environ or "LOCAL_RANK" in os.environ:
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
    except OSError:
        return None
    with client:
        request = {"argv": [os.path.abspath(sys.argv[0]), *sys.argv[1:]], "cwd": os.getcwd(), "env": dict(os.environ)}
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        socket.send_fds(client, [json.dumps(request).encode()], [0, 1, 2])
        reader = client.makefile("r")
        child = json.loads(reader.readline())["pid"]
        forward = lambda signum, _frame: os.kill(child, signum)  # noqa: E731
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)
        line = reader.readline()
    status = json.loads(line)["status"] if line else 1
    if status == FALLBACK:
        return None
    return 128 - status if status < 0 else status  # killed by signal N: the shell's 128 + N


def _pin_numerics(params_path: Path) -> None:
    """params.yaml's ``runtime.cpu_numerics`` into this process's environment (so into dvc's and every
    stage's); invalid params are left to the stages, which report them in one line."""
    from ptbench import numerics
    from ptbench.errors import PtbenchError

    try:
        numerics.pin_from_params(params_path)
    except PtbenchError:
        pass


def run_with_zygote(dvc_args: list[str], params_path: Path = Path("params.yaml")) -> int:
    """``dvc repro <dvc_args>`` with a zygote serving its stages; without one if it fails to start."""
    import shutil
    import subprocess
    import tempfile
    import time

    _pin_numerics(params_path)  # the zygote, dvc and so every stage's environment carry the same CPU pins
    folder = Path(tempfile.mkdtemp(prefix="ptbench-zygote-"))  # short: a socket path has ~100 bytes
    sock = folder / "stages.sock"
    zygote = subprocess.Popen([sys.executable, "-m", "ptbench.run.zygote", str(sock), "--params", str(params_path)])
    env = dict(os.environ)
    try:
        deadline = time.time() + 300
        while not sock.with_suffix(".ready").exists() and zygote.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if sock.with_suffix(".ready").exists():
            env[SOCKET_ENV] = str(sock)
        else:
            print("ptbench: warning: the stage zygote did not start; every stage imports on its own", file=sys.stderr)
        return subprocess.run(["dvc", "repro", *dvc_args], env=env).returncode
    finally:
        zygote.terminate()
        try:
            zygote.wait(timeout=30)
        except subprocess.TimeoutExpired:
            zygote.kill()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="serve forks of a warm stage process on a Unix socket")
    parser.add_argument("socket")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--preload", nargs="*", default=list(PRELOAD), help="modules to import before serving")
    args = parser.parse_args(argv)
    serve(Path(args.socket), Path(args.params), tuple(args.preload))


if __name__ == "__main__":
    main()
