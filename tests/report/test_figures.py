"""The figures as a reader sees them: one colour + marker per method in every figure, fixed by its name,
the PNG resolution, the legend outside the data, captions naming exactly the tasks drawn, the papers' printed
values overlaid where a seed prints the numbers behind its figure, and the time axis of the short-prompt sweep."""
import re

import numpy as np
import pytest
from PIL import Image
from report_fixtures import labels, report_settings, write_fewshot, write_run

import ptbench.report.figures as figures
from ptbench.report.figure_style import DPI, FAMILIES, MAX_LIGHTNESS, Styles, lightness
from ptbench.report.rows import build_rows

SETTINGS = report_settings(30)
GOLD = [["1"]] * 20
HISTORY = [{"step": s, "loss": 1.0 / s, "prompt_norm": 5.0 + s} for s in (10, 20)] + [
    {"step": 20, "validation_accuracy": 60.0}]
SUPERGLUE = ("boolq", "cb", "multirc", "wic", "wsc")
TASKS = {*SUPERGLUE, "rte", "mrpc"}  # every task some row holds


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Figures from rows on t5-base: pt, ept, ept_star on SuperGLUE's five tasks (no history), pt and ept also on
    RTE (with history) and ept_star on MRPC; k-shot runs of pt and ept on SuperGLUE at k = 4, 16; an ept_msp
    short-prompt sweep with training times. Each figure's matplotlib objects are looked at before it is saved."""
    tmp = tmp_path_factory.mktemp("figures")
    results, rows = tmp / "results", []
    for method, correct in (("pt", 11), ("ept", 13), ("ept_star", 15)):
        for task in SUPERGLUE:
            write_run(results, method, task, {"0": labels(correct, 20)}, GOLD, backbone="t5-base")
    for method in ("pt", "ept"):
        write_run(results, method, "rte", {"0": labels(12, 20)}, GOLD, backbone="t5-base", history=HISTORY)
    write_run(results, "ept_star", "mrpc", {"0": labels(12, 20)}, GOLD, backbone="t5-base")
    config = {"length": 100, "short_length": 60, "rank": 30}
    write_run(results, "ept_msp", "rte", {"0": labels(10, 20)}, GOLD, backbone="t5-base", config=config)
    write_run(results / "knobs", "ept_msp", "rte", {"0": labels(14, 20)}, GOLD, backbone="t5-base",
              rel="t5-base/ept_msp/short_length=20/rte", config={**config, "short_length": 20})
    for run_dir, seconds in ((results / "runs/t5-base/ept_msp/rte", 30.0),
                             (results / "knobs/runs/t5-base/ept_msp/short_length=20/rte", 10.0)):
        (run_dir / "seed0").mkdir(parents=True, exist_ok=True)
        (run_dir / "seed0" / "timing.json").write_text('{"train_seconds": %s}' % seconds)
    for method in ("pt", "ept"):
        for task in SUPERGLUE:
            for k in (4, 16):
                write_fewshot(results, method, task, k, 0, {"0": 50.0 + k})
    for method in ("pt", "ept", "ept_star", "ept_msp"):
        rows += build_rows(results, method, SETTINGS, 64)["results"]
    for method in ("pt", "ept"):
        rows += build_rows(results, method, SETTINGS, 64, kind="fewshot")["results"]
    seen, save = {}, figures.save

    def look(plt, fig, out_dir, name):
        in_cells = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
        seen[name] = {"legends": len(fig.legends) + len(in_cells),
                      # a legend may sit in an axes only when that axes is a legend cell: no axis, no data
                      "legends_over_data": sum(a.get_legend() is not None and (a.axison or bool(a.lines or a.collections))
                                               for a in fig.axes),
                      "titles": [a.get_title() for a in fig.axes if a.get_visible() and a.axison],
                      "ylabels": [a.get_ylabel() for a in fig.axes]}
        return save(plt, fig, out_dir, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "save", look)
        result = {f.name: f for f in figures.draw_all(rows, tmp / "figures")}
    return result, seen


def test_no_two_methods_look_alike_and_a_method_looks_the_same_everywhere(drawn):
    from ptbench.methods import METHODS

    styles = Styles(METHODS)
    pairs = {method: styles.colour_marker(method) for method in METHODS}
    assert len(set(pairs.values())) == len(pairs)  # every registered method: its own colour + marker
    for family in FAMILIES.values():  # within a family (a panel's worth of lines) the colours differ too
        assert len({colour for colour, _ in family.values()}) == len(family)
    result, _ = drawn
    per_method = {}
    for figure in (f for f in result.values() if f.drawn):
        assert len(set(figure.styles.values())) == len(figure.styles), figure.name
        for method, style in figure.styles.items():
            per_method.setdefault(method, set()).add(style)
    assert {"pt", "ept", "ept_star", "ept_msp", "ft", "p_tuning"} <= set(per_method)  # ft, p_tuning: paper points
    assert all(len(s) == 1 for s in per_method.values())


