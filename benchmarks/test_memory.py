"""Memory of a T5-small-shaped backbone in fp32 against 4-bit NF4 (seed 001 loads its >= 3B backbones so).

Run: pytest benchmarks/test_memory.py --benchmark-enable --benchmark-only
Both load through the pipeline's loader (``hub.load_model``, ``quantize_4bit`` as a registry entry
sets it) from a mirror folder holding a random-initialised T5-small (the bundled t5-small config,
saved with ``save_pretrained`` in fp32). Timed: the load. Recorded in ``extra_info`` (shown with
``--benchmark-verbose`` / saved with ``--benchmark-json``; ``-s`` prints a summary line):
  - bytes held by the model: parameters + buffers (transformers' ``get_memory_footprint``), and
    with the 4-bit block scales and code tables (``quantization.footprint_bytes``);
  - resident memory of a fresh process (Linux: /proc/self/status, peaks reset through
    /proc/self/clear_refs), above the imported libraries: the load's peak (the 4-bit load reads
    the fp32 checkpoint and quantizes it), what the model holds once loaded (every weight read,
    freed heap returned with malloc_trim), split into anonymous memory and file-backed pages (on
    the CPU, float32 tensors that need no conversion stay views of the mmapped checkpoint, so the
    checkpoint stays mapped: clean pages the kernel can drop and re-read), and the peak of one
    ``pt`` training step on top of it (batch 8 x 128 input tokens, 2 target tokens, prompt 10).
A second benchmark times that training step (the CPU has no fused 4-bit kernel for training:
each 4-bit layer is dequantized on every forward and backward).
"""
import json
import os
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from ptbench import hub, quantization
from ptbench.check.counting import backbone_config
from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.run.process import quiet_libraries
from ptbench.train.backbone import Batch, Seq2SeqBackbone, freeze, remove_dropout

torch.set_num_threads(2)
quiet_libraries()

HUB_ID = "google-t5/t5-small"
VARIANTS = {"fp32": False, "nf4": True}
GROUP = "t5-small shapes: fp32 vs 4-bit NF4 (double quant, fp32 compute on the CPU)"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("memory-mirror")
    torch.manual_seed(0)
    AutoModelForSeq2SeqLM.from_config(backbone_config("t5-small")).save_pretrained(root / "models" / HUB_ID)
    return str(root)


def load(mirror: str, quantize_4bit: bool):
    model = hub.load_model(HUB_ID, "seq2seq", mirror, offline=True, quantize_4bit=quantize_4bit)
    freeze(model)
    remove_dropout(model)
    return model.train()


def setup_step(model):
    """``pt`` (10 tokens) on the model, with its optimizer and a batch 8 x 128 -> 2."""
    ctx = BackboneContext(d_model=model.config.d_model, word_embeddings=model.get_input_embeddings(), max_length=128,
                          generator=torch.Generator().manual_seed(0))
    method = build_method("pt", method_config("pt", {}), ctx)
    method.attach(model)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 32000, (8, 128), generator=g)
    batch = Batch(ids, torch.ones_like(ids), torch.randint(3, 32000, (8, 2), generator=g))
    return Seq2SeqBackbone(model, None), method, torch.optim.AdamW(method.param_groups(0.01)), batch


def step(runner, method, optimizer, batch):
    runner.loss(method, batch).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


RSS_SCRIPT = """
import ctypes, gc, json, sys
import torch
torch.set_num_threads(2)
sys.path.insert(0, sys.argv[3])
import test_memory as bench

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}

def reset_peak():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # VmHWM := the current RSS (Linux >= 4.0)

def settle():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap pages back: RSS = what is still held

import bitsandbytes, transformers  # noqa: F401  (the libraries count in the baseline)
settle()
start = status()
base = start["VmRSS"]
reset_peak()
model = bench.load(sys.argv[1], sys.argv[2] == "nf4")
for tensor in [*model.parameters(), *model.buffers()]:
    tensor.sum()  # fp32 weights may still be unread pages of the mmapped checkpoint: read them all
load_peak = status()["VmHWM"] - base
settle()
held = status()
resident = held["VmRSS"] - base
runner, method, optimizer, batch = bench.setup_step(model)
settle()
reset_peak()
bench.step(runner, method, optimizer, batch)
print(json.dumps({"baseline_rss": base, "load_peak_rss": load_peak, "resident_rss": resident,
                  "resident_anonymous": held["RssAnon"] - start["RssAnon"],
                  "resident_file_backed": held["RssFile"] - start["RssFile"],
                  "step_peak_rss": status()["VmHWM"] - base}))
"""


