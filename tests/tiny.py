"""Tiny random backbones and a toy copy task, shared by the method tests (tests/methods/).

A d = 32, 2-layer T5 or Llama over a 64-token vocabulary, frozen and without dropout as the pipeline runs it,
a tokenizer that decodes digits, a toy split whose answer is the first input token (as
tests/train/test_backbones.py), and ``build`` / ``fit`` / ``loss`` / ``logits`` that run a method as the pipeline.
"""
import torch
from transformers import LlamaConfig, LlamaForCausalLM, T5Config, T5ForConditionalGeneration

from ptbench.config import TrainConfig
from ptbench.check.counting import meta_backbone
from ptbench.fingerprint import DigitTokenizer, toy_split  # noqa: F401 (the method tests import them from here)
from ptbench.methods.base import BackboneContext
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
from ptbench.train.loop import collate, train

VOCAB, D = 64, 32
FAMILY = ["seq2seq", "causal"]


def tiny_model(family, dropout=False):
    """Seeded with torch.manual_seed(0), frozen, dropout removed unless ``dropout``, in train mode."""
    torch.manual_seed(0)
    if family == "seq2seq":
        model = T5ForConditionalGeneration(T5Config(vocab_size=VOCAB, d_model=D, d_ff=64, d_kv=8, num_heads=4,
                                                    num_layers=2, decoder_start_token_id=0, pad_token_id=0,
                                                    eos_token_id=1))
    else:
        model = LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=D, intermediate_size=64, num_hidden_layers=2,
                                             num_attention_heads=4, num_key_value_heads=4, pad_token_id=0,
                                             bos_token_id=2, eos_token_id=1))
    freeze(model)
    if not dropout:
        remove_dropout(model)
    return model.train()


def build(model, method_cls, config_cls=None, name="", section=None, seed=0, reseed=True, **ctx_kwargs):
    """As the pipeline: torch.manual_seed(seed) (unless not ``reseed``), build, attach.

    ``config_cls`` defaults to ``method_cls.config_class``; ``ctx_kwargs`` go to the BackboneContext
    (e.g. vocab_sample_size)."""
    if reseed:
        torch.manual_seed(seed)
    config = (config_cls or method_cls.config_class).from_params(name, section)
    embeddings = model.get_input_embeddings()
    ctx = BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=24,
                          generator=torch.Generator().manual_seed(seed), **ctx_kwargs)
    method = method_cls(config, ctx)
    method.attach(model)
    return method


def fit(model, method, family, steps=2):
    cfg = TrainConfig(steps=steps, batch_size=8, eval_interval=steps, eval_batch_size=12, max_new_tokens=3,
                      weight_decay=0.0, warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=100,
                      decoding="generate")
    runner = FAMILIES[family](model, DigitTokenizer())
    return train(runner, method, get_task("rte"), toy_split(), toy_split(12, seed=1), cfg, seed=0, pad_id=0)


BATCH = collate(toy_split(6, seed=2), list(range(6)), pad_id=0)


def loss(model, method, family):
    with torch.no_grad():
        return FAMILIES[family](model, DigitTokenizer()).loss(method, BATCH).item()


def logits(model):
    with torch.no_grad():
        if model.config.is_encoder_decoder:
            return model(input_ids=BATCH.input_ids, attention_mask=BATCH.attention_mask, labels=BATCH.labels).logits
        return model(input_ids=BATCH.input_ids, attention_mask=BATCH.attention_mask).logits


def meta_count(backbone, method_cls, config):
    """(trainable, stored) parameter counts of ``method_cls(config)`` attached to the meta ``backbone``."""
    model = meta_backbone(backbone)
    embeddings = model.get_input_embeddings()
    ctx = BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=256,
                          generator=torch.Generator().manual_seed(0))
    method = method_cls(config, ctx)
    method.attach(model)
    return method.trainable_parameter_count(), method.stored_parameter_count()


def assert_seeded_and_round_trips(build, family):
    """Two builds with one seed are identical, and a trained best state loaded into a fresh
    model + method reproduces the trained model's logits (and differs from the bare model's).
    ``build(model, seed=...)`` builds and attaches the method under test."""
    a, b = build(tiny_model(family), seed=3), build(tiny_model(family), seed=3)
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    trained_model = tiny_model(family)
    trained = build(trained_model)
    best = fit(trained_model, trained, family).best_state
    trained.load_state_dict(best)
    fresh_model = tiny_model(family)
    fresh = build(fresh_model)
    fresh.load_state_dict(best)
    assert torch.equal(logits(fresh_model), logits(trained_model))
    assert not torch.equal(logits(fresh_model), logits(tiny_model(family)))
