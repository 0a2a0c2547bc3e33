"""4-bit NF4 backbones (seed 001) through the real loader: a tiny T5 and a tiny Llama saved in the
mirror layout, loaded by ``hub.load_model(..., quantize_4bit=True)`` (bitsandbytes runs 4-bit on the
CPU), then trained with a soft prompt by the one training loop."""
import dataclasses

import bitsandbytes as bnb
import pytest
import torch
from tiny import VOCAB, DigitTokenizer, build, tiny_model, toy_split
from transformers import LlamaConfig, LlamaForCausalLM, T5Config, T5ForConditionalGeneration

from ptbench import hub, quantization
from ptbench.backbones import BACKBONES
from ptbench.config import TrainConfig
from ptbench.methods.pt import PromptTuning
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
from ptbench.train.loop import Generate, collate, predict, train

HUB_IDS = {"seq2seq": "test/tiny-t5", "causal": "test/tiny-llama"}
WIDE_IDS = {"seq2seq": "test/tiny-t5-64", "causal": "test/tiny-llama-64"}  # layers as wide as a 64-value block
FAMILY = list(HUB_IDS)
CFG = TrainConfig(steps=12, batch_size=8, eval_interval=4, eval_batch_size=12, max_new_tokens=3, weight_decay=0.0,
                  warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=100, decoding="generate")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """Both tiny backbones saved with ``save_pretrained`` in the mirror layout ``models/<hub id>/``."""
    root = tmp_path_factory.mktemp("mirror")
    for family, hub_id in HUB_IDS.items():
        tiny_model(family).save_pretrained(root / "models" / hub_id)
    torch.manual_seed(0)
    T5ForConditionalGeneration(T5Config(vocab_size=VOCAB, d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=1,
                                        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
                               ).save_pretrained(root / "models" / WIDE_IDS["seq2seq"])
    LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                 num_attention_heads=4, num_key_value_heads=4, pad_token_id=0, bos_token_id=2,
                                 eos_token_id=1)).save_pretrained(root / "models" / WIDE_IDS["causal"])
    return str(root)


def load(mirror, family, quantize_4bit=True, hub_ids=HUB_IDS):
    """As the pipeline loads a backbone: frozen, no dropout, in train mode."""
    model = hub.load_model(hub_ids[family], family, mirror, offline=True, quantize_4bit=quantize_4bit)
    freeze(model)
    remove_dropout(model)
    return model.train()


@pytest.mark.parametrize("family", FAMILY)
def test_linear_layers_load_as_nf4_with_double_quantization(mirror, family):
    model = load(mirror, family)
    layers = quantization.linear4bit_layers(model)
    assert layers and quantization.is_quantized(model)
    for layer in layers.values():
        assert isinstance(layer, bnb.nn.Linear4bit)
        assert layer.weight.quant_type == "nf4" and layer.weight.dtype == torch.uint8
        assert layer.weight.quant_state.nested, "double quantization: the block scales are quantized too"
        assert layer.compute_dtype == torch.float32  # on the CPU; bf16 on a GPU (next test)
    config = model.config.quantization_config
    assert config.load_in_4bit and config.bnb_4bit_use_double_quant and config.bnb_4bit_quant_type == "nf4"


@pytest.mark.parametrize("family", FAMILY)
def test_embeddings_and_output_layer_stay_full_precision(mirror, family):
    """transformers' default for bitsandbytes, as the QLoRA code ran it: only nn.Linear layers are
    quantized, the output layer never, and T5's feed-forward output ``wo`` neither."""
    model = load(mirror, family)
    kept = quantization.full_precision_linears(model)
    assert "lm_head" in kept
    if family == "seq2seq":
        assert set(kept) - {"lm_head"} == {name for name, _ in model.named_modules() if name.endswith(".wo")}
        assert kept != ["lm_head"]
    else:
        assert kept == ["lm_head"]
    assert model.get_input_embeddings().weight.dtype == torch.float32
    assert not isinstance(model.get_input_embeddings(), bnb.nn.Linear4bit)
    full = load(mirror, family, quantize_4bit=False)
    assert quantization.footprint_bytes(model) < quantization.footprint_bytes(full)


def test_the_gpu_path_computes_in_bf16_on_its_own_device():
    """What a CUDA process passes to from_pretrained (built without a GPU: only the arguments)."""
    kwargs = quantization.from_pretrained_kwargs(torch.device("cuda", 1))
    config = kwargs["quantization_config"]
    assert config.bnb_4bit_compute_dtype == torch.bfloat16 and kwargs["dtype"] == torch.bfloat16
    assert config.load_in_4bit and config.bnb_4bit_use_double_quant and config.bnb_4bit_quant_type == "nf4"
    assert kwargs["device_map"] == {"": torch.device("cuda", 1)}
    assert quantization.from_pretrained_kwargs(torch.device("cpu"))["dtype"] == torch.float32


