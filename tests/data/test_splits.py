"""Split protocols against the published sizes (DePT's logs, seed 001 Table 4, seed 003 Table 5)."""
import pytest

from ptbench.data.splits import few_shot_indices, plan_splits, split_hash
from ptbench.tasks import all_tasks, get_task

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


# Published split sizes under the dept protocol: DePT's released logs (QNLI, QQP, MNLI train, RTE
# and CB test) and what the rule gives on the hub row counts recorded in each spec (hub.md).
DEPT_SIZES = {
    "qnli": {"train": 103743, "validation": 1000, "test": 5463},
    "qqp": {"train": 362846, "validation": 1000, "test": 40430},
    "mnli": {"train": 392702, "validation": 9832, "test": 9815},
    "rte": {"train": 2490, "validation": 138, "test": 139},
    "cb": {"train": 250, "validation": 28, "test": 28},
    "copa": {"train": 400, "validation": 50, "test": 50},
    "wsc": {"train": 554, "validation": 52, "test": 52},
    "stsb": {"train": 5749, "validation": 750, "test": 750},
    "record": {"train": 99730, "validation": 1000, "test": 10000},
    "yelp": {"train": 100000, "validation": 1000, "test": 38000},  # 100K of the carved rest, test = hub test
    "paws": {"train": 49401, "validation": 8000, "test": 8000},
    "scitail": {"train": 23596, "validation": 652, "test": 652},  # small rule: the official test is unused
    "hotpotqa": {"train": 71928, "validation": 1000, "test": 5901},
}


@pytest.mark.parametrize("task", sorted(DEPT_SIZES))
def test_dept_protocol_reproduces_the_published_sizes(task):
    spec = get_task(task)
    assert sizes(plan_splits(spec, spec.hub_rows, "dept", 42)) == DEPT_SIZES[task]


@pytest.mark.parametrize("protocol", ["dept", "explosive"])
@pytest.mark.parametrize("task", sorted(all_tasks()))
def test_every_spec_records_its_hub_sizes_and_plans_disjoint_splits(task, protocol):
    spec = get_task(task)
    assert set(spec.splits.values()) <= set(spec.hub_rows), "hub_rows must cover every split the spec reads"
    plan = plan_splits(spec, spec.hub_rows, protocol, 42)
    by_source: dict[str, list[int]] = {}
    for part in plan.values():
        by_source.setdefault(part.source, []).extend(part.indices)
    for source, indices in by_source.items():
        assert len(indices) == len(set(indices)), f"{task}: rows of {source} used twice"
    assert all(len(part.indices) > 0 for part in plan.values())


def test_explosive_protocol_on_a_medium_task_tests_on_the_official_validation():
    spec = get_task("qnli")  # 104,743 rows: >= 100K, so 10K are carved
    assert sizes(plan_splits(spec, spec.hub_rows, "explosive", 42)) == {"train": 94743, "validation": 10000, "test": 5463}
    spec = get_task("hotpotqa")  # 72,928 rows: B.1 carves 1K, the official validation tests
    assert sizes(plan_splits(spec, spec.hub_rows, "explosive_b1", 42)) == {"train": 71928, "validation": 1000, "test": 5901}


# seed 003 Table 5 (train / valid / test), transcribed from the seed's text, for every task of the hub
# whose splits this suite prepares; the explosive protocol must give exactly these.
TABLE5_003 = {
    "boolq": (9427, 1635, 1635), "cb": (250, 28, 28), "multirc": (26243, 1000, 4848), "wic": (5428, 319, 319),
    "wsc": (554, 52, 52), "cola": (8551, 521, 522), "sst2": (66349, 1000, 872), "stsb": (5749, 750, 750),
    "qqp": (353846, 10000, 40430), "mnli": (382702, 10000, 9815), "qnli": (94743, 10000, 5463),
    "rte": (2490, 138, 139), "nq": (94071, 10000, 12836), "hotpotqa": (72928, 2950, 2951),
    "searchqa": (107384, 10000, 16980), "newsqa": (74160, 2106, 2106), "winogrande": (40398, 633, 634),
    "yelp": (100000, 10000, 38000), "scitail": (23596, 652, 652), "paws": (49401, 4000, 4000),
    "mrpc": (3668, 408, 1725),
}
# Where Table 5 and the B.1 text disagree, B.1's own sizes (explosive_b1). MRPC's Table 5 sizes are the hub's
# three splits: its test split is labelled on the hub (huggingface/datasets PR #2216), unlike GLUE's others.
B1_003 = {"hotpotqa": (71928, 1000, 5901), "newsqa": (73160, 1000, 4212), "winogrande": (39398, 1000, 1267),
          "scitail": (22596, 1000, 1304), "paws": (48401, 1000, 8000), "mrpc": (3668, 204, 204)}


@pytest.mark.parametrize("task", sorted(TABLE5_003))
def test_the_explosive_protocol_gives_seed_003s_table_5_sizes(task):
    spec = get_task(task)
    plan = plan_splits(spec, spec.hub_rows, "explosive", 42)
    assert tuple(sizes(plan).values()) == TABLE5_003[task]


