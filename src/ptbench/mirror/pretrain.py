"""A miniature of T5's multi-task pre-training: a tiny T5 trained on every synthetic rule,
each example marked by its task prefix ("rte sentence1: ...", as the original T5 mixture).

Prompt tuning later drops the prefix: the prompt has to recover which rule to apply. The rules of
``mirror.pretrain.unprefixed`` (the pre-training-only twins, synthetic.py) are trained *without* a
prefix: a prefix-less input then means the twin's rule, so each smoke task starts at chance (the
probe without prefix, results/mirror.json) and a prompt has to steer the backbone away from the
twin, rather than being handed whichever rule the backbone happens to guess.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from ptbench.mirror import synthetic
from ptbench.progress import Progress
from ptbench.tasks import all_tasks
from ptbench.tasks.spec import TaskSpec


def pretraining_rules() -> dict[str, tuple[TaskSpec, synthetic.RowGenerator]]:
    """Every rule the mixture can hold: each mirrored task (formatted by its own spec) and the
    pre-training-only rules (formatted by the spec whose format they borrow). The specs are read in
    their corrected mode: the backbone learns each task's skill, as T5's pre-training taught real
    answers, not a reference code's defect (faithful SQuAD's target is the text of the whole answers
    dict, character offsets included, which no prompt could steer a tiny backbone to)."""
    tasks = all_tasks("corrected")
    rules = {spec.name: (spec, synthetic.HUB_GENERATORS[(spec.hub.path, spec.hub.name)])
             for spec in tasks.values() if (spec.hub.path, spec.hub.name) in synthetic.HUB_GENERATORS}
    rules.update({name: (tasks[spec_name], generator)
                  for name, (spec_name, generator) in synthetic.PRETRAIN_ONLY_GENERATORS.items()})
    return rules


@dataclass(frozen=True)
class Example:
    """One pre-training example: ``text`` in its task's format, ``prefix`` its rule's marker
    (None for an unprefixed rule), ``target`` the gold string."""

    prefix: str | None
    text: str
    target: str
    rule: str

    @property
    def input(self) -> str:
        """What the backbone is pre-trained on."""
        return f"{self.prefix} {self.text}" if self.prefix else self.text


def mixture(world: synthetic.World, rows_per_rule: int, seed: int, rules: list[str],
            unprefixed: list[str] = ()) -> list[Example]:
    """Examples of the listed rules, shuffled (``mirror.pretrain.rules``: the backbone only 'knows'
    what it was pre-trained on); the rules of ``unprefixed`` carry no prefix."""
    known = pretraining_rules()
    examples = []
    for name in sorted(rules):
        spec, generator = known[name]
        prefix = None if name in unprefixed else name
        for row in synthetic.generate(generator, world, rows_per_rule, _rule_seed(seed, name)):
            examples.append(Example(prefix, spec.format_input(row), spec.targets(row)[0], name))
    random.Random(seed).shuffle(examples)
    return examples


def chance_accuracy(rule: str) -> float:
    """Exact-match accuracy of a uniform guess among a rule's possible answers: its labels, or for
    the extractive rules the answer-set words every context holds one of."""
    spec, _ = pretraining_rules()[rule]
    choices = len(spec.choices) if spec.choices is not None else len(synthetic.World.build(8).answer_sets)
    return round(100.0 / choices, 2)


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
    sources = tokenizer([e.input for e in train_mix], truncation=True, max_length=128).input_ids
    targets = tokenizer([e.target for e in train_mix], truncation=True, max_length=32).input_ids
    model.train()
    losses = []
    progress = Progress("mirror pre-training", settings["steps"])
    for step in range(1, settings["steps"] + 1):
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
        progress.update(step, loss=losses[-1])
    model.save_pretrained(str(model_dir))
    rules = sorted({e.rule for e in probe_mix})
    return {"pretrain_final_loss": sum(losses[-50:]) / min(50, len(losses)),
            "probe_accuracy_with_prefix": probe(model, tokenizer, probe_mix),
            "probe_accuracy_without_prefix": probe(model, tokenizer, probe_mix, with_prefix=False),
            "probe_chance": {rule: chance_accuracy(rule) for rule in rules}}


@torch.no_grad()
def probe(model, tokenizer, examples: list[Example], with_prefix: bool = True) -> dict[str, float]:
    """Exact-match accuracy per rule, as pre-trained (what the backbone 'knows'; an unprefixed
    rule has no prefix either way) or without any prefix (what a prompt starts from: near chance
    on the tasks whose twin is unprefixed)."""
    model.eval()
    by_rule: dict[str, list[bool]] = {}
    for start in range(0, len(examples), 100):
        chunk = examples[start:start + 100]
        texts = [e.input if with_prefix else e.text for e in chunk]
        out = model.generate(**_encode(tokenizer, texts), max_new_tokens=8, do_sample=False)
        for example, text in zip(chunk, tokenizer.batch_decode(out, skip_special_tokens=True)):
            by_rule.setdefault(example.rule, []).append(text.strip() == example.target)
    return {rule: round(100.0 * sum(hits) / len(hits), 2) for rule, hits in sorted(by_rule.items())}
