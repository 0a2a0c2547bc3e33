"""results/report/index.html: one self-contained page with every table, figure, the audit and the provenance.

The figures are inlined (PNG as data: URIs) and each table's CSV and LaTeX are downloads inlined the same
way, so the one file can be mailed, attached to a review or opened offline (docs/example/index.html is the
smoke's). Anything still linked by path must exist: ``missing_links`` checks it and the stage fails on a
dangling link.
"""
from __future__ import annotations

import base64
import html
import mimetypes
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from ptbench.report.figures import FigureResult
from ptbench.report.render import LEGEND, stand_in_banner, to_html
from ptbench.report.tables import BuiltTable

STYLE = """body{font-family:sans-serif;margin:2em auto;max-width:1000px;padding:0 1em}.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:12px;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 5px;text-align:right}th{text-align:left}tr.block th{background:#eee}
tr.ci td,tr.delta td,tr.p td{color:#555;font-size:11px}img{max-width:100%;border:1px solid #ddd}.notes{font-size:12px}
.banner{background:#fff3cd;border:1px solid #e0b000;padding:6px 10px;font-weight:bold}"""


LOGS = ("The training curves (loss, prompt norm, validation score, gate weights) are each run's logged history, "
        "which its dvclive logs hold row for row (tests/train/test_live.py): while a run trains, in "
        "results/runs/<backbone>/<method>/<task>.partial/seed<k>/dvclive/plots/metrics/<name>.tsv (the stage's output "
        "is moved into place when it succeeds); after it, in results/runs/<backbone>/<method>/<task>/seed<k>/dvclive/ "
        "(`dvc plots show` that folder); the seed means per backbone, method and task as CSV in results/plots/.")


def inline(path: Path, mime: str | None = None) -> str:
    """A file as a data: URI, so that the page carries it."""
    mime = mime or mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def downloads(files: dict[str, Path]) -> str:
    """Links that save the files (carried by the page) under their own names."""
    return " · ".join(f'<a download="{html.escape(path.name)}" href="{inline(path, "text/plain")}">{fmt}</a>'
                      for fmt, path in files.items())


def wide(fragment: str) -> str:
    """A table wider than the page scrolls inside its own box instead of stretching the page."""
    return f'<div class="wide">{fragment}</div>'


