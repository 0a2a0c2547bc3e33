"""CI's regression check for every method at the cost of one process: each grid method and named
variant (the transfer methods, which need the source-prompt stages: tests/test_pipeline.py's DVC slice)
trained and scored on RTE as its cells stage does it (``train_and_evaluate``), on the session's smoke
mirror (the mirror stage's own builder, one torch thread as runtime.cpu_threads), then compared
exactly with the committed smoke metrics (ptbench.check.regression). The stage processes would cost ~5 s
of imports each; here every cell shares one. The pipeline slice checks that the mirror it reuses is
the committed one and that the stage processes give these same numbers.
"""
import json
import subprocess
import sys

import pytest
import torch
import yaml

from conftest import REPO
from ptbench import hub
from ptbench.pipeline import layout
from ptbench.backbones import get_backbone
from ptbench.data.prepare import prepare_task
from ptbench.run.experiment import train_and_evaluate
from ptbench.check.regression import metric_files, moved_cells, report
from ptbench.tasks import get_task

pytestmark = pytest.mark.slow

TASK = "rte"
BACKBONE = "tiny-t5"


@pytest.fixture(scope="module")
def regression_run(committed_platform, smoke_params, tmp_path_factory):
    """(committed_platform first: on other bits, one line instead of every cell moved.)"""
    params = smoke_params.for_backbone(BACKBONE)
    assert torch.get_num_threads() == params.runtime.cpu_threads  # conftest pins it, as the stages do
    root = tmp_path_factory.mktemp("regression")
    spec = get_task(TASK, params.data.scoring)
    dataset = hub.load_hub_dataset(spec.hub.path, spec.hub.name, spec.hub.revision, params.hub.mirror, params.hub.offline)
    tokenizer = hub.load_tokenizer(get_backbone(BACKBONE).hub_id, params.hub.mirror, params.hub.offline)
    data_dir = root / layout.data_dir(BACKBONE, TASK)
    prepare_task(spec, dataset, tokenizer, params.data, data_dir)
    methods = list(params.grid.methods)
    for method in methods:
        train_and_evaluate(params, method, TASK, data_dir, root / layout.run_dir(BACKBONE, method, TASK),
                           root / layout.metrics_path(BACKBONE, method, TASK),
                           root / layout.predictions_path(BACKBONE, method, TASK),
                           root / layout.checkpoint_dir("runs", BACKBONE, method, TASK), root / "transfer")
    return root, methods


def test_every_non_transfer_method_and_variant_reproduces_its_committed_rte_cell(regression_run):
    root, methods = regression_run
    produced = metric_files(root)
    assert set(produced) == {layout.metrics_path(BACKBONE, m, TASK).as_posix() for m in methods}
    assert len(methods) >= 14  # every registered prompt method of the smoke grid and the four Table 2 variants
    moved = [m for m in moved_cells(REPO, root) if m.path in produced]
    assert not moved, report(moved)


@pytest.mark.parametrize("method", ["pt", "ept_msp_no_fusion"])
def test_ptbench_score_reproduces_the_stage_numbers_from_its_predictions(regression_run, method, tmp_path):
    """`ptbench score` on the evaluate code's own predictions file, and on the same predictions as JSON
    lines in reverse order: the stage's metrics exactly."""
    root, _ = regression_run
    stage = json.loads((root / layout.metrics_path(BACKBONE, method, TASK)).read_text())["per_seed"]["0"]
    predictions = root / layout.predictions_path(BACKBONE, method, TASK)
    lines = tmp_path / "predictions.jsonl"
    texts = json.loads(predictions.read_text())["per_seed"]["0"]
    lines.write_text("".join(json.dumps({"id": i, "prediction": texts[i]}) + "\n" for i in reversed(range(len(texts)))))
    for path in (predictions, lines):
        printed = subprocess.run([sys.executable, "-m", "ptbench.cli", "score", "--task", TASK, "--data",
                                  str(root / layout.data_dir(BACKBONE, TASK)), "--predictions", str(path)],
                                 capture_output=True, text=True, check=True).stdout
        scores = json.loads(printed)["metrics"]
        assert scores == {k: stage[k] for k in scores} and set(scores) == {"accuracy", "invalid_rate"}


def test_ptbench_audit_reruns_sampled_cells_and_fails_on_a_tampered_metric(regression_run, smoke_params):
    """`ptbench audit` in a workspace holding the cache (metrics, prepared data, params.yaml): the sampled
    cells re-run to the cached numbers; one cached number changed by hand fails it."""
    root, _ = regression_run
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["hub"]["mirror"] = str(smoke_params.hub.mirror)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    def audit(*args):
        return subprocess.run([sys.executable, "-m", "ptbench.cli", "audit", *args], cwd=root, capture_output=True,
                              text=True)
    passed = audit("--sample", "3", "--seed", "1")
    assert passed.returncode == 0 and "audit: 3 of 3 re-run cells agree with the cache (exactly)" in passed.stdout, \
        passed.stdout + passed.stderr
    cached = root / layout.metrics_path(BACKBONE, "pt", TASK)
    original = cached.read_text()
    try:
        payload = json.loads(original)
        payload["per_seed"]["0"]["accuracy"] += 0.5  # a tampered cached number
        cached.write_text(json.dumps(payload))
        failed = audit("--cell", f"{BACKBONE}/pt/{TASK}")
        assert failed.returncode == 1 and "MISMATCH" in failed.stdout and f"{BACKBONE}/pt/{TASK}" in failed.stderr
    finally:
        cached.write_text(original)


def test_every_run_records_its_cost_beside_the_byte_identical_record(regression_run, smoke_params):
    """timing.json (experiment.run_cost): wall time, steps, examples and their rate, the device, peak memory."""
    root, _ = regression_run
    cost = json.loads((root / layout.run_dir(BACKBONE, "pt", TASK) / "seed0" / "timing.json").read_text())
    train = smoke_params.train
    assert (cost["steps"], cost["examples"]) == (train.steps, train.steps * train.batch_size)
    assert cost["examples_per_second"] == pytest.approx(cost["examples"] / cost["train_seconds"], rel=0.01)
    platform = cost["device"].pop("platform")  # the CPU and its kernels (ptbench.numerics.in_force)
    assert cost["device"] == {"type": "cpu", "threads": smoke_params.runtime.cpu_threads}
    assert platform["cpu_numerics"] == smoke_params.runtime.cpu_numerics and platform["threads"] == 1
    assert cost["peak_memory_mb"] > 100 and "gpu_hours" not in cost