def test_a_method_keeps_its_style_whatever_other_methods_a_profile_runs():
    """Styles come from names: adding or removing methods (registered, variants, unknown) moves none."""
    from ptbench.methods import METHODS

    watched = ["pt", "control", "spot", "ept_msp", "ept_msp_no_fusion", "ept_msp_none", "my_new_method"]
    few = Styles(watched)
    many = Styles([*METHODS, *watched, "ept_msp_decomposition", "ept_msp_no_projection", "dept_long", "another_one",
                   "zeta_method"], variant_of={"ept_msp_no_fusion": "ept_msp"})
    alone = {method: Styles([method]) for method in watched}
    for method in watched:
        assert few.colour_marker(method) == many.colour_marker(method) == alone[method].colour_marker(method), method
        assert few(method) == many(method) == alone[method](method), method
    assert Styles(["pt", "ept"]).colour_marker("pt") == Styles(["lora"]).colour_marker("pt")  # not by sorted index


def test_variants_share_their_base_hue_and_no_colour_is_pale():
    import colorsys

    from ptbench.methods import METHODS

    variants = ["ept_msp_none", "ept_msp_decomposition", "ept_msp_no_projection", "ept_msp_no_fusion"]
    styles = Styles([*METHODS, *variants, "renamed_ablation", "my_new_method"], variant_of={"renamed_ablation": "pt"})

    def hue(colour: str) -> float:
        return colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]

    base_colour, base_marker = styles.colour_marker("ept_msp")
    markers = {base_marker}
    for variant in variants:
        colour, marker = styles.colour_marker(variant)
        assert abs(hue(colour) - hue(base_colour)) < 0.02 and colour != base_colour, variant
        assert styles.family(variant) == styles.family("ept_msp") and styles(variant)["linestyle"] != "-"
        markers.add(marker)
    assert len(markers) == 1 + len(variants)  # variants of one method tell apart by shape
    assert abs(hue(styles.colour_marker("renamed_ablation")[0]) - hue(styles.colour_marker("pt")[0])) < 0.02
    every = [styles.colour_marker(m)[0] for m in [*METHODS, *variants, "renamed_ablation", "my_new_method"]]
    assert max(lightness(colour) for colour in every) <= MAX_LIGHTNESS  # tab20's pale shades were 0.78-0.84
    assert lightness("#aec7e8") > MAX_LIGHTNESS and lightness("#c7c7c7") > MAX_LIGHTNESS


def test_figures_have_their_resolution_and_the_legend_outside_the_data(drawn):
    result, seen = drawn
    for figure in (f for f in result.values() if f.drawn):
        png = figure.files[0]
        assert png.suffix == ".png" and round(min(Image.open(png).info["dpi"])) == DPI, figure.name
        assert seen[figure.name]["legends_over_data"] == 0, figure.name  # never a legend inside a panel
        if figure.name not in ("gate_weights_per_token", "prompt_similarity", "superposition_similarity"):  # heatmaps
            assert seen[figure.name]["legends"] >= 1, figure.name


def test_every_caption_names_only_the_tasks_drawn(drawn):
    result, seen = drawn
    expected = {"params_vs_score": set(SUPERGLUE),  # the one benchmark run in full: neither RTE nor MRPC
                "learning_curves": {"rte"}, "prompt_norm": {"rte"}, "validation_curves": {"rte"},  # history: RTE only
                "fewshot_curves": set(SUPERGLUE), "short_prompt_length": {"rte"}}
    assert {name for name, f in result.items() if f.drawn} == set(expected)
    for name, tasks in expected.items():
        figure = result[name]
        named = {t for t in TASKS if re.search(rf"\b{t}\b", figure.caption)}
        assert named == set(figure.tasks) == tasks, (name, figure.caption)
        assert "needs" not in figure.caption and figure.reason == "", name
    for name in ("learning_curves", "prompt_norm", "validation_curves"):  # a panel per task, titled with it and the backbone
        assert set(seen[name]["titles"]) == {"rte (t5-base)"}


