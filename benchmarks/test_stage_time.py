"""What a smoke stage costs on this machine: the imports every stage process pays before any work,
and whole stages of each kind, run as `dvc repro` runs them (a subprocess from the repository root).

The stage benchmarks read the outputs of `make smoke` (mirror, data, runs) and write to a scratch
folder (data preparation rewrites its own, the same bytes).
    .venv/bin/python -m pytest benchmarks/test_stage_time.py --benchmark-enable --benchmark-only
Figures: benchmarks/README.md ("Smoke stages").
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}

IMPORTS = {
    # what every stage's run_stage does before its work: params validation (the method registry)
    "params": "from ptbench.run.process import quiet_libraries; from ptbench.config import load_params; "
              "load_params(); quiet_libraries()",
    # + what a training stage adds: the loop, the experiment library and T5's modelling code
    "training": "from ptbench.run.process import quiet_libraries; from ptbench.config import load_params; "
                "load_params(); quiet_libraries(); import ptbench.run.experiment; "
                "from transformers import T5ForConditionalGeneration",
    # + what the tables stage adds: the report (pandas, matplotlib)
    "report": "from ptbench.config import load_params; load_params(); import ptbench.report.build",
}


def run(argv, cwd=REPO):
    result = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("kind", sorted(IMPORTS))
def test_stage_imports(benchmark, kind):
    benchmark.pedantic(run, args=([sys.executable, "-c", IMPORTS[kind]],), rounds=3, iterations=1)


def smoke_outputs():
    if not (REPO / "results" / "runs" / "tiny-t5" / "pt").is_dir():
        pytest.skip("needs the smoke's outputs: run `make smoke` first")


def stages(scratch: Path) -> dict[str, list[str]]:
    """Each stage kind with its outputs redirected to ``scratch`` (data preparation has no such
    option: it runs as the pipeline runs it, rewriting the same bytes)."""
    run_dir = scratch / "run"
    return {
        "train pt rte": ["stages/train.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte", "--out", str(run_dir)],
        "evaluate pt rte": ["stages/evaluate.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte",
                            "--train-dir", "results/runs/tiny-t5/pt/rte", "--out", str(scratch / "m.json"),
                            "--predictions", str(scratch / "p.json")],
        "rows pt": ["stages/rows.py", "--backbone", "tiny-t5", "--method", "pt", "--out", str(scratch / "rows.json")],
        "tables": ["stages/tables.py", *[a for kind in ("tables", "figures", "report", "plots")
                                         for a in (f"--{kind}", str(scratch / kind))]],
        "data (5 tasks)": ["stages/prepare_data.py", "--backbone", "tiny-t5"],
    }


@pytest.mark.parametrize("stage", sorted(stages(Path("."))))
def test_smoke_stage(benchmark, stage, tmp_path):
    smoke_outputs()
    benchmark.pedantic(run, args=([sys.executable, *stages(tmp_path)[stage]],), rounds=1, iterations=1)


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    """`ptbench repro`'s warm process (src/ptbench/run/zygote.py), for the stages below to fork from."""
    import time

    sock = tmp_path_factory.mktemp("zygote") / "z.sock"
    server = subprocess.Popen([sys.executable, "-m", "ptbench.run.zygote", str(sock)], cwd=REPO, env=ENV)
    deadline = time.time() + 120
    while not sock.with_suffix(".ready").exists() and time.time() < deadline:
        time.sleep(0.1)
    yield sock
    server.terminate()
    server.wait(timeout=30)


@pytest.mark.parametrize("stage", ["evaluate pt rte", "rows pt", "train pt rte"])
def test_smoke_stage_forked_from_the_zygote(benchmark, stage, tmp_path, zygote):
    """The same stages as `ptbench repro` (make smoke) runs them: forked from a process that imported once."""
    smoke_outputs()
    env = {**ENV, "PTBENCH_ZYGOTE": str(zygote)}

    def forked(argv):
        result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
    benchmark.pedantic(forked, args=([sys.executable, *stages(tmp_path)[stage]],), rounds=3, iterations=1)
