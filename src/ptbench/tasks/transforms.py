"""Named field transforms a task spec can apply before formatting (``transforms: {field: name}``).

Each is the preprocessing of the DePT/ATTEMPT code (itself T5's) for one dataset quirk; a
transform reads the whole row because some (WSC's span marks) need other columns.
"""
from __future__ import annotations

import re
from typing import Any, Callable

Transform = Callable[[dict[str, Any], str], str]


def pad_punctuation(row: dict[str, Any], field: str) -> str:
    """Spaces around every character that is not a letter, digit, mark, underscore or space, runs of
    spaces folded (SQuAD and MRQA inputs; DePT's MRQA targets): the reference code's ``regex`` class
    ``[^_\\s\\p{N}\\p{L}\\p{M}]`` (Python's ``[^\\w\\s]`` would also pad combining marks). The
    reference leaves a space at either end; stripped here (the tokenizer sees no difference)."""
    import regex  # late: only the QA tasks need it

    text = regex.sub(r"([^_\s\p{N}\p{L}\p{M}])", r" \1 ", str(row[field]))
    return re.sub(" +", " ", text).strip()


def strip_html(row: dict[str, Any], field: str) -> str:
    """MultiRC paragraphs: ``<br>`` becomes a space, bold tags go."""
    text = re.sub(r"<br\s*/?>", " ", str(row[field]))
    return re.sub(r"\s+", " ", re.sub(r"</?b>", "", text)).strip()


def record_highlights(row: dict[str, Any], field: str) -> str:
    """ReCoRD passages: each ``@highlight`` line becomes a sentence of the passage."""
    text = re.sub(r"(\.|\?|!|\"|')\n@highlight\n", r"\1 ", str(row[field]))
    return re.sub(r"\n@highlight\n", ". ", text)


def join_list(row: dict[str, Any], field: str) -> str:
    """A list column as one comma-separated string (ReCoRD's candidate entities)."""
    return ", ".join(str(item) for item in row[field])


def _mark(words: list[str], index: int, span: str, mark: str) -> list[str]:
    n = len(span.split(" "))
    return words[:index] + [mark] + words[index:index + n] + [mark] + words[index + n:]


def wsc_mark_spans(row: dict[str, Any], field: str) -> str:
    """WSC: the noun phrase (span 1) between ``*`` and the pronoun (span 2) between ``#``,
    located by their word indices, as the reference code's ``_mark_span``."""
    words = str(row[field]).split(" ")
    first, second = int(row["span1_index"]), int(row["span2_index"])
    words = _mark(words, first, str(row["span1_text"]), "*")
    second += 2 * int(first < second)  # the two marks just inserted shift later words
    return " ".join(_mark(words, second, str(row["span2_text"]), "#"))


TRANSFORMS: dict[str, Transform] = {
    "pad_punctuation": pad_punctuation,
    "strip_html": strip_html,
    "record_highlights": record_highlights,
    "join_list": join_list,
    "wsc_mark_spans": wsc_mark_spans,
}