def test_the_papers_printed_values_are_overlaid_on_their_own_backbone_only(drawn, tmp_path):
    result, _ = drawn
    # seed 003 Table 1 prints six T5-base SuperGLUE averages with their parameter counts; Table 3 six methods x 3 k
    assert result["params_vs_score"].paper_points == 6 and "seed 003 Table 1" in result["params_vs_score"].caption
    assert result["fewshot_curves"].paper_points == 18 and "seed 003 Table 3" in result["fewshot_curves"].caption
    results = tmp_path / "results"
    for task in SUPERGLUE:  # the same runs on the smoke's backbone: no paper value is drawn beside them
        write_run(results, "pt", task, {"0": labels(11, 20)}, GOLD, backbone="tiny-t5")
    tiny = figures.params_vs_score(build_rows(results, "pt", SETTINGS, 64)["results"], tmp_path, Styles(["pt"]))
    assert tiny.drawn and tiny.paper_points == 0 and "hollow" not in tiny.caption


def test_the_short_prompt_sweep_draws_training_time_on_a_second_axis(drawn):
    result, seen = drawn
    assert "training time (s)" in seen["short_prompt_length"]["ylabels"]
    assert "training seconds" in result["short_prompt_length"].caption


def test_superposition_similarity_shows_the_seeds_own_setting_one_panel_per_task(tmp_path):
    """Seed 004 Fig. 2d: its main runs (no dropout, no softmax) first; one panel per task; nothing without
    superpos states."""
    from ptbench.report import figures

    def row(method, task, dropout, softmax=False):
        return {"kind": "grid", "method": method, "registered_method": "superpos", "task": task, "backbone": "t5-base",
                "dropout": dropout, "config": {"softmax": softmax},
                "weight_similarity": {"matrix": [[1.0, 0.2], [0.2, 1.0]]}}

    rows = [row("superpos", "rte", True), row("superpos", "cb", True), row("superpos_no_dropout", "rte", False),
            row("superpos_no_dropout", "cb", False), row("superpos_softmax_no_dropout", "rte", False, True)]
    result = figures.superposition_similarity(rows, tmp_path, figures.Styles([r["method"] for r in rows]))
    assert result.drawn and result.tasks == ["cb", "rte"] and "superpos_no_dropout on t5-base, without dropout" in result.caption
    assert "superpos (t5-base)" in result.note and "superpos_softmax_no_dropout (t5-base)" in result.note
    empty = figures.superposition_similarity([{**rows[0], "weight_similarity": None}], tmp_path, figures.Styles(["superpos"]))
    assert not empty.drawn and "superpos" in empty.reason


def test_the_gate_per_token_figure_prefers_the_seeds_short_prompt_of_20_on_its_four_tasks(tmp_path):
    """Seed 001 Fig. 8: s = 20 on CoLA, BoolQ, CB and RTE (knob runs) when they exist, else the grid's runs."""
    from ptbench.report import figures

    def row(kind, task, short_length):
        return {"kind": kind, "method": "ept_msp", "registered_method": "ept_msp", "task": task, "backbone": "t5-base",
                "dropout": True, "config": {"short_length": short_length}, "gate_weights": [[0.25] * 4] * short_length}

    grid = [row("grid", "cola", 60), row("grid", "mnli", 60)]
    knob = [row("knob", "cola", 20), row("knob", "mnli", 20), row("knob", "cb", 40)]
    styles = figures.Styles(["ept_msp"])
    seeds = figures.gate_weights_per_token(grid + knob, tmp_path, styles)
    assert seeds.tasks == ["cola"] and "short prompt 20, the seed's" in seeds.caption
    fallback = figures.gate_weights_per_token(grid, tmp_path, styles)
    assert sorted(fallback.tasks) == ["cola", "mnli"] and "the seed's 20 has no run here" in fallback.caption
    assert "trained; one panel per run" in fallback.caption


