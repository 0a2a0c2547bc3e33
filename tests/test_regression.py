"""CI's regression check for every method at the cost of one process: each grid method and named
variant (the transfer methods, which need the source-prompt stages: tests/test_pipeline.py's DVC slice)
trained and scored on RTE as its cells stage does it (``train_and_evaluate``), on the session's smoke
mirror (the mirror stage's own builder, one torch thread as runtime.cpu_threads), then compared
exactly with the committed smoke metrics (ptbench.regression). The stage processes would cost ~5 s
of imports each; here every cell shares one. The pipeline slice checks that the mirror it reuses is
the committed one and that the stage processes give these same numbers.
"""
import pytest
import torch

from conftest import REPO
from ptbench import hub, layout
from ptbench.backbones import get_backbone
from ptbench.data.prepare import prepare_task
from ptbench.experiment import train_and_evaluate
from ptbench.regression import metric_files, moved_cells, report
from ptbench.tasks import get_task

pytestmark = pytest.mark.slow

TASK = "rte"
BACKBONE = "tiny-t5"


@pytest.fixture(scope="module")
def regression_run(smoke_params, tmp_path_factory):
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
                           root / layout.metrics_path(BACKBONE, method, TASK), None,
                           root / layout.checkpoint_dir("runs", BACKBONE, method, TASK), root / "transfer")
    return root, methods


def test_every_non_transfer_method_and_variant_reproduces_its_committed_rte_cell(regression_run):
    root, methods = regression_run
    produced = metric_files(root)
    assert set(produced) == {layout.metrics_path(BACKBONE, m, TASK).as_posix() for m in methods}
    assert len(methods) >= 14  # every registered prompt method of the smoke grid and the four Table 2 variants
    moved = [m for m in moved_cells(REPO, root) if m.path in produced]
    assert not moved, report(moved)
