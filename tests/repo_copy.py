"""A scratch copy of the repository for tests that run DVC or the stage scripts on it."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO


def sh(*args, cwd, check=True, timeout=900, env_extra=None):
    """Run a command in ``cwd``; in a copy of the repository, its stages import the copy's own
    ``src`` (not the editable install's), so a patched copy runs its patch. ``env_extra``: more variables."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "ptbench", "GIT_AUTHOR_EMAIL": "ci@ptbench", "GIT_COMMITTER_NAME": "ptbench",
           "GIT_COMMITTER_EMAIL": "ci@ptbench", **(env_extra or {})}
    if (Path(cwd) / "src" / "ptbench").is_dir():
        env["PYTHONPATH"] = os.pathsep.join([str(Path(cwd) / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_repository(target: Path) -> None:
    """What a fresh clone holds, as the working tree has it, without results, locks, tests, benchmarks."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        source = REPO / name
        if source.is_file() and not name.endswith("dvc.lock") and not name.startswith(("results/", "tests/", "benchmarks/")):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def edit_params(path: Path, edit) -> None:
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def place_committed_mirror(repo: Path, mirror: Path) -> None:
    """Put the session's smoke mirror (tests/conftest.py: the mirror stage's own builder) into a git-initialised
    copy with the committed lock's mirror entry, check that DVC finds them equal but for the copy's empty
    cache, and fill the cache: `dvc repro` then skips the mirror stage (minutes) instead of re-running it."""
    shutil.copytree(mirror, repo / "mirror")
    from ptbench.mirror.build import write_summary

    write_summary(repo / "results", json.loads((mirror / "mirror.json").read_text()))  # as the mirror stage does
    committed = yaml.safe_load((REPO / "dvc.lock").read_text())  # the mirror's entry alone: no other stage's
    (repo / "dvc.lock").write_text(yaml.safe_dump({**committed, "stages": {"mirror": committed["stages"]["mirror"]}},
                                                  sort_keys=False))  # outputs are in this copy's cache
    status = json.loads(sh("dvc", "status", "--json", "mirror", cwd=repo).stdout or "{}")
    entries = status.get("mirror", [])
    assert not any("deps" in kind or "params" in kind for entry in entries for kind in entry), status
    assert all(set(change.values()) <= {"not in cache"} for entry in entries for change in entry.values()
               if isinstance(change, dict)), status
    sh("dvc", "commit", "-f", "-q", "mirror", cwd=repo)
