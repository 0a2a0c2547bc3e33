"""Stage 0 (smoke profile): build the local hub mirror the offline pipeline loads from."""
import argparse
import json
from pathlib import Path

from ptbench.run.stagekit import atomic_dir, run_stage

MIRROR_DIR = Path("mirror")


def main(args, params):
    from ptbench.backbones import BACKBONES, get_backbone
    from ptbench.mirror.build import build_mirror, write_summary

    with atomic_dir(MIRROR_DIR) as partial:
        if params.hub.mirror is None:  # the real hub is used: nothing of the mirror is built
            (partial / "mirror.json").write_text(json.dumps({"disabled": True}) + "\n")
            summary = {"disabled": True}
        else:
            # the mirror holds the one mirror-only backbone (tiny-t5): hub backbones are never mirrored
            tiny = next(name for name in BACKBONES if get_backbone(name).mirror_only)
            summary = build_mirror(partial, params.mirror, get_backbone(tiny).hub_id)
    write_summary(Path("results"), summary)


if __name__ == "__main__":
    run_stage(main, argparse.ArgumentParser(description=__doc__))
