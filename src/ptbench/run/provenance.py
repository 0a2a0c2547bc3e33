"""What every result records about how it was made."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

PACKAGES = ("ptbench", "torch", "transformers", "datasets", "tokenizers", "peft", "accelerate", "dvc")

# The files that determine a result: the code (src/, stages/), the configuration (params.yaml, the DVC
# stage definitions) and the dependency pins. A change to any of them (tracked, or untracked and not
# ignored) means the result may not be what the recorded commit produces, so it makes the record "dirty".
# Deliberately left out: what a run itself rewrites (dvc.lock files, results/, data/, mirror/,
# checkpoints/) and what cannot change a number (docs, tests, benchmarks); otherwise every metrics
# file written during `dvc repro` would call itself dirty. Git pathspecs, relative to the repository root.
RESULT_INPUTS = ("src", "stages", "params.yaml", "pyproject.toml", "requirements", "dvc.yaml",
                 ":(glob)pipelines/**/dvc.yaml")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _git(*args: str, cwd: str | None = None) -> str | None:
    """git's stdout, or None when git is missing, fails (not a checkout) or hangs."""
    try:
        done = subprocess.run(["git", "--no-optional-locks", *args], capture_output=True, text=True, cwd=cwd,
                              timeout=10, env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def changed_result_inputs(root: str) -> list[str] | None:
    """The RESULT_INPUTS files that differ from HEAD (staged, unstaged or untracked-not-ignored), sorted
    repository-relative paths; None when git cannot tell."""
    out = _git("status", "--porcelain", "-z", "--no-renames", "--untracked-files=all", "--", *RESULT_INPUTS, cwd=root)
    if out is None:
        return None
    files, fields = set(), iter(out.split("\0"))
    for entry in fields:  # "XY path"; a rename/copy ("R"/"C", should --no-renames be ignored) adds the old path
        if len(entry) < 4:
            continue
        files.add(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            files.add(next(fields, ""))
    files.discard("")
    return sorted(files)


def git_state() -> dict[str, object]:
    """The commit of the checkout the process runs in (its cwd's repository), whether the files that
    determine results differ from it (``dirty``) and which (``dirty_files``). Outside a git checkout:
    sha "unknown", dirty None."""
    root = (_git("rev-parse", "--show-toplevel") or "").strip()
    if not root:
        return {"sha": "unknown", "dirty": None, "dirty_files": []}
    sha = (_git("rev-parse", "--verify", "-q", "HEAD", cwd=root) or "").strip() or "unknown"
    files = changed_result_inputs(root)
    return {"sha": sha, "dirty": None if files is None else bool(files), "dirty_files": files or []}


def provenance(**fields: object) -> dict[str, object]:
    """``platform``: the CPU and the kernels that computed the bits (``ptbench.numerics.in_force``)."""
    from ptbench.numerics import in_force

    return {**fields, "packages": package_versions(), "git": git_state(), "python": platform.python_version(),
            "machine": platform.machine(), "platform": in_force()}
