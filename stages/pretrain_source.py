"""Stage 3: pre-train a method on a source task (its state initialises few-shot targets; pt's
prompts feed the transfer methods)."""
import argparse

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench import layout
    from ptbench.errors import require_choice
    from ptbench.experiment import clear_checkpoints, train_run
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    get_task(args.task)
    require_choice("source_prompts.methods", args.method, params.source_prompts.methods)
    checkpoints = layout.checkpoint_dir("source_prompts", args.backbone, args.method, args.task)
    with atomic_dir(layout.source_root(args.backbone) / args.method / args.task) as out:
        train_run(params, args.method, args.task, layout.data_dir(args.backbone, args.task), out,
                  steps=params.source_prompts.steps, checkpoint_dir=checkpoints)
    clear_checkpoints(checkpoints)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    run_stage(main, parser)
