"""Stage 3: pre-train a method on a source task, or on every source task in turn (its state
initialises few-shot targets; pt's prompts feed the transfer methods)."""
import argparse

from ptbench.stagekit import atomic_dir, each, run_stage


def main(args, params):
    from ptbench import layout
    from ptbench.errors import require_choice
    from ptbench.experiment import clear_checkpoints, train_run
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    tasks = each(args.task, params.source_prompts.tasks)
    for task in tasks:
        get_task(task)
    require_choice("source_prompts.methods", args.method, params.source_prompts.methods)
    for task in tasks:
        checkpoints = layout.checkpoint_dir("source_prompts", args.backbone, args.method, task)
        with atomic_dir(layout.source_root(args.backbone) / args.method / task) as out:
            train_run(params, args.method, task, layout.data_dir(args.backbone, task), out,
                      steps=params.source_prompts.steps, checkpoint_dir=checkpoints)
        clear_checkpoints(checkpoints)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", help="one of source_prompts.tasks (default: each)")
    run_stage(main, parser)