def test_the_gate_per_token_figure_sets_the_gate_at_initialisation_beside_the_trained_one(tmp_path, monkeypatch):
    """Seed 001 Fig. 8 compares each trained gate "with initialization": a run that recorded its initial gate
    gets that panel first."""
    from ptbench.report import figures

    def row(task, initial):
        return {"kind": "knob", "method": "ept_msp", "registered_method": "ept_msp", "task": task, "backbone": "t5-base",
                "dropout": True, "config": {"short_length": 20}, "gate_weights": [[0.7, 0.1, 0.1, 0.1]] * 20,
                "initial_gate_weights": initial}
    drawn = []
    monkeypatch.setattr(figures, "save", lambda plt, fig, folder, name: drawn.extend(
        [ax.get_title() for ax in fig.axes if ax.get_title()]) or folder / f"{name}.png")
    both = figures.gate_weights_per_token([row("cola", [[0.25] * 4] * 20), row("rte", [[0.25] * 4] * 20)], tmp_path,
                                          figures.Styles(["ept_msp"]))
    assert "at initialisation and trained; two panels per run" in both.caption
    assert [t.split(", ")[-1] for t in drawn] == ["initial", "trained", "initial", "trained"]
    drawn.clear()
    partly = figures.gate_weights_per_token([row("cola", [[0.25] * 4] * 20), row("rte", None)], tmp_path,
                                            figures.Styles(["ept_msp"]))
    assert len(drawn) == 3 and "recorded none" in partly.caption


def test_cross_task_similarity_compares_ept_star_prompts_between_tasks(tmp_path):
    """Seed 003 Fig. 10 (left): EPT*'s prompts, one per task, compared by cosine similarity, on one backbone."""
    from ptbench.report import figures, task_figures

    def row(task, mean, backbone="t5-base", method="ept_star"):
        return {"kind": "grid", "method": method, "task": task, "backbone": backbone, "prompt_mean": mean}

    rows = [row("rte", [1.0, 0.0]), row("cb", [1.0, 1.0]), row("boolq", [0.0, -2.0]), row("rte", [1.0, 0.0], "t5-large"),
            row("cb", [0.0, 1.0], "t5-large"), row("rte", [0.0, 1.0], method="pt")]
    backbone, tasks, matrix, others = task_figures.cross_task_matrix(rows)
    half = 2 ** -0.5  # cb (1, 1) against rte (1, 0); boolq (0, -2) is orthogonal to rte and at 135 degrees to cb
    assert (backbone, tasks, others) == ("t5-base", ["boolq", "cb", "rte"], ["t5-large"])
    assert np.allclose(matrix, [[1.0, -half, 0.0], [-half, 1.0, half], [0.0, half, 1.0]])
    assert task_figures.cross_task_matrix(rows[3:])[:2] == ("t5-large", ["cb", "rte"])  # no t5-base pair: the widest
    result = task_figures.cross_task_similarity(rows, tmp_path, figures.Styles(["ept_star", "pt"]))
    assert result.drawn and result.tasks == tasks and "on t5-base, 3 tasks" in result.caption
    assert result.note == "not shown: t5-large"
    alone = task_figures.cross_task_similarity(rows[:1], tmp_path, figures.Styles(["ept_star"]))
    assert not alone.drawn and "two tasks or more" in alone.reason


def test_zero_shot_transfer_divides_each_transfer_by_the_targets_own_score(tmp_path):
    """Seed 003 Fig. 10 (right): the state trained on a source task scored on a target task, as a share of the
    target's own run; EPT* on T5-base first."""
    from ptbench.report import figures, task_figures

    def row(task, score, kind="grid", source=None, method="ept_star", backbone="t5-base"):
        return {"kind": kind, "method": method, "task": task, "backbone": backbone, "source_task": source,
                "primary_metric": "accuracy", "metrics": {"accuracy": {"mean": score}}}

    rows = [row("rte", 80.0), row("cb", 50.0), row("cb", 40.0, "zeroshot", "rte"), row("rte", 60.0, "zeroshot", "cb"),
            row("cb", 10.0, "zeroshot", "rte", method="pt")]
    method, backbone, tasks, matrix, others = task_figures.zero_shot_matrix(rows)
    assert (method, backbone, tasks, others) == ("ept_star", "t5-base", ["cb", "rte"], ["pt (t5-base)"])
    assert matrix == [[1.0, 0.75], [0.8, 1.0]]  # rows: source; cb's prompt on rte 60 / 80, rte's on cb 40 / 50
    result = task_figures.zero_shot_transfer(rows, tmp_path, figures.Styles(["ept_star", "pt"]))
    assert result.drawn and "as a share of the target's own ept_star score" in result.caption
    assert task_figures.zero_shot_matrix(rows[:2]) is None
    unscored = [{**r, "metrics": {"accuracy": {"mean": 0.0}}} if (r["kind"], r["task"]) == ("grid", "cb") else r
                for r in rows]
    assert task_figures.zero_shot_matrix(unscored)[3] == [[None, 0.75], [None, 1.0]]  # cb's own 0: no share on cb
    assert "Blank columns: cb, whose own score is 0" in task_figures.zero_shot_transfer(unscored, tmp_path,
                                                                                   figures.Styles(["ept_star"])).caption
