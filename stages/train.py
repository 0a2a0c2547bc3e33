"""Stage 4: train one method on one task on one backbone (every seed in params.yaml)."""
import argparse
from pathlib import Path

from ptbench.run.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.run.experiment import clear_checkpoints, train_run
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    params.registered_method(args.method), get_task(args.task)
    params.method_config(args.method)
    out = Path(args.out) if args.out else layout.run_dir(args.backbone, args.method, args.task)
    checkpoints = layout.checkpoint_dir("runs", args.backbone, args.method, args.task)
    with atomic_dir(out) as partial:
        train_run(params, args.method, args.task, layout.data_dir(args.backbone, args.task), partial,
                  checkpoint_dir=checkpoints, transfer_root=layout.transfer_root(args.backbone))
    clear_checkpoints(checkpoints)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--out", help="output folder (default results/runs/<backbone>/<method>/<task>)")
    run_stage(main, parser)
