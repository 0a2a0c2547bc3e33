"""Stage 6a: one method's rows file, the cached per-method part of the report.

Reads the method's metrics files (results/metrics/**), their predictions (results/predictions/**,
same relative path) and training records (results/runs/**), recognised by content; writes
results/rows/[<backbone>/]<method>.json with the bootstrap intervals and replicates (the expensive
part), or with --fewshot the method's k-shot results to results/rows/fewshot/[<backbone>/]<method>.json.
"""
import argparse
from pathlib import Path

from ptbench.run.stagekit import check_writable, run_stage


def main(args, params):
    from ptbench.report.rows import build_rows, write_rows

    params.registered_method(args.method)  # a method or variant of params.yaml
    folder = Path(args.rows_dir) / ("fewshot" if args.fewshot else "") / (args.backbone or "")
    out = Path(args.out) if args.out else folder / f"{args.method}.json"
    check_writable(out.parent)
    payload = build_rows(Path(args.results), args.method, params.report, params.data.max_length,
                         "fewshot" if args.fewshot else "grid", args.backbone)
    write_rows(payload, out)
    with_ci = sum(any("replicates" in m for m in r["metrics"].values()) for r in payload["results"])
    print(f"{out}: {len(payload['results'])} results of {args.method} ({with_ci} with bootstrap intervals)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True)
    parser.add_argument("--backbone", help="only results on this backbone (provenance.backbone); default all")
    parser.add_argument("--fewshot", action="store_true", help="the method's k-shot results (results/fewshot)")
    parser.add_argument("--results", default="results", help="results root (default results)")
    parser.add_argument("--rows-dir", default="results/rows", help="rows root (default results/rows)")
    parser.add_argument("--out", help="rows file (default <rows-dir>/[fewshot/][<backbone>/]<method>.json)")
    run_stage(main, parser)
