"""Synthetic rule worlds for the offline mirror.

Every generator returns rows in the *hub schema* of a real dataset (same column names and
types as ``nyu-mll/glue`` ``rte``, ...), with a label that follows from the input by a rule a
tiny T5 learns in seconds: each classification rule has its own *cue words*, one set per label.

Rules that share an input format also share their inputs' shape: an ``rte`` row carries an
``mrpc`` cue (of a random label) and vice versa, so without the task prefix the backbone cannot
tell which cue decides. Recovering that choice is the prompt's job, as in T5's own mixture.

Distractor pairing (a row of the rule on the left carries one cue, of a random label, of the
rule on the right): rte<->mrpc, mnli->rte, sst2<->cola (the original five), qqp<->qnli,
boolq<->multirc, wic<->wsc, copa<->winogrande (mutual pairs of new rules), and cb->mnli
(premise/hypothesis), stsb->mrpc and paws->rte (sentence1/sentence2 paraphrase-like), scitail->rte
(sentence1/sentence2 entailment), yelp->sst2 (one text, sentiment). The original five rules'
rows are pinned byte for byte, so they do not carry cues of the new rules; the one-way pairs
still make each new rule ambiguous without its prefix.

Extractive QA: squad, the MRQA sets and record pick "the word of one answer set". Every squad
and MRQA context carries one word of each of the two ``answer_sets``; squad,
naturalquestionsshortqa and newsqa answer with set 0, rsquad (pre-training only), hotpotqa and
searchqa with set 1. ReCoRD answers with its own set, ``record_answers``, and carries one word
of each squad set as distractor entities.
"""
from __future__ import annotations

import random
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"]
_VOWELS = ["a", "e", "i", "o", "u"]
QA_QUESTION = "which word is the answer ?"


def lexicon(size: int, seed: int = 0) -> list[str]:
    """Deterministic pseudo-words of two CV syllables ("bako", "tilu", ...)."""
    words = sorted({o1 + v1 + o2 + v2 for o1 in _ONSETS for v1 in _VOWELS for o2 in _ONSETS for v2 in _VOWELS})
    random.Random(seed).shuffle(words)
    if size > len(words):
        raise ValueError(f"lexicon size {size} exceeds the {len(words)} available pseudo-words")
    return words[:size]


# rule name -> number of labels; each label gets CUES_PER_LABEL cue words. Append new rules
# at the END only: words are allocated in this order (see World.build).
CLASSIFICATION_RULES = {
    "rte": 2, "mrpc": 2, "mnli": 3, "sst2": 2, "cola": 2,
    # allocated after the answer words (N_ORIGINAL_RULES):
    "qqp": 2, "qnli": 2, "stsb": 6, "boolq": 2, "cb": 3, "wic": 2, "wsc": 2, "multirc": 2,
    "copa": 2, "winogrande": 2, "yelp": 2, "scitail": 2, "paws": 2,
}
N_ORIGINAL_RULES = 5  # the first rules, whose cues sit between the filler and the answer words
CUES_PER_LABEL = 4
N_ANSWER_WORDS = 12
N_RECORD_WORDS = 6


@dataclass(frozen=True)
class World:
    """The shared vocabulary: filler words plus, per rule and label, its cue words."""

    filler: tuple[str, ...]
    cues: dict[str, tuple[tuple[str, ...], ...]]
    answer_sets: tuple[tuple[str, ...], ...]  # extractive-QA answers: squad's set and rsquad's
    record_answers: tuple[str, ...] = ()  # ReCoRD's answer entities

    @classmethod
    def build(cls, size: int = 240, seed: int = 0) -> World:
        """Words in this order: filler, the original rules' cues, the answer words, the later
        rules' cues (in CLASSIFICATION_RULES order), the record answers.

        ``lexicon(n)`` is a prefix of one shuffled list, so appending rules (or words at the end)
        changes no earlier word: the original worlds stay word for word the same.
        """
        n_cues = sum(CLASSIFICATION_RULES.values()) * CUES_PER_LABEL
        words = lexicon(size + n_cues + N_ANSWER_WORDS + N_RECORD_WORDS, seed)
        rules = list(CLASSIFICATION_RULES.items())
        cues, start = {}, size
        for rule, n_labels in rules[:N_ORIGINAL_RULES]:
            cues[rule], start = cls._take_cues(words, start, n_labels)
        half = N_ANSWER_WORDS // 2
        answers = words[start:start + N_ANSWER_WORDS]
        start += N_ANSWER_WORDS
        for rule, n_labels in rules[N_ORIGINAL_RULES:]:
            cues[rule], start = cls._take_cues(words, start, n_labels)
        record = tuple(words[start:start + N_RECORD_WORDS])
        return cls(tuple(words[:size]), cues, (tuple(answers[:half]), tuple(answers[half:])), record)

    @staticmethod
    def _take_cues(words: list[str], start: int, n_labels: int) -> tuple[tuple[tuple[str, ...], ...], int]:
        cues = tuple(tuple(words[start + i * CUES_PER_LABEL:start + (i + 1) * CUES_PER_LABEL]) for i in range(n_labels))
        return cues, start + n_labels * CUES_PER_LABEL

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
    return (label, *_two_sentences(world, rng, cue, other))


