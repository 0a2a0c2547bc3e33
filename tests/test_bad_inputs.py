"""Bad inputs through the real entry points: one line, exit 2, no traceback, nothing computed.

Every row runs the `ptbench` command or a stage script (`python stages/<x>.py ...`) in a
subprocess, in a working copy holding `params.yaml` (hub.mirror pointing at a copy of a mirror),
`stages/`, `profiles/` and, for the rows that need it, `data/prepared/tiny-t5/rte`. The mirror is built
by the mirror's own builder with fewer rows and a backbone pre-trained for 2 steps (seconds,
where the session's `smoke_mirror` pre-trains for minutes): no row gets as far as model quality. The answer
must be exactly one stderr line `ptbench: error: ...` naming the key (task, field, file or path)
and, where there is a closed set, the allowed values; the working copy must gain no file (no
output, no partial output, no checkpoint): the check came before the compute.

The rows run concurrently (one subprocess each, ~4 s of imports) in a module fixture; each
table row is then one test that reads its outcome.
"""
from __future__ import annotations

import concurrent.futures
import copy
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
import yaml
from conftest import REPO

from ptbench.backbones import get_backbone
from ptbench.config import parse_params
from ptbench.errors import DataError
from ptbench.methods import METHODS as REGISTERED_METHODS
from ptbench.mirror.build import build_mirror

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
RTE = Path("mirror/datasets/nyu-mll/glue/rte")
CLI = ("-m", "ptbench.cli")
DATA = ("stages/prepare_data.py", "--backbone", "tiny-t5", "--task", "rte")
TRAIN_PT = ("stages/train.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte")
SCRATCH = ("hf-cache", "mirror")  # written by the libraries or set up by the row: not outputs


def parquet(split: str) -> Path:
    return RTE / f"{split}-00000-of-00001.parquet"


@dataclass(frozen=True)
class Bad:
    argv: tuple[str, ...]  # after `python`
    needles: tuple[str, ...]  # each must be in the one stderr line
    params: Callable[[dict], object] | None = None  # edits the raw params.yaml
    setup: Callable[[Path], None] | None = None  # edits the working copy
    prepared: bool = False  # needs data/prepared/tiny-t5/rte (made once, by the data stage)


def put(dotted: str, value: object) -> Callable[[dict], None]:
    def edit(raw: dict) -> None:
        *parents, last = dotted.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


def drop(key: str) -> Callable[[dict], None]:
    return lambda raw: raw.pop(key)


def write(relative: str, text: str) -> Callable[[Path], None]:
    return lambda work: (work / relative).write_text(text)


def remove(relative: Path) -> Callable[[Path], None]:
    return lambda work: (work / relative).unlink()


def garble(relative: Path) -> Callable[[Path], None]:
    return lambda work: (work / relative).write_bytes(b"PAR1 this is not a parquet file " * 8)


def rename_column(old: str, new: str, splits: tuple[str, ...]) -> Callable[[Path], None]:
    """Rewrite mirror parquet files with a column renamed (schema metadata dropped, as a foreign writer would)."""
    def setup(work: Path) -> None:
        for split in splits:
            table = pq.read_table(work / parquet(split))
            table = table.rename_columns([new if c == old else c for c in table.column_names]).replace_schema_metadata()
            pq.write_table(table, work / parquet(split))
    return setup


def unwritable(relative: str) -> Callable[[Path], None]:
    """An output location the stage cannot write: a read-only folder (0o500), or, as root (who
    ignores permission bits), a regular file where the folder belongs, which fails for root too."""
    def setup(work: Path) -> None:
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if AS_ROOT:
            path.write_text("a file where an output folder belongs\n")
        else:
            path.mkdir(exist_ok=True)
            path.chmod(0o500)
    return setup


