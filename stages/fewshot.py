"""Stage 4b: k-shot transfer: a method's source-trained state (transfer methods: its build from
the source prompts) fine-tuned on k target examples, scored on the full test split (metrics JSON
with k, source task and sampling seed). Without --task/--k: every few_shot task and k in turn."""
import argparse

from ptbench.run.stagekit import each, run_jobs, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.errors import require_choice
    from ptbench.tasks import get_task
    from ptbench.run.transfer import fewshot_cell

    require_choice("few_shot.backbones", args.backbone, params.few_shot.backbones)
    params = params.for_backbone(args.backbone)
    require_choice("few_shot.methods", args.method, params.few_shot.methods + params.few_shot.transfer)
    cells = [(task, k) for task in each(args.task, params.few_shot.tasks) for k in each(args.k, params.few_shot.ks)]
    for task, k in cells:
        get_task(task)
        require_choice("few_shot.ks", k, params.few_shot.ks)
    b = args.backbone
    jobs = [(params, args.method, task, k, layout.data_dir(b, task), layout.fewshot_dir(b, args.method, task, k),
             layout.source_root(b), layout.transfer_root(b)) for task, k in cells]

    def report(job, payloads):
        for sampling_seed, payload in zip(params.few_shot.sampling_seeds, payloads):
            print(f"{b}/{args.method}/{job[2]} k={job[3]} sample {sampling_seed}: {payload['metrics']}", flush=True)
    run_jobs(fewshot_cell, jobs, params, report)  # runtime.task_workers side by side


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", help="one of few_shot.tasks (default: each)")
    parser.add_argument("--k", type=int, help="one of few_shot.ks (default: each)")
    run_stage(main, parser)
