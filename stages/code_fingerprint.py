"""Stage 0: the code fingerprints (src/ptbench/pipeline/code.py), one small file per (method, stage kind)
that its stages depend on instead of the code itself."""
import argparse
import json

from ptbench.run.stagekit import run_stage


def main(args, params):
    from ptbench.pipeline.code import SETS_FILE, write_fingerprints

    sets = json.loads(SETS_FILE.read_text())
    written = write_fingerprints(sets)
    print(f"code fingerprints: {len(sets)} sets, {len(written)} rewritten")


if __name__ == "__main__":
    run_stage(main, argparse.ArgumentParser(description=__doc__))
