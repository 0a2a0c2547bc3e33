"""Stage 3: pre-train a method on a source task, or on every source task in turn (its state
initialises few-shot targets; pt's prompts feed the transfer methods)."""
import argparse

from ptbench.run.stagekit import each, run_jobs, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.errors import require_choice
    from ptbench.run.experiment import source_run
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    tasks = each(args.task, params.source_prompts.tasks)
    for task in tasks:
        get_task(task)
    require_choice("source_prompts.methods", args.method, params.source_prompts.methods)
    b, m = args.backbone, args.method
    jobs = [(params, m, task, layout.data_dir(b, task), layout.source_root(b) / m / task,
             layout.checkpoint_dir("source_prompts", b, m, task)) for task in tasks]
    run_jobs(source_run, jobs, params, lambda job, record: None)  # runtime.task_workers side by side


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", help="one of source_prompts.tasks (default: each)")
    run_stage(main, parser)
