"""The paper protocol beside the fair one, read from the same rows (docs/protocols.md): the optimism gap per
(backbone, method, task), whether each task's published ranking survives, and the equal-budget curves.

``drawn`` maps a (backbone, task, method) to the method's equal-budget trials' configurations there
(``drawn_configs``, from params.yaml ``tuning``), which the fair rule chooses among. The runs are the grid's,
the knob runs' and the trials' rows (a trial whose configuration another run already has is read from either:
the same configuration trains the same bits).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from ptbench.report.bootstrap import paired_p_value
from ptbench.report.selection import (FAIR, Selected, SelectionRule, candidate_score, changed_knobs, config_key,
                                      select)

RUN_KINDS = ("grid", "knob", "trial")  # the rows a selection reads (few-shot and zero-shot are other questions)
ALPHA = 0.05
# a task without trials: every method at its given configuration (an equal budget of none), read as FAIR reads
UNTUNED_FAIR = dataclasses.replace(FAIR, configuration="given")


def drawn_configs(params) -> dict[tuple[str, str, str], list[str]]:
    """Per (backbone, task, method) the trials run on: the method's drawn configurations (``config_key``
    spelling), in draw order: what the fair rule chooses among there."""
    from ptbench.pipeline.knobs import with_knobs
    from ptbench.pipeline.tuning import trials

    out = {}
    for method in params.tuning.get("spaces") or {}:
        configs = [dataclasses.asdict(with_knobs(params, method, knobs).method_config(method))
                   for knobs in trials(params.tuning, method)]
        keys = [json.dumps(c, sort_keys=True, default=str) for c in configs]
        for backbone in params.tuning["backbones"]:
            for task in params.tuning["tasks"]:
                out[(backbone, task, method)] = keys
    return out


@dataclass
class Cell:
    """One (backbone, method, task): its given run, the candidates a configuration rule chooses among (the given
    run and the drawn trials; a knob figure's points are not a search), and both selections."""

    backbone: str
    method: str
    task: str
    metric: str
    given: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    trials: list[dict[str, Any]]  # the drawn trials found among runs, in draw order
    budget: int  # trials drawn for the method (0: none)
    n_seeds: int = 0  # the seeds every method of its comparison has (read_protocols): each is read over this many
    paper: Selected | None = None
    fair: Selected | None = None

    @property
    def gap(self) -> float | None:
        return None if self.paper is None or self.fair is None else self.paper.score - self.fair.score


def cells(rows: list[dict[str, Any]], drawn: dict[tuple[str, str, str], list[str]]) -> list[Cell]:
    """Every (backbone, method, task) with a grid run. Its runs are deduplicated by configuration (grid first, then
    knob runs, then trials: a trial equal to a knob run is read from the knob run)."""
    grouped: dict[tuple[str, str, str], list[dict]] = {}
    for row in sorted(rows, key=lambda r: RUN_KINDS.index(r["kind"]) if r["kind"] in RUN_KINDS else 99):
        if row["kind"] in RUN_KINDS:
            grouped.setdefault((row["backbone"], row["method"], row["task"]), []).append(row)
    out = []
    for (backbone, method, task), members in sorted(grouped.items()):
        given = next((r for r in members if r["kind"] == "grid"), None)
        if given is None:
            continue
        runs = list({config_key(r): r for r in reversed(members)}.values())[::-1]  # the first of each config
        by_config = {config_key(r): r for r in runs}
        wanted = drawn.get((backbone, task, method), [])
        trials = [by_config[c] for c in wanted if c in by_config]
        candidates = [given, *(t for t in trials if t is not given)]
        out.append(Cell(backbone, method, task, given["primary_metric"], given, candidates, trials, len(wanted)))
    return out


def comparisons(found: list[Cell]) -> dict[tuple[str, str], list[Cell]]:
    """The cells compared with each other: those of one (backbone, task)."""
    out: dict[tuple[str, str], list[Cell]] = {}
    for cell in found:
        out.setdefault((cell.backbone, cell.task), []).append(cell)
    return out


def common_seeds(group: list[Cell]) -> int:
    """The seeds every method of a comparison has: the fair rule averages each over this many."""
    counts = [len(r["seeds"]) for c in group for r in [c.given, *c.trials] if r is not None and r["seeds"]]
    return min(counts) if counts else 0


def read_protocols(rows: list[dict[str, Any]], drawn: dict[tuple[str, str, str], list[str]],
                   paper: SelectionRule) -> list[Cell]:
    """Both selections of every cell. The fair rule chooses among the method's drawn trials where the task has
    them, else it reads the given run (the same for every method of that task: still an equal budget)."""
    found = cells(rows, drawn)
    for group in comparisons(found).values():
        tuned = any(c.budget for c in group)
        n = common_seeds(group)
        for cell in group:
            cell.n_seeds = n
            cell.paper = select(cell.candidates, cell.given, paper, n)
            if tuned and not cell.trials:  # this method has no trials here: its fair score would be untuned
                cell.fair = None
                continue
            cell.fair = select(cell.trials, cell.given, FAIR if cell.trials else UNTUNED_FAIR, n)
            if cell.fair is not None and cell.trials and len(cell.trials) < cell.budget:
                cell.fair.notes.append(f"{len(cell.trials)} of {cell.budget} trials found")
    return found


@dataclass
class Ranking:
    backbone: str
    task: str
    paper_order: list[str]
    fair_order: list[str]
    status: str  # kept | kept (not significant) | reversed | tied | untested
    p_value: float | None
    versus: str | None  # the method the paper's winner was tested against under the fair rule


def _p(a: Selected, b: Selected) -> float | None:
    if a.replicates is None or b.replicates is None or len(a.replicates) != len(b.replicates):
        return None
    if a.row.get("references_hash") != b.row.get("references_hash") or a.row.get("references_hash") is None:
        return None
    return paired_p_value(a.score, b.score, a.replicates, b.replicates)


def rankings(found: list[Cell]) -> list[Ranking]:
    """Per (backbone, task) with two methods or more read both ways: does the paper protocol's winner stay first
    under the fair one? Tested by the paired bootstrap on the fair selections' replicates (the same test-set
    resamples for every method): kept (first, ahead of the runner-up at p < 0.05), kept (not significant),
    reversed (another method first, ahead of it at p < 0.05) or tied (another first, not significantly)."""
    read = comparisons([c for c in found if c.paper is not None and c.fair is not None])
    out = []
    for (backbone, task), group in sorted(read.items()):
        if len(group) < 2:
            continue
        paper_order = [c.method for c in sorted(group, key=lambda c: (-c.paper.score, c.method))]
        fair_sorted = sorted(group, key=lambda c: (-c.fair.score, c.method))
        fair_order = [c.method for c in fair_sorted]
        winner = next(c for c in group if c.method == paper_order[0])
        rival = fair_sorted[1] if fair_sorted[0] is winner else fair_sorted[0]
        p = _p(winner.fair, rival.fair)
        if p is None:
            status = "untested"
        elif fair_sorted[0] is winner:
            status = "kept" if p < ALPHA else "kept (not significant)"
        else:
            status = "reversed" if p < ALPHA else "tied"
        out.append(Ranking(backbone, task, paper_order, fair_order, status, p, rival.method))
    return out


def expected_best(trials: list[tuple[float, float]], budget: int) -> float:
    """The expected test score of the validation-best of ``budget`` trials drawn without replacement from
    ``trials`` ((validation, test) pairs, draw order breaking validation ties: the earlier wins, as ``select``):
    sum over trials of P(it is the validation-best of the draw) x its test score, where the trial ranked r-th
    lowest of N is the best of a draw of b with probability C(r-1, b-1) / C(N, b) (Dodge et al. 2019's expected
    validation performance, exact, without replacement)."""
    n = len(trials)
    if not 1 <= budget <= n:
        raise ValueError(f"a budget of {budget} from {n} trials")
    order = sorted(range(n), key=lambda i: (trials[i][0], -i))  # ascending; on a tie the earlier draw ranks higher
    total = math.comb(n, budget)
    return sum(math.comb(rank, budget - 1) / total * trials[i][1] for rank, i in enumerate(order) if rank >= budget - 1)


def budgets(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    out, b = [], 1
    while b < n:
        out.append(b)
        b *= 2
    return [*out, n] if n else []


def budget_curves(found: list[Cell]) -> dict[tuple[str, str, str], list[tuple[int, float]]]:
    """Per (backbone, method, task) with every drawn trial run: the expected fair score of the best of b
    trials, b = 1, 2, 4, ..., the budget (mean over the comparison's common seeds: ``read_protocols`` set them)."""
    out = {}
    for cell in found:
        if not cell.trials or len(cell.trials) < cell.budget:
            continue
        pairs = []
        for row in cell.trials:
            score, _, validation, _ = candidate_score(row, FAIR, cell.n_seeds)
            pairs.append((validation, score))
        if any(v is None or t is None for v, t in pairs):
            continue
        out[(cell.backbone, cell.method, cell.task)] = [(b, expected_best(pairs, b)) for b in budgets(len(pairs))]
    return out


def knobs_text(selected: Selected | None, given: dict[str, Any] | None) -> str:
    return "" if selected is None else changed_knobs(selected.row, given)


@dataclass(frozen=True)
class ProtocolInputs:
    """What the tables stage reads from params.yaml for the protocol section: the drawn trials' configurations,
    the paper protocol's rule, and the tokens each method adds to an input (measured on its module)."""

    drawn: dict[tuple[str, str, str], list[str]]
    paper: SelectionRule
    added_tokens: dict[str, int | None]

    @classmethod
    def from_params(cls, params) -> "ProtocolInputs":
        from ptbench.planning.estimate import shape_of

        added = {}
        for method in [*params.grid.methods, *params.grid.transfer]:
            added[method] = shape_of(params, method, params.data.max_length)[0]
        return cls(drawn_configs(params), params.selection, added)