class Planted:
    """Unpickled, it creates UNPICKLED in the working copy: what a tampered file in a shared cache could do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def planted(relative: str, archive: bool = False, extra: dict[str, str] | None = None) -> Callable[[Path], None]:
    """A pickle where an artifact belongs (``archive``: a torch.save zip, as checkpoints are); ``extra``:
    other files the stage reads first."""
    def setup(work: Path) -> None:
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = Planted(str(work / "UNPICKLED"))
        if archive:
            torch.save({"fingerprint": "any", "method": payload}, path)
        else:
            path.write_bytes(pickle.dumps({"embedding": payload}))
        for name, text in (extra or {}).items():
            (work / name).write_text(text)
    return setup


PICKLE = ("expected a safetensors file, found a pickle", "refused unread")
UNWRITABLE = "Not a directory" if AS_ROOT else "Permission denied"
METHODS = f"allowed: {', '.join(sorted(REGISTERED_METHODS))}"  # every registered method, in order

TABLE: dict[str, Bad] = {
    # -- unknown names ------------------------------------------------------------------------------
    "cli unknown method": Bad(CLI + ("params", "--method", "warp", "--backbone", "t5-base"),
                              ("method: unknown value 'warp'", METHODS)),
    "cli unknown backbone": Bad(CLI + ("params", "--method", "pt", "--backbone", "t5-xxl"),
                                ("backbone: unknown value 't5-xxl'; allowed:", "t5-base", "tiny-t5")),
    "cli unknown profile": Bad(CLI + ("profile", "huge"), ("profile: unknown value 'huge'; allowed: paper, paper-001, paper-001-large, paper-003, paper-004, quick, smoke",)),
    "stage unknown task": Bad(("stages/prepare_data.py", "--backbone", "tiny-t5", "--task", "imagenet"),
                              ("task: unknown value 'imagenet'; allowed:", "rte", "squad")),
    "params unknown task": Bad(DATA, ("task: unknown value 'nope'; allowed:", "mnli", "rte"),
                               params=put("tasks", ["rte", "nope"])),
    "params unknown backbone": Bad(DATA, ("backbone: unknown value 'gpt-9'; allowed:", "t5-base"),
                                   params=put("backbones", ["tiny-t5", "gpt-9"])),
    "stage backbone not in backbones": Bad(("stages/train.py", "--backbone", "t5-base", "--method", "pt", "--task", "rte"),
                                           ("backbones: unknown value 't5-base'; allowed: tiny-t5",)),
    "params unknown variant method": Bad(TRAIN_PT, ("method: unknown value 'superpos_x'; allowed:",),
                                         params=put("method", "superpos_x")),
    "params unknown method section": Bad(TRAIN_PT, ("methods: unknown value 'warp'", METHODS),
                                         params=put("methods.warp", {"lr": 0.3})),
    "params unknown knob": Bad(TRAIN_PT, ("methods.pt: unknown key(s) colour; allowed:", "init", "length", "lr"),
                               params=put("methods.pt.colour", "red")),
    "params unknown split protocol": Bad(DATA, ("data.split_protocol: unknown value 'random'; allowed: dept, explosive",),
                                         params=put("data.split_protocol", "random")),
    # -- ranges and types in params.yaml ------------------------------------------------------------
    "negative lr": Bad(TRAIN_PT, ("methods.pt.lr: must be a positive number, got -0.3",),
                       params=put("methods.pt.lr", -0.3)),
    "prompt length 0": Bad(TRAIN_PT, ("methods.pt.length: must be an integer >= 1, got 0",),
                           params=put("methods.pt.length", 0)),
    "string steps": Bad(TRAIN_PT, ("train.steps: must be an integer >= 1, got '300'",),
                        params=put("train.steps", "300")),
    "max_length below 8": Bad(DATA, ("data.max_length: must be an integer >= 8, got 4",),
                              params=put("data.max_length", 4)),
    "negative seed": Bad(TRAIN_PT, ("seeds: must be an integer >= 0, got -1",), params=put("seeds", [-1])),
    "ept_msp s > l": Bad(("stages/train.py", "--backbone", "tiny-t5", "--method", "ept_msp", "--task", "rte"),
                         ("methods.ept_msp.short_length: must satisfy 0 <= s < length (100)", "got 120"),
                         params=lambda raw: raw["methods"]["ept_msp"].update(length=100, short_length=120)),
    "ept_msp rank > rows": Bad(("stages/train.py", "--backbone", "tiny-t5", "--method", "ept_msp", "--task", "rte"),
                               ("methods.ept_msp.rank: must be <= the rows decomposed (40", "got 50"),
                               params=lambda raw: raw["methods"]["ept_msp"].update(
                                   length=100, short_length=60, svd_source="rest", rank=50)),
    "dept rank > min(m, d), cli": Bad(CLI + ("params", "--method", "dept", "--backbone", "t5-small", "--max-length", "64",
                                             "--set", "rank=100"),
                                      ("methods.dept.rank: must be <= min(max_length m, d_model d) = min(64, 512) = 64",
                                       "got 100")),
    "dept rank > min(m, d), stage": Bad(("stages/train.py", "--backbone", "tiny-t5", "--method", "dept", "--task", "rte"),
                                        ("methods.dept.rank: must be <= min(max_length m, d_model d) = min(",
                                         "got 1000", "data.max_length"),
                                        params=put("methods.dept.rank", 1000), prepared=True),
    "missing params key": Bad(TRAIN_PT, ("params.yaml: missing key(s) train",), params=drop("train")),
    "invalid yaml": Bad(TRAIN_PT, ("params.yaml: not valid YAML",), setup=write("params.yaml", "train: [unclosed\n")),
    # -- data -----------------------------------------------------------------------------------------
    "mirror folder missing": Bad(DATA, ("hub.mirror: no dataset 'nyu-mll/glue' under", "dvc repro mirror"),
                                 params=put("hub.mirror", "no-such-mirror")),
    "missing parquet": Bad(DATA, ("dataset nyu-mll/glue/rte: data file missing:", str(parquet("validation"))),
                           setup=remove(parquet("validation"))),
    "corrupt parquet": Bad(DATA, ("dataset nyu-mll/glue/rte: cannot read", str(parquet("train")), "ArrowInvalid"),
                           setup=garble(parquet("train"))),
    "dataset without the field": Bad(DATA, ("task 'rte':", "sentence1", "missing"),
                                     setup=rename_column("sentence1", "premise", ("train", "validation", "test"))),
    "files disagree on columns": Bad(DATA, ("dataset nyu-mll/glue/rte: cannot read", "rte/validation-", "sentence1",
                                            "premise"),
                                     setup=rename_column("sentence1", "premise", ("train",))),
    "evaluate before train": Bad(("stages/evaluate.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte"),
                                 ("results/runs/tiny-t5/pt/rte/seed0/train.json: No such file or directory",), prepared=True),
    # -- a shared cache's tampered files: refused unread (ptbench.artifacts) --------------------------------
    "pickle as a prepared split": Bad(TRAIN_PT, ("data/prepared/tiny-t5/rte/train.safetensors: ", *PICKLE),
                                      prepared=True, setup=planted("data/prepared/tiny-t5/rte/train.safetensors")),
    "pickle as a checkpoint": Bad(TRAIN_PT, ("checkpoints/runs/tiny-t5/pt/rte/seed0.pt: expected a checkpoint of tensors",
                                             "restricted unpickler refuses", "refused unread"),
                                  prepared=True, setup=planted("checkpoints/runs/tiny-t5/pt/rte/seed0.pt", archive=True)),
    "pickle as a trained state": Bad(("stages/evaluate.py", "--backbone", "tiny-t5", "--method", "pt", "--task", "rte"),
                                     ("results/runs/tiny-t5/pt/rte/seed0/state.safetensors: ", *PICKLE), prepared=True,
                                     setup=planted("results/runs/tiny-t5/pt/rte/seed0/state.safetensors",
                                                   extra={"results/runs/tiny-t5/pt/rte/seed0/train.json": "{}"})),
    "pickle as transfer sources": Bad(("stages/train.py", "--backbone", "tiny-t5", "--method", "spot", "--task", "rte"),
                                      ("results/transfer_sources/tiny-t5/spot/seed0/sources.safetensors: ", *PICKLE),
                                      prepared=True,
                                      setup=planted("results/transfer_sources/tiny-t5/spot/seed0/sources.safetensors")),
    # -- outputs --------------------------------------------------------------------------------------
    "unwritable data folder": Bad(DATA, ("cannot write output folder data/prepared/tiny-t5/rte:", UNWRITABLE),
                                  setup=unwritable("data/prepared")),
    "unwritable results folder": Bad(TRAIN_PT, ("cannot write output folder results/runs/tiny-t5/pt/rte:", UNWRITABLE),
                                     setup=unwritable("results/runs")),
}


def _run(argv: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "HF_DATASETS_CACHE": str(cwd / "hf-cache")}
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def _files(work: Path) -> set[str]:
    return {str(p.relative_to(work)) for p in work.rglob("*")
            if p.is_file() and p.relative_to(work).parts[0] not in SCRATCH}


def _working_copy(work: Path, mirror: Path, raw: dict) -> None:
    work.mkdir(parents=True)
    for name in ("stages", "profiles"):
        shutil.copytree(REPO / name, work / name)
    shutil.copytree(mirror, work / "mirror")
    raw = copy.deepcopy(raw)
    raw["hub"].update(mirror="mirror", offline=True)
    (work / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def _restore_permissions(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)


def quick_mirror_params(raw: dict):
    """The smoke mirror's world with fewer rows and a backbone pre-trained for 2 steps on rte's rule."""
    raw = copy.deepcopy(raw)
    raw["mirror"]["rows"] = {"train": 300, "validation": 100, "test": 100}
    raw["mirror"]["pretrain"].update(steps=2, rows_per_rule=200)
    if "rules" in raw["mirror"]["pretrain"]:
        raw["mirror"]["pretrain"]["rules"] = ["rte"]
    return parse_params(raw)


@pytest.fixture(scope="module")
def quick_mirror(repo_params_raw, tmp_path_factory) -> Path:
    """A mirror in seconds (the session's smoke_mirror pre-trains for minutes): no row gets as far
    as model quality."""
    params = quick_mirror_params(repo_params_raw)
    root = tmp_path_factory.mktemp("quick-mirror") / "mirror"
    build_mirror(root, params.mirror, get_backbone("tiny-t5").hub_id)
    return root


@pytest.fixture(scope="module")
def outcomes(request, quick_mirror, repo_params_raw, tmp_path_factory) -> dict:
    """Every selected row's (result, files before, files after), the subprocesses two at a time."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if getattr(item, "module", None) is request.module and hasattr(item, "callspec")]
    root = tmp_path_factory.mktemp("bad-inputs")
    template = root / "prepared"

    def prepare() -> subprocess.CompletedProcess:
        _working_copy(template, quick_mirror, repo_params_raw)
        return _run(DATA, template)

    def case(number: int, name: str):
        bad = TABLE[name]
        work = root / f"case{number:02d}"
        _working_copy(work, quick_mirror, repo_params_raw)
        if bad.params:
            raw = yaml.safe_load((work / "params.yaml").read_text())
            bad.params(raw)
            (work / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        if bad.prepared:
            made = prepared.result()  # submitted first: running, not queued behind this row
            assert made.returncode == 0, made.stderr[-2000:]
            prepared_rte = Path("data", "prepared", "tiny-t5", "rte")
            shutil.copytree(template / prepared_rte, work / prepared_rte)
        if bad.setup:
            bad.setup(work)
        before = _files(work)
        result = _run(bad.argv, work)
        return result, before, _files(work)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            if any(TABLE[name].prepared for name in selected):
                prepared = pool.submit(prepare)
            # the slow rows (a dataset or a backbone to load) first, the quick ones fill in behind them
            order = sorted(selected, key=lambda name: not (TABLE[name].prepared or DATA[0] in TABLE[name].argv))
            futures = {name: pool.submit(case, number, name) for number, name in enumerate(order)}
            yield {name: future.result() for name, future in futures.items()}
    finally:
        _restore_permissions(root)


def test_the_table_covers_the_reliability_issue():
    assert len(TABLE) >= 20


@pytest.mark.parametrize("name", list(TABLE))
def test_bad_input_is_one_line_naming_the_key(outcomes, name):
    result, before, after = outcomes[name]
    report = f"exit {result.returncode}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 2, report
    assert "Traceback" not in result.stderr, report
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ptbench: error: "), report
    for needle in TABLE[name].needles:
        assert needle in lines[0], f"{needle!r} not in: {lines[0]}"
    assert after == before, f"the failed run left files behind: {sorted(after - before)}"


def test_a_changed_mirror_file_is_read_again_not_served_from_the_cache(quick_mirror, tmp_path, monkeypatch):
    """`datasets` keys a folder dataset's cache by file names: without a content-keyed cache folder a
    rebuilt (or corrupted) mirror file would be answered with the rows cached before."""
    import datasets

    from ptbench import hub

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    mirror = tmp_path / "mirror"
    shutil.copytree(quick_mirror / "datasets" / "nyu-mll", mirror / "datasets" / "nyu-mll")
    before = hub.load_hub_dataset("nyu-mll/glue", "rte", "main", str(mirror), offline=True)["train"].num_rows
    table = pq.read_table(mirror / parquet("train").relative_to("mirror"))
    pq.write_table(table.slice(0, 10), mirror / parquet("train").relative_to("mirror"))
    assert hub.load_hub_dataset("nyu-mll/glue", "rte", "main", str(mirror), offline=True)["train"].num_rows == 10 != before
    garble(parquet("train").relative_to("mirror"))(mirror)
    with pytest.raises(DataError, match="cannot read .*rte/train-00000-of-00001.parquet"):
        hub.load_hub_dataset("nyu-mll/glue", "rte", "main", str(mirror), offline=True)
