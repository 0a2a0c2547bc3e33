"""Split protocols: which rows of which hub split become train / validation / test.

``dept`` (the DePT and ATTEMPT code): a permutation by ``torch.randperm`` with a generator
seeded 42, independent of the training seed. Small tasks halve the official validation into
validation / test; large tasks carve 1,000 training rows out as validation and test on the
official validation; ``official`` tasks (MNLI, PAWS) keep the hub's splits.
``explosive`` (seed 003): the sizes its Table 5 prints. Its B.1 text gives a rule by training-set size
(< 10K: validation halved; < 100K: 1K carved from train; else 10K carved; the official validation
tests the last two), which Table 5 follows for all but six tasks: HotpotQA, NewsQA, WinoGrande,
SciTail and PAWS keep the whole training split and halve the validation (the spec's
``explosive_split: small``), and MRPC, whose 3,668 / 408 / 1,725 are the hub's three splits: its test
split is the one GLUE test the hub labels (``explosive_split: official``). ``explosive_b1`` applies the
B.1 rule to every task.
A spec's ``train_rows`` keeps only the first N rows of the training part, after the split: DePT's
Yelp shuffles all 560,000 training rows, carves 1,000 as validation, then keeps the first 100,000
of the remaining (shuffled) ones (its train.py ``train_dataset.select(range(100000))``).
``few_shot_indices`` draws the k-shot training sets (seeded, class-balanced); ``dept_few_shot_indices``
draws them as DePT's train.py.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import torch

from ptbench.tasks.spec import TaskSpec

DEPT_LARGE_VALIDATION = 1000
EXPLOSIVE_SMALL, EXPLOSIVE_MEDIUM = 10_000, 100_000
EXPLOSIVE_MEDIUM_VALIDATION, EXPLOSIVE_LARGE_VALIDATION = 1000, 10_000


@dataclass(frozen=True)
class SplitPart:
    source: str  # hub split name
    indices: tuple[int, ...]


def _permutation(n: int, seed: int) -> list[int]:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()


def _halve(source: str, n: int, seed: int) -> tuple[SplitPart, SplitPart]:
    order = _permutation(n, seed)
    half = n // 2
    return SplitPart(source, tuple(order[:half])), SplitPart(source, tuple(order[half:]))


def _carve(source: str, n: int, size: int, seed: int) -> tuple[SplitPart, SplitPart]:
    """(train rest, validation carved) from a permutation of ``source``."""
    order = _permutation(n, seed)
    return SplitPart(source, tuple(order[size:])), SplitPart(source, tuple(order[:size]))


def _whole(source: str, n: int) -> SplitPart:
    return SplitPart(source, tuple(range(n)))


def plan_splits(spec: TaskSpec, sizes: dict[str, int], protocol: str, seed: int) -> dict[str, SplitPart]:
    """Map train/validation/test to (hub split, row indices); ``sizes`` are the hub split sizes."""
    plan = _plan(spec, sizes, protocol, seed)
    if spec.train_rows is not None:  # after the split, as DePT's Yelp
        train = plan["train"]
        plan["train"] = SplitPart(train.source, train.indices[:spec.train_rows])
    return plan


def _plan(spec: TaskSpec, sizes: dict[str, int], protocol: str, seed: int) -> dict[str, SplitPart]:
    train, validation = spec.splits["train"], spec.splits["validation"]
    n_train, n_val = sizes[train], sizes[validation]
    if protocol == "dept":
        if spec.split_rule == "official":
            test = spec.splits["test"]
            return {"train": _whole(train, n_train), "validation": _whole(validation, n_val),
                    "test": _whole(test, sizes[test])}
        if spec.split_rule == "small":
            val_part, test_part = _halve(validation, n_val, seed)
            return {"train": _whole(train, n_train), "validation": val_part, "test": test_part}
        train_part, val_part = _carve(train, n_train, DEPT_LARGE_VALIDATION, seed)
        return {"train": train_part, "validation": val_part, "test": _whole(validation, n_val)}
    # explosive: by training-set size; the test set is the official validation (MNLI: matched)
    if protocol == "explosive" and spec.explosive_split == "official":
        test = spec.splits["test"]
        return {"train": _whole(train, n_train), "validation": _whole(validation, n_val),
                "test": _whole(test, sizes[test])}
    test = spec.splits.get("test", validation)
    if n_train < EXPLOSIVE_SMALL or (protocol == "explosive" and spec.explosive_split == "small"):
        val_part, test_part = _halve(validation, n_val, seed)
        return {"train": _whole(train, n_train), "validation": val_part, "test": test_part}
    carve = EXPLOSIVE_MEDIUM_VALIDATION if n_train < EXPLOSIVE_MEDIUM else EXPLOSIVE_LARGE_VALIDATION
    train_part, val_part = _carve(train, n_train, carve, seed)
    return {"train": train_part, "validation": val_part, "test": _whole(test, sizes[test])}


def split_hash(plan: dict[str, SplitPart]) -> str:
    payload = json.dumps({k: [v.source, list(v.indices)] for k, v in sorted(plan.items())}, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _check_k(k: int, rows: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > rows:
        raise ValueError(f"k = {k} exceeds the {rows} rows available")


def few_shot_indices(labels: list[str], k: int, seed: int) -> list[int]:
    """k training examples drawn without replacement, as evenly over the classes as they allow.

    ``labels`` holds one class key per candidate row (free-form tasks: one key for all rows, so
    the draw is plain random). Classes take turns in order of first appearance in a seeded
    permutation, so k = 4 on a 3-class task gives 2/1/1 and the extra example goes to a class
    picked by the seed. A class with too few rows gives its turn to the others.
    """
    _check_k(k, len(labels))
    by_class: dict[str, list[int]] = {}
    for index in _permutation(len(labels), seed):
        by_class.setdefault(labels[index], []).append(index)
    queues = list(by_class.values())
    picked: list[int] = []
    while len(picked) < k:
        for queue in queues:
            if queue and len(picked) < k:
                picked.append(queue.pop(0))
    return sorted(picked)


def dept_few_shot_indices(labels: list[str], k: int, seed: int, classes: list[str]) -> list[int]:
    """k training examples as DePT's train.py picks them (``few_shot.sampler: dept``): the split
    shuffled by ``datasets``' ``shuffle(seed)`` (numpy's ``default_rng(seed).permutation``), then in that
    order a row is taken while its class has fewer than k // len(classes), or when one pick is left (so
    a binary k = 4 may end 3:1); the rows come back in shuffled order. DePT seeds it with the training
    seed; STS-B's classes are its scores split at 2.5 (``stsb_class``)."""
    _check_k(k, len(labels))
    counts = dict.fromkeys(classes, 0)
    per_class = k // len(counts)
    picked: list[int] = []
    for index in np.random.default_rng(seed).permutation(len(labels)).tolist():
        if len(picked) == k:
            break
        label = labels[index]
        if label not in counts:
            raise ValueError(f"row {index}: class {label!r} is not one of {sorted(counts)}")
        if counts[label] < per_class or len(picked) == k - 1:
            counts[label] += 1
            picked.append(index)
    return picked


def stsb_class(score: str) -> str:
    """DePT's two k-shot classes of STS-B: "0" for a score <= 2.5, else "1"."""
    return "0" if float(score) <= 2.5 else "1"
