"""What the pinned CPU kernels cost (runtime.cpu_numerics: avx2 against native), measured side by side in
one run: the pins must be set before torch is imported, so each mode trains in its own process.

A training step of pt (10 tokens) on the mirror's tiny T5 shapes (the smoke's backbone: d 64, 2 layers,
batch 32 x 40 tokens) and on T5-small shapes (batch 8 x 128), one thread as the smoke's stages; each
process times its own steps after a warm-up (imports excluded), reported as ``step_ms`` in extra_info
(the benchmark's own time includes the process start).
    .venv/bin/python -m pytest benchmarks/test_numerics_cost.py --benchmark-enable --benchmark-only
Figures: benchmarks/README.md ("Pinned CPU kernels").
"""
import json
import subprocess
import sys

import pytest

STEPS = """
import json, sys, time
from ptbench import numerics
numerics.pin(sys.argv[1])
import torch
torch.set_num_threads(1)
from transformers import T5Config, T5ForConditionalGeneration
from ptbench.check.counting import backbone_config
from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.train.backbone import Batch, Seq2SeqBackbone, freeze

shape, steps = sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
if shape == "tiny-t5":
    config, batch, length = T5Config(vocab_size=1024, d_model=64, d_ff=256, d_kv=16, num_heads=4, num_layers=2,
                                     decoder_start_token_id=0, pad_token_id=0, eos_token_id=1), 32, 40
else:
    config, batch, length = backbone_config(shape), 8, 128
model = T5ForConditionalGeneration(config)
freeze(model)
model.eval()
ctx = BackboneContext(d_model=config.d_model, word_embeddings=model.get_input_embeddings(), max_length=length,
                      generator=torch.Generator().manual_seed(0))
method = build_method("pt", method_config("pt", {"length": 10}), ctx)
method.attach(model)
optimizer = torch.optim.AdamW(method.param_groups(0.01))
g = torch.Generator().manual_seed(0)
ids = torch.randint(3, config.vocab_size, (batch, length), generator=g)
data = Batch(ids, torch.ones_like(ids), torch.randint(3, config.vocab_size, (batch, 2), generator=g))
runner = Seq2SeqBackbone(model, None)
def step():
    runner.loss(method, data).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
step()
started = time.perf_counter()
for _ in range(steps):
    step()
print(json.dumps({"step_ms": 1000 * (time.perf_counter() - started) / steps,
                  "kernels": numerics.in_force()}))
"""


@pytest.mark.parametrize("shape, steps", [("tiny-t5", 40), ("t5-small", 5)])
@pytest.mark.parametrize("mode", ["avx2", "native"])
def test_training_step_under_each_numerics(benchmark, mode, shape, steps):
    benchmark.group = f"numerics: pt step, {shape} shapes, 1 thread"
    measured = []

    def run():
        done = subprocess.run([sys.executable, "-c", STEPS, mode, shape, str(steps)], capture_output=True, text=True,
                              check=True)
        measured.append(json.loads(done.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    kernels = measured[-1]["kernels"]
    benchmark.extra_info.update(step_ms=round(sum(m["step_ms"] for m in measured) / len(measured), 2),
                                aten=kernels["aten_capability"], mkl=kernels["mkl_branch"],
                                onednn=kernels["onednn_max_isa"])
