"""Data files for `dvc plots show`: per (backbone, method, task), the mean over seeds of the logged
training loss and average prompt norm (seed 003's mu_t) against the step, one CSV per series under
``results/plots/<quantity>/`` (dvc.yaml's top-level ``plots`` reads each folder as one plot)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ptbench.report.figures import mean_series

QUANTITIES = {"learning_curves": "loss", "prompt_norm": "prompt_norm"}


def write_plot_data(rows: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    written = []
    for folder, key in QUANTITIES.items():
        for row in rows:
            if row["kind"] != "grid" or not row.get("history"):
                continue
            series = mean_series(row["history"], key)
            if not series:
                continue
            path = plots_dir / folder / f"{row['backbone']}-{row['method']}-{row['task']}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["step", key])
                writer.writerows(series)
            written.append(path)
    return written
