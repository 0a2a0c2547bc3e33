"""Stage 0: the platform fingerprint of the machine that makes the results (ptbench.fingerprint),
committed beside them: a regression check elsewhere computes it first and compares."""
import argparse
import json

from ptbench.run.stagekit import run_stage


def main(args, params):
    from ptbench import fingerprint, numerics

    payload = fingerprint.write()
    numerics.warn_problems(payload["platform"])
    print(json.dumps(payload, indent=1, sort_keys=True))


if __name__ == "__main__":
    run_stage(main, argparse.ArgumentParser(description=__doc__))
