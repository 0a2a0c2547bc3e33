"""The table step: rows files in; tables, figures, the audit and the report page out."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from ptbench.errors import PtbenchError
from ptbench.run.provenance import git_state
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
                          "train_seconds": r.get("train_seconds"), "examples_per_second": r.get("examples_per_second"),
                          "peak_memory_mb": r.get("peak_memory_mb"), "gpu_hours": r.get("gpu_hours"),
                          "device": _device_text(r.get("device")), "platform": platform_text(r.get("device")),
                          "source": r["source"]} for r in rows])


def _device_text(device) -> str:
    if not device:
        return ""
    devices = device if isinstance(device, list) else [device]
    return "; ".join(f"{d['type']}" + (f" {d['name']} x{d.get('count', 1)}" if d.get("name") else "")
                     + (f" ({d['threads']} thread{'s' if d['threads'] != 1 else ''})" if d.get("threads") else "")
                     for d in devices)


def platform_text(device) -> str:
    """The CPU and the kernels in force (``ptbench.numerics.in_force``) of the runs' devices: what a CPU
    run's bits depend on. Runs recorded before the platform was (no ``platform``) show nothing."""
    if not device:
        return ""
    devices = device if isinstance(device, list) else [device]
    texts = []
    for d in devices:
        p = d.get("platform")
        if p:
            texts.append(f"{p['cpu']}; numerics {p['cpu_numerics']} (ATen {p['aten_capability']}, MKL {p['mkl_branch']}, "
                         f"oneDNN {p['onednn_max_isa']}); torch {p['torch']}, MKL {p['mkl']}, oneDNN {p['onednn']}")
    return "; ".join(dict.fromkeys(texts))


