"""Stage 5: score the trained method on the task's test split; metrics JSON with provenance."""
import argparse
from pathlib import Path

from ptbench.stagekit import check_writable, run_stage


def main(args, params):
    from ptbench.experiment import evaluate_run
    from ptbench.methods import get_method
    from ptbench.tasks import get_task

    get_method(args.method), get_task(args.task)
    train_dir = Path(args.train_dir) if args.train_dir else Path("results/runs") / args.method / args.task
    out = Path(args.out) if args.out else Path("results/metrics") / args.method / f"{args.task}.json"
    check_writable(out.parent)  # before any compute: the metrics file is written at the very end
    payload = evaluate_run(params, args.method, args.task, Path("data/prepared") / args.task, train_dir, out)
    print(f"{args.method}/{args.task}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--train-dir", help="trained states (default results/runs/<method>/<task>)")
    parser.add_argument("--out", help="metrics file (default results/metrics/<method>/<task>.json)")
    run_stage(main, parser)
