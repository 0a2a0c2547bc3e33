"""Stage 4b: k-shot transfer: a method's source-trained state fine-tuned on k target examples,
scored on the full test split (metrics JSON with k, source task and sampling seed)."""
import argparse
from pathlib import Path

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench.errors import require_choice
    from ptbench.experiment import SOURCE_ROOT
    from ptbench.tasks import get_task
    from ptbench.transfer import fewshot_run

    get_task(args.task)
    require_choice("few_shot.methods", args.method, params.few_shot.methods)
    require_choice("few_shot.ks", args.k, params.few_shot.ks)
    with atomic_dir(Path("results/fewshot") / args.method / args.task / f"k{args.k}") as out:
        for sampling_seed in params.few_shot.sampling_seeds:
            payload = fewshot_run(params, args.method, args.task, args.k, sampling_seed, Path("data/prepared") / args.task,
                                  out / f"sample{sampling_seed}.json", SOURCE_ROOT)
            print(f"{args.method}/{args.task} k={args.k} sample {sampling_seed}: {payload['metrics']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--k", type=int, required=True)
    run_stage(main, parser)