def frame_markdown(frame: pd.DataFrame) -> str:
    """A data frame as a Markdown table (empty cells for missing values)."""
    def text(value) -> str:
        missing = value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value))
        return "" if missing else str(value)
    lines = ["| " + " | ".join(frame.columns) + " |", "|---" * len(frame.columns) + "|"]
    lines += ["| " + " | ".join(text(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def cost_table(rows: list[dict[str, Any]], profile: str, estimates: dict[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """Measured training cost per (backbone, method) over every run with a timing record (grid, knob,
    few-shot kinds), then the profile's total: results/tables/cost.{md,csv}. ``estimates``: the same
    runs' training seconds as ``ptbench plan`` estimated them on this machine (empty: not calibrated)."""
    estimates = estimates or {}
    timed = [r for r in rows if r.get("train_seconds_total") is not None]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in timed:
        groups.setdefault((r["backbone"], r["method"]), []).append(r)
    lines = []
    for (backbone, method), members in sorted(groups.items()):
        rates = [m["examples_per_second"] for m in members if m.get("examples_per_second")]
        memory = [m["peak_memory_mb"] for m in members if m.get("peak_memory_mb")]
        gpu = [m["gpu_hours"] for m in members if m.get("gpu_hours")]
        estimate = estimates.get((backbone, method))
        lines.append({"scope": "method", "backbone": backbone, "method": method,
                      "runs": sum(len(m.get("seeds") or [None]) for m in members),
                      "train_seconds": round(sum(m["train_seconds_total"] for m in members), 1),
                      "estimated_seconds": None if estimate is None else round(estimate, 1),
                      "examples_per_second": round(sum(rates) / len(rates), 1) if rates else None,
                      "peak_memory_mb": max(memory) if memory else None, "gpu_hours": round(sum(gpu), 4) if gpu else None,
                      "device": _device_text(members[0].get("device")),
                      "platform": platform_text(members[0].get("device"))})
    if lines:
        lines.append({"scope": f"profile {profile}", "backbone": "", "method": "", "runs": sum(l["runs"] for l in lines),
                      "train_seconds": round(sum(l["train_seconds"] for l in lines), 1),
                      "estimated_seconds": (round(sum(l["estimated_seconds"] for l in lines), 1)
                                            if all(l["estimated_seconds"] is not None for l in lines) else None),
                      "examples_per_second": None,
                      "peak_memory_mb": max((l["peak_memory_mb"] for l in lines if l["peak_memory_mb"]), default=None),
                      "gpu_hours": round(sum(l["gpu_hours"] or 0 for l in lines), 4) or None, "device": "",
                      "platform": ""})
    return pd.DataFrame(lines, columns=["scope", "backbone", "method", "runs", "train_seconds", "estimated_seconds",
                                        "examples_per_second", "peak_memory_mb", "gpu_hours", "device", "platform"])


def cost_markdown(cost: pd.DataFrame, rows: list[dict[str, Any]], estimates: dict | None,
                  planned_runs: dict[str, int] | None) -> str:
    """results/tables/cost.md: the table, with a text that says what it counts (against the plan's count)
    and where its estimates came from."""
    timed = int(cost["runs"].iloc[-1]) if len(cost) else 0
    untimed: dict[str, int] = {}
    for r in rows:
        if r.get("train_seconds_total") is None:
            untimed[r["kind"]] = untimed.get(r["kind"], 0) + len(r.get("seeds") or [None])
    if estimates:
        source = "beside `ptbench plan`'s estimate of the same runs from this machine's calibration"
    else:
        source = "(the estimate column is empty: this machine has no calibration; `ptbench plan` makes one)"
    counted = ""
    if planned_runs:
        counted = (f" The plan counts {planned_runs['with_results']} runs that write results rows and "
                   f"{planned_runs['all']} training runs in all (source prompts, transfer-source distillation and "
                   f"the variant stage train too, and are timed in their stages' logs).")
    if untimed:
        counted += " Without a timing record, so not counted here: " + ", ".join(
            f"{n} {kind} run{'s' if n != 1 else ''}" for kind, n in sorted(untimed.items())) + "."
    return ("# Training cost (measured)\n\nWall-clock training seconds (validation included, test scoring not) of "
            f"the {timed} runs with a timing record (grid and knob runs, every seed counted), {source}; "
            "examples/s, the process's peak memory (CPU: resident; GPU: allocated), GPU-hours, per backbone and "
            f"method, then the profile's total.{counted}\n\n" + frame_markdown(cost) + "\n")


def write_report(rows_dir: Path, tables_dir: Path, figures_dir: Path, report_dir: Path, settings: ReportSettings,
                 methods: list[str], tasks: list[str], audit: bool = True, plots_dir: Path | None = None,
                 labels: dict[str, str] | None = None, profile: str = "",
                 estimates: dict[tuple[str, str], float] | None = None,
                 planned_runs: dict[str, int] | None = None, protocols=None) -> dict[str, Any]:
    """Everything the ``tables`` stage writes; raises if the page links a file that is not there.
    ``protocols``: ``report.protocols.ProtocolInputs`` for the paper-vs-fair section (None: no such section).
    ``planned_runs``: ``planning.plan.planned_run_counts`` of the profile, for the cost table's text.
    ``labels``: the main table's row labels of the named variants among ``methods``."""
    rows = read_rows(rows_dir)
    placed = with_stand_ins(rows, settings.stand_in)  # the rows, and stand-in copies under the paper backbones
    index = RunIndex(placed, settings.invalid_threshold)
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
    cost = cost_table(rows, profile, estimates)
    cost.to_csv(tables_dir / "cost.csv", index=False)
    (tables_dir / "cost.md").write_text(cost_markdown(cost, rows, estimates, planned_runs), encoding="utf-8")
    from ptbench.report import verdicts

    judged = verdicts.judge([t for t, _ in tables])
    (tables_dir / "verdicts.md").write_text(verdicts.to_markdown(judged), encoding="utf-8")
    (tables_dir / "verdicts.csv").write_text(verdicts.to_csv(judged), encoding="utf-8")
    from ptbench.report import claims

    checked = claims.check_all([t for t, _ in tables], placed)
    (tables_dir / "claims.md").write_text(claims.to_markdown(checked), encoding="utf-8")
    (tables_dir / "claims.csv").write_text(claims.to_csv(checked), encoding="utf-8")
    if audit:
        from ptbench.report.audit import write_audit

        write_audit(tables_dir)
    figures: list[FigureResult] = draw_all(rows, figures_dir)
    section = None
    if protocols is not None:
        section = write_protocol_section(rows, protocols, settings, tables_dir, figures_dir)
        figures += section.pop("figures")
    if plots_dir is not None:  # the series `dvc plots show` draws
        from ptbench.report.plots import write_plot_data

        write_plot_data(rows, plots_dir)
    git = git_state()  # the code that built the report (the runs' own shas are listed from their provenance)
    built = {**dataclasses.asdict(settings), "built from git": f"{git['sha']}{' (dirty)' if git['dirty'] else ''}"}
    page = write_page(report_dir / "index.html", tables, figures, rows, built,
                      tables_dir / "params_seeds.csv", tables_dir / "params.md",
                      verdict_lines=[("All tables", verdicts.summary_line(judged)), *verdicts.summaries(judged),
                                     ("Headline claims", claims.summary_line(checked))],
                      verdict_files=(tables_dir / "verdicts.md", tables_dir / "verdicts.csv"),
                      cost=(cost, tables_dir / "cost.md", tables_dir / "cost.csv"),
                      claims=(checked, tables_dir / "claims.md", tables_dir / "claims.csv"), protocols=section)
    missing = missing_links(page)
    if missing:
        raise PtbenchError(f"{page}: links to missing files: {', '.join(missing)}")
    return {"page": page, "tables": [t.spec["id"] for t, _ in tables], "figures": figures, "rows": len(rows)}


def write_protocol_section(rows: list[dict[str, Any]], inputs, settings: ReportSettings, tables_dir: Path,
                           figures_dir: Path) -> dict[str, Any]:
    """The paper protocol beside the fair one (report/protocols.py): its tables, efficiency table and figures."""
    from ptbench.report import protocol_figures as figs
    from ptbench.report.figure_style import Styles
    from ptbench.report.protocol_tables import efficiency_frame, write_protocols
    from ptbench.report.protocols import budget_curves, rankings, read_protocols

    found = read_protocols(rows, inputs.drawn, inputs.paper)
    summary, ranks, files, text = write_protocols(found, rankings(found), tables_dir, inputs.paper, settings.stand_in)
    efficiency = efficiency_frame(found, inputs.added_tokens)
    files["Efficiency CSV"] = tables_dir / "efficiency.csv"
    efficiency.to_csv(files["Efficiency CSV"], index=False)
    styles = Styles({c.method for c in found}, {r["method"]: r["registered_method"] for r in rows
                                                 if r.get("registered_method")})
    figures = [figs.optimism_gap(found, figures_dir, styles, settings.stand_in),
               figs.budget_curves(budget_curves(found), figures_dir, styles, settings.stand_in),
               figs.efficiency_frontier(found, figures_dir, styles, settings.stand_in)]
    return {"text": text, "gaps": summary, "rankings": ranks, "efficiency": efficiency, "files": files,
            "figures": figures}
