"""Knob run: train one grid method with one knob changed (a knob_runs point) on one task, then
score it on the test split; without --point/--task, every point on every task of the method's
knob_runs entry in turn (runtime.stage_per). The results/knobs/ layout mirrors results/."""
import argparse

from ptbench.run.stagekit import each, run_points, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.pipeline.knobs import knob_points, require_point, with_point

    params = params.for_backbone(args.backbone)
    b, m = args.backbone, args.method
    tasks = params.knob_runs["methods"].get(m, {"tasks": []})["tasks"]
    cells = [(point, task) for point in each(args.point, knob_points(params.knob_runs, m, b))
             for task in each(args.task, tasks)]
    for point, task in cells:
        require_point(params, m, point, task)
    run_points("knobs", params, m, cells, lambda point: with_point(params, m, point), layout.KNOBS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--point", help="<knob>=<value>, one of knob_runs.methods.<method>.points (default: each)")
    parser.add_argument("--task", help="one of knob_runs.methods.<method>.tasks (default: each)")
    run_stage(main, parser)