def _two_sentences(world: World, rng: random.Random, cue: str, other: str) -> tuple[str, str]:
    """A longer and a shorter sentence; the two cues go one to each, in random order."""
    cues = [cue, other]
    rng.shuffle(cues)
    return world.sentence(rng, rng.randint(5, 8), [cues[0]]), world.sentence(rng, rng.randint(3, 5), [cues[1]])


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


# --- helpers of the later rules ---------------------------------------------------------------

def _ask(sentence: str) -> str:
    """'w1 w2 .' -> 'w1 w2 ?'"""
    return sentence[:-1] + "?"


def _bare(sentence: str) -> str:
    """'w1 w2 .' -> 'w1 w2' (a phrase without the full stop)."""
    return sentence[:-2]


def _start_of(words: list[str], index: int) -> int:
    """Character offset of ``words[index]`` in ``" ".join(words)``."""
    return len(" ".join(words[:index])) + (1 if index else 0)


def _occurrences(text: str, phrase: str) -> list[int]:
    """Start offsets of ``phrase`` as whole whitespace-separated words of ``text`` (case-sensitive)."""
    return [m.start() for m in re.finditer(r"(?<!\S)" + re.escape(phrase) + r"(?!\S)", text)]


# --- GLUE -------------------------------------------------------------------------------------

def qqp_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "qqp", "qnli")
    return {"question1": _ask(first), "question2": _ask(second), "label": label, "idx": idx}


def qnli_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "qnli", "qqp")
    return {"question": _ask(second), "sentence": first, "label": label, "idx": idx}


# STS-B: the i-th cue word of a level adds STSB_OFFSETS[i] (so the score follows from the input).
STSB_OFFSETS = (0.0, 0.2, 0.4, 0.68)


def stsb_label(level: int, cue_index: int) -> float:
    return round(min(5.0, level + STSB_OFFSETS[cue_index]), 2)


def stsb_row(world: World, rng: random.Random, idx: int) -> dict:
    """Similarity in [0, 5]: the stsb cue names a level 0..5 (one label set of cue words per
    level) and, by which of its CUES_PER_LABEL words it is, an offset (0, 0.2, 0.4 or 0.68),
    capped at 5.0 and rounded to 2 decimals. Offsets 0/0.2/0.4 stay on the 0.2 grid; 0.68 does
    not (e.g. 2.68): T5's faithful target (np.round(x, 1) -> "2.7") and the corrected one
    (round(x * 5) / 5 -> "2.6") differ on those rows, about a fifth of them (level 5 caps to 5.0).
    Neither 0.68 * 5 nor 0.68 * 10 is a rounding tie, so both formats are unambiguous.
    """
    level = rng.randrange(CLASSIFICATION_RULES["stsb"])
    cue_index = rng.randrange(CUES_PER_LABEL)
    cue = world.cues["stsb"][level][cue_index]
    other = world.cue(rng, "mrpc", rng.randrange(CLASSIFICATION_RULES["mrpc"]))
    first, second = _two_sentences(world, rng, cue, other)
    return {"sentence1": first, "sentence2": second, "label": stsb_label(level, cue_index), "idx": idx}


# --- SuperGLUE --------------------------------------------------------------------------------

