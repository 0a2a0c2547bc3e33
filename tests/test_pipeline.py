"""The DVC pipeline, run for real: the smoke on a scratch copy of the repository.

`ptbench repro` (`dvc repro` with the stages forked from one warm process, as `make smoke` runs it) runs
a slice of the smoke (a fresh DVC cache, as in a fresh clone): the cells of pt, ept_star
and the transfer methods (`SLICE_METHODS`) and the variant on three of the smoke's tasks (`SLICE_TASKS`:
RTE, and MNLI and BoolQ, the source tasks; a task trains and scores from a fresh backbone, so its
numbers do not depend on the others), and one stage of every other kind but the tables (which read
every method's rows, knob and few-shot runs: `make smoke` runs them; tests/report/ renders them). The
mirror is the session's (tests/conftest.py, the stage's own builder): with the committed root lock, DVC
finds it equal to the committed one and skips its stage (tests/mirror/test_load_proof.py runs the stage).
Every other method's RTE cell is re-run in one process by tests/test_regression.py. Then:
- CI's regression check (ptbench.check.regression): every committed metric file comes out the same,
  exactly. The thread count is pinned (runtime.cpu_threads), so CPU results do not depend on the
  machine's load; a deliberate bug in one method's forward or prompt, patched into a copy, moves
  that method's cells, so such a bug cannot pass CI;
- the caching contract: a second `dvc repro` does nothing; editing one value of methods.ept_star
  (or of the transfer method methods.attempt) dirties only that method's stages, all in its own
  pipelines/<backbone>/<method>/dvc.yaml; adding a backbone dirties only its own stages;
  `dvc exp run -S method=ept_star` re-runs only the variant stage.
The paper grid's other granularity (a stage per task) is checked as generated files
(tests/pipeline/test_generate.py) and as a resolved DVC graph (tests/test_paper_grid.py).
"""
import json
import shutil
import sys

import pytest
import yaml

from conftest import REPO
from ptbench.check.regression import metric_files, moved_cells, report
from repo_copy import copy_repository, edit_params, place_committed_mirror, sh

pytestmark = pytest.mark.slow

SLICE_TASKS = ["rte", "mnli", "boolq"]  # source_prompts.tasks are mnli and boolq
# the methods whose cells the slice runs: pt (whose source prompts the transfer methods read), the two
# methods the caching tests edit, every transfer method (tests/test_regression.py runs the others)
SLICE_METHODS = ["pt", "ept_star", "spot", "attempt", "mpt"]

STAGE_KINDS = {"code", "data", "source_prompt", "transfer_source", "cells", "knob", "trial", "fewshot", "variant",
               "rows", "rows_fewshot"}
# method -> (file, line as written, the same line with a bug no unit test sees)
BUGS = {
    "ept_star": ("src/ptbench/methods/ept.py",
                 "return self.projected().expand(self.config.broadcast_length, -1)",
                 "return 0.5 * self.projected().expand(self.config.broadcast_length, -1)"),  # halved prompt
    "superpos": ("src/ptbench/methods/superpos.py",
                 'torch.einsum("ndm,nm->nd", self.e_freeze + self.delta_e, self.mixing())',
                 'torch.einsum("ndm,nm->nd", self.e_freeze + self.delta_e, self.mixing().flip(0))'),  # mixed out of order
    "dept": ("src/ptbench/methods/dept.py",
             "embeds = embeds + self.update().to(embeds.dtype)",
             "embeds = embeds"),  # the low-rank update A B never added
}


def regenerate(repo) -> None:
    """`ptbench pipelines`: the grid's lists changed, so do the generated dvc.yaml files."""
    sh(sys.executable, "-m", "ptbench.cli", "pipelines", cwd=repo)


# `dvc exp show` after `dvc exp run -S method=...`: the experiment, the method and one task's variant scores
EXP_SHOW_KEEP = r"Experiment|Created|method$|.*variant.*/rte\.json:metrics\.(?!invalid)"


CODE_STAGE = "pipelines/code/dvc.yaml:code"  # the code fingerprints every generated stage depends on


def kind(address: str) -> str:
    """pipelines/tiny-t5/pt/dvc.yaml:cells -> cells; variant@tiny-t5 -> variant"""
    return address.split(":")[-1].split("@")[0]


def address(method: str, name: str, backbone: str = "tiny-t5") -> str:
    return f"pipelines/{backbone}/{method}/dvc.yaml:{name}"


