"""DVC bookkeeping at scale: `dvc status` / `dvc repro` with nothing to do, and what each re-run stage adds.

Run: pytest benchmarks/test_dvc_scale.py --benchmark-enable --benchmark-only   (~8 min; part of `make benchmark`)
Nothing is trained. Each grid is a copy of the pipeline under a temporary directory in which every
stage's deps and outs are tiny placeholders (src/ is the real tree; stages/*.py are replaced by a stub
that recreates the outs of the command it was started as), recorded by `dvc commit -f`, so that the
whole grid is up to date without computing anything.

Grids (PTBENCH_DVC_GRIDS, comma-separated; default "smoke,synthetic:400"):
  <profile>      the repository's pipeline under profiles/<profile>.yaml (smoke: 174 stages;
                 paper: 8,605 stages in 160 generated files, whose one-off `dvc commit -f` set-up
                 alone takes over an hour on the 2-core machine)
  synthetic:<N>  the smoke grid with its train and evaluate stages repeated over r = 0..R-1 replicas
                 until it holds about N stages (same per-stage dvc.lock entries, a bigger dvc.lock)
PTBENCH_DVC_DIRTY (default 10): how many train stages are made dirty for `test_repro_dirty_stages`;
PTBENCH_DVC_ROUNDS (default 3): timed rounds of each command.
Timed commands run the DVC CLI (`python -m dvc`) in a subprocess, so start-up and dvc.yaml resolution
are included, as a user would see them.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GRIDS = os.environ.get("PTBENCH_DVC_GRIDS", "smoke,synthetic:400").split(",")
DIRTY = int(os.environ.get("PTBENCH_DVC_DIRTY", "10"))
ROUNDS = int(os.environ.get("PTBENCH_DVC_ROUNDS", "3"))  # timed rounds of each command (1 on the paper grid)
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
NOOP: dict[str, float] = {}  # grid -> median seconds of `dvc repro` with nothing to do

STUB = '''import json, pathlib, sys
key = " ".join(["stages/" + pathlib.Path(sys.argv[0]).name] + sys.argv[1:])
for path, is_dir, content in json.load(open(".stub_outs.json"))[key]:
    p = pathlib.Path(path)
    p.mkdir(parents=True, exist_ok=True) if is_dir else p.parent.mkdir(parents=True, exist_ok=True)
    (p / "placeholder" if is_dir else p).write_text(content)
'''


def dvc(root: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=ENV,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def placeholder(path: str) -> tuple[str, bool, str]:
    is_dir = not path.endswith(".json")
    return path, is_dir, (f"placeholder for {path}\n" if is_dir else "{}\n")


def write(entry: tuple[str, bool, str], content: str | None = None) -> None:
    path, is_dir, default = entry
    p = Path(path)
    (p if is_dir else p.parent).mkdir(parents=True, exist_ok=True)
    (p / "placeholder" if is_dir else p).write_text(default if content is None else content)


def synthesise(root: Path, size: int) -> None:
    """Repeat the train and evaluate stages over a `replica` axis until the grid holds ~size stages."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    methods = params["grid"]["methods"] + params["grid"]["transfer"]
    per_replica = 2 * len(params["backbones"]) * len(methods) * len(params["tasks"])
    params["replicas"] = list(range(max(1, round(size / per_replica))))
    for path in (root / "pipelines").glob("*/*/dvc.yaml"):
        spec = yaml.safe_load(path.read_text())
        for name in ("train", "evaluate"):
            if name not in spec["stages"]:
                continue
            stage = spec["stages"][name]
            stage["matrix"]["replica"] = "${replicas}"
            text = json.dumps(stage).replace("/${item.task}", "/${item.task}/r${item.replica}")
            stage = json.loads(text)  # .../${item.task}.json becomes .../${item.task}/r<r>.json
            stage["cmd"] += " --replica ${item.replica}"
            # evaluate still reads its replica's run; data/prepared/<backbone>/<task> is not per replica
            stage["deps"] = [d.split("/r${item.replica}")[0] if d.startswith("data/prepared/") else d
                             for d in stage["deps"]]
            spec["stages"][name] = stage
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def lock_sizes(root: Path) -> tuple[int, int, int]:
    """(total bytes, largest file's bytes, number of files) of every dvc.lock of the grid."""
    sizes = [path.stat().st_size for path in root.rglob("dvc.lock")]
    return sum(sizes), max(sizes, default=0), len(sizes)


