"""Variant: train and score params.yaml's `method` on one task (`dvc exp run -S method=...`)."""
import argparse
from pathlib import Path

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench.experiment import clear_checkpoints, evaluate_run, train_run

    out = Path("results/variant") / args.task
    checkpoints = Path("checkpoints/variant") / args.task  # survives a kill; not a DVC output
    with atomic_dir(out) as partial:
        train_run(params, params.method, args.task, Path("data/prepared") / args.task, partial / "train",
                  checkpoint_dir=checkpoints)
        payload = evaluate_run(params, params.method, args.task, Path("data/prepared") / args.task,
                               partial / "train", partial / "metrics.json")
    clear_checkpoints(checkpoints)
    print(f"variant {params.method}/{args.task}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", required=True)
    run_stage(main, parser)
