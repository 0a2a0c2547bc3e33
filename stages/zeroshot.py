"""Zero-shot transfer (seed 003 Fig. 10, right): each grid run's trained state of the method, unchanged,
scored on the test split of every other task of params.yaml; metrics, records and predictions under
results/zeroshot/ (<source task>/<target task>.json)."""
import argparse

from ptbench.run.stagekit import run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.run.experiment import zero_shot_transfer

    params = params.for_backbone(args.backbone)
    for source, target, payload in zero_shot_transfer(params, args.method):
        print(f"zero-shot {args.backbone}/{args.method}: {source} -> {target}: {payload['metrics']}", flush=True)
    print(f"written under {layout.ZERO_SHOT}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    run_stage(main, parser)
