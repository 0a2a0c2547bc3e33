"""Equal-budget trial: train one grid method at one of its drawn tuning configurations (params.yaml ``tuning``)
on one task, then score it on the test split; without --point/--task, every trial on every task in turn
(runtime.stage_per). The results/trials/ layout mirrors results/knobs/."""
import argparse

from ptbench.run.stagekit import each, run_points, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.pipeline.knobs import with_knobs
    from ptbench.pipeline.tuning import point_text, require_trial, trial_points, trials

    params = params.for_backbone(args.backbone)
    b, m = args.backbone, args.method
    cells = [(point, task) for point in each(args.point, trial_points(params, m, b))
             for task in each(args.task, params.tuning["tasks"])]
    for point, task in cells:
        require_trial(params, m, point, task)
    knobs = {point_text(k): k for k in trials(params.tuning, m)}
    run_points("trials", params, m, cells, lambda point: with_knobs(params, m, knobs[point]), layout.TRIALS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--point", help="one of the method's drawn trials, as its pipeline file lists them "
                                        "(default: each)")
    parser.add_argument("--task", help="one of tuning.tasks (default: each)")
    run_stage(main, parser)