def resident_memory(mirror: str, variant: str) -> dict:
    """RSS figures of a fresh process (this one has other models and the pytest machinery loaded)."""
    if not (os.path.exists("/proc/self/clear_refs") and os.path.exists("/proc/self/status")):
        return {}  # Linux only
    done = subprocess.run([sys.executable, "-c", RSS_SCRIPT, mirror, variant, os.path.dirname(__file__)],
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.1f} MiB"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_backbone_memory(benchmark, mirror, variant):
    benchmark.group = GROUP + ": load"
    model = benchmark.pedantic(load, args=(mirror, VARIANTS[variant]), rounds=3, warmup_rounds=1)
    info = {
        "param_buffer_bytes": model.get_memory_footprint(),
        "footprint_bytes": quantization.footprint_bytes(model),
        "linear4bit_layers": len(quantization.linear4bit_layers(model)),
        "full_precision_linears": len(quantization.full_precision_linears(model)),
        **resident_memory(mirror, variant),
    }
    benchmark.extra_info.update(info)
    print(f"\n{variant}: parameters+buffers {mib(info['param_buffer_bytes'])}, with 4-bit state "
          f"{mib(info['footprint_bytes'])}; {info['linear4bit_layers']} 4-bit / {info['full_precision_linears']} "
          f"full-precision linears; RSS above the libraries: load peak {mib(info.get('load_peak_rss'))}, "
          f"held after load {mib(info.get('resident_rss'))} (anonymous {mib(info.get('resident_anonymous'))}, "
          f"file-backed {mib(info.get('resident_file_backed'))}), training-step peak "
          f"{mib(info.get('step_peak_rss'))}")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_backbone_step_time(benchmark, mirror, variant):
    benchmark.group = GROUP + ": pt step, batch 8 x 128"
    runner, method, optimizer, batch = setup_step(load(mirror, VARIANTS[variant]))
    benchmark.pedantic(step, args=(runner, method, optimizer, batch), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("name", ["t5-small", "t5-base", "t5-large", "t5-3b", "t5-11b", "llama-2-7b"])
def test_estimated_weights_of_registry_backbones(benchmark, name):
    """Weights of the registry's backbones from their bundled configs (``meta`` device, no download):
    fp32, bf16, and NF4 as seed 001 loads them on a GPU (unquantized layers in bf16). Timed: the estimate."""
    from ptbench.check.counting import meta_backbone

    benchmark.group = "estimated backbone weights (no timing interest)"
    model = meta_backbone(name)
    nf4 = benchmark.pedantic(quantization.estimated_nf4_bytes, args=(model, 2), rounds=1)
    n = sum(p.numel() for p in model.parameters())
    kept = quantization.planned_full_precision(model)
    kept_params = sum(m.weight.numel() for k, m in model.named_modules() if k in kept)
    benchmark.extra_info.update(parameters=n, fp32_bytes=4 * n, bf16_bytes=2 * n, nf4_bytes=nf4,
                                full_precision_linears=len(kept), full_precision_linear_parameters=kept_params)
    print(f"\n{name}: {n / 1e9:.2f} B parameters; fp32 {4 * n / 2**30:.2f} GiB, bf16 {2 * n / 2**30:.2f} GiB, "
          f"NF4 {nf4 / 2**30:.2f} GiB ({len(kept)} linears kept in bf16: {kept_params / 1e9:.2f} B parameters)")
