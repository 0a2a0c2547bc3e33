"""The table step end to end: rows files in, tables + figures + index.html out, every link checked."""
import pytest
import torch
from report_fixtures import labels, report_settings, write_fewshot, write_run

from ptbench.errors import ConfigError
from ptbench.report.build import write_report
from ptbench.report.layouts import TABLES
from ptbench.report.page import missing_links
from ptbench.report.rows import build_rows, write_rows
from ptbench.report.sweeps import SWEEPS, sweep_points

SETTINGS = report_settings(30)
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


def test_the_page_carries_every_table_and_drawn_figure_itself(report):
    """One self-contained file: figures inlined, each table's CSV and LaTeX as inlined downloads, nothing
    linked by path (it can be mailed or opened offline)."""
    import base64
    import html
    import re

    tmp, out = report
    page = out["page"].read_text()
    for spec_id in ["main"] + [t["id"] for t in TABLES]:
        assert f'id="{spec_id}"' in page and f'href="#{spec_id}"' in page  # the section and its contents entry
        for suffix in ("md", "tex", "csv"):
            assert (tmp / "tables" / f"{spec_id}.{suffix}").is_file()
        for suffix in ("tex", "csv"):
            carried = re.search(f'download="{spec_id}.{suffix}" href="data:text/plain;base64,([^"]+)"', page)
            assert carried and base64.b64decode(carried.group(1)) == (tmp / "tables" / f"{spec_id}.{suffix}").read_bytes()
    drawn = {f.name for f in out["figures"] if f.drawn}
    assert {"params_vs_score", "learning_curves", "prompt_norm", "gate_weights", "prompt_similarity",
            "fewshot_curves", "validation_curves"} <= drawn
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(drawn)
    for name in drawn:
        assert (tmp / "figures" / f"{name}.png").is_file() and (tmp / "figures" / f"{name}.pdf").is_file()
        assert base64.b64encode((tmp / "figures" / f"{name}.png").read_bytes()).decode() in images
    for figure in (f for f in out["figures"] if f.drawn):  # each under its caption, naming RTE, the one task drawn
        assert html.escape(figure.caption) in page and figure.tasks == ["rte"] and "mnli" not in figure.caption
    assert "needs training records" not in page.split('id="figures"')[1].split("Not drawn")[0]
    assert "seed&lt;k&gt;/dvclive" in page  # where the logs are
    assert missing_links(out["page"]) == [] and not re.search(r'(href|src)="\.\./', page)  # nothing by path
    assert "Not drawn: the runs they need" in page and "ept_msp_no_fusion) at N = 2..8" in page
    assert "abc123" in page and "torch 2.x" in page and "bootstrap_iterations = 30" in page  # provenance
    # the verdicts first: a line for all tables, per paper and per table, and their files
    assert page.index('id="verdicts"') < page.index('id="main"') and "<b>All tables</b>" in page
    assert 'download="verdicts.md"' in page and (tmp / "tables" / "verdicts.csv").is_file()
    for anchor in ("verdicts", "claims", "figures", "audit", "provenance"):  # the contents list names every section
        assert f'href="#{anchor}"' in page
    seeds = [page.index(f'id="{spec["id"]}"') for spec in TABLES]
    assert seeds == sorted(seeds) and [s["paper"] for s in TABLES] == sorted(s["paper"] for s in TABLES)


def test_the_link_check_reports_a_missing_file(report, tmp_path):
    tmp, out = report
    page = tmp_path / "report" / "index.html"
    page.parent.mkdir()
    page.write_text(out["page"].read_text().replace("<h1>ptbench report</h1>",
                                                    '<h1>ptbench report</h1><a href="../tables/gone.md">x</a>'))
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


def test_knob_runs_join_the_grid_run_in_a_sweep_with_their_training_time(tmp_path):
    """results/knobs/ holds the knob_runs points in the grid's layout; their rows are kind knob, drawn
    by the sweeps beside the grid run and left out of the tables."""
    from ptbench.report.figure_style import Styles
    from ptbench.report.figures import sweep_figures
    from ptbench.report.sweeps import training_time

    results = tmp_path / "results"
    config = {"length": 100, "short_length": 60, "rank": 30}
    write_run(results, "ept_msp", "rte", {"0": labels(10, 20)}, GOLD, config=config, history=HISTORY)
    for short, correct in ((20, 12), (40, 14)):
        write_run(results / "knobs", "ept_msp", "rte", {"0": labels(correct, 20)}, GOLD,
                  rel=f"t5-small/ept_msp/short_length={short}/rte", config={**config, "short_length": short},
                  history=HISTORY)
    for run_dir, seconds in ((results / "runs/t5-small/ept_msp/rte", 30.0),
                             (results / "knobs/runs/t5-small/ept_msp/short_length=20/rte", 10.0)):
        (run_dir / "seed0" / "timing.json").write_text('{"train_seconds": %s}' % seconds)
    rows = build_rows(results, "ept_msp", SETTINGS, 64)["results"]
    assert sorted(r["kind"] for r in rows) == ["grid", "knob", "knob"]
    short = next(s for s in SWEEPS if s["name"] == "short_prompt_length")
    assert sweep_points(rows, short) == {"rte (t5-small)": {"ept_msp": [(20, 60.0), (40, 70.0), (60, 50.0)]}}
    assert sweep_points(rows, short, training_time) == {"rte (t5-small)": {"ept_msp": [(20, 10.0), (60, 30.0)]}}
    (tmp_path / "figures").mkdir()
    drawn = {f.name: f for f in sweep_figures(rows, tmp_path / "figures", Styles(["ept_msp"]))}
    assert drawn["short_prompt_length"].drawn and not drawn["number_of_spaces"].drawn


