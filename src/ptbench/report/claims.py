"""The seeds' headline claims as checks: each claim is a row with the paper's number, ours and a verdict.

A claim compares two rows of one built seed table in one column (an average, as the papers state
them): "A beats B by x" in points or relative per cent. The paper's number is the one the seed's
text states (``paper_value``) or, where its table is transcribed, the gap between the two printed
values. Ours is the same gap between our two cells, with a 95% interval from their paired bootstrap
replicates (the same test examples resampled for both) when both cells have them.

The rule (docs/report.md), on the claimed direction (A better than B):
- **reproduced**: our gap's interval lies above 0;
- **not reproduced**: it lies below 0 with at least two seeds behind each cell;
- **inconclusive**: the interval contains 0, we ran one seed, or there is no interval;
- **stand-in**: either cell is a stand-in run (§): counted apart, never judged; **not run**: a cell is empty.
The magnitude is reported, not judged: hardware and library versions move it; the direction is the claim.

A time claim (``TimeClaim``: seed 001's "EPT trains 14% faster than PT at s = 60") compares the two
methods' training seconds (``seed<k>/timing.json``, mean over seeds) on the tasks of a benchmark, from
the rows (tables hold scores, not times). Ours is the relative cut of the summed seconds. A run's time
has no test-set resample, so the rule is a sign test over the tasks both methods ran: **reproduced**
when A is faster on enough tasks for a two-sided exact binomial p < 0.05 (GLUE's 8 tasks: all 8), **not
reproduced** when as clearly slower, **inconclusive** otherwise or when the runs were timed on different
devices; stand-in and not-run as above.

A same-score claim (``SameScoreClaim``: seed 001's "EPT and DEPT exhibit identical performance" at s = 0)
pairs two methods' runs per task (grid or knob rows in the claim's setting, agreeing on the knobs of
``same``). Ours is the mean score gap over the paired tasks. **Reproduced** when every pair scores the
same, seed for seed (the claim is an identity: the same computation gives the same numbers); **not
reproduced** when the pairs that differ lean one way by the sign test above (p < 0.05); **inconclusive**
otherwise; stand-in and not-run as above.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ptbench.report.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, STAND_IN

NOT_RUN = "not run"
POINTS, RELATIVE = "points", "relative %"


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    text: str  # as the seed states it
    table: str  # a built table's id (report/layouts.py)
    block: str
    column: str
    better: str  # row labels
    worse: str
    unit: str  # POINTS | RELATIVE
    paper_value: float | None = None  # None: the gap between the two printed values of the table


CLAIMS = (
    Claim("001-glue-dept", "001", "on the GLUE benchmark, our proposed EPT outperforms DEPT by 1.5%",
          "seed001_table1", "T5-Base", "GLUE avg", "EPT (MSP)", "DePT", RELATIVE, 1.5),
    Claim("001-glue-pt", "001", "[EPT outperforms] vanilla PT by 2.9% [on GLUE]",
          "seed001_table1", "T5-Base", "GLUE avg", "EPT (MSP)", "PT", RELATIVE, 2.9),
    Claim("001-superglue-dept", "001", "On the SuperGLUE benchmark, EPT outperforms DEPT by a relative 1.7%",
          "seed001_table1", "T5-Base", "SuperGLUE avg", "EPT (MSP)", "DePT", RELATIVE, 1.7),
    Claim("001-superglue-pt", "001", "[On SuperGLUE, EPT outperforms] vanilla PT by a relative 12.9%",
          "seed001_table1", "T5-Base", "SuperGLUE avg", "EPT (MSP)", "PT", RELATIVE, 12.9),
    Claim("003-superglue-base", "003", "EPT* outperforms prompt tuning on SuperGLUE (Table 1, T5-Base)",
          "seed003_table1", "T5-Base", "SuperGLUE avg", "EPT*", "PT", POINTS),
    Claim("003-glue-base", "003", "EPT* outperforms prompt tuning on GLUE (Table 1, T5-Base)",
          "seed003_table1", "T5-Base", "GLUE avg", "EPT*", "PT", POINTS),
    Claim("004-dropout-superpos-small", "004", "removing dropout from the frozen model helps SuperPos-Prompt "
          "(Table 1, T5v1.1 Small LM-Adapted, Avg.)", "seed004_table1", "T5v1.1 Small LM-Adapted", "Avg.",
          "SuperPos PT (no_dropout)", "SuperPos PT (dropout)", POINTS),
    Claim("004-dropout-superpos-base", "004", "removing dropout from the frozen model helps SuperPos-Prompt "
          "(Table 1, T5v1.1 Base LM-Adapted, Avg.)", "seed004_table1", "T5v1.1 Base LM-Adapted", "Avg.",
          "SuperPos PT (no_dropout)", "SuperPos PT (dropout)", POINTS),
    Claim("004-dropout-pt-base", "004", "removing dropout helps prompt tuning too (Table 1, T5v1.1 Base "
          "LM-Adapted, Avg.)", "seed004_table1", "T5v1.1 Base LM-Adapted", "Avg.", "PT (no_dropout)",
          "PT (dropout)", POINTS),
)


@dataclass(frozen=True)
class TimeClaim:
    """A faster than B: training seconds of two methods' grid runs on a benchmark's tasks, from the rows.
    ``better`` / ``worse`` are the methods; ``where`` the knobs each run must have (the paper's setting)."""
    id: str
    paper: str
    text: str
    backbone: str
    tasks: tuple[str, ...]
    better: str
    worse: str
    paper_value: float  # the stated relative cut, per cent
    where: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> {knob: value}
    table: str = "training time"
    column: str = "GLUE tasks"
    unit: str = "relative % time"

    @property
    def block(self) -> str:
        return self.backbone


# Seed 001 §RQ3 / Fig. 4b: EPT (l = 100 as s = 60 plus A B: 76,800 parameters, as PT of length 100) on GLUE, T5-base.
GLUE_TASKS_001 = ("cola", "mrpc", "rte", "stsb", "mnli", "qnli", "qqp", "sst2")
TIME_CLAIMS = (
    TimeClaim("001-time-pt", "001", "When the length of the short prompt is 60 ... the training time of EPT is 14% "
              "lower than that of the original PT [GLUE, T5-Base]", "t5-base", GLUE_TASKS_001, "ept_msp", "pt", 14.0,
              {"ept_msp": {"short_length": 60, "length": 100}, "pt": {"length": 100}}),
)


@dataclass(frozen=True)
class SameScoreClaim:
    """A scores as B, task by task: ``where`` the knobs each run must have, ``same`` the knobs a pair agrees on."""
    id: str
    paper: str
    text: str
    backbone: str
    tasks: tuple[str, ...]
    better: str  # the two methods (named as a Claim's rows; neither is claimed better)
    worse: str
    where: dict[str, dict[str, Any]]
    same: tuple[tuple[str, str], ...] = ()  # (A's knob, B's knob) pairs that must hold equal values
    table: str = "seed 001 Fig. 4b, s = 0"
    column: str = "GLUE tasks"
    unit: str = POINTS
    paper_value: float = 0.0

    @property
    def block(self) -> str:
        return self.backbone


SAME_SCORE_CLAIMS = (
    # EPT at s = 0 as the claim states it: DePT's A, B initialisation and scale (ept_msp's low_rank_init: dept);
    # ept_msp's own reading (SVD of P, c = 1) is Fig. 4b's point and differs from DePT by construction
    SameScoreClaim("001-s0-same", "001", "When the length is 0, ... EPT and DEPT exhibit identical performance "
                   "[Fig. 4b, GLUE, T5-Base]", "t5-base", GLUE_TASKS_001, "ept_msp", "dept",
                   {"ept_msp": {"short_length": 0, "low_rank_init": "dept"}, "dept": {"length": 0}},
                   same=(("rank", "rank"),)),
)


@dataclass(frozen=True)
class Checked:
    claim: Claim | TimeClaim | SameScoreClaim
    paper_value: float | None
    ours: float | None
    interval: tuple[float, float] | None
    seeds: int
    verdict: str
    basis: str = ""  # a time claim: on how many tasks A was faster; a claim not run: why


def _gap(better: float, worse: float, unit: str):
    return 100.0 * (better - worse) / worse if unit == RELATIVE else better - worse


def check(claim: Claim, cells: dict[tuple[str, str, str], object]) -> Checked:
    """``cells``: (block, row, column) -> Cell of the claim's table."""
    better, worse = (cells.get((claim.block, row, claim.column)) for row in (claim.better, claim.worse))
    paper = claim.paper_value
    if paper is None and better is not None and worse is not None and None not in (better.paper, worse.paper):
        paper = round(_gap(better.paper, worse.paper, claim.unit), 2)
    a, b = (None if c is None else c.ours for c in (better, worse))
    if a is None or b is None:
        return Checked(claim, paper, None, None, 0, NOT_RUN, not_run_reason(claim, better, worse))
    ours = _gap(a.mean, b.mean, claim.unit)
    seeds = min(len(a.per_seed), len(b.per_seed))
    if a.stand_in or b.stand_in:
        return Checked(claim, paper, ours, None, seeds, STAND_IN)
    interval = None
    if a.replicates is not None and b.replicates is not None and a.pairing == b.pairing \
            and len(a.replicates) == len(b.replicates):
        gaps = _gap(np.asarray(a.replicates), np.asarray(b.replicates), claim.unit)
        interval = (float(np.percentile(gaps, 2.5)), float(np.percentile(gaps, 97.5)))
    if interval is None:
        verdict = INCONCLUSIVE
    elif interval[0] > 0:
        verdict = REPRODUCED
    elif interval[1] < 0 and seeds >= 2:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    return Checked(claim, paper, ours, interval, seeds, verdict)


def not_run_reason(claim: Claim, better, worse) -> str:
    """Why a claim's cell is empty: an average prints only when every member task ran."""
    reasons = []
    for label, cell in ((claim.better, better), (claim.worse, worse)):
        if cell is None or cell.ours is not None:
            continue
        members = cell.key.get("members")
        if members and cell.missing_members and len(cell.missing_members) < len(members):
            reasons.append(f"{label}'s {claim.column} needs all {len(members)} member tasks: "
                           f"{len(members) - len(cell.missing_members)} ran, missing {', '.join(cell.missing_members)}")
        elif members:
            reasons.append(f"{label}: none of the {len(members)} member tasks of {claim.column} ran in this setting")
        else:
            reasons.append(f"{label}: no run in this setting")
    return "; ".join(reasons)


def sign_test_p(successes: int, n: int) -> float:
    """Two-sided exact binomial test of ``successes`` of ``n`` against p = 1/2."""
    tail = min(successes, n - successes)
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(tail + 1)) / 2 ** n) if n else 1.0


