"""Stage 6: results tables (Markdown, CSV, LaTeX booktabs) and figures from the metrics files.

A cell is "mean ± std" of the task's primary metric over seeds; a run that never happened is
shown as missing ("–"), never as 0; a diverged run is marked with a dagger.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

import pandas as pd

MISSING = "–"


def collect(metrics_dir: Path) -> pd.DataFrame:
    """One row per (method, task, seed) from results/metrics/<method>/<task>.json."""
    rows = []
    for path in sorted(metrics_dir.glob("*/*.json")):
        record = json.loads(path.read_text())
        primary = record["primary_metric"]
        for seed, values in record["per_seed"].items():
            rows.append({"method": record["method"], "task": record["task"], "seed": int(seed),
                         "metric": primary, "score": values[primary], "invalid_rate": values["invalid_rate"],
                         "diverged": bool(values.get("diverged")),
                         "trainable_parameters": record["trainable_parameters"],
                         "stored_parameters": record["stored_parameters"],
                         "backbone": record["provenance"]["backbone"]})
    return pd.DataFrame(rows, columns=["method", "task", "seed", "metric", "score", "invalid_rate", "diverged",
                                       "trainable_parameters", "stored_parameters", "backbone"])


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds per (method, task)."""
    def agg(group: pd.DataFrame) -> pd.Series:
        scores = group["score"].tolist()
        return pd.Series({"metric": group["metric"].iloc[0], "mean": statistics.fmean(scores),
                          "std": statistics.stdev(scores) if len(scores) > 1 else float("nan"),
                          "seeds": len(scores), "invalid_rate": group["invalid_rate"].mean(),
                          "diverged": bool(group["diverged"].any()),
                          "trainable_parameters": int(group["trainable_parameters"].iloc[0])})

    if runs.empty:
        return pd.DataFrame(columns=["method", "task", "metric", "mean", "std", "seeds", "invalid_rate", "diverged",
                                     "trainable_parameters"])
    return runs.groupby(["method", "task"]).apply(agg, include_groups=False).reset_index()


def _cell(row: pd.Series | None) -> str:
    if row is None:
        return MISSING
    text = f"{row['mean']:.1f}" + ("" if pd.isna(row["std"]) else f" ± {row['std']:.1f}")
    return text + (" †" if row["diverged"] else "")


def main_table(summary: pd.DataFrame, methods: list[str], tasks: list[str]) -> pd.DataFrame:
    """Methods x tasks (+ average over tasks that exist for every method row)."""
    lookup = {(r["method"], r["task"]): r for _, r in summary.iterrows()}
    table = []
    for method in methods:
        cells = [lookup.get((method, task)) for task in tasks]
        present = [c["mean"] for c in cells if c is not None]
        params = next((int(c["trainable_parameters"]) for c in cells if c is not None), None)
        table.append({"method": method, "params": _count(params) if params else MISSING,
                      **{task: _cell(c) for task, c in zip(tasks, cells)},
                      "avg": f"{statistics.fmean(present):.1f}" if len(present) == len(tasks) else MISSING})
    return pd.DataFrame(table)


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0" + unit, unit)
    return str(n)


def to_markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def to_latex(table: pd.DataFrame, caption: str) -> str:
    cols = "l" + "r" * (len(table.columns) - 1)
    lines = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(_tex(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex(str(v)) for v in row) + r" \\" for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_tex(caption)}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    return (str(text).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%")
            .replace("±", r"$\pm$").replace("†", r"$^\dagger$").replace("–", "--"))


def write_tables(metrics_dir: Path, out_dir: Path, methods: list[str], tasks: list[str], backbone: str) -> pd.DataFrame:
    runs = collect(metrics_dir)
    summary = summarize(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = main_table(summary, methods, tasks)
    caption = f"Test scores ({backbone}; primary metric per task, mean ± std over seeds; † diverged)."
    (out_dir / "main.md").write_text(f"{caption}\n\n" + to_markdown(table))
    table.to_csv(out_dir / "main.csv", index=False)
    (out_dir / "main.tex").write_text(to_latex(table, caption))
    runs.to_csv(out_dir / "runs.csv", index=False)
    return summary