def _boolq_shaped(world: World, rng: random.Random, idx: int, rule: str, distractor: str) -> dict:
    label, cue, other = _labelled(world, rng, rule, distractor)
    cues = [cue, other]
    rng.shuffle(cues)
    question = _bare(world.sentence(rng, rng.randint(3, 5), [cues[0]]))  # BoolQ questions: no "?"
    passage = world.sentence(rng, rng.randint(8, 12), [cues[1]])
    return {"question": question, "passage": passage, "idx": idx, "label": label}


def boolq_row(world: World, rng: random.Random, idx: int) -> dict:
    return _boolq_shaped(world, rng, idx, "boolq", "multirc")


def boolq_twin_row(world: World, rng: random.Random, idx: int) -> dict:
    """Pre-training only: BoolQ's format, labelled by the multirc cue (boolq's distractor)."""
    return _boolq_shaped(world, rng, idx, "multirc", "boolq")


def cb_row(world: World, rng: random.Random, idx: int) -> dict:
    """CB's label ids are [entailment, contradiction, neutral]; cue set i marks label id i."""
    label, first, second = _pair(world, rng, "cb", "mnli")
    return {"premise": first, "hypothesis": second, "idx": idx, "label": label}


def _with_word(world: World, rng: random.Random, word: str, n_words: int, cue: str) -> tuple[str, int]:
    """A sentence holding ``word`` exactly once (plus ``cue``); returns it and the word's offset."""
    words = rng.sample([w for w in world.filler if w != word], n_words)
    words.insert(rng.randrange(len(words) + 1), cue)
    at = rng.randrange(len(words) + 1)
    words.insert(at, word)
    return " ".join(words) + " .", _start_of(words, at)


def wic_row(world: World, rng: random.Random, idx: int) -> dict:
    """The same filler word in both sentences; start/end are its character offsets (end exclusive)."""
    label, cue, other = _labelled(world, rng, "wic", "wsc")
    cues = [cue, other]
    rng.shuffle(cues)
    word = rng.choice(world.filler)
    first, start1 = _with_word(world, rng, word, rng.randint(4, 7), cues[0])
    second, start2 = _with_word(world, rng, word, rng.randint(4, 7), cues[1])
    return {"word": word, "sentence1": first, "sentence2": second, "start1": start1, "start2": start2,
            "end1": start1 + len(word), "end2": start2 + len(word), "idx": idx, "label": label}


PRONOUNS = ("he", "she", "it", "they")


def wsc_row(world: World, rng: random.Random, idx: int) -> dict:
    """span1 is a filler word, span2 a pronoun after it; indices are into ``text.split(" ")``."""
    label, cue, other = _labelled(world, rng, "wsc", "wic")
    fillers = rng.sample(world.filler, rng.randint(6, 10))
    words = list(fillers)
    for word in (cue, other):
        words.insert(rng.randrange(len(words) + 1), word)
    noun = rng.choice(fillers)
    pronoun = rng.choice(PRONOUNS)
    words.insert(rng.randint(words.index(noun) + 1, len(words)), pronoun)
    return {"text": " ".join(words) + " .", "span1_index": words.index(noun), "span2_index": words.index(pronoun),
            "span1_text": noun, "span2_text": pronoun, "idx": idx, "label": label}


# MultiRC rows come in groups: a paragraph has 1-2 questions, a question 2-4 answers (one row
# each). The group layout is a fixed function of the row index (the same for every split and
# seed); the texts come from the caller's rng, so one split's rows stay a function of its seed.
_MULTIRC_LAYOUT: list[tuple[int, int, int]] = []  # row idx -> (paragraph, question, answer)
_MULTIRC_TEXTS: weakref.WeakKeyDictionary[random.Random, tuple[int, str, int, str]] = weakref.WeakKeyDictionary()


def multirc_position(idx: int) -> tuple[int, int, int]:
    """(paragraph, question, answer) numbers of row ``idx``: paragraphs and questions numbered
    globally from 0 and increasing, answers from 0 within their question."""
    while len(_MULTIRC_LAYOUT) <= idx:
        paragraph, question = (_MULTIRC_LAYOUT[-1][0] + 1, _MULTIRC_LAYOUT[-1][1] + 1) if _MULTIRC_LAYOUT else (0, 0)
        shape = random.Random(paragraph * 7919 + 17)
        for q in range(shape.randint(1, 2)):
            _MULTIRC_LAYOUT.extend((paragraph, question + q, a) for a in range(shape.randint(2, 4)))
    return _MULTIRC_LAYOUT[idx]


