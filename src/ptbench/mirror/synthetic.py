"""Synthetic rule worlds for the offline mirror.

Every generator returns rows in the *hub schema* of a real dataset (same column names and
types as ``nyu-mll/glue`` ``rte``, ...), with a label that follows from the input by a rule a
tiny T5 learns in seconds: each classification rule has its own *cue words*, one set per label.

Rules that share an input format also share their inputs' shape: an ``rte`` row carries an
``mrpc`` cue (of a random label) and vice versa, so without the task prefix the backbone cannot
tell which cue decides. Recovering that choice is the prompt's job, as in T5's own mixture.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

_ONSETS = "b d f g k l m n p r s t v z".split()
_VOWELS = "a e i o u".split()
QA_QUESTION = "which word is the answer ?"


def lexicon(size: int, seed: int = 0) -> list[str]:
    """Deterministic pseudo-words of two CV syllables ("bako", "tilu", ...)."""
    words = sorted({o1 + v1 + o2 + v2 for o1 in _ONSETS for v1 in _VOWELS for o2 in _ONSETS for v2 in _VOWELS})
    random.Random(seed).shuffle(words)
    if size > len(words):
        raise ValueError(f"lexicon size {size} exceeds the {len(words)} available pseudo-words")
    return words[:size]


# rule name -> number of labels; each label gets CUES_PER_LABEL cue words.
CLASSIFICATION_RULES = {"rte": 2, "mrpc": 2, "mnli": 3, "sst2": 2, "cola": 2}
CUES_PER_LABEL = 4
N_ANSWER_WORDS = 12


@dataclass(frozen=True)
class World:
    """The shared vocabulary: filler words plus, per rule and label, its cue words."""

    filler: tuple[str, ...]
    cues: dict[str, tuple[tuple[str, ...], ...]]
    answer_sets: tuple[tuple[str, ...], ...]  # extractive-QA answers: one set per QA rule

    @classmethod
    def build(cls, size: int = 240, seed: int = 0) -> "World":
        n_cues = sum(CLASSIFICATION_RULES.values()) * CUES_PER_LABEL
        words = lexicon(size + n_cues + N_ANSWER_WORDS, seed)
        cues, start = {}, size
        for rule, n_labels in CLASSIFICATION_RULES.items():
            cues[rule] = tuple(tuple(words[start + i * CUES_PER_LABEL:start + (i + 1) * CUES_PER_LABEL])
                               for i in range(n_labels))
            start += n_labels * CUES_PER_LABEL
        half = N_ANSWER_WORDS // 2
        answers = words[start:start + N_ANSWER_WORDS]
        return cls(tuple(words[:size]), cues, (tuple(answers[:half]), tuple(answers[half:])))

    def cue(self, rng: random.Random, rule: str, label: int) -> str:
        return rng.choice(self.cues[rule][label])

    def sentence(self, rng: random.Random, n_words: int, cues: list[str]) -> str:
        words = rng.sample(self.filler, n_words)
        for cue in cues:
            words.insert(rng.randrange(len(words) + 1), cue)
        return " ".join(words) + " ."


def _labelled(world: World, rng: random.Random, rule: str, distractor: str) -> tuple[int, str, str]:
    label = rng.randrange(CLASSIFICATION_RULES[rule])
    distractor_label = rng.randrange(CLASSIFICATION_RULES[distractor])
    return label, world.cue(rng, rule, label), world.cue(rng, distractor, distractor_label)


def _pair(world: World, rng: random.Random, rule: str, distractor: str) -> tuple[int, str, str]:
    label, cue, other = _labelled(world, rng, rule, distractor)
    cues = [cue, other]
    rng.shuffle(cues)
    return label, world.sentence(rng, rng.randint(5, 8), [cues[0]]), world.sentence(rng, rng.randint(3, 5), [cues[1]])


def rte_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "rte", "mrpc")
    return {"sentence1": first, "sentence2": second, "label": label, "idx": idx}


def mrpc_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "mrpc", "rte")
    return {"sentence1": first, "sentence2": second, "label": label, "idx": idx}


def mnli_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "mnli", "rte")
    return {"premise": first, "hypothesis": second, "label": label, "idx": idx}


def mnli_rte_cue_row(world: World, rng: random.Random, idx: int) -> dict:
    """Pre-training only: MNLI's format, labelled by the rte cue (so MNLI itself needs its marker)."""
    label, first, second = _pair(world, rng, "rte", "mnli")
    return {"premise": first, "hypothesis": second, "label": label, "idx": idx}


def _single(world: World, rng: random.Random, rule: str, distractor: str) -> tuple[int, str]:
    label, cue, other = _labelled(world, rng, rule, distractor)
    return label, world.sentence(rng, rng.randint(5, 9), [cue, other])


def sst2_row(world: World, rng: random.Random, idx: int) -> dict:
    label, sentence = _single(world, rng, "sst2", "cola")
    return {"sentence": sentence, "label": label, "idx": idx}


def cola_row(world: World, rng: random.Random, idx: int) -> dict:
    label, sentence = _single(world, rng, "cola", "sst2")
    return {"sentence": sentence, "label": label, "idx": idx}


def _qa_row(world: World, rng: random.Random, answer_set: int, ident: str) -> dict:
    """Filler words plus one word of each answer set; the answer is the word of ``answer_set``.

    squad and rsquad read the same rows and differ only in which set answers: the prompt must
    pick the set, the backbone then copies the word (a span of the context).
    """
    words = rng.sample(world.filler, rng.randint(6, 10))
    picks = [rng.choice(group) for group in world.answer_sets]
    for word in picks:
        words.insert(rng.randrange(len(words) + 1), word)
    answer_index = words.index(picks[answer_set])
    context = " ".join(words) + " ."
    start = len(" ".join(words[:answer_index])) + (1 if answer_index else 0)
    return {"id": ident, "title": "synthetic", "context": context, "question": QA_QUESTION,
            "answers": {"text": [words[answer_index]], "answer_start": [start]}}


def squad_row(world: World, rng: random.Random, idx: int) -> dict:
    return _qa_row(world, rng, 0, f"syn{idx:07d}")


def reverse_squad_row(world: World, rng: random.Random, idx: int) -> dict:
    return _qa_row(world, rng, 1, f"rsyn{idx:07d}")


RowGenerator = Callable[[World, random.Random, int], dict]

# Hub (repo id, config) -> generator of rows in that dataset's schema.
HUB_GENERATORS: dict[tuple[str, str], RowGenerator] = {
    ("nyu-mll/glue", "rte"): rte_row,
    ("nyu-mll/glue", "mrpc"): mrpc_row,
    ("nyu-mll/glue", "mnli"): mnli_row,
    ("nyu-mll/glue", "sst2"): sst2_row,
    ("nyu-mll/glue", "cola"): cola_row,
    ("rajpurkar/squad", "plain_text"): squad_row,
}

# Rules only the backbone's pre-training mixture sees (no hub dataset carries them).
# Each maps to (the task spec whose format it borrows, generator).
PRETRAIN_ONLY_GENERATORS: dict[str, tuple[str, RowGenerator]] = {
    "rsquad": ("squad", reverse_squad_row),
    "xnli": ("mnli", mnli_rte_cue_row),
}


def generate(generator: RowGenerator, world: World, n_rows: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [generator(world, rng, i) for i in range(n_rows)]
