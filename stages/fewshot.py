"""Stage 4b: k-shot transfer: a method's source-trained state (transfer methods: its build from
the source prompts) fine-tuned on k target examples, scored on the full test split (metrics JSON
with k, source task and sampling seed)."""
import argparse

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench import layout
    from ptbench.errors import require_choice
    from ptbench.tasks import get_task
    from ptbench.transfer import fewshot_run

    require_choice("few_shot.backbones", args.backbone, params.few_shot.backbones)
    params = params.for_backbone(args.backbone)
    get_task(args.task)
    require_choice("few_shot.methods", args.method, params.few_shot.methods + params.few_shot.transfer)
    require_choice("few_shot.ks", args.k, params.few_shot.ks)
    b = args.backbone
    with atomic_dir(layout.fewshot_dir(b, args.method, args.task, args.k)) as out:
        for sampling_seed in params.few_shot.sampling_seeds:
            payload = fewshot_run(params, args.method, args.task, args.k, sampling_seed, layout.data_dir(b, args.task),
                                  out / f"sample{sampling_seed}.json", layout.source_root(b), layout.transfer_root(b))
            print(f"{b}/{args.method}/{args.task} k={args.k} sample {sampling_seed}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--k", type=int, required=True)
    run_stage(main, parser)
