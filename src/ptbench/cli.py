"""The ``ptbench`` command: registries, parameter counts, params validation, profiles, pipelines, sweeps, scoring."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from ptbench.errors import ConfigError, PtbenchError


def _methods(args) -> None:
    from ptbench.methods import METHODS, PLUGIN_ERRORS

    for name, entry in sorted(METHODS.items()):
        plugin = f"  [plugin: {entry.source}]" if entry.source != "ptbench" else ""
        print(f"{name:12s} {entry.summary}{plugin}")
    for message in PLUGIN_ERRORS.values():  # the built-ins above still work
        print(f"ptbench: warning: {message}", file=sys.stderr)


def _tasks(args) -> None:
    from ptbench.tasks import all_tasks

    corrected = all_tasks("corrected")
    for name, spec in sorted(all_tasks("faithful").items()):
        fixed = corrected[name]
        changes = [key for key in ("input", "target", "metrics") if getattr(spec, key) != getattr(fixed, key)]
        note = f"  corrected: {','.join(changes)}" + (f" -> {','.join(fixed.metrics)}" if "metrics" in changes else "")
        print(f"{name:11s} {spec.family:9s} metrics={','.join(spec.metrics):22s} split={spec.split_rule:8s} "
              f"{spec.hub.path}/{spec.hub.name}{note if changes else ''}")


def _backbones(args) -> None:
    from ptbench.backbones import BACKBONES

    for name, info in sorted(BACKBONES.items()):
        flags = [f for f, on in (("4-bit", info.quantize_4bit), ("mirror-only", info.mirror_only),
                                 ("original-T5", info.original_t5)) if on]
        print(f"{name:18s} {info.family:8s} {info.hub_id:28s} {' '.join(flags)}")


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set: expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def _params(args) -> None:
    from ptbench.backbones import get_backbone
    from ptbench.check.counting import count_parameters
    from ptbench.methods import get_method

    entry = get_method(args.method)
    get_backbone(args.backbone)
    section, source, tiny = {}, "defaults", None
    if Path(args.params).exists():
        raw = yaml.safe_load(Path(args.params).read_text()) or {}
        if args.method in (raw.get("methods") or {}):
            section, source = dict(raw["methods"][args.method] or {}), args.params
        tiny = (raw.get("mirror") or {}).get("backbone")
    section.update(_overrides(args.set))
    config = entry.config.from_params(args.method, section)
    result = count_parameters(args.method, config, args.backbone, args.max_length, tiny)
    print(json.dumps({**result, "config_source": source}, indent=1))


def _validate(args) -> None:
    from ptbench.config import load_params
    from ptbench.pipeline.generate import require_current

    params = load_params(args.params)
    require_current(params, Path(args.params).parent)
    print(f"{args.params}: ok (profile {params.profile}; {len(params.grid.methods) + len(params.grid.transfer)} methods x {len(params.tasks)} tasks "
          f"x {len(params.seeds)} seeds on {', '.join(params.backbones)})")


def _profile(args) -> None:
    from ptbench.config import load_params
    from ptbench.pipeline.generate import write_pipelines
    from ptbench.pipeline.profiles import apply_profile

    changed = apply_profile(args.name, Path(args.params))
    written = write_pipelines(load_params(args.params), Path(args.params).parent)
    print(f"{args.params}: profile {args.name} applied ({', '.join(changed)}); {len(written)} pipeline files written")


def _pipelines(args) -> None:
    from ptbench.config import load_params
    from ptbench.pipeline.generate import expected_files, write_pipelines

    params = load_params(args.params)
    written = write_pipelines(params, Path(args.params).parent)
    print(f"pipelines/: {len(expected_files(params))} files for {len(params.backbones)} backbone(s), "
          f"{len(written)} written")


def _sweep(args) -> None:
    import subprocess

    from ptbench.config import load_params
    from ptbench.pipeline.sweep import queue_commands, render

    commands = queue_commands(load_params(args.params).sweep)
    if not commands:
        print(f"{args.params}: sweep is empty")
        return
    print(render(commands))
    if args.queue:
        for command in commands:
            subprocess.run(command, check=True)
        print("queued; run them with: dvc queue start -j <workers>, then dvc exp show")


def _score(args) -> None:
    from ptbench.pipeline.layout import data_dir
    from ptbench.check.scoring import score_file

    if args.data is None and args.backbone is None:
        raise ConfigError("score: give --data (a prepared task folder) or --backbone (data/prepared/<backbone>/<task>)")
    folder = Path(args.data) if args.data else data_dir(args.backbone, args.task)
    print(json.dumps(score_file(args.task, folder, Path(args.predictions), args.seed, args.scoring), indent=1))


def _audit(args) -> None:
    from ptbench.check.audit import run_audit
    from ptbench.run.process import load_prepared

    params = load_prepared(args.params)  # as the stages that made the cache
    tolerance = args.tolerance
    if tolerance is None:
        import torch

        tolerance = 0.5 if torch.cuda.is_available() else 0.0
    if tolerance == 0:  # an exact comparison holds only where the kernels compute the cache's bits
        _exit_on_other_platform(Path(args.baseline))
    audited = run_audit(params, args.sample, args.seed, tolerance, args.cell or None)
    bad = [a for a in audited if a.verdict == "MISMATCH"]
    print(f"audit: {len(audited) - len(bad)} of {len(audited)} re-run cells agree with the cache "
          f"({'exactly' if tolerance == 0 else f'within {tolerance} points'})")
    if bad:
        for item in bad:
            print(f"  {item.cell}: cached {item.cached} -> re-run {item.rerun}", file=sys.stderr)
        sys.exit(1)


def _plan(args) -> None:
    from ptbench import hub
    from ptbench.planning.plan import make_plan, render
    from ptbench.run.process import quiet_libraries

    hub.configure_environment(offline=False)  # quiet bitsandbytes' import warning; the hub is never used here
    quiet_libraries()

    plan = make_plan(args.profile, Path(args.params), Path(args.calibration), check_cache=not args.no_cache_check,
                     zygote=not args.plain_dvc, log=lambda line: print(line, file=sys.stderr), device=args.device,
                     utilisation=args.utilisation)
    print(render(plan))


def _exit_on_other_platform(baseline: Path) -> None:
    from ptbench import fingerprint

    verdict, _ = fingerprint.assess(baseline)
    if verdict is not None:
        print(f"ptbench: {verdict}", file=sys.stderr)
        sys.exit(3)


def _fingerprint(args) -> None:
    from ptbench import fingerprint, numerics
    from ptbench.run.process import load_prepared

    load_prepared(args.params)
    if args.check:
        _exit_on_other_platform(Path(args.baseline))
        print(f"platform check: this machine computes the bits of {args.baseline}"
              if Path(args.baseline).exists() else f"platform check: no {args.baseline} to compare with")
        return
    payload = fingerprint.record()
    numerics.warn_problems(payload["platform"])
    print(json.dumps(payload, indent=1, sort_keys=True))


def _example(args) -> None:
    from ptbench.report.example import publish

    for line in publish(Path(args.report), Path(args.out)):
        print(line)


def _repro(args) -> None:
    from ptbench.run.zygote import run_with_zygote

    sys.exit(run_with_zygote(args.dvc_args, Path(args.params)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("methods", help="list the registered methods").set_defaults(func=_methods)
    sub.add_parser("tasks", help="list the registered tasks").set_defaults(func=_tasks)
    sub.add_parser("backbones", help="list the registered backbones").set_defaults(func=_backbones)
    p = sub.add_parser("params", help="trainable and stored parameter counts (no weights needed)")
    p.add_argument("--method", required=True)
    p.add_argument("--backbone", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a method knob")
    p.add_argument("--max-length", type=int, default=256, help="padded input length m (DePT-style methods)")
    p.add_argument("--params", default="params.yaml", help="read methods.<method> from this file if present")
    p.set_defaults(func=_params)
    p = sub.add_parser("validate", help="check params.yaml as a whole")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_validate)
    p = sub.add_parser("profile", help="switch params.yaml to a profile preset (profiles/<name>.yaml)")
    p.add_argument("name")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_profile)
    p = sub.add_parser("pipelines", help="write pipelines/**/dvc.yaml for params.yaml's backbones and methods")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_pipelines)
    p = sub.add_parser("score", help="score predictions made anywhere with the evaluate stage's metrics")
    p.add_argument("--task", required=True)
    p.add_argument("--predictions", required=True, help='JSON lines {"id": i, "prediction": "..."} (i: index in the '
                   "test split), or an evaluate stage's predictions file")
    p.add_argument("--data", help="a prepared task folder (default: data/prepared/<backbone>/<task>)")
    p.add_argument("--backbone", help="whose tokenised test split holds the references")
    p.add_argument("--seed", help="which seed of a predictions file with several (default: the first)")
    p.add_argument("--scoring", choices=["faithful", "corrected"], help="must be the mode the data was prepared in")
    p.set_defaults(func=_score)
    p = sub.add_parser("audit", help="re-run cached cells from their recorded inputs and compare with the cache")
    p.add_argument("--sample", type=int, help="how many cells, drawn at random (default: every cached cell)")
    p.add_argument("--seed", type=int, default=0, help="the draw's seed")
    p.add_argument("--cell", action="append", metavar="BACKBONE/METHOD/TASK", help="these cells (repeatable)")
    p.add_argument("--tolerance", type=float, help="points a number may move (default: 0 on the CPU, 0.5 on a GPU)")
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--baseline", default="results/platform.json", help="the platform fingerprint the cache was made "
                   "under (checked first: another platform computes other bits; exit 3)")
    p.set_defaults(func=_audit)
    p = sub.add_parser("fingerprint", help="this machine's platform fingerprint (the CPU kernels' bits), or --check "
                       "it against the committed one")
    p.add_argument("--check", action="store_true", help="compare with --baseline; exit 3 with one line if it differs")
    p.add_argument("--baseline", default="results/platform.json")
    p.add_argument("--params", default="params.yaml", help="runtime.cpu_numerics and cpu_threads")
    p.set_defaults(func=_fingerprint)
    p = sub.add_parser("plan", help="a profile's stages and runs, their estimated cost here, and what is cached")
    p.add_argument("profile", nargs="?", help="a profile of profiles/ (default: what params.yaml holds)")
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--calibration", default=".ptbench/calibration.json",
                   help="this machine's measured rates: read, completed by a short calibration run, written")
    p.add_argument("--no-cache-check", action="store_true", help="skip `dvc status` (what is already cached)")
    p.add_argument("--plain-dvc", action="store_true", help="for stages run by `dvc repro` (default: `ptbench repro`, "
                   "as make smoke runs them: forked from a warm process)")
    p.add_argument("--device", help="estimate GPU-hours on this GPU class from FLOPs (H100, A100-80GB, ...: "
                   "planning/devices.py) instead of timing this machine")
    p.add_argument("--utilisation", type=float, help="with --device: the fraction of its dense BF16 peak reached "
                   "(default 0.35, printed with the estimate)")
    p.set_defaults(func=_plan)
    p = sub.add_parser("repro", help="dvc repro, its stages forked from one warm process (no per-stage imports)")
    p.add_argument("--params", default="params.yaml")
    p.add_argument("dvc_args", nargs=argparse.REMAINDER, help="passed to dvc repro (targets, -s, -f, ...)")
    p.set_defaults(func=_repro)
    p = sub.add_parser("example", help="copy the smoke's report to docs/example/ (and its screenshot, with a Chromium)")
    p.add_argument("--report", default="results/report/index.html")
    p.add_argument("--out", default="docs/example")
    p.set_defaults(func=_example)
    p = sub.add_parser("sweep", help="the params.yaml sweep as `dvc exp run --queue` commands")
    p.add_argument("--queue", action="store_true", help="queue them (else print only)")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_sweep)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "repro":  # every option it does not know is dvc repro's (-s, -f, --dry, ...)
        args.dvc_args = [*unknown, *args.dvc_args]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        args.func(args)
    except PtbenchError as exc:
        print(f"ptbench: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
