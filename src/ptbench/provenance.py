"""What every result records about how it was made."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata

PACKAGES = ("ptbench", "torch", "transformers", "datasets", "tokenizers", "peft", "accelerate", "dvc")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state() -> dict[str, object]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"sha": run("rev-parse", "HEAD") or "unknown", "dirty": bool(run("status", "--porcelain", "--", "src"))}


def provenance(**fields: object) -> dict[str, object]:
    return {**fields, "packages": package_versions(), "git": git_state(), "python": platform.python_version(),
            "machine": platform.machine()}
