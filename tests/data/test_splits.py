"""Split protocols against the published sizes (DePT's logs, seed 001 Table 4, seed 003 Table 5)."""
import pytest

from ptbench.data.splits import plan_splits, split_hash
from ptbench.tasks import get_task

# Hub row counts (../shared/reference/hub.md, Table A).
HUB_SIZES = {
    "rte": {"train": 2490, "validation": 277, "test": 3000},
    "qnli_like": {"train": 104743, "validation": 5463},
    "sst2": {"train": 67349, "validation": 872, "test": 1821},
    "mnli": {"train": 392702, "validation_matched": 9815, "validation_mismatched": 9832},
    "mrpc": {"train": 3668, "validation": 408, "test": 1725},
    "cola": {"train": 8551, "validation": 1043, "test": 1063},
}


def sizes(plan):
    return {role: len(part.indices) for role, part in plan.items()}


def test_dept_small_task_halves_the_official_validation():
    plan = plan_splits(get_task("rte"), HUB_SIZES["rte"], "dept", 42)
    assert sizes(plan) == {"train": 2490, "validation": 138, "test": 139}  # RTE test 139 (DePT logs)
    assert plan["validation"].source == plan["test"].source == "validation"
    assert sorted(plan["validation"].indices + plan["test"].indices) == list(range(277))


def test_dept_large_task_carves_1000_from_train():
    plan = plan_splits(get_task("sst2"), HUB_SIZES["sst2"], "dept", 42)
    assert sizes(plan) == {"train": 66349, "validation": 1000, "test": 872}  # seed 001 Table 4
    assert not set(plan["train"].indices) & set(plan["validation"].indices)


def test_dept_mnli_uses_mismatched_for_validation_and_matched_for_test():
    plan = plan_splits(get_task("mnli"), HUB_SIZES["mnli"], "dept", 42)
    assert (plan["validation"].source, plan["test"].source) == ("validation_mismatched", "validation_matched")
    assert sizes(plan) == {"train": 392702, "validation": 9832, "test": 9815}


def test_dept_permutation_is_torch_randperm_seeded_42():
    import torch

    plan = plan_splits(get_task("cola"), HUB_SIZES["cola"], "dept", 42)
    order = torch.randperm(1043, generator=torch.Generator().manual_seed(42)).tolist()
    assert list(plan["validation"].indices) == order[:521] and list(plan["test"].indices) == order[521:]
    assert sizes(plan) == {"train": 8551, "validation": 521, "test": 522}  # seed 001 Table 4


@pytest.mark.parametrize("task, expected", [
    ("rte", {"train": 2490, "validation": 138, "test": 139}),        # < 10K: validation halved
    ("sst2", {"train": 66349, "validation": 1000, "test": 872}),     # < 100K: 1K carved
    ("mnli", {"train": 382702, "validation": 10000, "test": 9815}),  # >= 100K: 10K carved (Table 5)
])
def test_explosive_protocol_follows_training_set_size(task, expected):
    assert sizes(plan_splits(get_task(task), HUB_SIZES[task], "explosive", 42)) == expected


def test_split_hash_is_stable_and_sensitive():
    spec = get_task("rte")
    a = split_hash(plan_splits(spec, HUB_SIZES["rte"], "dept", 42))
    assert a == split_hash(plan_splits(spec, HUB_SIZES["rte"], "dept", 42))
    assert a != split_hash(plan_splits(spec, HUB_SIZES["rte"], "dept", 43))