def stages_run(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


def smoke_slice(repo) -> list[str]:
    """The stages CI runs (with what they depend on): pt's rows pull its knob runs, mpt's few-shot
    rows its few-shot runs, transfer sources and pt's source prompts."""
    return [*(address(m, "cells") for m in SLICE_METHODS), "variant", address("pt", "rows"),
            address("mpt", "rows_fewshot")]


def slice_params(raw: dict) -> None:
    raw["tasks"] = SLICE_TASKS
    # one process per stage: under `make test` the other core runs the other test files
    raw["runtime"]["task_workers"] = 1


@pytest.fixture(scope="module")
def smoke_copy(committed_platform, tmp_path_factory, smoke_mirror):
    # committed_platform first: on other bits, one line instead of every cell moved
    repo = tmp_path_factory.mktemp("smoke") / "repo"
    repo.mkdir()
    copy_repository(repo)
    edit_params(repo / "params.yaml", slice_params)
    sh("git", "init", "-q", cwd=repo)
    place_committed_mirror(repo, smoke_mirror)  # DVC skips the mirror stage: the library's build is the committed one
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "copy", cwd=repo)
    # as make smoke runs it: `ptbench repro`, the stages forked from one warm process (src/ptbench/run/zygote.py);
    # the other tests here run plain `dvc repro` on the same copy
    first = sh(sys.executable, "-m", "ptbench.cli", "repro", *smoke_slice(repo), cwd=repo, timeout=1800)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "repro", cwd=repo)
    return repo, first.stdout


def test_every_committed_smoke_metric_is_reproduced_exactly(smoke_copy):
    repo, _ = smoke_copy
    produced = metric_files(repo)
    # every slice method on every slice task, pt's knob runs, the variant stage, the mirror
    expected = {f"results/metrics/tiny-t5/{m}/{task}.json" for m in SLICE_METHODS for task in SLICE_TASKS}
    assert expected | {"results/mirror.json", "results/knobs/metrics/tiny-t5/pt/lr=0.3/rte.json",
                       "results/variant/tiny-t5/metrics/rte.json"} <= set(produced)
    # the slice leaves out two tasks and the other methods' knob runs: compared are the files it produced
    moved = [m for m in moved_cells(REPO, repo) if m.path in produced]
    assert not moved, report(moved)


def test_first_repro_runs_every_stage_kind_and_writes_tables(smoke_copy):
    repo, output = smoke_copy
    assert {kind(name) for name in stages_run(output)} == STAGE_KINDS
    # the mirror the library builds is the one the committed lock records (else DVC would rebuild it)
    assert "Stage 'mirror' didn't change, skipping" in output
    assert (repo / "results" / "knobs" / "metrics" / "tiny-t5" / "pt" / "lr=0.3" / "rte.json").exists()
    assert (repo / "results" / "predictions" / "tiny-t5" / "mpt" / "rte.json").exists()
    assert (repo / "results" / "fewshot" / "tiny-t5" / "mpt" / "rte" / "k4" / "sample0.json").exists()
    assert (repo / "results" / "rows" / "tiny-t5" / "pt.json").exists()


def test_both_selections_read_the_same_runs(smoke_copy):
    """pt's rows after the repro (grid, knob and trial runs): the smoke's paper reading (the peak of the test curve
    of the given run) and the fair one (the validation-best of pt's drawn trials, its kept checkpoint) come from
    these rows' own histories and scores; the curve at each kept step is the kept score."""
    from ptbench.config import load_params
    from ptbench.report.protocols import ProtocolInputs, read_protocols
    from ptbench.report.rows import read_rows

    repo, _ = smoke_copy
    params = load_params(repo / "params.yaml")
    rows = [r for r in read_rows(repo / "results" / "rows" / "tiny-t5") if r["method"] == "pt"]
    assert {r["kind"] for r in rows} >= {"grid", "knob", "trial"}
    for r in rows:
        if r["kind"] in ("grid", "knob", "trial"):
            for i, seed in enumerate(r["seeds"]):
                history = r["history"][seed]
                kept = max(history["validation_accuracy"], key=lambda point: point[1])[0]  # the first best step
                assert dict(map(tuple, history["test_accuracy"]))[kept] == r["metrics"]["accuracy"]["per_seed"][i]
    (cell,) = [c for c in read_protocols(rows, ProtocolInputs.from_params(params).drawn, params.selection)
               if c.task == "rte"]
    assert len(cell.trials) == params.tuning["budget"] and cell.given in cell.trials  # pt's own config was drawn
    assert cell.paper.score == max(v for _, v in cell.given["history"]["0"]["test_accuracy"])
    best = max(cell.trials, key=lambda r: max(v for _, v in r["history"]["0"]["validation_accuracy"]))
    assert cell.fair.row is best and cell.fair.score == best["metrics"]["accuracy"]["per_seed"][0]