def test_report_settings_are_validated_naming_the_key(raw_params):
    from ptbench.config import parse_params

    for key, value, message in (("bootstrap_iterations", 0, "report.bootstrap_iterations: must be an integer >= 1"),
                                ("confidence", 1.5, "report.confidence: must be a number strictly between 0 and 1"),
                                ("invalid_threshold", 120, "report.invalid_threshold: must be a percentage"),
                                ("stand_in", {"tiny-t5": ["t5-huge"]}, "backbone"),
                                ("stand_in", {"tiny-t5": ["tiny-t5"]}, "report.stand_in: 'tiny-t5' cannot stand in")):
        bad = {**raw_params, "report": {**raw_params["report"], key: value}}
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            parse_params(bad)
    del raw_params["report"]["confidence"]
    with pytest.raises(ConfigError, match="report: missing key"):
        parse_params(raw_params)


def test_a_stand_in_backbone_fills_paper_cells_marked_and_never_over_a_real_run(tmp_path):
    from ptbench.report.cells import RunIndex, with_stand_ins

    results = tmp_path / "results"
    write_run(results, "pt", "rte", {"0": labels(12, 20)}, GOLD)  # backbone t5-small (report_fixtures)
    rows = build_rows(results, "pt", SETTINGS, 64)["results"]
    tiny = [{**row, "backbone": "tiny-t5"} for row in rows]
    index = RunIndex(with_stand_ins(tiny + rows, {"tiny-t5": ["t5-base", "t5-small"]}), 10.0)
    key = {"method": "pt", "task": "rte", "metric": "accuracy"}
    base = index.ours({**key, "backbone": "t5-base"}, [])
    assert base.mean == 60.0 and base.stand_in == "tiny-t5"
    assert index.ours({**key, "backbone": "t5-small"}, []).stand_in is None  # the real t5-small run wins
    assert index.ours({**key, "backbone": "t5-large"}, []) is None


def test_the_cost_table_sums_per_method_and_totals_the_profile():
    import pandas as pd

    from ptbench.report.build import cost_table, frame_markdown

    platform = {"cpu": "Intel(R) Xeon(R) Processor", "cpu_numerics": "avx2", "aten_capability": "AVX2",
                "mkl_branch": "AVX2", "onednn_max_isa": "AVX2", "torch": "2.13.0+cpu", "mkl": "2024.2-Product",
                "onednn": "3.12.0"}
    cpu = {"type": "cpu", "threads": 1, "platform": platform}
    rows = [{"backbone": "tiny-t5", "method": "pt", "train_seconds_total": 3.0, "examples_per_second": 600.0,
             "peak_memory_mb": 700.0, "gpu_hours": None, "device": cpu},
            {"backbone": "tiny-t5", "method": "pt", "train_seconds_total": 5.0, "examples_per_second": 400.0,
             "peak_memory_mb": 750.0, "gpu_hours": None, "device": cpu},
            {"backbone": "t5-base", "method": "dept", "train_seconds_total": 3600.0, "examples_per_second": 50.0,
             "peak_memory_mb": 9000.0, "gpu_hours": 1.0, "device": {"type": "cuda", "name": "A100", "count": 1}},
            {"backbone": "tiny-t5", "method": "control", "train_seconds_total": None}]  # no timing: not counted
    table = cost_table(rows, "smoke", {("tiny-t5", "pt"): 7.04, ("t5-base", "dept"): 3000.0})
    pt = table.to_dict("records")[1]
    assert pd.isna(pt.pop("gpu_hours"))  # none measured on the CPU: empty, never 0
    assert pt == {"scope": "method", "backbone": "tiny-t5", "method": "pt", "runs": 2, "train_seconds": 8.0,
                  "estimated_seconds": 7.0, "examples_per_second": 500.0, "peak_memory_mb": 750.0,
                  "device": "cpu (1 thread)",
                  "platform": "Intel(R) Xeon(R) Processor; numerics avx2 (ATen AVX2, MKL AVX2, oneDNN AVX2); "
                              "torch 2.13.0+cpu, MKL 2024.2-Product, oneDNN 3.12.0"}
    total = table.iloc[-1]
    assert total.scope == "profile smoke" and total.runs == 3 and total.train_seconds == 3608.0 and total.gpu_hours == 1.0
    assert total.estimated_seconds == 3007.0
    assert cost_table(rows, "smoke")["estimated_seconds"].isna().all()  # not calibrated here: empty, never 0
    assert "| t5-base | dept | 1 | 3600.0 |" in frame_markdown(table) and "cuda A100 x1" in frame_markdown(table)


def test_the_cost_text_counts_what_its_table_counts_and_says_where_estimates_come_from():
    import pandas as pd

    from ptbench.report.build import cost_markdown, cost_table

    rows = [{"kind": "grid", "backbone": "b", "method": "pt", "seeds": ["0", "1"], "train_seconds_total": 4.0,
             "examples_per_second": 10.0, "peak_memory_mb": 5.0, "gpu_hours": None, "device": None},
            {"kind": "fewshot", "backbone": "b", "method": "pt", "seeds": ["s0/0"], "train_seconds_total": None}]
    cost = cost_table(rows, "smoke", {("b", "pt"): 3.0})
    assert list(cost["runs"]) == [2, 2]  # every seed is a run, as the plan counts them
    text = cost_markdown(cost, rows, {("b", "pt"): 3.0}, {"with_results": 3, "all": 5})
    assert "of the 2 runs with a timing record" in text and "The plan counts 3 runs" in text
    assert "5 training runs in all" in text and "not counted here: 1 fewshot run." in text
    assert "empty" not in text.split("\n\n")[1]  # estimates present: no "empty column" excuse beside them
    assert "the estimate column is empty" in cost_markdown(cost, rows, {}, None)
    assert isinstance(cost, pd.DataFrame)