def check_time(claim: TimeClaim, rows: list[dict[str, Any]]) -> Checked:
    """``rows``: the report's rows (with stand-in copies: report.cells.with_stand_ins)."""
    def runs(method: str) -> dict[str, dict]:
        wanted, found = claim.where.get(method, {}), {}
        for r in rows:  # the first per task: stand-in copies come after the real runs, which win
            if (r.get("kind") == "grid" and r["backbone"] == claim.backbone and r["method"] == method
                    and r["task"] in claim.tasks and r.get("train_seconds")
                    and all(r.get("config", {}).get(k) == v for k, v in wanted.items())):
                found.setdefault(r["task"], r)
        return found
    better, worse = runs(claim.better), runs(claim.worse)
    tasks = sorted(set(better) & set(worse))
    if not tasks:
        missing = [m for m, found in ((claim.better, better), (claim.worse, worse)) if not found]
        return Checked(claim, claim.paper_value, None, None, 0, NOT_RUN,
                       f"no timed run of {' or '.join(missing) or 'both on a common task'} on {claim.backbone}'s "
                       f"{claim.column} with the claim's setting ({claim.where})")
    total_better = sum(better[t]["train_seconds"] for t in tasks)
    total_worse = sum(worse[t]["train_seconds"] for t in tasks)
    ours = 100.0 * (total_worse - total_better) / total_worse
    seeds = min(len(r["metrics"].get(r["primary_metric"], {}).get("per_seed", []))
                for r in [*(better[t] for t in tasks), *(worse[t] for t in tasks)])
    faster = sum(better[t]["train_seconds"] < worse[t]["train_seconds"] for t in tasks)
    basis = f"faster on {faster} of {len(tasks)} tasks"
    devices = {json.dumps(r.get("device"), sort_keys=True) for r in [*better.values(), *worse.values()]}
    if any(r.get("stand_in") for r in [*better.values(), *worse.values()]):
        verdict = STAND_IN
    elif len(devices) > 1:
        verdict, basis = INCONCLUSIVE, basis + "; timed on different devices"
    elif sign_test_p(faster, len(tasks)) >= 0.05:
        verdict = INCONCLUSIVE
    else:
        verdict = REPRODUCED if 2 * faster > len(tasks) else NOT_REPRODUCED
    return Checked(claim, claim.paper_value, ours, None, seeds, verdict, basis)