def test_dvc_metrics_show_the_outputs(smoke_copy):
    """(`dvc plots show` reads the tables stage's CSV series, outside the slice: tests/report/.)"""
    repo, _ = smoke_copy
    metrics = json.loads(sh("dvc", "metrics", "show", "--json", cwd=repo).stdout)
    files = {name for workspace in metrics.values() for name in workspace["data"]}
    assert {"results/metrics/tiny-t5/pt/rte.json", "results/variant/tiny-t5/metrics/rte.json"} <= files


def test_second_repro_does_nothing(smoke_copy):
    repo, _ = smoke_copy
    assert stages_run(sh("dvc", "repro", *smoke_slice(repo), cwd=repo).stdout) == set()
    assert "up to date" in sh("dvc", "status", *smoke_slice(repo), cwd=repo).stdout


def test_importing_and_testing_the_package_leaves_the_cache_valid(smoke_copy):
    """Python writes __pycache__ into the code folders the stages depend on: DVC must ignore them
    (.dvcignore), or `make test` after `make smoke` would make the whole smoke stale."""
    repo, _ = smoke_copy
    sh(sys.executable, "-m", "compileall", "-q", "src", "stages", cwd=repo)
    sh(sys.executable, "-c", "import ptbench.run.experiment, ptbench.report.build", cwd=repo)
    assert list((repo / "src" / "ptbench" / "methods").glob("__pycache__/*.pyc"))
    assert "up to date" in sh("dvc", "status", *smoke_slice(repo), cwd=repo).stdout


@pytest.mark.parametrize("method, kinds", [("ept_star", {"cells", "rows"}),
                                           ("attempt", {"transfer_source", "cells", "rows"})])
def test_editing_one_method_dirties_only_its_stages(smoke_copy, method, kinds):
    repo, _ = smoke_copy
    params = repo / "params.yaml"
    original = params.read_text()
    try:
        edit_params(params, lambda raw: raw["methods"][method].update(lr=0.25))
        dirty = set(yaml.safe_load(sh("dvc", "status", "--json", *smoke_slice(repo), cwd=repo).stdout or "{}"))
        # the rows follow the method's cells once these ran: status names the stages whose own inputs changed
        assert dirty and {kind(name) for name in dirty} <= kinds and address(method, "cells") in dirty, sorted(dirty)
        assert all(name.startswith(f"pipelines/tiny-t5/{method}/dvc.yaml:") for name in dirty), sorted(dirty)
    finally:
        params.write_text(original)


def test_editing_a_variants_knob_dirties_none_of_the_others(smoke_copy):
    """Only the variant's own pipeline names `variants.<name>` (tests/test_variants.py checks the generated
    files): editing its knob leaves every stage that ran up to date, and DVC reports the edit as a change of
    the variant's own stage once that stage has run."""
    repo, _ = smoke_copy
    params = repo / "params.yaml"
    original = params.read_text()
    own = address("ept_msp_no_fusion", "cells")
    sh("dvc", "repro", "--single-item", own, cwd=repo, timeout=1200)  # its inputs are the slice's
    assert "up to date" in sh("dvc", "status", own, cwd=repo).stdout
    try:
        edit_params(params, lambda raw: raw["variants"]["ept_msp_no_fusion"]["knobs"].update(num_experts=2))
        assert "up to date" in sh("dvc", "status", *smoke_slice(repo), cwd=repo).stdout
        after = sh("dvc", "status", own, cwd=repo).stdout
        assert "modified: variants.ept_msp_no_fusion" in " ".join(after.split()), after
    finally:
        params.write_text(original)


NEW_METHOD = '''"""A contributor's method: pt with its prompt scaled."""
from dataclasses import dataclass

from ptbench.methods.pt import PromptTuning, PromptTuningConfig


@dataclass
class ScaledConfig(PromptTuningConfig):
    scale: float = 0.5


class ScaledPrompt(PromptTuning):
    config_class = ScaledConfig

    def prompt(self):
        return self.config.scale * self.embedding


ENTRIES = {"scaled_pt": (ScaledPrompt, ScaledConfig, "pt with a scaled prompt")}
'''


