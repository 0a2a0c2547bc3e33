"""Training-step time of every method against `pt`, and of `pt` / `p_tuning` against HF PEFT.

Run: make benchmark   (pytest benchmarks --benchmark-enable --benchmark-only)
Shapes: T5-small config (random weights), batch 8, input 128 tokens, target 2 tokens; the
t5-base / seq-256 comparison of seed 001 (ept_msp s=60 vs pt l=100) is `test_seed001_*`.
Every benchmark builds its own backbone: a method that trains or changes the backbone's weights (ft,
lora, bitfit, ...) cannot leave them trainable for the next one, which would then time a backward pass
through the whole model. The transfer methods (spot, attempt, mpt) start from random source prompts of
their configured shape (what the transfer_source stage would give them; the cost is the same).
"""
import dataclasses

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from ptbench.check.counting import backbone_config
from ptbench.methods import METHODS, build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.methods.mpt import DISTILLED, DistillationStudent, MptConfig
from ptbench.train.backbone import Batch, Seq2SeqBackbone, freeze

torch.set_num_threads(2)


def backbone(name: str):
    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(backbone_config(name))
    freeze(model)
    model.eval()  # dropout off: timing, not accuracy
    return model


def batch(batch_size: int, length: int, vocab: int = 32000) -> Batch:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (batch_size, length), generator=g)
    return Batch(ids, torch.ones_like(ids), torch.randint(3, vocab, (batch_size, 2), generator=g))


# No tokenizer here: DePT's default tiled-text init becomes sampled vocabulary (same shapes, same cost).
NO_TEXT_INIT = {"dept": {"init": "vocab"}}


def method_on(model, name: str, overrides: dict, max_length: int):
    overrides = {**NO_TEXT_INIT.get(name, {}), **overrides}
    config = method_config(name, overrides)
    ctx = BackboneContext(d_model=model.config.d_model, word_embeddings=model.get_input_embeddings(),
                          max_length=max_length, generator=torch.Generator().manual_seed(0))
    ctx = dataclasses.replace(ctx, **transfer_sources(config, ctx))
    method = build_method(name, config, ctx)
    method.attach(model)
    return method


def transfer_sources(config, ctx: BackboneContext) -> dict:
    """Source prompts for a method whose config names ``sources`` (one per source task, (length, d)), and
    MPT's distilled state from them, as the transfer_source stage hands them over."""
    sources = getattr(config, "sources", None)
    if not sources:
        return {}
    g = torch.Generator().manual_seed(1)
    prompts = {task: 0.5 * torch.randn(config.length, ctx.d_model, generator=g) for task in sources}
    if not isinstance(config, MptConfig):
        return {"source_prompts": prompts}
    student = DistillationStudent(config, ctx, [prompts[task] for task in sources])
    return {"source_prompts": prompts, "source_states": {DISTILLED: student.distilled_state()}}


def step(runner, method, data, optimizer):
    loss = runner.loss(method, data)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@pytest.fixture
def t5_small():
    """A fresh backbone per benchmark (~1 s to build, outside the timed rounds)."""
    return backbone("t5-small")


def injected_tokens(method) -> int:
    prompt = method.prompt()
    return 0 if prompt is None else prompt.shape[0]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_step_time(benchmark, t5_small, name):
    """Each method at its defaults; its `pt` twin (same injected tokens) is test_pt_twin_step_time."""
    benchmark.group = "method step, t5-small shapes, batch 8 x 128"
    method = method_on(t5_small, name, {}, max_length=128)
    if not any(p.requires_grad for p in method.parameters()):
        pytest.skip(f"{name} trains nothing (a control): no training step to time")
    optimizer = torch.optim.AdamW(method.param_groups(0.01))
    runner, data = Seq2SeqBackbone(t5_small, None), batch(8, 128)
    benchmark.extra_info["injected_tokens"] = injected_tokens(method)
    benchmark.pedantic(step, args=(runner, method, data, optimizer), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("tokens", [1, 10, 60, 100])
def test_pt_twin_step_time(benchmark, t5_small, tokens):
    """Vanilla prompt tuning with as many injected tokens as a method: the overhead baseline."""
    benchmark.group = "method step, t5-small shapes, batch 8 x 128"
    method = method_on(t5_small, "pt", {"length": tokens}, max_length=128)
    optimizer = torch.optim.AdamW(method.param_groups(0.01))
    runner, data = Seq2SeqBackbone(t5_small, None), batch(8, 128)
    benchmark.extra_info["injected_tokens"] = tokens
    benchmark.pedantic(step, args=(runner, method, data, optimizer), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("peft_config", ["PromptTuningConfig", "PromptEncoderConfig"])
def test_peft_step_time(benchmark, peft_config):
    """HF PEFT's prompt tuning / P-tuning (10 tokens) on the same backbone, batch and length:
    the library a user would otherwise pick (compare with `pt` and `p_tuning` above)."""
    import peft

    benchmark.group = "method step, t5-small shapes, batch 8 x 128"
    config = getattr(peft, peft_config)(task_type="SEQ_2_SEQ_LM", num_virtual_tokens=10)
    model = peft.get_peft_model(backbone("t5-small"), config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    data = batch(8, 128)

    def peft_step():
        loss = model(input_ids=data.input_ids, attention_mask=data.attention_mask, labels=data.labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    benchmark.pedantic(peft_step, rounds=5, warmup_rounds=1)


@pytest.fixture
def t5_base():
    return backbone("t5-base")


@pytest.mark.parametrize("name, overrides", [("pt", {"length": 100}), ("ept_msp", {}), ("dept", {})])
def test_seed001_training_time(benchmark, t5_base, name, overrides):
    """Seed 001 claims EPT (s = 60) trains 14% faster than PT with l = 100 (t5-base, length 256)."""
    if name not in METHODS:
        pytest.skip(f"{name} is not registered")
    benchmark.group = "seed 001: t5-base shapes, batch 4 x 256"
    method = method_on(t5_base, name, overrides, max_length=256)
    optimizer = torch.optim.AdamW(method.param_groups(0.01))
    runner, data = Seq2SeqBackbone(t5_base, None), batch(4, 256)
    benchmark.pedantic(step, args=(runner, method, data, optimizer), rounds=3, warmup_rounds=1)
