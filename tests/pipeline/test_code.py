"""Code fingerprints (ptbench.pipeline.code) on the paper profile's layout: every generated stage depends on
one fingerprint file and on no code path; editing one method's file changes only the fingerprints of the
stages that run it (and DVC then re-runs those alone: tests/test_pipeline.py shows it on the smoke)."""
import json
import shutil

import pytest
import yaml

from conftest import REPO
from ptbench.config import load_params
from ptbench.pipeline.code import SETS_FILE, fingerprint_path, write_fingerprints
from ptbench.pipeline.generate import ROOT, expected_files


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    from ptbench.pipeline.profiles import apply_profile

    target = tmp_path_factory.mktemp("paper") / "params.yaml"
    target.write_text((REPO / "params.yaml").read_text())
    apply_profile("paper", target, REPO / "profiles")
    params = load_params(target)
    return params, expected_files(params)


def test_every_generated_stage_depends_on_one_fingerprint_and_on_no_code(paper):
    params, files = paper
    sets = json.loads(files[SETS_FILE])
    stages = 0
    for path, text in files.items():
        if path.name != "dvc.yaml" or path.parent == ROOT / "code":
            continue
        for name, stage in yaml.safe_load(text)["stages"].items():
            stages += 1
            prints = [dep for dep in stage["deps"] if dep.startswith("results/code/")]
            assert len(prints) == 1 and prints[0].removeprefix("results/code/").removesuffix(".json") in sets, (path, name)
            assert not [dep for dep in stage["deps"] if dep.startswith(("src/", "stages/")) or dep == "mirror"], (path, name)
    assert stages > 500  # stage definitions (837 on the paper profile), before DVC expands the matrices
    code = yaml.safe_load(files[ROOT / "code" / "dvc.yaml"])["stages"]["code"]
    assert [next(iter(out)) for out in code["outs"]] == [fingerprint_path(key) for key in sorted(sets)]
    listed = {dep for deps in sets.values() for dep in deps}
    assert all(dep in code["deps"] or any(dep.startswith(f"{d}/") for d in code["deps"]) for dep in listed)


def test_editing_one_method_file_changes_only_the_fingerprints_of_the_stages_that_run_it(paper, tmp_path):
    params, files = paper
    sets = json.loads(files[SETS_FILE])
    for name in ("src", "stages"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    assert len(write_fingerprints(sets, tmp_path)) == len(sets)  # every fingerprint written once
    assert write_fingerprints(sets, tmp_path) == []  # nothing changed: nothing rewritten
    ept = tmp_path / "src" / "ptbench" / "methods" / "ept.py"
    ept.write_text(ept.read_text() + "\n# an edit\n")
    changed = {path.relative_to(tmp_path / "results" / "code").with_suffix("").as_posix()
               for path in write_fingerprints(sets, tmp_path)}
    runs_ept = {key for key, deps in sets.items() if "src/ptbench/methods/ept.py" in deps}
    assert changed == runs_ept and changed
    # those are the stages of ept and of what is built on it (ept_star), on every stage kind they have
    assert {key.split("/")[0] for key in changed} == {m for m in sets_methods(sets)
                                                      if params.registered_method(m) in ("ept", "ept_star")}


def sets_methods(sets):
    return {key.split("/")[0] for key in sets if "/" in key}


def test_stale_sets_are_what_an_edit_will_rerun_and_dropped_sets_are_pruned(paper, tmp_path):
    """`ptbench plan` asks which fingerprints the code as it is now changes (DVC names only the code stage
    until it ran); a fingerprint of a (method, kind) the pipelines no longer have is removed."""
    from ptbench.pipeline.code import stale_keys

    params, files = paper
    sets = json.loads(files[SETS_FILE])
    for name in ("src", "stages"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    assert stale_keys(sets, tmp_path) == set(sets)  # nothing written yet: everything would run
    write_fingerprints(sets, tmp_path)
    assert stale_keys(sets, tmp_path) == set()
    superpos = tmp_path / "src" / "ptbench" / "methods" / "superpos.py"
    superpos.write_text(superpos.read_text() + "\n# an edit\n")
    assert stale_keys(sets, tmp_path) == {key for key, deps in sets.items() if "src/ptbench/methods/superpos.py" in deps}
    fewer = {key: deps for key, deps in sets.items() if not key.startswith("adamix/")}
    write_fingerprints(fewer, tmp_path)
    assert not (tmp_path / "results" / "code" / "adamix").exists() or not list((tmp_path / "results" / "code" / "adamix").glob("*.json"))