def test_adding_a_method_file_and_editing_another_dirties_only_that_method(smoke_copy):
    """Registration is discovery (no shared file edited) and a method's stages depend on its own files:
    a new method file dirties nothing that ran; an edit of ept.py dirties ept_star's stages alone. (The
    root `variant` stage, like the tables, runs whichever method `method` names: it depends on the whole
    package and is left out here.)"""
    repo, _ = smoke_copy
    new = repo / "src" / "ptbench" / "methods" / "scaled_pt.py"
    ept = repo / "src" / "ptbench" / "methods" / "ept.py"
    original = ept.read_text()
    try:
        new.write_text(NEW_METHOD)
        listed = sh(sys.executable, "-m", "ptbench.cli", "methods", cwd=repo).stdout
        assert "scaled_pt" in listed
        methods_stages = [name for name in smoke_slice(repo) if name != "variant"]
        assert "up to date" in sh("dvc", "status", *methods_stages, cwd=repo).stdout
        ept.write_text(original + "\n# an edit\n")
        # the one stage that hashes the code sees the edit (pipeline/code.py); of the fingerprints it
        # rewrites, only ept's kinds' differ: then ept_star's stages alone are dirty
        assert set(yaml.safe_load(sh("dvc", "status", "--json", CODE_STAGE, cwd=repo).stdout or "{}")) == {CODE_STAGE}
        sh("dvc", "repro", "--single-item", CODE_STAGE, cwd=repo)
        dirty = set(yaml.safe_load(sh("dvc", "status", "--json", *methods_stages, cwd=repo).stdout or "{}"))
        assert dirty and all(name.startswith("pipelines/tiny-t5/ept_star/dvc.yaml:") for name in dirty), sorted(dirty)
    finally:
        new.unlink(missing_ok=True)
        ept.write_text(original)
        sh("dvc", "repro", "--single-item", CODE_STAGE, cwd=repo)  # the fingerprints of the code as it was


def test_adding_a_backbone_dirties_only_its_own_stages(smoke_copy):
    repo, _ = smoke_copy
    params = repo / "params.yaml"
    original = params.read_text()
    try:
        edit_params(params, lambda raw: raw.update(backbones=["tiny-t5", "t5-small"]))
        regenerate(repo)
        # the slice, and on t5-small the stages it has (few-shot runs stay on few_shot.backbones)
        ran = smoke_slice(repo)
        new = [t.replace("tiny-t5", "t5-small") for t in ran if t.endswith(":cells")]
        dirty = set(yaml.safe_load(sh("dvc", "status", "--json", *ran, *new, cwd=repo).stdout or "{}"))
        own = [name for name in dirty if name.startswith("pipelines/t5-small/") or name == "variant@t5-small"]
        assert own and set(own) == dirty, sorted(dirty)
        assert address("pt", "cells", "t5-small") in dirty
    finally:
        params.write_text(original)
        regenerate(repo)


def test_exp_run_with_another_method_runs_only_the_variant_stage(smoke_copy):
    """With the slice's stages as targets (the tables never ran in this copy): of them, only the
    variant depends on `method`."""
    repo, _ = smoke_copy
    result = sh("dvc", "exp", "run", "-S", "method=ept_star", *smoke_slice(repo), cwd=repo)
    assert stages_run(result.stdout) == {"variant@tiny-t5"}
    # and it reads at a glance: the metrics are numbers, so one task's comparison fits a 200-column
    # terminal (the README's command; --drop/--keep match column names from their start)
    shown = sh("dvc", "exp", "show", "--only-changed", "--drop", ".*", "--keep", EXP_SHOW_KEEP, cwd=repo,
               env_extra={"COLUMNS": "200"}).stdout
    lines = [line for line in shown.splitlines() if line.strip()]
    assert max(len(line.rstrip()) for line in lines) <= 200, shown
    assert "rte.json:metrics.accuracy" in shown and "ept_star" in shown and "pt" in shown


@pytest.mark.parametrize("method", sorted(BUGS))
def test_a_bug_in_one_method_moves_its_committed_cells(smoke_copy, tmp_path, method):
    """What CI would see of the bug: the method's stage script, run on the smoke's mirror and data in
    a patched copy, gives other numbers than the committed ones (one task keeps it quick)."""
    repo, _ = smoke_copy
    for name in ("src", "stages", "mirror", "data", "results/transfer_sources"):
        shutil.copytree(repo / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(repo / "params.yaml", tmp_path / "params.yaml")
    path, line, bug = BUGS[method]
    source = (tmp_path / path).read_text()
    assert source.count(line) == 1, f"{path} no longer holds {line!r}: update BUGS"
    (tmp_path / path).write_text(source.replace(line, bug))
    for stage in ("train", "evaluate"):  # what cells.py runs for each task, here for rte alone
        sh("python", f"stages/{stage}.py", "--backbone", "tiny-t5", "--method", method, "--task", "rte", cwd=tmp_path)
    cell = f"results/metrics/tiny-t5/{method}/rte.json"
    assert cell in metric_files(tmp_path)
    moved = [m for m in moved_cells(REPO, tmp_path) if m.path == cell]
    assert moved, f"the {method} bug left {cell} as committed: CI would not see it"
