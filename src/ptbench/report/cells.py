"""One table cell: our runs that fill it, the paper's value, the difference, interval and test.

Paper metric names (reference/paper_results.csv) map to ours: ``f1`` is binary F1 (MRPC, QQP,
MultiRC), macro F1 on CB and token F1 on the QA tasks; ``em`` is MultiRC's per-question exact match
or SQuAD EM; ``f1a`` is MultiRC F1a (binary F1 over answer rows: numerically the faithful
``binary_f1``); ``mean_of_two`` averages a two-metric task's two metrics, per seed and per resample.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ptbench.report.bootstrap import paired_p_value, percentile_interval

QA_TASKS = {"squad", "nq", "hotpotqa", "searchqa", "newsqa", "record"}
PAIRS = {"cb": ("macro_f1", "accuracy"), "mrpc": ("binary_f1", "accuracy"), "qqp": ("binary_f1", "accuracy"),
         "stsb": ("pearson", "spearman"), "multirc": ("multirc_f1a", "multirc_em")}
OUR_METRICS = {"accuracy", "binary_f1", "macro_f1", "macro_f1_official", "matthews", "multirc_f1a", "multirc_em", "pearson", "spearman",
               "squad_em", "squad_f1", "squad_em_official", "squad_f1_official"}


def metric_alternatives(task: str, metric: str) -> list[list[str]]:
    """Our metrics for a paper metric: alternatives in order, each a list of metrics to average."""
    if metric in OUR_METRICS:
        return [[metric]]
    if metric == "f1":
        if task == "cb":  # faithful scoring (the reference code's) or corrected (the official scorer's)
            return [["macro_f1"], ["macro_f1_official"]]
        if task in QA_TASKS:  # faithful (T5/DePT's normaliser) or corrected (the official script's)
            return [["squad_f1"], ["squad_f1_official"]]
        return [["binary_f1"]]
    if metric == "f1a":
        return [["multirc_f1a"], ["binary_f1"]]
    if metric == "em":
        return [["multirc_em"]] if task == "multirc" else [["squad_em"], ["squad_em_official"]]
    if metric == "mean_of_two":
        if task == "cb":
            return [["macro_f1", "accuracy"], ["macro_f1_official", "accuracy"]]
        return [list(PAIRS[task])] if task in PAIRS else []
    return [[metric]]


@dataclass
class Ours:
    """Our value of a cell, over seeds, with what the flags and the paired test need."""

    mean: float
    std: float | None
    per_seed: list[float]
    replicates: np.ndarray | None
    confidence: float | None
    dagger: bool
    original_t5: bool
    sources: list[str]
    pairing: tuple | None  # (test-set hashes, bootstrap settings): replicates pair only when equal
    invalid_rate: float | None = None
    diverged: bool = False
    stand_in: str | None = None  # our backbone whose run fills a paper backbone's cell (report.stand_in)

    @property
    def ci(self) -> tuple[float, float] | None:
        if self.replicates is None or self.confidence is None:
            return None
        return percentile_interval(self.replicates, self.confidence)


@dataclass
class Cell:
    key: dict[str, Any]
    ours: Ours | None = None
    paper: float | None = None
    paper_text: str | None = None
    paper_flag: str = ""
    paper_emphasis: str = ""  # the paper's own bold / underline (reference CSV), apart from our ranking
    # the paired tests the paper's comparisons call for: (what this cell is compared with, p or None)
    comparisons: list[tuple[str, float | None]] = field(default_factory=list)
    missing_members: list[str] = field(default_factory=list)  # an average: the member tasks without a run
    mean_of_two: bool = False  # one number for a two-metric task (the paper's and ours: the mean of both)
    params: str | None = None  # a parameter-count column: our count(s)
    ours_text: str | None = None  # a value computed elsewhere (standardized scores), as printed
    notes: list[str] = field(default_factory=list)

    @property
    def p_value(self) -> float | None:
        """The first comparison's p (most cells make one)."""
        return self.comparisons[0][1] if self.comparisons else None

    @property
    def baseline(self) -> str | None:
        return self.comparisons[0][0] if self.comparisons else None

    @property
    def delta(self) -> float | None:
        """ours - paper; none for a stand-in run (another backbone, other data: not comparable) and none
        against a paper value marked † (invalid labels scored 0: not a score to compare with)."""
        if self.ours is None or self.paper is None or self.ours.stand_in or self.paper_flag:
            return None
        return self.ours.mean - self.paper


