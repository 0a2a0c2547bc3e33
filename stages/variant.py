"""Variant: train and score params.yaml's `method` on every task of one backbone (`dvc exp run -S method=...`)."""
import argparse

from ptbench.run.stagekit import run_jobs, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.run.experiment import train_and_evaluate

    params = params.for_backbone(args.backbone)
    b = args.backbone
    jobs = [(params, params.method, task, layout.data_dir(b, task), layout.variant_run_dir(b, task),
             layout.variant_metrics_path(b, task), None, layout.checkpoint_dir("variant", b, task), layout.transfer_root(b))
            for task in params.tasks]
    run_jobs(train_and_evaluate, jobs, params,  # runtime.task_workers side by side
             lambda job, payload: print(f"variant {b}/{params.method}/{job[2]}: {payload['metrics']}", flush=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    run_stage(main, parser)
