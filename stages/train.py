"""Stage 4: train one method on one task (every seed in params.yaml)."""
import argparse
from pathlib import Path

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench.experiment import clear_checkpoints, train_run
    from ptbench.methods import get_method
    from ptbench.tasks import get_task

    get_method(args.method), get_task(args.task)
    params.method_config(args.method)
    out = Path(args.out or Path("results/runs") / args.method / args.task)
    checkpoints = Path("checkpoints/runs") / args.method / args.task  # survives a kill; not a DVC output
    with atomic_dir(out) as partial:
        train_run(params, args.method, args.task, Path("data/prepared") / args.task, partial,
                  checkpoint_dir=checkpoints)
    clear_checkpoints(checkpoints)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--out", help="output folder (default results/runs/<method>/<task>)")
    run_stage(main, parser)
