"""``ptbench.run.zygote``: a stage script handed to the warm process runs in a fork of it as it would run on
its own (folder, environment, arguments, streams, exit status), and a killed stage takes its child along."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from ptbench.run.zygote import SOCKET_ENV, _ptbench_files_changed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and Unix sockets")

SCRIPT = """\
import json, os, sys, time
from ptbench.run.stagekit import run_stage

def main(args, params):
    print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(), "argv": sys.argv[1:],
                      "marker": os.environ.get("MARKER"), "zygote": os.environ.get("PTBENCH_ZYGOTE"),
                      "preloaded": "fractions" in sys.modules}), flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    if args.sleep:
        time.sleep(args.sleep)
    sys.exit(args.code)

if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0)
    parser.add_argument("--params", default=%r)
    run_stage(main, parser)
"""


@pytest.fixture
def zygote(tmp_path):
    sock = tmp_path / "z.sock"
    server = subprocess.Popen([sys.executable, "-m", "ptbench.run.zygote", str(sock), "--params", str(REPO / "params.yaml"),
                               "--preload", "fractions"])
    deadline = time.time() + 60
    while not sock.with_suffix(".ready").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert sock.with_suffix(".ready").exists()
    yield server, sock
    server.terminate()
    server.wait(timeout=30)


def stage(tmp_path, sock, *args, wait=True):
    script = tmp_path / "stage.py"
    script.write_text(SCRIPT % str(REPO / "params.yaml"))
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    env = {**os.environ, SOCKET_ENV: str(sock), "MARKER": "from the stage"}
    command = [sys.executable, str(script), *args]
    if not wait:
        return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)


def test_a_stage_runs_in_a_child_of_the_zygote_as_it_would_alone(zygote, tmp_path):
    import json

    server, sock = zygote
    out = stage(tmp_path, sock, "--code", "3")
    assert out.returncode == 3, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["ppid"] == server.pid  # forked from the warm process
    assert seen["preloaded"] and seen["zygote"] is None  # its imports inherited; not handed on again
    assert seen["cwd"] == str(tmp_path / "work") and seen["argv"] == ["--code", "3"]
    assert seen["marker"] == "from the stage"
    assert "to stderr" in out.stderr
    assert stage(tmp_path, sock).returncode == 0


def test_a_bad_argument_fails_the_stage_as_without_the_zygote(zygote, tmp_path):
    out = stage(tmp_path, zygote[1], "--code", "not-a-number")
    assert out.returncode == 2 and "invalid int value" in out.stderr


def test_without_a_zygote_the_stage_runs_on_its_own(tmp_path):
    import json

    out = stage(tmp_path, tmp_path / "absent.sock")
    assert out.returncode == 0
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["ppid"] == os.getpid() and seen["preloaded"] is False


def test_a_killed_stage_takes_its_child_along(zygote, tmp_path):
    import json

    client = stage(tmp_path, zygote[1], "--sleep", "600", wait=False)
    child = json.loads(client.stdout.readline())["pid"]
    client.send_signal(signal.SIGKILL)
    client.wait()
    deadline = time.time() + 10
    while time.time() < deadline and Path(f"/proc/{child}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()


def test_a_preloaded_file_changed_since_makes_the_child_decline(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("x = 1\n")
    files = {str(source): os.stat(source).st_mtime}
    assert not _ptbench_files_changed(files)
    os.utime(source, (1, 1))
    assert _ptbench_files_changed(files)
    assert _ptbench_files_changed({str(tmp_path / "gone.py"): 0.0})
