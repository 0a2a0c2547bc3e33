"""A built table as Markdown, LaTeX (booktabs), CSV (one line per cell) and an HTML fragment.

On our lines, best values print in bold and second best underlined (Markdown: <u>, which GitHub
renders; tables.rank); the paper's lines print the paper's own emphasis as printed. A line whose
``marks`` is "std" marks only the std of "mean ± std" (seed 004 Table 2).
"""
from __future__ import annotations

import csv
import html
import io
import json

from ptbench.report.tables import DAGGER, ORIGINAL, STAND_IN, BuiltTable, Line, ours_text

LEGEND = (f"Lines per method: ours = mean ± std over seeds; 95% CI = percentile bootstrap over test examples "
          f"(MultiRC: over questions); paper = the seed's printed value; Δ = ours − paper; p = two-sided paired "
          f"bootstrap test against the method's baseline. {DAGGER}: a seed's invalid outputs exceeded the "
          f"threshold or it diverged (paper: invalid labels, scored 0); {ORIGINAL}: original T5 checkpoint "
          f"(pre-trained on a GLUE/SuperGLUE mixture); {STAND_IN}: a stand-in run on another backbone "
          f"(report.stand_in, e.g. the smoke's tiny T5 on synthetic data: exercises the table, not comparable "
          f"to the paper). – : no run / not printed, never 0.")


def stand_in_banner(count: int) -> str:
    """Shown over a table (and the report) while any value in it is a stand-in run."""
    return (f"STAND-IN VALUES: {count} value(s) marked {STAND_IN} are runs of another backbone (report.stand_in; "
            f"the smoke: a tiny T5 on synthetic tasks) placed in the paper's cells to exercise the layout. They are "
            f"not results of the paper's setting: never ranked, no Δ against the paper.")


def caption(table: BuiltTable) -> str:
    banner = f"{stand_in_banner(table.stand_ins)} " if table.stand_ins else ""
    return f"{banner}{table.spec['title']}. {LEGEND}"


def _marked(line: Line, text: str, rank: int | None, bold, underline, plain=lambda t: t) -> str:
    """``text`` with the part the rank marks wrapped by ``bold`` / ``underline``, the rest by ``plain``."""
    head, sep, tail = text.partition("± ") if line.marks == "std" else ("", "", text)
    if not sep:
        head, tail = "", text
    wrap = bold if rank == 1 else underline if rank == 2 else plain
    return plain(head + sep) + wrap(tail)


def _mark_md(line: Line, text: str, rank: int | None) -> str:
    return _marked(line, text, rank, lambda t: f"**{t}**", lambda t: f"<u>{t}</u>")


def to_markdown(table: BuiltTable) -> str:
    width = len(table.header)
    banner = [f"> **{stand_in_banner(table.stand_ins)}**", ""] if table.stand_ins else []
    out = [f"## {table.spec['title']}", "", *banner, LEGEND, "",
           "| | " + " | ".join(table.header) + " |", "|---" * (width + 1) + "|"]
    block = None
    for line in table.lines:
        if line.block and line.block != block:
            out.append(f"| **{line.block}** |" + " |" * width)
        block = line.block
        out.append(f"| {line.row} | " + " | ".join(_mark_md(line, t, r) for t, r in zip(line.cells, line.ranks)) + " |")
    if table.notes:
        out += ["", "Notes:", ""] + [f"- {note}" for note in table.notes]
    return "\n".join(out) + "\n"


def tex(text: str) -> str:
    text = str(text)
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                       ("±", r"$\pm$"), (DAGGER, r"$^\dagger$"), (ORIGINAL, r"$^\ddagger$"), (STAND_IN, r"$^\S$"), ("Δ", r"$\Delta$"),
                       ("–", "--"), ("ρ", r"$\rho$"), ("<u>", ""), ("</u>", "")):
        text = text.replace(char, repl)
    return text


def _mark_tex(line: Line, text: str, rank: int | None) -> str:
    return _marked(line, text, rank, lambda t: rf"\textbf{{{tex(t)}}}", lambda t: rf"\underline{{{tex(t)}}}", tex)