def check_same(claim: SameScoreClaim, rows: list[dict[str, Any]]) -> Checked:
    """``rows``: the report's rows (with stand-in copies, after the real runs)."""
    def runs(method: str) -> dict[str, list[dict]]:
        wanted, found = claim.where.get(method, {}), defaultdict(list)
        for r in rows:
            if (r.get("kind") in ("grid", "knob") and r["backbone"] == claim.backbone and r["method"] == method
                    and r["task"] in claim.tasks and all(r.get("config", {}).get(k) == v for k, v in wanted.items())):
                found[r["task"]].append(r)
        return found
    a_runs, b_runs = runs(claim.better), runs(claim.worse)
    pairs = {}
    for task in claim.tasks:  # the first pair per task: real runs come before stand-in copies
        pair = next(((a, b) for a in a_runs[task] for b in b_runs[task]
                     if all(a["config"].get(x) == b["config"].get(y) for x, y in claim.same)), None)
        if pair is not None:
            pairs[task] = pair
    if not pairs:
        return Checked(claim, claim.paper_value, None, None, 0, NOT_RUN,
                       f"no pair of {claim.better} and {claim.worse} runs on {claim.backbone}'s {claim.column} with the "
                       f"claim's setting ({claim.where}; equal {', '.join(x for x, _ in claim.same)})")

    def seeds_of(row: dict) -> list[float]:
        return row["metrics"][row["primary_metric"]]["per_seed"]
    gaps = [np.mean(seeds_of(a)) - np.mean(seeds_of(b)) for a, b in pairs.values()]
    identical = sum(seeds_of(a) == seeds_of(b) for a, b in pairs.values())
    apart = [gap for gap in gaps if gap != 0]  # the sign test's pairs: a tie in the mean leans neither way
    higher = sum(gap > 0 for gap in apart)
    seeds = min(len(seeds_of(r)) for pair in pairs.values() for r in pair)
    basis = f"the same, seed for seed, on {identical} of {len(pairs)} tasks"
    if identical < len(pairs):
        basis += f"; {claim.better} higher on {higher} of the {len(apart)} whose means differ"
    if any(r.get("stand_in") for pair in pairs.values() for r in pair):
        verdict = STAND_IN
    elif identical == len(pairs):
        verdict = REPRODUCED
    elif sign_test_p(higher, len(apart)) < 0.05:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    return Checked(claim, claim.paper_value, float(np.mean(gaps)), None, seeds, verdict, basis)


