"""The table step: rows files in; tables, figures, the audit and the report page out."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from ptbench.errors import PtbenchError
from ptbench.provenance import git_state
from ptbench.report.cells import RunIndex, with_stand_ins
from ptbench.report.figures import FigureResult, draw_all
from ptbench.report.layouts import TABLES, grid_table
from ptbench.report.page import missing_links, write_page
from ptbench.report.render import to_csv, to_latex, to_markdown
from ptbench.report.rows import read_rows
from ptbench.report.settings import ReportSettings
from ptbench.report.tables import BuiltTable, build_table


def primary_metrics(rows: list[dict[str, Any]], tasks: list[str]) -> list[tuple[str, str]]:
    """(task, primary metric) for the grid table: as the runs recorded it, else the task spec's."""
    from ptbench.tasks import get_task

    recorded = {r["task"]: r["primary_metric"] for r in rows if r["kind"] == "grid"}
    return [(t, recorded.get(t) or get_task(t).metrics[0]) for t in tasks]


def write_table(table: BuiltTable, out_dir: Path, name: str | None = None) -> dict[str, Path]:
    name = name or table.spec["id"]
    files = {"Markdown": out_dir / f"{name}.md", "LaTeX": out_dir / f"{name}.tex", "CSV": out_dir / f"{name}.csv"}
    files["Markdown"].write_text(to_markdown(table), encoding="utf-8")
    files["LaTeX"].write_text(to_latex(table), encoding="utf-8")
    files["CSV"].write_text(to_csv(table), encoding="utf-8")
    return files


def runs_summary(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One line per result: what was run and its primary score (results/tables/runs.csv)."""
    return pd.DataFrame([{"kind": r["kind"], "backbone": r["backbone"], "method": r["method"], "task": r["task"],
                          "k": r.get("k"), "dropout": r.get("dropout"), "metric": r["primary_metric"],
                          "mean": r["metrics"].get(r["primary_metric"], {}).get("mean"),
                          "std": r["metrics"].get(r["primary_metric"], {}).get("std"), "seeds": len(r["seeds"]),
                          "max_invalid_rate": r.get("max_invalid_rate"), "diverged": r.get("diverged"),
                          "bootstrap": "replicates" in r["metrics"].get(r["primary_metric"], {}),
                          "source": r["source"]} for r in rows])


def write_report(rows_dir: Path, tables_dir: Path, figures_dir: Path, report_dir: Path, settings: ReportSettings,
                 methods: list[str], tasks: list[str], audit: bool = True, plots_dir: Path | None = None,
                 labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything the ``tables`` stage writes; raises if the page links a file that is not there.
    ``labels``: the main table's row labels of the named variants among ``methods``."""
    rows = read_rows(rows_dir)
    index = RunIndex(with_stand_ins(rows, settings.stand_in), settings.invalid_threshold)
    for folder in (tables_dir, figures_dir, report_dir):
        folder.mkdir(parents=True, exist_ok=True)
    backbones = sorted({r["backbone"] for r in rows if r["kind"] == "grid"})
    seen = sorted({r["method"] for r in rows if r["kind"] == "grid"} - set(methods))
    main = build_table(grid_table(backbones, list(methods) + seen, primary_metrics(rows, tasks), labels), index)
    tables = [(main, write_table(main, tables_dir))]
    for spec in TABLES:
        table = build_table(spec, index)
        tables.append((table, write_table(table, tables_dir)))
    runs_summary(rows).to_csv(tables_dir / "runs.csv", index=False)
    from ptbench.report import verdicts

    judged = verdicts.judge([t for t, _ in tables])
    (tables_dir / "verdicts.md").write_text(verdicts.to_markdown(judged), encoding="utf-8")
    (tables_dir / "verdicts.csv").write_text(verdicts.to_csv(judged), encoding="utf-8")
    if audit:
        from ptbench.report.audit import write_audit

        write_audit(tables_dir)
    figures: list[FigureResult] = draw_all(rows, figures_dir)
    if plots_dir is not None:  # the series `dvc plots show` draws
        from ptbench.report.plots import write_plot_data

        write_plot_data(rows, plots_dir)
    git = git_state()  # the code that built the report (the runs' own shas are listed from their provenance)
    built = {**dataclasses.asdict(settings), "built from git": f"{git['sha']}{' (dirty)' if git['dirty'] else ''}"}
    page = write_page(report_dir / "index.html", tables, figures, rows, built,
                      tables_dir / "params_seeds.csv", tables_dir / "params.md",
                      verdict_lines=[("All tables", verdicts.summary_line(judged)), *verdicts.summaries(judged)],
                      verdict_files=(tables_dir / "verdicts.md", tables_dir / "verdicts.csv"))
    missing = missing_links(page)
    if missing:
        raise PtbenchError(f"{page}: links to missing files: {', '.join(missing)}")
    return {"page": page, "tables": [t.spec["id"] for t, _ in tables], "figures": figures, "rows": len(rows)}