def test_the_registry_entry_decides_4bit():
    assert {name for name, info in BACKBONES.items() if info.quantize_4bit} == {"t5-3b", "t5-11b", "llama-2-7b"}


@pytest.mark.parametrize("family", FAMILY)
def test_gradients_reach_the_prompt_only(mirror, family):
    model = load(mirror, family)
    method = build(model, PromptTuning, section={"length": 4})
    runner = FAMILIES[family](model, DigitTokenizer())
    runner.loss(method, collate(toy_split(6, seed=2), list(range(6)), pad_id=0)).backward()
    assert method.embedding.grad is not None and method.embedding.grad.abs().sum() > 0
    assert [name for name, p in model.named_parameters() if p.requires_grad or p.grad is not None] == []


@pytest.mark.parametrize("family", FAMILY)
def test_a_validation_pass_does_not_cut_the_gradient(mirror, family):
    """bitsandbytes 0.50 repacks a 4-bit weight for its CPU inference kernel (AVX512-BF16 CPUs) on the
    first eval-mode pass without gradients; through that kernel the prompt got no gradient any more
    (and another loss), and layers narrower than 64 failed to repack. The loader keeps the plain path."""
    model = load(mirror, family, hub_ids=WIDE_IDS)
    method = build(model, PromptTuning, section={"length": 4})
    runner = FAMILIES[family](model, DigitTokenizer())
    batch = collate(toy_split(6, seed=2), list(range(6)), pad_id=0)
    before = runner.loss(method, batch)
    predict(runner, method, toy_split(12, seed=1), 12, Generate(3), pad_id=0)  # the decoder validation runs
    after = runner.loss(method, batch)
    assert torch.equal(before, after)
    after.backward()
    assert method.embedding.grad is not None and method.embedding.grad.abs().sum() > 0


@pytest.mark.parametrize("family", FAMILY)
def test_the_loop_trains_a_prompt_on_a_4bit_backbone(mirror, family):
    """Optimizer steps lower the loss, validation (greedy generation) runs in between, and the frozen
    4-bit weights are untouched."""
    model = load(mirror, family)
    weights = {name: layer.weight.detach().clone() for name, layer in quantization.linear4bit_layers(model).items()}
    method = build(model, PromptTuning, section={"length": 4})
    start = method.embedding.detach().clone()
    runner = FAMILIES[family](model, DigitTokenizer())
    result = train(runner, method, get_task("rte"), toy_split(), toy_split(12, seed=1), CFG, seed=0, pad_id=0)
    losses = [entry["loss"] for entry in result.history if "loss" in entry]
    assert len(losses) == CFG.steps and all(map(torch.isfinite, torch.tensor(losses)))
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert [e["step"] for e in result.history if "validation_accuracy" in e] == [4, 8, 12]
    assert not torch.equal(method.embedding.detach(), start)
    for name, layer in quantization.linear4bit_layers(model).items():
        assert torch.equal(layer.weight, weights[name])
    outputs = runner.generate(method, collate(toy_split(5, seed=3), list(range(5)), pad_id=0), max_new_tokens=3)
    assert len(outputs) == 5 and all(isinstance(text, str) for text in outputs)


def test_accumulation_and_bf16_autocast_run_on_a_4bit_backbone(mirror):
    model = load(mirror, "seq2seq")
    method = build(model, PromptTuning, section={"length": 4})
    cfg = dataclasses.replace(CFG, steps=4, gradient_accumulation_steps=2, mixed_precision="bf16")
    result = train(FAMILIES["seq2seq"](model, DigitTokenizer()), method, get_task("rte"), toy_split(),
                   toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    assert result.diverged is None and method.embedding.dtype == torch.float32


@pytest.mark.parametrize("family", FAMILY)
def test_the_estimate_from_the_architecture_matches_a_real_load(mirror, family):
    """``estimated_nf4_bytes`` (what the memory benchmark reports for T5-3B/11B, Llama-2-7B from
    their configs alone) gives the bytes a real 4-bit load holds, and names the layers it keeps."""
    full = load(mirror, family, quantize_4bit=False)
    model = load(mirror, family)
    assert quantization.estimated_nf4_bytes(full, other_bytes=4) == quantization.footprint_bytes(model)
    assert sorted(quantization.planned_full_precision(full)) == quantization.full_precision_linears(model)
