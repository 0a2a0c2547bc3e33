"""Stage 1+2: download a task's dataset (hub or mirror), build its splits, tokenise with a backbone's tokenizer."""
import argparse

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench import hub, layout
    from ptbench.backbones import get_backbone
    from ptbench.data.prepare import prepare_task
    from ptbench.tasks import get_task

    params = params.for_backbone(args.backbone)
    spec = get_task(args.task, params.data.scoring)
    info = get_backbone(params.backbone)
    dataset = hub.load_hub_dataset(spec.hub.path, spec.hub.name, spec.hub.revision, params.hub.mirror, params.hub.offline)
    tokenizer = hub.load_tokenizer(info.hub_id, params.hub.mirror, params.hub.offline)
    with atomic_dir(layout.data_dir(args.backbone, args.task)) as out:
        summary = prepare_task(spec, dataset, tokenizer, params.data, out)
    print(f"{args.backbone}/{args.task}: {summary['sizes']} split hash {summary['split_hash']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--task", required=True)
    run_stage(main, parser)