def to_latex(table: BuiltTable) -> str:
    width = len(table.header)
    lines = [r"\begin{table*}[t]", r"\centering", r"\resizebox{\textwidth}{!}{%",
             rf"\begin{{tabular}}{{l{'r' * width}}}", r"\toprule",
             " & ".join(["Method"] + [tex(h) for h in table.header]) + r" \\"]
    block = None
    for line in table.lines:
        if line.block != block:
            lines.append(r"\midrule")
            if line.block:
                lines.append(rf"\multicolumn{{{width + 1}}}{{l}}{{\textit{{{tex(line.block)}}}}} \\")
        block = line.block
        size = "" if line.kind in ("ours", "paper") else r"\scriptsize "
        cells = [size + _mark_tex(line, t, r) if t else "" for t, r in zip(line.cells, line.ranks)]
        lines.append(" & ".join([size + tex(line.row)] + cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", rf"\caption{{{tex(caption(table))}}}",
              rf"\label{{tab:{table.spec['id']}}}", r"\end{table*}"]
    return "\n".join(lines) + "\n"


CSV_FIELDS = ["table", "block", "row", "column", "backbone", "method", "task", "metric", "variant", "where",
              "ours", "ours_mean", "ours_std", "seeds", "ci_low", "ci_high", "paper", "paper_flag", "delta", "p_value",
              "baseline", "dagger", "original_t5", "stand_in", "invalid_rate", "diverged", "sources", "notes"]


def to_csv(table: BuiltTable) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for block, row, column, cell in table.cells:
        key, ours = cell.key, cell.ours
        ci = ours.ci if ours is not None else None
        writer.writerow({
            "table": table.spec["id"], "block": block, "row": row, "column": column,
            "backbone": key.get("backbone", ""), "method": key.get("method", ""), "task": key.get("task", ""),
            "metric": key.get("metric", key.get("params", "")), "variant": key.get("variant", ""),
            "where": json.dumps(key.get("where", {}), sort_keys=True),
            "ours": cell.ours_text or ours_text(cell), "ours_mean": "" if ours is None else f"{ours.mean:.4f}",
            "ours_std": "" if ours is None or ours.std is None else f"{ours.std:.4f}",
            "seeds": "" if ours is None else len(ours.per_seed),
            "ci_low": f"{ci[0]:.4f}" if ci else "", "ci_high": f"{ci[1]:.4f}" if ci else "",
            "paper": cell.paper_text or "", "paper_flag": cell.paper_flag,
            "delta": "" if cell.delta is None else f"{cell.delta:.4f}",
            "p_value": "" if cell.p_value is None else f"{cell.p_value:.4f}", "baseline": cell.baseline or "",
            "dagger": "" if ours is None else ours.dagger, "original_t5": "" if ours is None else ours.original_t5,
            "stand_in": "" if ours is None else ours.stand_in or "",
            "invalid_rate": "" if ours is None or ours.invalid_rate is None else f"{ours.invalid_rate:.2f}",
            "diverged": "" if ours is None else ours.diverged, "sources": ";".join(ours.sources) if ours else "",
            "notes": "; ".join(cell.notes)})
    return buffer.getvalue()


def _html_cell(line: Line, text: str, rank: int | None) -> str:
    return "<td>" + _marked(line, text, rank, lambda t: f"<b>{html.escape(t)}</b>", lambda t: f"<u>{html.escape(t)}</u>",
                            html.escape) + "</td>"


def to_html(table: BuiltTable) -> str:
    width = len(table.header)
    banner = [f'<p class="banner">{html.escape(stand_in_banner(table.stand_ins))}</p>'] if table.stand_ins else []
    out = [*banner, "<table>", "<thead><tr><th></th>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
           + "</tr></thead>", "<tbody>"]
    block = None
    for line in table.lines:
        if line.block and line.block != block:
            out.append(f'<tr class="block"><th colspan="{width + 1}">{html.escape(line.block)}</th></tr>')
        block = line.block
        out.append(f'<tr class="{line.kind}"><th>{html.escape(line.row)}</th>'
                   + "".join(_html_cell(line, t, r) for t, r in zip(line.cells, line.ranks)) + "</tr>")
    out.append("</tbody></table>")
    if table.notes:
        out.append("<ul class=\"notes\">" + "".join(f"<li>{html.escape(n)}</li>" for n in table.notes) + "</ul>")
    return "\n".join(out)
