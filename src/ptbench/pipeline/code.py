"""Code fingerprints: one small file per (method, stage kind) that its stages depend on, instead of the
folders and files of code they run.

Why: DVC hashes a stage's dependencies for every stage that lists them. With every training stage of
the paper grid listing src/ptbench/train, eval, tasks, ... DVC rebuilt those folders' trees ~7,600 times
per `dvc status` (5.1x DVC's own floor for a grid of that shape, benchmarks/README.md). Now one stage
(``pipelines/code/dvc.yaml: code``) depends on all of that code and writes, for each (method, stage kind),
``results/code/<method>/<kind>.json``: the SHA-256 of every file that kind runs. The stages depend on
their one fingerprint file. DVC compares a dependency by its content, so after an edit the code stage
re-runs first, and only the fingerprints whose files changed are different: editing ept.py re-runs ept's
stages alone, as it did when they listed ept.py themselves. Which files each kind runs is what
``pipeline.generate`` lists for it (``pipelines/code/sets.json``, generated with the DVC files).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ptbench.errors import PtbenchError

ROOT = Path("results/code")
SETS_FILE = Path("pipelines/code/sets.json")
IGNORED = ("__pycache__",)  # as .dvcignore: Python's byte-code is not code a stage depends on
IGNORED_SUFFIXES = (".pyc",)


def fingerprint_path(key: str) -> str:
    """``<method>/<kind>`` (or ``<kind>`` for a backbone's stages) -> its fingerprint file."""
    return (ROOT / f"{key}.json").as_posix()


def files_of(paths: list[str], root: Path = Path(".")) -> list[Path]:
    """Every file of ``paths`` (a folder: its files, recursively), sorted; a missing path is an error."""
    out = []
    for name in paths:
        path = root / name
        if path.is_dir():
            out += [p for p in path.rglob("*") if p.is_file() and not any(part in IGNORED for part in p.parts)
                    and p.suffix not in IGNORED_SUFFIXES]
        elif path.is_file():
            out.append(path)
        else:
            raise PtbenchError(f"{SETS_FILE}: {name} does not exist; run `ptbench pipelines`")
    return sorted(set(out))


def fingerprint(paths: list[str], root: Path = Path(".")) -> dict[str, str]:
    """Repository-relative path -> SHA-256 of its bytes, for every file of ``paths``."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files_of(paths, root)}


def write_fingerprints(sets: dict[str, list[str]], root: Path = Path(".")) -> list[Path]:
    """Each set's fingerprint file (rewritten only where its content changes: an unchanged file keeps its
    bytes, so DVC sees nothing new for the stages that depend on it)."""
    written = []
    for key, paths in sorted(sets.items()):
        target = root / fingerprint_path(key)
        text = json.dumps({"files": fingerprint(paths, root)}, indent=1, sort_keys=True) + "\n"
        if not target.is_file() or target.read_text() != text:
            from ptbench.artifacts import atomic_write

            atomic_write(target, lambda partial: partial.write_text(text))  # a kill leaves the old or the new
            written.append(target)
    kept = {root / fingerprint_path(key) for key in sets}
    for stale in (root / ROOT).rglob("*.json") if (root / ROOT).is_dir() else []:
        if stale not in kept:  # of a (method, kind) the pipelines no longer have: a profile was switched
            stale.unlink()
    return written


def stale_keys(sets: dict[str, list[str]], root: Path = Path(".")) -> set[str]:
    """The sets whose fingerprint file is missing or differs from the code as it is now: the stages that
    depend on them will run, although `dvc status` names only the code stage until it has run."""
    stale = set()
    for key, paths in sets.items():
        target = root / fingerprint_path(key)
        try:
            current = {"files": fingerprint(paths, root)}
        except PtbenchError:  # a listed file is gone: the pipelines are stale, everything of the set runs
            stale.add(key)
            continue
        if not target.is_file() or json.loads(target.read_text()) != current:
            stale.add(key)
    return stale
