"""Stage 3b: what a transfer method reads, built once per method and backbone from pt's source
prompts (SPoT, ATTEMPT: the prompts of its ``sources``; MPT: their multitask distillation)."""
import argparse

from ptbench.run.stagekit import atomic_dir, run_stage


def main(args, params):
    from ptbench.pipeline import layout
    from ptbench.errors import require_choice
    from ptbench.run.transfer import build_transfer_sources

    params = params.for_backbone(args.backbone)
    require_choice("grid.transfer", args.method, params.grid.transfer)
    with atomic_dir(layout.transfer_root(args.backbone) / args.method) as out:
        build_transfer_sources(params, args.method, out, layout.source_root(args.backbone),
                               layout.data_root(args.backbone))
    print(f"{args.backbone}/{args.method}: transfer sources for seeds {params.seeds}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--method", required=True)
    run_stage(main, parser)
