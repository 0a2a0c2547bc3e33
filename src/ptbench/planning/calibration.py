"""What this machine costs, measured by a short calibration run and kept for the next plan.

Measured, per machine (``machine_key``: processor, cores, threads, device, torch version):
- the start of a stage process: the imports a training stage and a report stage make (a subprocess each);
- per backbone small enough to run here (``CALIBRATE_MAX_PARAMETERS``), with random weights built from
  its config (no hub, no download): a frozen-backbone training step (forward and the backward through
  every layer to the prompt, as every prompt method pays) at two encoder lengths, a full training step
  (every weight trained: the mirror's pre-training), greedy decoding per example and token;
- the tokenizer's rate per row (a word-level tokenizer trained here, the mirror's kind).
A larger backbone is estimated by its FLOPs at the rate measured on the largest calibrated one
(``ptbench.planning.estimate``). Timings are medians of a few repetitions after a warm-up.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

CALIBRATION_FILE = Path(".ptbench/calibration.json")  # per checkout, not tracked: it describes the machine
CALIBRATE_MAX_PARAMETERS = {"cpu": 80_000_000, "cuda": 1_000_000_000}  # t5-small runs on 2 cores; larger: by FLOPs
CALIBRATION_ROWS = 32  # rows per measured step: the profile's batch up to this (a step's fixed cost shows at fewer)
CALIBRATION_TOKENS = 4096  # and at most this many tokens a step (at least 4 rows): t5-small at m = 512 stays short
REPEATS = 3
PROCESS_IMPORTS = {  # what a stage process imports before any work (``stagekit.run_jobs`` adds the model code)
    "training": "import ptbench.run.experiment, ptbench.config, transformers.models.t5.modeling_t5",
    "report": "import ptbench.config, ptbench.report.rows, ptbench.methods",
    # under `ptbench repro` a stage's own process only hands itself to the warm zygote (ptbench.run.zygote)
    "zygote_client": "import ptbench.run.stagekit, ptbench.run.zygote",
}


def device_name() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def machine_key(threads: int | None) -> str:
    """Calibrations are reused only on the same kind of machine with the same thread count."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = device_name()
    if device == "cuda":
        device = f"cuda {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"{cpu} | {os.cpu_count()} cores | threads {threads or 'all'} | {device} | torch {torch.__version__}"


def _median_seconds(work: Callable[[], Any], repeats: int = REPEATS) -> float:
    work()  # warm-up: allocations, lazy imports, kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process_seconds(kind: str) -> float:
    """A fresh interpreter's imports for a stage of ``kind`` (one sample: a subprocess is costly)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PROCESS_IMPORTS[kind]], check=True, capture_output=True,
                   env={**os.environ, "TRANSFORMERS_VERBOSITY": "error"})
    return time.perf_counter() - start


def tokenize_seconds_per_row(rows: int = 2000) -> float:
    """A word-level tokenizer (the mirror's kind, trained here on synthetic text) over typical inputs."""
    import random
    import tempfile

    from transformers import AutoTokenizer

    from ptbench.mirror.build import train_tokenizer

    rng = random.Random(0)
    words = [f"w{i}" for i in range(500)]
    corpus = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(rows)]
    with tempfile.TemporaryDirectory() as folder:
        train_tokenizer(Path(folder), corpus, min_count=1)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        return _median_seconds(lambda: tokenizer(corpus, truncation=True, max_length=256)) / rows


def random_backbone(name: str, tiny_t5: dict[str, int] | None, device: str):
    """The backbone's architecture with random weights (its bundled config; the mirror's for tiny-t5)."""
    import torch

    from ptbench.backbones import get_backbone
    from ptbench.check.counting import backbone_config
    from ptbench.hub import auto_model_class

    config = backbone_config(name, tiny_t5)
    torch.manual_seed(0)
    return auto_model_class(get_backbone(name).family).from_config(config).to(device), config


