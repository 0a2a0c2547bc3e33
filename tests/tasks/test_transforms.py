"""Field transforms against the reference code's outputs, written out by hand."""
from ptbench.tasks.transforms import TRANSFORMS


def test_pad_punctuation_spaces_marks_and_folds_runs():
    row = {"q": "Who wrote 'Hamlet'?  (1600)"}
    assert TRANSFORMS["pad_punctuation"](row, "q") == "Who wrote ' Hamlet ' ? ( 1600 )"


def test_pad_punctuation_keeps_underscores_and_digits():
    assert TRANSFORMS["pad_punctuation"]({"c": "a_b 3.5"}, "c") == "a_b 3 . 5"


def test_pad_punctuation_keeps_combining_marks_and_pads_other_symbols_as_depts_regex_class():
    """DePT's class [^_\\s\\p{N}\\p{L}\\p{M}] (the regex module), run on these strings (2026-12-03)."""
    assert TRANSFORMS["pad_punctuation"]({"c": "e\u0301clair"}, "c") == "e\u0301clair"  # NFD: mark kept
    assert TRANSFORMS["pad_punctuation"]({"c": "Café — “ok”"}, "c") == "Café — “ ok ”"
    assert TRANSFORMS["pad_punctuation"]({"c": "x\x1cy"}, "c") == "x \x1c y"  # Python's \\s would take it


def test_strip_html_drops_bold_and_breaks():
    row = {"p": "Sent 1: <b>Bold</b> text.<br>Sent 2: more.<br/>"}
    assert TRANSFORMS["strip_html"](row, "p") == "Sent 1: Bold text. Sent 2: more."


def test_record_highlights_become_sentences():
    row = {"passage": "The story.\n@highlight\nFirst point\n@highlight\nSecond point"}
    assert TRANSFORMS["record_highlights"](row, "passage") == "The story. First point. Second point"


def test_join_list_joins_entities_with_commas():
    assert TRANSFORMS["join_list"]({"entities": ["Obama", "US"]}, "entities") == "Obama, US"


def test_wsc_marks_noun_with_stars_and_pronoun_with_hashes():
    row = {"text": "Mark told Pete many lies about himself , which Pete included in his book .",
           "span1_index": 0, "span1_text": "Mark", "span2_index": 12, "span2_text": "his"}
    assert TRANSFORMS["wsc_mark_spans"](row, "text") == (
        "* Mark * told Pete many lies about himself , which Pete included in # his # book .")


def test_wsc_marks_multi_word_spans_and_a_pronoun_before_the_noun():
    row = {"text": "When it rained , the old dog slept .", "span1_index": 4, "span1_text": "the old dog",
           "span2_index": 1, "span2_text": "it"}
    assert TRANSFORMS["wsc_mark_spans"](row, "text") == "When # it # rained , * the old dog * slept ."
