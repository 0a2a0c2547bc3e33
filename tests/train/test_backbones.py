"""Every registered method, a few training steps on tiny random T5 and Llama configs, through
the same loop the pipeline uses (prompts enter through the input embeddings)."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, T5Config, T5ForConditionalGeneration

from ptbench.config import TrainConfig
from ptbench.methods import METHODS, build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES, Batch, freeze, remove_dropout
from ptbench.train.loop import collate, train
from tiny import DigitTokenizer, toy_split

VOCAB, D, MAX_LENGTH = 64, 32, 24
# Paper-sized knobs that do not fit a d = 32, m = 24, 64-token model.
TINY = {"dept": {"length": 4, "rank": 4}, "dpt": {"length": 8, "rank": 4}, "residual": {"bottleneck": 8},
        "ept_msp": {"length": 8, "short_length": 4, "rank": 4}, "superpos": {"num_tokens": 16},
        "spot": {"length": 4}, "attempt": {"length": 4, "sources": ["mnli"]}, "adapter_drop": {"drop_layers": 1},
        "mpt": {"length": 4, "sources": ["mnli"]}}
# A frozen prompt "pre-trained" on a source task, for the transfer methods (others ignore it), and
# MPT's distilled state over that one source.
_g = torch.Generator().manual_seed(1)
SOURCE_PROMPTS = {"mnli": torch.randn(4, D, generator=_g)}
SOURCE_STATES = {"mpt": {"shared": torch.randn(4, D, generator=_g), "cols": torch.ones(1, 4, 1),
                         "rows": torch.ones(1, 1, D), "tasks": ["mnli"]}}


def tiny_model(family: str):
    torch.manual_seed(0)
    if family == "seq2seq":
        return T5ForConditionalGeneration(T5Config(vocab_size=VOCAB, d_model=D, d_ff=64, d_kv=8, num_heads=4,
                                                   num_layers=2, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))
    return LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=D, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=4, pad_token_id=0, bos_token_id=2,
                                        eos_token_id=1))


@pytest.mark.parametrize("family", ["seq2seq", "causal"])
@pytest.mark.parametrize("method_name", sorted(set(METHODS) - {"control"}))  # control trains nothing: test_control.py
def test_every_method_trains_on_both_architecture_families(method_name, family):
    model = tiny_model(family)
    freeze(model)
    remove_dropout(model)
    runner = FAMILIES[family](model, DigitTokenizer())
    ctx = BackboneContext(d_model=D, word_embeddings=model.get_input_embeddings(), max_length=MAX_LENGTH,
                          generator=torch.Generator().manual_seed(0), vocab_sample_size=VOCAB,
                          tokenize=lambda text: [3 + ord(ch) % 10 for ch in text], source_prompts=SOURCE_PROMPTS,
                          source_states=SOURCE_STATES)
    method = build_method(method_name, method_config(method_name, {**TINY.get(method_name, {}), "lr": 0.05}), ctx)
    method.attach(model)
    before = {k: v.clone() for k, v in method.state_dict().items()}
    split = toy_split()
    cfg = TrainConfig(steps=4, batch_size=8, eval_interval=2, eval_batch_size=12, max_new_tokens=3,
                      weight_decay=0.0, warmup_steps=0, max_grad_norm=1.0, log_interval=1,
                      checkpoint_interval=2, decoding="generate")
    result = train(runner, method, get_task("rte"), split, toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    assert result.diverged is None
    assert [h["step"] for h in result.history if "loss" in h] == [1, 2, 3, 4]
    changed = [k for k, v in method.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "no trainable parameter moved"
    # nothing of the backbone trains but what the method owns (adapters' LayerNorm copies, ft's weights)
    own = {id(p) for p in method.parameters()}
    assert all(not p.requires_grad for p in model.parameters() if id(p) not in own)


def test_causal_loss_covers_only_the_target_tokens():
    model = tiny_model("causal")
    runner = FAMILIES["causal"](model, DigitTokenizer())
    batch = collate(toy_split(2), [0, 1], pad_id=0)
    identity = lambda embeds, mask: (embeds, mask)  # noqa: E731 - no method: the bare backbone
    loss = runner.loss(identity, batch)
    # independent computation: per row, unpadded [input; target], next-token loss on the target only
    total, count = 0.0, 0
    for ids, mask, labels in zip(batch.input_ids, batch.attention_mask, batch.labels):
        source, target = ids[mask.bool()], labels[labels != -100]
        sequence = torch.cat([source, target]).unsqueeze(0)
        logits = model(input_ids=sequence).logits[0]
        predicted = logits[len(source) - 1:len(sequence[0]) - 1]
        total += torch.nn.functional.cross_entropy(predicted, target, reduction="sum").item()
        count += len(target)
    assert loss.item() == pytest.approx(total / count, rel=1e-4)


def test_remove_dropout_makes_training_mode_deterministic():
    model = tiny_model("seq2seq")
    model.train()
    batch = Batch(torch.tensor([[3, 4, 5, 1]]), torch.ones(1, 4, dtype=torch.long), torch.tensor([[3, 1]]))
    remove_dropout(model)
    a = model(input_ids=batch.input_ids, labels=batch.labels).loss
    b = model(input_ids=batch.input_ids, labels=batch.labels).loss
    assert torch.equal(a, b)