def measure_backbone(name: str, tiny_t5: dict[str, int] | None, lengths: tuple[int, int], target_tokens: int,
                     decode_batch: int, device: str, rows: int) -> dict[str, Any]:
    """Seconds per row of a frozen-backbone step at two encoder lengths, of a full step at the longer
    one, and of greedy decoding per example and generated token."""
    import torch

    model, config = random_backbone(name, tiny_t5, device)
    vocab, batch = config.vocab_size, rows
    labels = torch.randint(2, vocab, (batch, target_tokens), device=device)

    def step(length: int, full: bool) -> Callable[[], None]:
        ids = torch.randint(2, vocab, (batch, length), device=device)

        def run() -> None:
            for p in model.parameters():
                p.requires_grad_(full)
                p.grad = None
            embeds = model.get_input_embeddings()(ids).detach().requires_grad_(True)
            model(inputs_embeds=embeds, labels=labels).loss.backward()
            if device == "cuda":
                torch.cuda.synchronize()
        return run

    model.train()
    frozen = [_median_seconds(step(length, False)) / batch for length in lengths]
    full = _median_seconds(step(lengths[1], True)) / batch
    for p in model.parameters():
        p.requires_grad_(False)
        p.grad = None
    model.eval()
    ids = torch.randint(2, vocab, (decode_batch, lengths[1]), device=device)
    new = max(2, target_tokens)

    @torch.no_grad()
    def decode() -> None:
        model.generate(input_ids=ids, max_new_tokens=new, min_new_tokens=new, do_sample=False, num_beams=1)
    per_token = _median_seconds(decode, repeats=1) / (decode_batch * new)
    return {"parameters": sum(p.numel() for p in model.parameters()), "lengths": list(lengths), "rows": rows,
            "frozen_step_seconds_per_row": frozen, "full_step_seconds_per_row": full,
            "target_tokens": target_tokens, "decode_seconds_per_example_token": per_token}


def load(path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def calibrate(backbones: dict[str, dict[str, Any]], threads: int | None, path: Path = CALIBRATION_FILE,
              tiny_t5: dict[str, int] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """This machine's record, measuring only what the stored one lacks. ``backbones``: name -> the
    shapes to measure at ({"lengths": (short, long), "target_tokens": T, "decode_batch": n}); a
    backbone above ``CALIBRATE_MAX_PARAMETERS`` for this device is left to the FLOPs estimate."""
    from ptbench.run.process import pin_cpu_threads

    pin_cpu_threads(threads)
    key = machine_key(threads)
    stored = load(path)
    record = stored.get(key, {"backbones": {}})
    changed = False
    for kind in PROCESS_IMPORTS:
        if f"{kind}_process_seconds" not in record:
            log(f"calibrating: a {kind} stage's imports")
            record[f"{kind}_process_seconds"] = round(process_seconds(kind), 3)
            changed = True
    if "tokenize_seconds_per_row" not in record:
        log("calibrating: tokenizer rate")
        record["tokenize_seconds_per_row"] = tokenize_seconds_per_row()
        changed = True
    device = device_name()
    for name, shape in backbones.items():
        entry = shape_key(name, shape)
        if entry in record["backbones"] or _too_large(name, tiny_t5, device):
            continue
        log(f"calibrating: {name} (random weights, {shape['rows']} rows, lengths {tuple(shape['lengths'])})")
        record["backbones"][entry] = {"backbone": name, **measure_backbone(
            name, tiny_t5, tuple(shape["lengths"]), shape["target_tokens"], shape["decode_batch"], device,
            shape["rows"])}
        changed = True
    if changed:
        record["measured"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**stored, key: record}, indent=1, sort_keys=True))
    return record


def shape_key(name: str, shape: dict[str, Any]) -> str:
    return f"{name} {tuple(shape['lengths'])} T{shape['target_tokens']} n{shape['decode_batch']} b{shape['rows']}"


def _too_large(name: str, tiny_t5: dict[str, int] | None, device: str) -> bool:
    from ptbench.check.counting import backbone_size

    return backbone_size(name, tiny_t5) > CALIBRATE_MAX_PARAMETERS[device]