def provenance_section(rows: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    values: dict[str, set] = {"git sha": set(), "profile": set(), "backbone": set(), "python": set(),
                              "scoring": set(), "decoding": set(), "split protocol": set()}
    packages: dict[str, set] = {}
    for row in rows:
        prov = row.get("provenance") or {}
        git = prov.get("git") or {}
        values["git sha"].add(f"{git.get('sha', 'unknown')}{' (dirty)' if git.get('dirty') else ''}")
        for name, key in (("profile", "profile"), ("backbone", "backbone"), ("python", "python"),
                          ("scoring", "scoring"), ("decoding", "decoding"), ("split protocol", "split_protocol")):
            if prov.get(key) is not None:
                values[name].add(str(prov[key]))
        for package, version in (prov.get("packages") or {}).items():
            packages.setdefault(package, set()).add(str(version))
    items = [f"<li>{html.escape(k)}: {html.escape(', '.join(sorted(v)) or '–')}</li>" for k, v in values.items()]
    items.append(f"<li>results: {len(rows)} (method, backbone, task, configuration) entries</li>")
    items.append("<li>report settings: " + html.escape(", ".join(f"{k} = {v}" for k, v in settings.items())) + "</li>")
    package_items = "".join(f"<li>{html.escape(p)} {html.escape(', '.join(sorted(v)))}</li>" for p, v in sorted(packages.items()))
    return f"<h2 id=\"provenance\">Provenance</h2><ul>{''.join(items)}</ul><h3>Packages</h3><ul>{package_items}</ul>"


def audit_section(audit_csv: Path, audit_md: Path) -> str:
    if not audit_csv.is_file():
        return "<h2 id=\"audit\">Parameter audit</h2><p>not written</p>"
    frame = pd.read_csv(audit_csv, keep_default_na=False)
    frame = frame[[c for c in ("paper", "table", "backbone", "method", "config", "trainable_printed", "trainable",
                               "trainable_match", "stored_printed", "stored", "stored_match") if c in frame]]
    return (f"<h2 id=\"audit\">Parameter audit</h2><p>Counts the seeds print beside ours "
            f"({downloads({'Markdown': audit_md, 'CSV': audit_csv})}).</p>"
            + wide(frame.to_html(index=False, escape=True, border=0)))


def _claims_section(claims: tuple) -> str:
    checked, md, csv_path = claims

    def gap(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"
    items = "".join(f"<li>{html.escape(c.claim.text)} (seed {c.claim.paper}, {html.escape(c.claim.unit)}: paper "
                    f"{gap(c.paper_value)}, ours {gap(c.ours)}): <b>{html.escape(c.verdict)}</b>"
                    + (f" ({html.escape(c.basis)})" if c.basis else "") + "</li>" for c in checked)
    return (f'<h2 id="claims">The seeds\' headline claims</h2><p>({downloads({"Markdown": md, "CSV": csv_path})})</p>'
            f"<ul>{items}</ul>")


def _protocols_section(protocols: dict) -> str:
    """The optimism gap, the rankings and the efficiency table (report/protocol_tables.py)."""
    def frame(data) -> str:
        return wide(data.to_html(index=False, na_rep="", border=0)) if len(data) else "<p>(none)</p>"
    return ('<h2 id="protocols">Paper protocol vs fair protocol</h2>'
            f'<p>{html.escape(protocols["text"])} ({downloads(protocols["files"])})</p>'
            f'<h3>Optimism gap per method (every cell: the CSV)</h3>{frame(protocols["gaps"])}'
            f'<h3>Does the paper protocol\'s ranking survive?</h3>{frame(protocols["rankings"])}'
            f'<h3>Efficiency (fair selections)</h3>{frame(protocols["efficiency"])}')


def _verdicts_section(verdict_lines: list[tuple[str, str]], verdict_files: tuple[Path, ...]) -> str:
    from ptbench.report.verdicts import RULE_TEXT

    links = downloads({path.suffix[1:].upper(): path for path in verdict_files})
    return (f'<h2 id="verdicts">Reproduction verdicts</h2><p>{html.escape(RULE_TEXT)} {links}</p><ul>'
            + "".join(f"<li><b>{html.escape(scope)}</b>: {html.escape(line)}</li>" for scope, line in verdict_lines)
            + "</ul>")


def _figures_section(figures: list[FigureResult]) -> str:
    body = ['<h2 id="figures">Figures</h2>' + f"<p class=\"notes\">{html.escape(LOGS)}</p>"]
    for figure in (f for f in figures if f.drawn):
        png, _pdf = figure.files  # the PDF stays beside the PNG in the run's figures folder
        body.append(f'<h3>{html.escape(figure.title)} <small>({html.escape(figure.mirrors)})</small></h3>'
                    f'<img src="{inline(png, "image/png")}" alt="{html.escape(figure.title)}">'
                    f'<p class="caption">{html.escape(figure.caption)}</p>'
                    + (f"<p class=\"notes\">{html.escape(figure.note)}</p>" if figure.note else ""))
    missing = [f for f in figures if not f.drawn]
    if missing:
        body.append("<h3>Not drawn: the runs they need</h3><ul>" + "".join(
            f"<li>{html.escape(f.title)} ({html.escape(f.mirrors)}): {html.escape(f.reason)}</li>" for f in missing)
            + "</ul>")
    return "\n".join(body)


def write_page(page: Path, tables: list[tuple[BuiltTable, dict[str, Path]]], figures: list[FigureResult],
               rows: list[dict[str, Any]], settings: dict[str, Any], audit_csv: Path, audit_md: Path,
               verdict_lines: list[tuple[str, str]] = (), verdict_files: tuple[Path, ...] = (),
               cost: tuple | None = None, claims: tuple | None = None, protocols: dict | None = None) -> Path:
    """The page, in a reader's order: did it reproduce (verdicts, claims), the tables in the seeds' order,
    the figures, what it cost, the parameter audit and the provenance; the contents list names them all."""
    page.parent.mkdir(parents=True, exist_ok=True)
    sections: list[tuple[str, str, str]] = []  # (anchor, contents entry, html)
    if verdict_lines:
        sections.append(("verdicts", "Reproduction verdicts", _verdicts_section(verdict_lines, verdict_files)))
    if claims is not None:
        sections.append(("claims", "The seeds' headline claims", _claims_section(claims)))
    for table, files in tables:
        shown = {fmt: path for fmt, path in files.items() if fmt in ("CSV", "LaTeX")}  # Markdown: this table
        sections.append((table.spec["id"], table.spec["title"],
                         f'<h2 id="{table.spec["id"]}">{html.escape(table.spec["title"])}</h2>'
                         f"<p>{downloads(shown)}</p>{wide(to_html(table))}"))
    if protocols is not None:
        sections.append(("protocols", "Paper protocol vs fair protocol", _protocols_section(protocols)))
    sections.append(("figures", "Figures", _figures_section(figures)))
    if cost is not None and len(cost[0]):
        frame, md, csv_path = cost
        sections.append(("cost", "Training cost", '<h2 id="cost">Training cost (measured, beside the plan&rsquo;s '
                         f'estimate)</h2><p>({downloads({"Markdown": md, "CSV": csv_path})})</p>'
                         + wide(frame.to_html(index=False, na_rep="", border=0))))
    sections.append(("audit", "Parameter audit", audit_section(audit_csv, audit_md)))
    sections.append(("provenance", "Provenance", provenance_section(rows, settings)))
    toc = "".join(f'<li><a href="#{anchor}">{html.escape(entry)}</a></li>' for anchor, entry, _ in sections)
    body = ["<h1>ptbench report</h1>"]
    shown = sum(t.stand_ins for t, _ in tables)
    if shown:  # at the top, while any table shows a stand-in value
        body.append(f'<p class="banner">{html.escape(stand_in_banner(shown))}</p>')
    body += [f"<ul>{toc}</ul>", f"<p>{html.escape(LEGEND)}</p>", *(section for *_, section in sections)]
    page.write_text("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ptbench report</title>"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n", encoding="utf-8")
    return page


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.targets += [value for name, value in attrs if name in ("href", "src") and value]


def missing_links(page: Path) -> list[str]:
    """Every local file the page links or embeds that does not exist (anchors and URLs skipped)."""
    parser = _Links()
    parser.feed(Path(page).read_text(encoding="utf-8"))
    local = [t for t in parser.targets if not t.startswith(("#", "http:", "https:", "mailto:", "data:"))]
    return [t for t in local if not (Path(page).parent / t.split("#")[0]).exists()]
