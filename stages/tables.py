"""Stage 6: tables (Markdown, CSV, LaTeX) and figures from every evaluated run, and the parameter audit."""
import argparse
from pathlib import Path

from ptbench.stagekit import run_stage


def main(args, params):
    from ptbench.report.audit import write_audit
    from ptbench.report.figures import learning_curves, params_vs_score
    from ptbench.report.tables import write_tables

    tables, figures = Path("results/tables"), Path("results/figures")
    grid = params.grid.methods + params.grid.transfer  # the rows this profile runs
    summary = write_tables(Path("results/metrics"), tables, grid, params.tasks, params.backbone)
    figures.mkdir(parents=True, exist_ok=True)
    params_vs_score(summary, params.tasks, figures / "params_vs_score")
    learning_curves(Path("results/runs"), figures / "learning_curves")
    write_audit(tables)
    print(f"tables: {tables.resolve()}\nfigures: {figures.resolve()}")


if __name__ == "__main__":
    run_stage(main, argparse.ArgumentParser(description=__doc__))
