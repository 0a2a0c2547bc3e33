"""Stage 0 (smoke profile): build the local hub mirror the offline pipeline loads from."""
import argparse
import json
from pathlib import Path

from ptbench.run.stagekit import atomic_dir, run_stage

MIRROR_DIR = Path("mirror")
MIRROR_NUMBERS = ("pretrain_final_loss", "probe_accuracy_with_prefix", "probe_accuracy_without_prefix", "probe_chance")


def main(args, params):
    from ptbench.backbones import BACKBONES, get_backbone
    from ptbench.mirror.build import build_mirror

    with atomic_dir(MIRROR_DIR) as partial:
        if params.hub.mirror is None:  # the real hub is used: nothing of the mirror is built
            (partial / "mirror.json").write_text(json.dumps({"disabled": True}) + "\n")
            summary = {"disabled": True}
        else:
            # the mirror holds the one mirror-only backbone (tiny-t5): hub backbones are never mirrored
            tiny = next(name for name in BACKBONES if get_backbone(name).mirror_only)
            summary = build_mirror(partial, params.mirror, get_backbone(tiny).hub_id)
    Path("results").mkdir(exist_ok=True)
    # the numbers (what `dvc metrics show` lists) apart from what they describe
    numbers = {key: value for key, value in summary.items() if key in MIRROR_NUMBERS}
    Path("results/mirror_info.json").write_text(json.dumps({k: v for k, v in summary.items() if k not in numbers},
                                                           indent=1, sort_keys=True) + "\n")
    Path("results/mirror.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    run_stage(main, argparse.ArgumentParser(description=__doc__))
