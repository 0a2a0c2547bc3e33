"""The browsable example (docs/example/index.html): the smoke's own report, current with the committed
smoke, with no Python error text anywhere and a reason beside every empty row."""
import base64
import re
from html.parser import HTMLParser

import pytest
import yaml
from dvc_data.hashfile.hash_info import HashInfo
from dvc_data.hashfile.meta import Meta
from dvc_data.hashfile.tree import Tree

from conftest import REPO

EXAMPLE = REPO / "docs" / "example" / "index.html"
# What a Python failure leaves in a text: a traceback, an exception's class name, its usual messages.
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(Error|Exception)\b|object has no attribute|"
                        r"unsupported operand|is not subscriptable|NoneType")


def the_example() -> str:
    if not EXAMPLE.is_file():
        pytest.fail(f"{EXAMPLE.relative_to(REPO)} is missing: `make smoke` writes it (ptbench example); commit it")
    return EXAMPLE.read_text(encoding="utf-8")


def test_the_example_is_the_report_the_committed_smoke_made():
    """Its hash, computed as DVC computes a folder's, is the one dvc.lock records for the tables stage's
    results/report: a smoke re-run without `ptbench example` (or an edited copy) fails here."""
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    (recorded,) = [o["md5"] for o in lock["stages"]["tables"]["outs"] if o["path"] == "results/report"]
    tree = Tree()
    tree.add(("index.html",), Meta(), HashInfo("md5", __import__("hashlib").md5(EXAMPLE.read_bytes()).hexdigest()))
    tree.digest()
    assert tree.hash_info.value == recorded, (
        "docs/example/index.html is not the report of the committed smoke (dvc.lock): run `make smoke` "
        "(or `ptbench example` after `ptbench repro`) and commit docs/example")


def carried_texts(page: str) -> list[str]:
    """The page and every file it carries (the tables' CSV and LaTeX, the verdicts, claims, cost, audit)."""
    return [page] + [base64.b64decode(b).decode("utf-8") for b in re.findall(r'href="data:text/plain;base64,([^"]+)"', page)]


def test_no_python_error_text_on_the_page_or_in_any_table_it_carries():
    texts = carried_texts(the_example())
    assert len(texts) > 20  # the tables' files are carried, not lost
    found = sorted({m.group(0) for text in texts for m in ERROR_TEXT.finditer(text)})
    assert not found, f"Python error text in the smoke's report: {found}"


def test_the_error_text_check_catches_what_the_smoke_once_printed():
    assert ERROR_TEXT.search("state not rebuildable (AttributeError: 'EptMsp' object has no attribute 'gate')")
    assert not ERROR_TEXT.search("no run here; it needs runs on t5-base of pt (length = 100)")


# A parameter-count cell ("640", "1.3K", "34.8K/1.3K §"): a score always prints one decimal and no unit.
COUNT = r"(\d+(\.\d+)?[KMB]|\d+)"
PARAMS = re.compile(f"{COUNT}(/{COUNT})?( §)?( \\(.*\\))?")


class _Rows(HTMLParser):
    """Per table section: its block headers, its "(ours)" lines and their cells, and its notes."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.section = None
        self.path: list[str] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self.section = {"id": attrs.get("id"), "rows": [], "notes": [], "block": ""}
            self.sections[attrs.get("id")] = self.section
        if tag == "tr" and self.section is not None:
            self.section["tr"] = {"class": attrs.get("class"), "cells": []}
        self.path.append(tag)
        self.text = ""

    def handle_data(self, data):
        self.text += data

    def handle_endtag(self, tag):
        section = self.section
        if section is not None:
            row = section.get("tr")
            if tag in ("td", "th") and row is not None:
                row["cells"].append(self.text.strip())
            elif tag == "tr" and row is not None:
                if row["class"] == "block":
                    section["block"] = row["cells"][0]
                elif row["class"] == "ours":
                    section["rows"].append((section["block"], row["cells"][0], row["cells"][1:]))
                section["tr"] = None
            elif tag == "li":
                section["notes"].append(self.text.strip())
        if self.path:
            self.path.pop()
        self.text = ""


def test_every_empty_row_of_a_seed_table_says_why():
    parser = _Rows()
    parser.feed(the_example())
    checked = 0
    for anchor, section in parser.sections.items():
        if not (anchor or "").startswith("seed"):
            continue
        for block, label, cells in section["rows"]:
            values = [c for c in cells if c and not PARAMS.fullmatch(c)]
            if values and all(c == "–" for c in values):
                row = label.removesuffix(" (ours)")
                checked += 1
                assert any(f"{row}: no run here" in note and ("scheduled by" in note or "no profile" in note)
                           for note in section["notes"]), f"{anchor}: {block} / {row} is empty without a reason"
    assert checked > 20  # the smoke leaves many paper rows empty: each was looked at