def _multirc_paragraph(world: World, rng: random.Random) -> str:
    """Numbered sentences in the hub's markup: '<b>Sent 1: </b>...<br><b>Sent 2: </b>...<br>'."""
    return "".join(f"<b>Sent {i + 1}: </b>{world.sentence(rng, rng.randint(4, 7), [])}<br>"
                   for i in range(rng.randint(2, 4)))


def multirc_row(world: World, rng: random.Random, idx: int) -> dict:
    """One candidate answer; the multirc cue in the answer says whether it is correct.

    Called in idx order with one rng (as ``generate`` does), rows of a group share their
    paragraph and question text: they are kept per rng until the group changes.
    """
    paragraph_no, question_no, answer_no = multirc_position(idx)
    state = _MULTIRC_TEXTS.get(rng)
    if state is None or state[0] != paragraph_no:
        state = (paragraph_no, _multirc_paragraph(world, rng), -1, "")
    if state[2] != question_no:
        state = (paragraph_no, state[1], question_no, _ask(world.sentence(rng, rng.randint(3, 5), [])))
    _MULTIRC_TEXTS[rng] = state
    label, cue, other = _labelled(world, rng, "multirc", "boolq")
    answer = _bare(world.sentence(rng, rng.randint(2, 4), [cue, other]))
    return {"paragraph": state[1], "question": state[3], "answer": answer,
            "idx": {"paragraph": paragraph_no, "question": question_no, "answer": answer_no}, "label": label}


def copa_row(world: World, rng: random.Random, idx: int) -> dict:
    """The copa cue in the premise says which choice (label 0 = choice1, 1 = choice2)."""
    label, cue, other = _labelled(world, rng, "copa", "winogrande")
    premise = world.sentence(rng, rng.randint(4, 7), [cue, other])
    choice1 = world.sentence(rng, rng.randint(3, 5), [])
    choice2 = world.sentence(rng, rng.randint(3, 5), [])
    return {"premise": premise, "choice1": choice1, "choice2": choice2,
            "question": rng.choice(("cause", "effect")), "idx": idx, "label": label}


def _assemble(lines: list[list]) -> tuple[str, list[tuple[str, int, int]]]:
    """Join tokens by spaces and lines by newlines; tuple tokens ``(text,)`` are entity mentions,
    returned as (text, start, end) with ``end`` exclusive."""
    parts, spans, position = [], [], 0
    for line_no, line in enumerate(lines):
        for token_no, token in enumerate(line):
            if token_no or line_no:
                sep = " " if token_no else "\n"
                parts.append(sep)
                position += 1
            text = token[0] if isinstance(token, tuple) else token
            if isinstance(token, tuple):
                spans.append((text, position, position + len(text)))
            parts.append(text)
            position += len(text)
    return "".join(parts), spans


def _insert_all(rng: random.Random, words: list, extra: list) -> list:
    for item in extra:
        words.insert(rng.randrange(len(words) + 1), item)
    return words


def record_row(world: World, rng: random.Random, idx: int) -> dict:
    """A passage with '@highlight' lines; the answer is the entity of ``world.record_answers``.

    Entities: that word, one word of each squad answer set and one filler word. In a third of
    the rows the answer is also mentioned with a surname ("bako zefe"): both forms are entities
    and answers. As on the hub, ``entities`` and ``answers`` are sorted unique texts (the bare
    word sorts first), ``entity_spans`` lists every mention by start with exclusive ends.
    """
    answer = rng.choice(world.record_answers)
    others = [rng.choice(group) for group in world.answer_sets]
    extra, surname = rng.sample(world.filler, 2)
    pool = [w for w in world.filler if w not in (extra, surname)]
    full = f"{answer} {surname}" if rng.random() < 1 / 3 else None
    body = _insert_all(rng, rng.sample(pool, rng.randint(8, 12)), [(full or answer,), *[(w,) for w in others], (extra,)])
    mentions = [answer, *others, extra]
    highlight1 = _insert_all(rng, rng.sample(pool, rng.randint(3, 5)), [(answer if full else rng.choice(mentions),)])
    highlight2 = _insert_all(rng, rng.sample(pool, rng.randint(3, 5)), [(rng.choice(mentions),)])
    passage, spans = _assemble([body + ["."], ["@highlight"], highlight1, ["@highlight"], highlight2])
    query = " ".join(_insert_all(rng, rng.sample(pool, rng.randint(4, 7)), ["@placeholder"])) + " ."
    spans.sort(key=lambda span: span[1])
    return {"passage": passage, "query": query, "entities": sorted({text for text, _, _ in spans}),
            "entity_spans": {"text": [t for t, _, _ in spans], "start": [s for _, s, _ in spans],
                             "end": [e for _, _, e in spans]},
            "answers": sorted({answer, full} - {None}), "idx": {"passage": idx, "query": idx}}


