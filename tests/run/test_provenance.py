"""provenance.git: the commit a result came from and, by name, the result-determining files that differed
from it; what a run rewrites itself (dvc.lock, results/) does not make it dirty."""
from __future__ import annotations

import subprocess

import pytest

from ptbench.run.provenance import git_state, provenance


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false",
                    *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A committed checkout (code, params, a stage file, a lock, a metrics file), the cwd of the test."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "repo"
    files = {"src/pkg/model.py": "x = 1\n", "params.yaml": "lr: 0.3\n", "dvc.yaml": "stages: {}\n",
             "dvc.lock": "schema: '2.0'\n", "pipelines/b/m/dvc.yaml": "stages: {}\n",
             "pipelines/b/m/dvc.lock": "schema: '2.0'\n", "results/metrics/a.json": "{}\n", "docs/x.md": "doc\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".gitignore").write_text("/data\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    monkeypatch.chdir(root)
    return root


def head(root):
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_clean_checkout_records_its_commit(repo):
    assert git_state() == {"sha": head(repo), "dirty": False, "dirty_files": []}


def test_what_a_run_rewrites_leaves_it_clean(repo):
    (repo / "results/metrics/a.json").write_text('{"accuracy": 1}\n')
    (repo / "results/metrics/b.json").write_text("{}\n")  # untracked output
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (repo / "pipelines/b/m/dvc.lock").write_text("changed\n")
    (repo / "docs/x.md").write_text("more doc\n")
    (repo / "data").mkdir()
    (repo / "data/prepared.bin").write_text("ignored\n")
    assert git_state() == {"sha": head(repo), "dirty": False, "dirty_files": []}


def test_changed_params_and_new_code_are_named(repo):
    (repo / "params.yaml").write_text("lr: 0.1\n")
    (repo / "src/x.py").write_text("y = 2\n")
    (repo / "results/metrics/a.json").write_text('{"accuracy": 1}\n')
    state = git_state()
    assert state["dirty"] is True and state["dirty_files"] == ["params.yaml", "src/x.py"]


def test_staged_deleted_renamed_and_stage_files_count(repo):
    git(repo, "mv", "src/pkg/model.py", "src/pkg/renamed.py")
    (repo / "pipelines/b/m/dvc.yaml").write_text("stages: {train: {cmd: x}}\n")
    (repo / "src/pkg/new dir").mkdir()
    (repo / "src/pkg/new dir/a b.py").write_text("z = 3\n")  # an untracked directory is listed file by file
    assert git_state()["dirty_files"] == ["pipelines/b/m/dvc.yaml", "src/pkg/model.py", "src/pkg/new dir/a b.py",
                                          "src/pkg/renamed.py"]


def test_the_repository_root_is_used_from_a_subdirectory(repo, monkeypatch):
    (repo / "params.yaml").write_text("lr: 0.1\n")
    monkeypatch.chdir(repo / "results")
    assert git_state() == {"sha": head(repo), "dirty": True, "dirty_files": ["params.yaml"]}


def test_outside_a_checkout_the_commit_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert git_state() == {"sha": "unknown", "dirty": None, "dirty_files": []}


def test_provenance_keeps_its_fields_and_adds_the_git_state(repo):
    record = provenance(backbone="tiny-t5", seeds=[0])
    assert record["backbone"] == "tiny-t5" and record["seeds"] == [0]
    assert record["git"] == {"sha": head(repo), "dirty": False, "dirty_files": []}
    assert {"packages", "python", "machine"} <= set(record)
