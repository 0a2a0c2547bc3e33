"""Stage 1+2: download a task's dataset (hub or mirror), build its splits, tokenise with a backbone's
tokenizer; without --task, every task of params.yaml in turn (runtime.stage_per)."""
import argparse

from ptbench.run.stagekit import atomic_dir, each, run_stage


def main(args, params):
    from ptbench import hub
    from ptbench.pipeline import layout
    from ptbench.backbones import get_backbone
    from ptbench.data.prepare import prepare_task
    from ptbench.tasks import task_as_read

    params = params.for_backbone(args.backbone)
    tasks = each(args.task, params.tasks)
    specs = [task_as_read(task, params.data) for task in tasks]
    info = get_backbone(params.backbone)
    tokenizer = None
    for task, spec in zip(tasks, specs):
        dataset = hub.load_hub_dataset(spec.hub.path, spec.hub.name, spec.hub.revision, params.hub.mirror,
                                       params.hub.offline)  # first: offline, the hub's one-line error is the dataset's
        tokenizer = tokenizer or hub.load_tokenizer(info.hub_id, params.hub.mirror, params.hub.offline)
        with atomic_dir(layout.data_dir(args.backbone, task)) as out:
            summary = prepare_task(spec, dataset, tokenizer, params.data, out)
        print(f"{args.backbone}/{task}: {summary['sizes']} split hash {summary['split_hash']}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--task", help="one task (default: every task of params.yaml, in turn)")
    run_stage(main, parser)