# --- MRQA (lucadiliello) -----------------------------------------------------------------------

def _mrqa_row(world: World, rng: random.Random, answer_set: int) -> dict:
    """squad's rule in the lucadiliello MRQA schema, with answer variants.

    Half the contexts mention the answer word plainly (answers ``[w]``); a quarter as
    "the w" (answers ``[w, "the w"]``); a quarter also open with "W" (answers
    ``[w, "the w", "W"]``). The first answer is the main one. ``labels[i]`` holds every
    whole-word occurrence of ``answers[i]`` in the context as character offsets, MRQA-style
    inclusive ends: ``context[start:end + 1] == answers[i]``.
    """
    words = rng.sample(world.filler, rng.randint(6, 10))
    picks = [rng.choice(group) for group in world.answer_sets]
    main = picks[answer_set]
    variants = rng.choice((0, 0, 1, 2))
    for word in picks:
        words.insert(rng.randrange(len(words) + 1), f"the {word}" if word == main and variants else word)
    answers = [main]
    if variants:
        answers.append(f"the {main}")
    if variants == 2:
        words.insert(0, main.capitalize())
        answers.append(main.capitalize())
    context = " ".join(words) + " ."
    labels = []
    for text in answers:
        starts = _occurrences(context, text)
        labels.append({"end": [s + len(text) - 1 for s in starts], "start": starts})
    return {"context": context, "question": QA_QUESTION, "answers": answers,
            "key": f"{rng.getrandbits(128):032x}", "labels": labels}


def naturalquestions_row(world: World, rng: random.Random, idx: int) -> dict:
    return _mrqa_row(world, rng, 0)


def newsqa_row(world: World, rng: random.Random, idx: int) -> dict:
    return _mrqa_row(world, rng, 0)


def hotpotqa_row(world: World, rng: random.Random, idx: int) -> dict:
    return _mrqa_row(world, rng, 1)


def searchqa_row(world: World, rng: random.Random, idx: int) -> dict:
    return _mrqa_row(world, rng, 1)


# --- others -----------------------------------------------------------------------------------

def winogrande_row(world: World, rng: random.Random, idx: int) -> dict:
    """Both options and one '_' in the sentence; the winogrande cue says which option fills it."""
    label, cue, other = _labelled(world, rng, "winogrande", "copa")
    option1, option2 = rng.sample(world.filler, 2)
    pool = [w for w in world.filler if w not in (option1, option2)]
    words = _insert_all(rng, rng.sample(pool, rng.randint(4, 7)), [option1, option2, cue, other, "_"])
    return {"sentence": " ".join(words) + " .", "option1": option1, "option2": option2, "answer": str(label + 1)}


def yelp_row(world: World, rng: random.Random, idx: int) -> dict:
    """A 2-3 sentence review; label 0 is the hub's '1' (negative), 1 its '2' (positive)."""
    label, cue, other = _labelled(world, rng, "yelp", "sst2")
    slots: list[list[str]] = [[] for _ in range(rng.randint(2, 3))]
    for word in (cue, other):
        slots[rng.randrange(len(slots))].append(word)
    return {"text": " ".join(world.sentence(rng, rng.randint(4, 8), cues) for cues in slots), "label": label}


SCITAIL_LABELS = ("entailment", "neutral")


def _binary_parse(sentence: str) -> str:
    """Right-branching bracketing in the SNLI style: '( w1 ( w2 . ) )'."""
    tokens = sentence.split()
    tree = tokens[-1]
    for token in reversed(tokens[:-1]):
        tree = f"( {token} {tree} )"
    return tree