def _sample_std(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def with_stand_ins(rows: list[dict[str, Any]], stand_in: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The rows, then for each row of a standing-in backbone a copy under every paper backbone it
    stands in for, marked with its own backbone. Copies come last: a real run of that backbone wins."""
    copies = [{**row, "backbone": target, "stand_in": row["backbone"]}
              for row in rows for target in stand_in.get(row["backbone"], [])]
    return list(rows) + copies


class RunIndex:
    """Our results (rows files) looked up by cell key."""

    def __init__(self, rows: list[dict[str, Any]], invalid_threshold: float) -> None:
        self.invalid_threshold = invalid_threshold
        self.by_key: dict[tuple, list[dict[str, Any]]] = {}
        # A named variant's rows (params.yaml ``variants``) also answer to their registered method, when
        # none of the method's own does: a paper row that filters on knobs (seed 001 Table 2's components
        # off) finds the variant that has them, a plain method row still finds the method's own run.
        self.variants_by_key: dict[tuple, list[dict[str, Any]]] = {}
        for row in rows:
            kind = row.get("kind", "grid")
            self.by_key.setdefault((kind, row["backbone"], row["method"], row["task"]), []).append(row)
            base = row.get("registered_method") or row["method"]
            if base != row["method"]:
                self.variants_by_key.setdefault((kind, row["backbone"], base, row["task"]), []).append(row)

    def find(self, key: dict[str, Any], notes: list[str] | None = None) -> dict[str, Any] | None:
        address = (key.get("kind", "grid"), key.get("backbone"), key.get("method"), key.get("task"))
        for candidates in (self.by_key.get(address, []), self.variants_by_key.get(address, [])):
            found = [row for row in candidates if _matches(row, key.get("where", {}))]
            if len(found) > 1 and notes is not None:
                notes.append(f"{len(found)} runs match {key.get('method')}/{key.get('task')}; shown: {found[0]['source']}")
            if found:
                return found[0]
        return None

    def ours(self, key: dict[str, Any], notes: list[str]) -> Ours | None:
        if "members" in key:
            return self._average(key, notes)
        row = self.find(key, notes)
        if row is None:
            return None
        note = scoring_note(row["task"], row.get("scoring"))
        if note and note not in notes:
            notes.append(note)
        for names in metric_alternatives(key["task"], key["metric"]):
            if all(row["metrics"].get(n, {}).get("mean") is not None for n in names):
                return self._combine(row, names)
        notes.append(f"{row['method']}/{row['task']}: no {key['metric']} in {row['source']} "
                     f"(scoring {row.get('scoring')})")
        return None

    def _combine(self, row: dict[str, Any], names: list[str]) -> Ours:
        summaries = [row["metrics"][n] for n in names]
        same_seeds = len({len(s["per_seed"]) for s in summaries}) == 1
        per_seed = list(np.mean([s["per_seed"] for s in summaries], axis=0)) if same_seeds else []
        reps = [s.get("replicates") for s in summaries]
        replicates = np.mean(reps, axis=0) if all(r is not None for r in reps) else None
        boot = row.get("bootstrap") or {}
        return Ours(mean=float(np.mean([s["mean"] for s in summaries])), std=_sample_std(per_seed),
                    per_seed=per_seed, replicates=replicates, confidence=boot.get("confidence"),
                    dagger=bool(row["diverged"]) or (row.get("max_invalid_rate") or 0.0) > self.invalid_threshold,
                    original_t5=bool(row.get("original_t5_checkpoint")), sources=[row["source"]],
                    pairing=((row.get("references_hash"),), tuple(sorted((k, v) for k, v in boot.items()
                                                                         if k != "confidence"))),
                    invalid_rate=row.get("invalid_rate"), diverged=bool(row["diverged"]), stand_in=row.get("stand_in"))

    def missing_members(self, key: dict[str, Any]) -> list[str]:
        """An average's member tasks that have no value: it prints only with all of them."""
        base = {k: v for k, v in key.items() if k not in ("members", "task", "metric")}
        return [task for task, metric in key["members"] if self.ours({**base, "task": task, "metric": metric}, []) is None]

    def _average(self, key: dict[str, Any], notes: list[str]) -> Ours | None:
        base = {k: v for k, v in key.items() if k not in ("members", "task", "metric")}
        members, missing = [], []
        for task, metric in key["members"]:
            value = self.ours({**base, "task": task, "metric": metric}, [])
            (members.append(value) if value is not None else missing.append(task))
        if missing:
            if len(missing) < len(key["members"]):
                notes.append(f"{key.get('method')} {key['task']}: missing {', '.join(missing)}")
            return None
        same_seeds = len({len(m.per_seed) for m in members}) == 1
        per_seed = list(np.mean([m.per_seed for m in members], axis=0)) if same_seeds else []
        reps = [m.replicates for m in members]
        paired = all(r is not None for r in reps) and len({len(r) for r in reps}) == 1
        return Ours(mean=float(np.mean([m.mean for m in members])), std=_sample_std(per_seed), per_seed=per_seed,
                    replicates=np.mean(reps, axis=0) if paired else None, confidence=members[0].confidence,
                    dagger=any(m.dagger for m in members), original_t5=any(m.original_t5 for m in members),
                    sources=[s for m in members for s in m.sources],
                    pairing=(tuple(h for m in members for h in m.pairing[0]), members[0].pairing[1]),
                    diverged=any(m.diverged for m in members),
                    stand_in=next((m.stand_in for m in members if m.stand_in), None))


def scoring_note(task: str, scoring: str | None) -> str | None:
    """What a task's scoring mode does to its score, when its spec says (``scoring_note``: faithful SQuAD)."""
    from ptbench.tasks import get_task

    try:
        return get_task(task, scoring or "faithful").scoring_note
    except Exception:  # a task or mode this version does not know: no note rather than no table
        return None


def _matches(row: dict[str, Any], where: dict[str, Any]) -> bool:
    for name, want in where.items():
        have = row.get("config", {}).get(name.removeprefix("config.")) if name.startswith("config.") else row.get(name)
        if have != want:
            return False
    return True


def paired_test(cell: Ours, baseline: Ours | None) -> tuple[float | None, str | None]:
    """The p-value of cell vs baseline, or why there is none."""
    if baseline is None:
        return None, "no baseline run"
    if cell.replicates is None or baseline.replicates is None:
        return None, None  # no predictions: nothing to say beyond the missing interval
    if cell.pairing != baseline.pairing or None in cell.pairing[0]:
        return None, "baseline evaluated on another test set or bootstrap: not paired"
    return paired_p_value(cell.mean, baseline.mean, cell.replicates, baseline.replicates), None


def merge_keys(*parts: dict[str, Any]) -> dict[str, Any]:
    key: dict[str, Any] = {}
    for part in parts:
        for name, value in part.items():
            if name == "where":
                key["where"] = {**key.get("where", {}), **value}
            elif name != "label":
                key[name] = value
    return key


def replace_method(key: dict[str, Any], method: str) -> dict[str, Any]:
    """The key of the same cell for another method: method-specific config filters dropped."""
    where = {k: v for k, v in key.get("where", {}).items() if not k.startswith("config.")}
    return {**key, "method": method, "where": where}
