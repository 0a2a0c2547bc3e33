"""Variant: train and score params.yaml's `method` on one task (`dvc exp run -S method=...`)."""
import argparse

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench import layout
    from ptbench.experiment import clear_checkpoints, evaluate_run, train_run

    params = params.for_backbone(args.backbone)
    data = layout.data_dir(args.backbone, args.task)
    checkpoints = layout.checkpoint_dir("variant", args.backbone, args.task)
    with atomic_dir(layout.variant_dir(args.backbone, args.task)) as partial:
        train_run(params, params.method, args.task, data, partial / "train", checkpoint_dir=checkpoints,
                  transfer_root=layout.transfer_root(args.backbone))
        payload = evaluate_run(params, params.method, args.task, data, partial / "train", partial / "metrics.json",
                               transfer_root=layout.transfer_root(args.backbone))
    clear_checkpoints(checkpoints)
    print(f"variant {args.backbone}/{params.method}/{args.task}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--task", required=True)
    run_stage(main, parser)