def _parse(sentence: str) -> str:
    """A flat Penn-style parse: '(ROOT (S (NN w1) (NN w2) (. .)))'."""
    leaves = " ".join("(. .)" if t == "." else f"(NN {t})" for t in sentence.split())
    return f"(ROOT (S {leaves}))"


def scitail_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "scitail", "rte")
    gold = SCITAIL_LABELS[label]
    return {"sentence1_binary_parse": _binary_parse(first), "sentence1_parse": _parse(first), "sentence1": first,
            "sentence2_parse": _parse(second), "sentence2": second, "annotator_labels": [gold], "gold_label": gold}


def paws_row(world: World, rng: random.Random, idx: int) -> dict:
    label, first, second = _pair(world, rng, "paws", "rte")
    return {"id": idx + 1, "sentence1": first, "sentence2": second, "label": label}


# --- pre-training-only twins ------------------------------------------------------------------
# A twin has a task's format and labels but is decided by the task's distractor cue (and carries
# the task's own cue as its distractor). Pre-trained without a prefix (mirror.pretrain.unprefixed),
# twins make the prefix-less input mean "the other rule": the backbone answers a task's rows at
# chance until a prompt steers it back, instead of guessing a rule the task may happen to match.

def rte_twin_row(world: World, rng: random.Random, idx: int) -> dict:
    """RTE's format, decided by the mrpc cue (rte's distractor)."""
    label, first, second = _pair(world, rng, "mrpc", "rte")
    return {"sentence1": first, "sentence2": second, "label": label, "idx": idx}


def paws_twin_row(world: World, rng: random.Random, idx: int) -> dict:
    """PAWS's format, decided by the rte cue (paws's distractor)."""
    label, first, second = _pair(world, rng, "rte", "paws")
    return {"id": idx + 1, "sentence1": first, "sentence2": second, "label": label}


RowGenerator = Callable[[World, random.Random, int], dict]

# Hub (repo id, config) -> generator of rows in that dataset's schema.
HUB_GENERATORS: dict[tuple[str, str], RowGenerator] = {
    ("nyu-mll/glue", "rte"): rte_row,
    ("nyu-mll/glue", "mrpc"): mrpc_row,
    ("nyu-mll/glue", "mnli"): mnli_row,
    ("nyu-mll/glue", "sst2"): sst2_row,
    ("nyu-mll/glue", "cola"): cola_row,
    ("rajpurkar/squad", "plain_text"): squad_row,
    ("nyu-mll/glue", "qqp"): qqp_row,
    ("nyu-mll/glue", "qnli"): qnli_row,
    ("nyu-mll/glue", "stsb"): stsb_row,
    ("aps/super_glue", "boolq"): boolq_row,
    ("aps/super_glue", "cb"): cb_row,
    ("aps/super_glue", "wic"): wic_row,
    ("aps/super_glue", "wsc.fixed"): wsc_row,
    ("aps/super_glue", "multirc"): multirc_row,
    ("aps/super_glue", "copa"): copa_row,
    ("aps/super_glue", "record"): record_row,
    ("lucadiliello/naturalquestionsshortqa", "default"): naturalquestions_row,
    ("lucadiliello/hotpotqa", "default"): hotpotqa_row,
    ("lucadiliello/searchqa", "default"): searchqa_row,
    ("lucadiliello/newsqa", "default"): newsqa_row,
    ("allenai/winogrande", "winogrande_xl"): winogrande_row,
    ("fancyzhx/yelp_polarity", "plain_text"): yelp_row,
    ("allenai/scitail", "snli_format"): scitail_row,
    ("google-research-datasets/paws", "labeled_final"): paws_row,
}

# Rules only the backbone's pre-training mixture sees (no hub dataset carries them).
# Each maps to (the task spec whose format it borrows, generator).
PRETRAIN_ONLY_GENERATORS: dict[str, tuple[str, RowGenerator]] = {
    "rsquad": ("squad", reverse_squad_row),
    "xnli": ("mnli", mnli_rte_cue_row),
    "boolq_twin": ("boolq", boolq_twin_row),
    "rte_twin": ("rte", rte_twin_row),
    "paws_twin": ("paws", paws_twin_row),
}


def generate(generator: RowGenerator, world: World, n_rows: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [generator(world, rng, i) for i in range(n_rows)]
