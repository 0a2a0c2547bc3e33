"""Stage 5: score the trained method on the task's test split; metrics JSON with provenance and
the per-example predictions (the report bootstraps them)."""
import argparse
from pathlib import Path

from ptbench.run.stagekit import check_writable, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.run.experiment import evaluate_run
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    params.registered_method(args.method), get_task(args.task)
    b = args.backbone
    train_dir = Path(args.train_dir) if args.train_dir else layout.run_dir(b, args.method, args.task)
    out = Path(args.out) if args.out else layout.metrics_path(b, args.method, args.task)
    predictions = Path(args.predictions) if args.predictions else layout.predictions_path(b, args.method, args.task)
    check_writable(out.parent)  # before any compute: the metrics file is written at the very end
    check_writable(layout.record_path(out).parent)  # and its record beside it
    check_writable(predictions.parent)
    payload = evaluate_run(params, args.method, args.task, layout.data_dir(b, args.task), train_dir, out,
                           transfer_root=layout.transfer_root(b), predictions_path=predictions)
    print(f"{b}/{args.method}/{args.task}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--train-dir", help="trained states (default results/runs/<backbone>/<method>/<task>)")
    parser.add_argument("--out", help="metrics file (default results/metrics/<backbone>/<method>/<task>.json)")
    parser.add_argument("--predictions", help="per-example test predictions "
                                              "(default results/predictions/<backbone>/<method>/<task>.json)")
    run_stage(main, parser)
