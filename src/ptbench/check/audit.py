"""``ptbench audit``: re-run cached cells from their recorded inputs and compare with the cached metrics.

A cell (backbone, method, task of ``results/metrics/``, its numbers) is trained and scored again, exactly as its
stage does (``experiment.train_and_evaluate``), in a scratch folder, from the workspace's inputs:
``params.yaml``, the prepared data (``data/prepared``), the transfer sources and the mirror, i.e. what
``dvc pull`` (or ``dvc repro``) puts in place on any machine. On the CPU with ``runtime.cpu_threads``
and ``runtime.cpu_numerics`` pinned the re-run must give the cached numbers exactly, where the platform
fingerprint says this machine computes the cache's bits (``ptbench audit`` checks it first); on a GPU
within ``tolerance`` points.
"""
from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ptbench.pipeline import layout
from ptbench.errors import ConfigError
from ptbench.check.regression import compared_part


@dataclass(frozen=True)
class Cell:
    backbone: str
    method: str
    task: str

    def __str__(self) -> str:
        return f"{self.backbone}/{self.method}/{self.task}"


@dataclass(frozen=True)
class Audited:
    cell: Cell
    cached: dict
    rerun: dict
    verdict: str  # same | within tolerance | MISMATCH

    def line(self, primary: str) -> str:
        def show(payload: dict) -> str:
            return f"{payload['metrics'].get(primary)}"
        return f"{str(self.cell):40s} {show(self.cached):>10s} {show(self.rerun):>10s}  {self.verdict}"


def cached_cells(params, root: Path = Path(".")) -> list[Cell]:
    """Every grid cell of params.yaml whose metrics file exists."""
    cells = []
    for backbone in params.backbones:
        for method in [*params.grid.methods, *params.grid.transfer]:
            for task in params.tasks:
                if (root / layout.metrics_path(backbone, method, task)).is_file():
                    cells.append(Cell(backbone, method, task))
    return cells


def pick(cells: list[Cell], sample: int | None, seed: int, only: list[str] | None) -> list[Cell]:
    if only:
        named = {str(c): c for c in cells}
        unknown = [name for name in only if name not in named]
        if unknown:
            raise ConfigError(f"audit --cell: {', '.join(unknown)} has no cached metrics; cached: "
                              f"{', '.join(sorted(named)[:8])}{' ...' if len(named) > 8 else ''}")
        return [named[name] for name in only]
    if not cells:
        raise ConfigError("audit: no cached cell (results/metrics/...): run `dvc pull` or `dvc repro` first")
    if sample is None or sample >= len(cells):
        return cells
    return sorted(random.Random(seed).sample(cells, sample), key=str)


def _numbers(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*path, key))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, float(value)


def verdict(cached: dict, rerun: dict, tolerance: float) -> str:
    if cached == rerun:
        return "same"
    if tolerance > 0:
        before, after = dict(_numbers(cached)), dict(_numbers(rerun))
        if before.keys() == after.keys() and all(abs(before[k] - after[k]) <= tolerance for k in before):
            return "within tolerance"
    return "MISMATCH"


def audit_cell(params, cell: Cell, scratch: Path, tolerance: float, root: Path = Path(".")) -> Audited:
    from ptbench.run.experiment import train_and_evaluate

    at = params.for_backbone(cell.backbone)
    metrics = scratch / layout.metrics_path(cell.backbone, cell.method, cell.task)
    train_and_evaluate(at, cell.method, cell.task, root / layout.data_dir(cell.backbone, cell.task),
                       scratch / layout.run_dir(cell.backbone, cell.method, cell.task), metrics, None,
                       scratch / layout.checkpoint_dir("audit", cell.backbone, cell.method, cell.task),
                       root / layout.transfer_root(cell.backbone))
    cached = compared_part(json.loads((root / layout.metrics_path(cell.backbone, cell.method, cell.task)).read_text()))
    rerun = compared_part(json.loads(metrics.read_text()))
    return Audited(cell, cached, rerun, verdict(cached, rerun, tolerance))


def run_audit(params, sample: int | None, seed: int, tolerance: float, only: list[str] | None = None,
              root: Path = Path("."), echo=print) -> list[Audited]:
    """Re-run the chosen cells; print a line per cell as it ends and return them all."""
    from ptbench.tasks import task_as_read

    chosen = pick(cached_cells(params, root), sample, seed, only)
    echo(f"{'cell':40s} {'cached':>10s} {'re-run':>10s}  verdict (primary metric; every compared number checked)")
    audited = []
    with tempfile.TemporaryDirectory(prefix="ptbench-audit-") as scratch:
        for cell in chosen:
            result = audit_cell(params, cell, Path(scratch), tolerance, root)
            audited.append(result)
            echo(result.line(task_as_read(cell.task, params.data).metrics[0]))
    return audited
