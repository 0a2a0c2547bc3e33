"""Stages 4 + 5 in one process (runtime.stage_per: method): train one method on every task of
params.yaml in turn and score each on its test split, writing what the train and evaluate stages
write (runs, metrics, predictions). On the smoke's tiny cells the ~5 s of imports per process
outweighs the work; the paper grid keeps train and evaluate apart."""
import argparse

from ptbench.run.stagekit import run_jobs, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.run.experiment import train_and_evaluate
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    b, m = args.backbone, args.method
    params.registered_method(m), [get_task(task) for task in params.tasks]
    params.method_config(m)
    jobs = [(params, m, task, layout.data_dir(b, task), layout.run_dir(b, m, task), layout.metrics_path(b, m, task),
             layout.predictions_path(b, m, task), layout.checkpoint_dir("runs", b, m, task), layout.transfer_root(b))
            for task in params.tasks]
    run_jobs(train_and_evaluate, jobs, params,  # runtime.task_workers side by side
             lambda job, payload: print(f"{b}/{m}/{job[2]}: {payload['metrics']}", flush=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    run_stage(main, parser)
