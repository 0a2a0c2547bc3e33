"""The README reads in a minute: at most 150 lines, the two commands on the first screen, a picture of the
report, and every relative link it has (docs, examples, the example report) resolves."""
import re

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = README.splitlines()
    assert len(lines) <= 150
    first_screen = "\n".join(lines[:25])
    assert "make smoke" in first_screen and "make test" in first_screen


def test_the_readme_shows_the_report_and_every_relative_link_resolves():
    assert "![" in README and "docs/example/screenshot.png" in README
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if not t.startswith(("http:", "https:", "mailto:"))]
    assert "docs/example/index.html" in local and "docs/pipeline.md" in local
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_every_docs_file_is_linked_from_the_readme_or_the_docs_index():
    index = (REPO / "docs" / "README.md").read_text(encoding="utf-8")
    for doc in sorted((REPO / "docs").glob("*.md")):
        if doc.name != "README.md":
            assert f"docs/{doc.name}" in README or f"({doc.name})" in index, f"docs/{doc.name} is linked nowhere"
