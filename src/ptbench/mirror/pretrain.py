"""A miniature of T5's multi-task pre-training: a tiny T5 trained on every synthetic rule,
each example marked by its task prefix ("rte sentence1: ...", as the original T5 mixture).

Prompt tuning later drops the prefix: the prompt has to recover which rule to apply.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

import torch

from ptbench.mirror import synthetic
from ptbench.tasks import all_tasks
from ptbench.tasks.spec import TaskSpec


def pretraining_rules() -> dict[str, tuple[TaskSpec, synthetic.RowGenerator]]:
    """Every rule the mixture can hold: each mirrored task (formatted by its own spec) and the
    pre-training-only rules (formatted by the spec whose format they borrow)."""
    tasks = all_tasks("faithful")
    rules = {spec.name: (spec, synthetic.HUB_GENERATORS[(spec.hub.path, spec.hub.name)])
             for spec in tasks.values() if (spec.hub.path, spec.hub.name) in synthetic.HUB_GENERATORS}
    rules.update({name: (tasks[spec_name], generator)
                  for name, (spec_name, generator) in synthetic.PRETRAIN_ONLY_GENERATORS.items()})
    return rules


def mixture(world: synthetic.World, rows_per_rule: int, seed: int, rules: list[str]) -> list[tuple[str, str, str]]:
    """(prefixed input, target, rule) triples, shuffled, from the listed rules
    (``mirror.pretrain.rules``: the backbone only 'knows' what it was pre-trained on)."""
    known = pretraining_rules()
    examples = []
    for name in sorted(rules):
        spec, generator = known[name]
        for row in synthetic.generate(generator, world, rows_per_rule, _rule_seed(seed, name)):
            examples.append((spec.format_input(row, prefix=name), spec.targets(row)[0], name))
    random.Random(seed).shuffle(examples)
    return examples


def _rule_seed(seed: int, name: str) -> int:
    """A rule's rows depend on its name, not on which other rules are listed."""
    return seed * 7919 + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def _encode(tokenizer, texts: list[str], max_length: int = 128) -> dict[str, torch.Tensor]:
    return tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def _pad(sequences: list[list[int]], value: int) -> torch.Tensor:
    return torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in sequences], batch_first=True, padding_value=value)


def pretrain_backbone(model_dir: Path, cfg, train_mix, probe_mix) -> dict:
    """Full training of a config-initialised tiny T5; saves it with save_pretrained."""
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    torch.manual_seed(cfg.seed)
    config = T5Config(vocab_size=len(tokenizer), decoder_start_token_id=tokenizer.pad_token_id,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                      feed_forward_proj="relu", tie_word_embeddings=True, **cfg.backbone)
    model = T5ForConditionalGeneration(config)
    settings = cfg.pretrain
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / settings["steps"]))
    generator = torch.Generator().manual_seed(cfg.seed)
    sources = tokenizer([x for x, _, _ in train_mix], truncation=True, max_length=128).input_ids
    targets = tokenizer([y for _, y, _ in train_mix], truncation=True, max_length=32).input_ids
    model.train()
    losses = []
    for _ in range(settings["steps"]):
        picks = torch.randint(len(train_mix), (settings["batch_size"],), generator=generator).tolist()
        input_ids = _pad([sources[i] for i in picks], tokenizer.pad_token_id)
        labels = _pad([targets[i] for i in picks], -100)
        loss = model(input_ids=input_ids, attention_mask=(input_ids != tokenizer.pad_token_id).long(), labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    model.save_pretrained(str(model_dir))
    return {"pretrain_final_loss": sum(losses[-50:]) / min(50, len(losses)),
            "probe_accuracy_with_prefix": probe(model, tokenizer, probe_mix),
            "probe_accuracy_without_prefix": probe(model, tokenizer, probe_mix, with_prefix=False)}


@torch.no_grad()
def probe(model, tokenizer, examples, with_prefix: bool = True) -> dict[str, float]:
    """Exact-match accuracy per rule, with the task prefix (what the backbone 'knows') or
    without it (what a prompt has to recover: near chance where rules share a format)."""
    model.eval()
    by_rule: dict[str, list[bool]] = {}
    for start in range(0, len(examples), 100):
        chunk = examples[start:start + 100]
        texts = [x if with_prefix else x.split(" ", 1)[1] for x, _, _ in chunk]
        out = model.generate(**_encode(tokenizer, texts), max_new_tokens=8, do_sample=False)
        for (_, target, rule), text in zip(chunk, tokenizer.batch_decode(out, skip_special_tokens=True)):
            by_rule.setdefault(rule, []).append(text.strip() == target)
    return {rule: round(100.0 * sum(hits) / len(hits), 2) for rule, hits in sorted(by_rule.items())}