def build_grid(root: Path, grid: str) -> dict:
    """Copy the pipeline to root, make every stage up to date on placeholders, return its facts."""
    root.mkdir(parents=True)
    # .gitignore too: without it DVC writes one beside every out, inside directories other stages
    # depend on (results/rows, results/source_prompts/<b>/pt), and those stages no longer look committed.
    for item in ("dvc.yaml", "pipelines", "params.yaml", "profiles", "stages", ".gitignore"):
        (shutil.copytree if (ROOT / item).is_dir() else shutil.copy)(ROOT / item, root / item)
    (root / ".dvc").mkdir()
    shutil.copy(ROOT / ".dvc" / "config", root / ".dvc" / "config")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, env=ENV)
    if grid.startswith("synthetic:"):
        synthesise(root, int(grid.split(":")[1]))
    elif yaml.safe_load((root / "params.yaml").read_text()).get("profile") != grid:
        subprocess.run([sys.executable, "-m", "ptbench.cli", "profile", grid], cwd=root, check=True,
                       env=ENV, capture_output=True)

    from dvc.repo import Repo

    stub, train = {}, []
    with Repo(str(root)) as repo:
        stages = list(repo.index.stages)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            for stage in stages:
                entries = [placeholder(out.def_path) for out in stage.outs]
                for entry in entries:
                    write(entry)
                argv = shlex.split(stage.cmd)
                stub[" ".join(argv[1:])] = entries
                if stage.name.startswith("train@") and stage.addressing.startswith("pipelines/"):
                    train.append((stage.addressing, entries))
        finally:
            os.chdir(cwd)
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for script in (root / "stages").glob("*.py"):
        script.write_text(STUB)
    (root / ".stub_outs.json").write_text(json.dumps(stub))
    start = time.perf_counter()
    dvc(root, "commit", "-f", "-q")
    total, largest, files = lock_sizes(root)
    return {"root": root, "stages": len(stages), "train": train, "commit_s": time.perf_counter() - start,
            "lock_bytes": total, "largest_lock_bytes": largest, "lock_files": files}


@pytest.fixture(scope="module", params=GRIDS)
def grid(request, tmp_path_factory):
    facts = build_grid(tmp_path_factory.mktemp("dvc_scale") / "repo", request.param)
    facts["name"] = request.param
    return facts


def describe(benchmark, grid, what: str) -> None:
    benchmark.group = f"dvc {what}"
    benchmark.extra_info.update(stages=grid["stages"], lock_bytes=grid["lock_bytes"],
                                largest_lock_bytes=grid["largest_lock_bytes"], lock_files=grid["lock_files"],
                                commit_f_s=round(grid["commit_s"], 1))


def test_status_noop(benchmark, grid):
    """`dvc status` on a grid that is entirely up to date."""
    describe(benchmark, grid, "status, nothing changed")
    out = benchmark.pedantic(dvc, args=(grid["root"], "status", "--json"), rounds=ROUNDS, iterations=1)
    assert json.loads(out) == {}


def test_status_one_method(benchmark, grid):
    """`dvc status` on one (backbone, method) file: what a user checks while working on one method."""
    target = grid["train"][0][0].split(":")[0]
    describe(benchmark, grid, "status of one method's dvc.yaml, nothing changed")
    benchmark.extra_info["target"] = target
    out = benchmark.pedantic(dvc, args=(grid["root"], "status", "--json", target), rounds=ROUNDS, iterations=1)
    assert json.loads(out) == {}


def test_repro_noop(benchmark, grid):
    """`dvc repro` with nothing to do (every stage's status checked, nothing run, dvc.lock untouched)."""
    describe(benchmark, grid, "repro, nothing to do")
    locks = {path: path.read_bytes() for path in grid["root"].rglob("dvc.lock")}
    benchmark.pedantic(dvc, args=(grid["root"], "repro"), rounds=ROUNDS, iterations=1)
    assert {path: path.read_bytes() for path in grid["root"].rglob("dvc.lock")} == locks
    if benchmark.stats:
        NOOP[grid["name"]] = benchmark.stats.stats.median


def test_repro_dirty_stages(benchmark, grid):
    """`dvc repro` with DIRTY train stages whose outs were modified. DVC finds each stage's recorded
    state in its cache and restores the outs instead of running the stub, then does what it does after
    any run (save, commit, rewrite dvc.lock); evaluate stages downstream see unchanged deps and skip."""
    describe(benchmark, grid, f"repro, {DIRTY} dirty stages")
    chosen = grid["train"][:: max(1, len(grid["train"]) // DIRTY)][:DIRTY]
    root = grid["root"]

    def dirty():
        for _, entries in chosen:
            for entry in entries:
                write((str(root / entry[0]), entry[1], entry[2]), "modified\n")

    benchmark.pedantic(dvc, args=(root, "repro", "--no-run-cache"), setup=dirty, rounds=min(ROUNDS, 2), iterations=1)
    assert json.loads(dvc(root, "status", "--json")) == {}
    benchmark.extra_info["dirty"] = len(chosen)
    if grid["name"] in NOOP and benchmark.stats:
        per_stage = (benchmark.stats.stats.median - NOOP[grid["name"]]) / len(chosen)
        benchmark.extra_info["s_per_dirty_stage"] = round(per_stage, 3)


def test_lock_rewrite(benchmark, grid):
    """The step of every re-run stage that grows with the grid: DVC's round-trip rewrite of dvc.lock."""
    from dvc.repo import Repo

    describe(benchmark, grid, "dvc.lock rewrite for one stage (in-process)")
    with Repo(str(grid["root"])) as repo:
        stage = next(s for s in repo.index.stages if s.name.startswith("train@")
                     and os.path.relpath(s.path, grid["root"]).startswith("pipelines"))
        stage.save(run_cache=False)
        benchmark.pedantic(stage.dump, kwargs={"update_pipeline": False}, rounds=ROUNDS, iterations=1)