@pytest.mark.parametrize("task", sorted(B1_003))
def test_explosive_b1_keeps_the_b1_rule_where_table_5_differs(task):
    spec = get_task(task)
    assert tuple(sizes(plan_splits(spec, spec.hub_rows, "explosive_b1", 42)).values()) == B1_003[task]


# --- k-shot sampling -------------------------------------------------------------------
LABELS = ["0"] * 50 + ["1"] * 30 + ["2"] * 5


@pytest.mark.parametrize("k", [4, 16, 32])
def test_few_shot_is_balanced_over_classes(k):
    picked = few_shot_indices(LABELS, k, seed=3)
    counts = {c: sum(LABELS[i] == c for i in picked) for c in "012"}
    assert len(picked) == len(set(picked)) == k
    expected_max = -(-k // 3)
    # the small class (5 rows) gives its turns to the others once it runs out
    if k <= 15:
        assert max(counts.values()) - min(counts.values()) <= 1 and max(counts.values()) == expected_max
    else:
        assert counts["2"] == 5 and abs(counts["0"] - counts["1"]) <= 1


def test_few_shot_is_seeded():
    assert few_shot_indices(LABELS, 16, seed=1) == few_shot_indices(LABELS, 16, seed=1)
    assert few_shot_indices(LABELS, 16, seed=1) != few_shot_indices(LABELS, 16, seed=2)


def test_few_shot_on_free_form_answers_is_a_plain_draw():
    picked = few_shot_indices(["answer"] * 20, 4, seed=0)
    import torch

    assert picked == sorted(torch.randperm(20, generator=torch.Generator().manual_seed(0)).tolist()[:4])


@pytest.mark.parametrize("k, message", [(0, "k must be >= 1"), (86, "exceeds the 85 rows")])
def test_few_shot_rejects_impossible_k(k, message):
    with pytest.raises(ValueError, match=message):
        few_shot_indices(LABELS, k, seed=0)


def test_yelp_keeps_100k_of_the_shuffled_carved_training_rows_as_depts_code():
    """Computed by running DePT's own split code (src/tasks.py get_split_indices with seed 42, then train.py's
    select(range(100000))) on yelp_polarity's 560,000 rows (2026-12-03): validation = randperm[:1000],
    train = randperm[1000:101000] in that order; sha256 of the JSON index lists, first 16 hex digits."""
    import hashlib
    import json

    plan = plan_splits(get_task("yelp"), get_task("yelp").hub_rows, "dept", 42)
    digest = lambda part: hashlib.sha256(json.dumps(list(part.indices)).encode()).hexdigest()[:16]  # noqa: E731
    assert list(plan["train"].indices[:5]) == [106749, 165215, 4608, 291562, 119492]
    assert list(plan["validation"].indices[:5]) == [317542, 92177, 341460, 490635, 72486]
    assert (digest(plan["train"]), digest(plan["validation"])) == ("dc84e4741b023172", "11eac8812a773a41")
    assert plan["test"].indices == tuple(range(38000))


# Computed by running DePT's own k-shot loop (train.py L530-546: datasets' shuffle(seed), greedy quota of
# k // classes with a free last pick) on 30 rows with k = 4 (2026-12-03): the rows picked, in its order.
DEPT_KSHOT = [  # labels of row i, seed, DePT's rows
    (lambda i: "0" if i % 3 == 0 else "1", ["0", "1"], 0, [2, 11, 21, 10]),
    (lambda i: "0" if i % 3 == 0 else "1", ["0", "1"], 42, [29, 16, 24, 22]),
    (lambda i: str(i % 3), ["0", "1", "2"], 0, [2, 21, 10, 4]),
    (lambda i: str(i % 3), ["0", "1", "2"], 42, [29, 16, 24, 22]),
    (lambda i: "0" if i % 5 == 4 else "1", ["0", "1"], 0, [2, 11, 4, 28]),
    (lambda i: "0" if i % 5 == 4 else "1", ["0", "1"], 42, [29, 16, 7, 25]),
]


@pytest.mark.parametrize("label_of, classes, seed, expected", DEPT_KSHOT)
def test_the_dept_sampler_picks_depts_rows_in_depts_order(label_of, classes, seed, expected):
    from ptbench.data.splits import dept_few_shot_indices

    labels = [label_of(i) for i in range(30)]
    assert dept_few_shot_indices(labels, 4, seed, classes) == expected


def test_the_dept_sampler_splits_stsb_at_2_5_and_rejects_a_task_without_classes(raw_params):
    from ptbench.config import parse_params
    from ptbench.data.splits import stsb_class
    from ptbench.errors import ConfigError

    assert [stsb_class(s) for s in ("0.0", "2.5", "2.6", "5.0")] == ["0", "0", "1", "1"]
    raw_params["few_shot"].update(sampler="dept", tasks=["squad"])
    with pytest.raises(ConfigError, match="few_shot.sampler: dept draws per class, and 'squad' has none"):
        parse_params(raw_params)
