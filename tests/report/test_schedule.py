"""An empty seed-table row names the profiles that run every cell of it (report/schedule.py): grid rows by
the grid's configurations, knob rows by the knob points, each filled with the method's code defaults."""
import pytest

from conftest import REPO
from ptbench.pipeline.profiles import resolved_data
from ptbench.report.layouts import TABLES
from ptbench.report.schedule import schedules

FIG9 = next(t for t in TABLES if t["id"] == "seed003_fig9")
SUPERGLUE = ["boolq", "cb", "wic", "wsc", "multirc"]


@pytest.fixture(scope="module")
def profiles():
    return {name: resolved_data(name, REPO / "params.yaml", REPO / "profiles") for name in ("paper-003", "smoke")}


def key(label):
    row = next(r for r in FIG9["rows"] if r["label"] == label)
    return {**FIG9["fixed"], "kind": row["kind"], "where": row["where"]}


def test_a_knob_row_is_scheduled_by_the_profile_with_that_knob_point(profiles):
    assert schedules(profiles["paper-003"], key("LayerNorm"), SUPERGLUE)  # knob point layer_norm=true
    assert schedules(profiles["paper-003"], key("GELU"), SUPERGLUE)
    assert not schedules(profiles["smoke"], key("GELU"), ["rte"])  # the smoke sweeps no activation


def test_a_grid_row_filtering_on_code_defaults_is_scheduled(profiles):
    """"None (EPT)" filters on layer_norm / residual / activation, which params.yaml leaves to the code's
    defaults: the grid's ept runs them."""
    assert schedules(profiles["paper-003"], key("None (EPT)"), SUPERGLUE)
    assert not schedules(profiles["paper-003"], {**key("None (EPT)"), "where": {"config.activation": "relu"}},
                         SUPERGLUE)
