"""Stage 3: pre-train a source prompt on a source task (for few-shot transfer)."""
import argparse
from pathlib import Path

from ptbench.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench.experiment import clear_checkpoints, train_run
    from ptbench.tasks import get_task

    get_task(args.task)
    method = params.source_prompts.method
    checkpoints = Path("checkpoints/source_prompts") / method / args.task  # survives a kill; not a DVC output
    with atomic_dir(Path("results/source_prompts") / method / args.task) as out:
        train_run(params, method, args.task, Path("data/prepared") / args.task, out, steps=params.source_prompts.steps,
                  checkpoint_dir=checkpoints)
    clear_checkpoints(checkpoints)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", required=True)
    run_stage(main, parser)
