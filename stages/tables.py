"""Stage 6b: tables (Markdown, LaTeX, CSV) in the seeds' layouts, figures, the parameter audit and
results/report/index.html, from the rows files alone (results/rows/**, written by stages/rows.py)."""
import argparse
import shutil
from pathlib import Path

from ptbench.run.stagekit import run_stage


def main(args, params):
    from ptbench.pipeline.generate import require_current
    from ptbench.planning.plan import estimated_training_seconds, planned_run_counts
    from ptbench.report.build import write_report
    from ptbench.report.protocols import ProtocolInputs

    require_current(params)  # a grid list changed without `ptbench pipelines`: rows would be missing

    outputs = [Path(args.tables), Path(args.figures), Path(args.report)]
    for folder in outputs + [Path(args.plots)]:  # no stale table or figure may survive into the page
        shutil.rmtree(folder, ignore_errors=True)
    result = write_report(Path(args.rows), *outputs, params.report,
                          params.grid.methods + params.grid.transfer, params.tasks, plots_dir=Path(args.plots),
                          labels={name: v.label or name for name, v in params.variants.items()},
                          profile=params.profile, estimates=estimated_training_seconds(params),
                          planned_runs=planned_run_counts(params), protocols=ProtocolInputs.from_params(params))
    drawn = sum(f.drawn for f in result["figures"])
    print(f"{result['rows']} results -> {len(result['tables'])} tables in {outputs[0]}, "
          f"{drawn}/{len(result['figures'])} figures in {outputs[1]}\nreport: {result['page'].resolve()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="results/rows")
    parser.add_argument("--tables", default="results/tables")
    parser.add_argument("--figures", default="results/figures")
    parser.add_argument("--report", default="results/report")
    parser.add_argument("--plots", default="results/plots", help="CSV series for `dvc plots show`")
    run_stage(main, parser)
