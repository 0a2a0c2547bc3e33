"""Knob run: train one grid method with one knob changed (a knob_runs point) on one task, then
score it on the test split; the results/knobs/ layout mirrors results/ (runs, metrics, predictions)."""
import argparse

from ptbench.stagekit import atomic_dir, check_writable, run_stage


def main(args, params):
    from ptbench import layout
    from ptbench.experiment import clear_checkpoints, evaluate_run, train_run
    from ptbench.knobs import require_point, with_point

    params = params.for_backbone(args.backbone)
    require_point(params, args.method, args.point, args.task)
    params = with_point(params, args.method, args.point)
    b, m, point, task = args.backbone, args.method, args.point, args.task
    data = layout.data_dir(b, task)
    metrics, predictions = layout.knob_metrics_path(b, m, point, task), layout.knob_predictions_path(b, m, point, task)
    check_writable(metrics.parent)
    check_writable(predictions.parent)
    checkpoints = layout.checkpoint_dir("knobs", b, m, point, task)
    with atomic_dir(layout.knob_run_dir(b, m, point, task)) as partial:
        train_run(params, m, task, data, partial, checkpoint_dir=checkpoints, transfer_root=layout.transfer_root(b))
    clear_checkpoints(checkpoints)
    payload = evaluate_run(params, m, task, data, layout.knob_run_dir(b, m, point, task), metrics,
                           transfer_root=layout.transfer_root(b), predictions_path=predictions)
    print(f"knob {b}/{m}/{point}/{task}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--point", required=True, help="<knob>=<value>, one of knob_runs.methods.<method>.points")
    parser.add_argument("--task", required=True)
    run_stage(main, parser)
