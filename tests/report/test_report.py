"""The table step end to end: rows files in, tables + figures + index.html out, every link checked."""
import dataclasses
import types

import pytest
import torch
from report_fixtures import labels, write_fewshot, write_run

from ptbench.errors import ConfigError
from ptbench.report.build import write_report
from ptbench.report.layouts import TABLES
from ptbench.report.page import missing_links
from ptbench.report.rows import build_rows, write_rows
from ptbench.report.settings import ReportSettings, report_settings
from ptbench.report.sweeps import SWEEPS, sweep_points

SETTINGS = ReportSettings(bootstrap_iterations=30)
GOLD = [["1"]] * 20
HISTORY = [{"step": s, "loss": 1.0 / s, "prompt_norm": 5.0 + s, "gate_mean_0": 0.3, "gate_mean_1": 0.7}
           for s in (10, 20)] + [{"step": 20, "validation_accuracy": 60.0}]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    results, rows = tmp / "results", tmp / "rows"
    for method, correct in (("pt", 12), ("ept_msp", 15)):
        state = {"embedding": torch.randn(10, 512)} if method == "pt" else None
        write_run(results, method, "rte", {"0": labels(correct, 20)}, GOLD, history=HISTORY, state=state)
        write_rows(build_rows(results, method, SETTINGS, 64), rows / "t5-small" / f"{method}.json")
    for k in (4, 16):
        write_fewshot(results, "pt", "rte", k, 0, {"0": 50.0 + k})
    write_rows(build_rows(results, "pt", SETTINGS, 64, kind="fewshot"), rows / "fewshot" / "pt.json")
    out = write_report(rows, tmp / "tables", tmp / "figures", tmp / "report", SETTINGS, ["pt", "ept_msp"],
                       ["rte", "mnli"], audit=False)
    return tmp, out


def test_the_page_links_every_table_and_drawn_figure_and_they_exist(report):
    tmp, out = report
    page = out["page"].read_text()
    for spec_id in ["main"] + [t["id"] for t in TABLES]:
        assert f'id="{spec_id}"' in page
        for suffix in ("md", "tex", "csv"):
            assert (tmp / "tables" / f"{spec_id}.{suffix}").is_file() and f"../tables/{spec_id}.{suffix}" in page
    drawn = {f.name for f in out["figures"] if f.drawn}
    assert {"params_vs_score", "learning_curves", "prompt_norm", "gate_weights", "prompt_similarity",
            "fewshot_curves", "validation_curves"} <= drawn
    for name in drawn:
        assert (tmp / "figures" / f"{name}.png").is_file() and (tmp / "figures" / f"{name}.pdf").is_file()
        assert f"../figures/{name}.png" in page
    assert missing_links(out["page"]) == []
    assert "Not drawn: the runs they need" in page and "num_experts in {1, 2, 4, 8}" in page
    assert "abc123" in page and "torch 2.x" in page and "bootstrap_iterations = 30" in page  # provenance


def test_the_link_check_reports_a_missing_file(report, tmp_path):
    tmp, out = report
    page = tmp_path / "report" / "index.html"
    page.parent.mkdir()
    page.write_text(out["page"].read_text().replace("../tables/main.md", "../tables/gone.md")
                    .replace('href="#figures"', 'href="#figures"'))
    (tmp_path / "tables").symlink_to(tmp / "tables")
    (tmp_path / "figures").symlink_to(tmp / "figures")
    assert missing_links(page) == ["../tables/gone.md"]


def test_sweeps_draw_only_runs_that_differ_in_the_knob_alone(tmp_path):
    results = tmp_path / "results"
    for rel, lr, length in (("a", 0.3, 10), ("b", 0.1, 10), ("c", 0.01, 20)):
        write_run(results, "pt", "rte", {"0": labels(10, 20)}, GOLD, rel=rel, config={"lr": lr, "length": length})
    rows = build_rows(results, "pt", SETTINGS, 64)["results"]
    lr = next(s for s in SWEEPS if s["name"] == "lr_robustness")
    assert sweep_points(rows, lr) == {"rte (t5-small)": {"pt": [(0.1, 50.0), (0.3, 50.0)]}}  # c also changes length
    spaces = next(s for s in SWEEPS if s["name"] == "number_of_spaces")
    assert sweep_points(rows, spaces) == {}


def test_settings_come_from_params_a_mapping_or_the_defaults():
    assert report_settings(None) == ReportSettings()
    assert report_settings({"bootstrap_iterations": 10}).bootstrap_iterations == 10
    params = types.SimpleNamespace(report=None, raw={"report": {"invalid_threshold": 5.0}})
    assert report_settings(params).invalid_threshold == 5.0
    loader_section = dataclasses.make_dataclass("ReportConfig", ["bootstrap_iterations", "bootstrap_seed", "confidence",
                                                                 "invalid_threshold"])(7, 1, 0.9, 1.0)
    assert report_settings(types.SimpleNamespace(report=loader_section)) == ReportSettings(7, 1, 0.9, 1.0)
    for bad in ({"bootstrap_iterations": 0}, {"confidence": 1.5}, {"invalid_threshold": 120}, {"unknown": 1}):
        with pytest.raises(ConfigError):
            report_settings(bad)