def check_all(tables, rows: list[dict[str, Any]] = ()) -> list[Checked]:
    """Every score claim against the built tables, every time and same-score claim against the rows."""
    by_id = {t.spec["id"]: {(block, row, column): cell for block, row, column, cell in t.cells} for t in tables}
    return ([check(c, by_id.get(c.table, {})) for c in CLAIMS] + [check_time(c, list(rows)) for c in TIME_CLAIMS]
            + [check_same(c, list(rows)) for c in SAME_SCORE_CLAIMS])


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def to_markdown(checked: list[Checked]) -> str:
    lines = ["# The seeds' headline claims, checked", "", __doc__.split("\n\n", 2)[2].strip(), "",
             "| claim | paper | table | compared | unit | paper's gap | our gap | 95% interval | seeds | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    from ptbench.report.layouts import short_title

    for c in checked:
        interval = "" if c.interval is None else f"[{c.interval[0]:.2f}, {c.interval[1]:.2f}]"
        lines.append(f"| {c.claim.text} | {c.claim.paper} | {short_title(c.claim.table)} ({c.claim.block}, {c.claim.column}) | "
                     f"{c.claim.better} vs {c.claim.worse} | {c.claim.unit} | {_number(c.paper_value)} | "
                     f"{_number(c.ours)} | {interval} | {c.seeds or ''} | {c.verdict}{f' ({c.basis})' if c.basis else ''} |")
    return "\n".join(lines) + "\n"


def to_csv(checked: list[Checked]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "paper", "claim", "table", "block", "column", "better", "worse", "unit", "paper_gap",
                     "our_gap", "low", "high", "seeds", "verdict", "basis"])
    for c in checked:
        low, high = c.interval or (None, None)
        writer.writerow([c.claim.id, c.claim.paper, c.claim.text, c.claim.table, c.claim.block, c.claim.column,
                         c.claim.better, c.claim.worse, c.claim.unit, c.paper_value, c.ours, low, high, c.seeds,
                         c.verdict, c.basis])
    return out.getvalue()


def summary_line(checked: list[Checked]) -> str:
    from collections import Counter

    counts = Counter(c.verdict for c in checked)
    judged = counts[REPRODUCED] + counts[NOT_REPRODUCED] + counts[INCONCLUSIVE]
    return (f"{counts[REPRODUCED]} of {judged} checked claims reproduced ({counts[NOT_REPRODUCED]} not reproduced, "
            f"{counts[INCONCLUSIVE]} inconclusive); {counts[STAND_IN]} on stand-in runs, {counts[NOT_RUN]} not run, "
            f"of {len(checked)} claims")
