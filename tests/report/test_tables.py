import json

from ptbench.report.tables import MISSING, collect, main_table, summarize, to_latex, to_markdown


def write_metrics(root, method, task, scores, diverged=None):
    path = root / method / f"{task}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    per_seed = {str(i): {"accuracy": s, "invalid_rate": 0.0, "diverged": diverged} for i, s in enumerate(scores)}
    path.write_text(json.dumps({"method": method, "task": task, "primary_metric": "accuracy", "per_seed": per_seed,
                                "trainable_parameters": 7680, "stored_parameters": 7680,
                                "provenance": {"backbone": "t5-base"}}))


def test_cells_are_mean_std_missing_runs_are_missing_and_divergence_is_marked(tmp_path):
    write_metrics(tmp_path, "pt", "rte", [60.0, 70.0])
    write_metrics(tmp_path, "ept", "rte", [80.0], diverged={"step": 3})
    table = main_table(summarize(collect(tmp_path)), ["pt", "ept", "dept"], ["rte", "cb"])
    rows = {r["method"]: r for r in table.to_dict("records")}
    assert rows["pt"]["rte"] == "65.0 ± 7.1"  # sample std of 60, 70
    assert rows["ept"]["rte"] == "80.0 †"
    assert rows["pt"]["cb"] == MISSING and rows["dept"]["rte"] == MISSING and rows["pt"]["avg"] == MISSING
    assert rows["pt"]["params"] == "7.7K"
    assert "| pt |" in to_markdown(table)
    latex = to_latex(table, "caption")
    assert r"\toprule" in latex and r"$\pm$" in latex and "--" in latex
