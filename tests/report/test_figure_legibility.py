"""Every figure as the report page shows it: drawn from hand-made rows of a profile larger than the smoke
(every registered method, params.yaml's variants, a method ptbench does not know, two backbones, every
sweep), each text at least MIN_TEXT_PX tall at the page's display width, nothing cut off at the
figure's edge, no panel with more than MAX_LINES lines, small PNGs, and no Python error text in what a
figure says about itself."""
import random
import re

import pytest
from PIL import Image

import ptbench.report.figures as figures
import ptbench.report.task_figures as task_figures
from ptbench.report.figure_style import MAX_LINES, MIN_TEXT_PX, clipped_texts, smallest_text_px

SUPERGLUE = ("boolq", "cb", "multirc", "wic", "wsc")
VARIANTS = {"ept_msp_none": "ept_msp", "ept_msp_decomposition": "ept_msp", "ept_msp_no_projection": "ept_msp",
            "ept_msp_no_fusion": "ept_msp"}
GRID_CONFIG = {"length": 20, "short_length": 10, "lr": 0.3}
# What a Python failure leaves in a text (as tests/report/test_example.py checks the smoke's page)
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(Error|Exception)\b|object has no attribute|"
                        r"unsupported operand|is not subscriptable|NoneType")


def row(method: str, task: str, score: float, *, backbone: str = "t5-base", kind: str = "grid", config=None,
        history=None, params: int = 1000, **extra) -> dict:
    """A rows-file entry with the fields the figures read (report/rows.py writes them all)."""
    return {"kind": kind, "method": method, "registered_method": VARIANTS.get(method, method), "task": task,
            "backbone": backbone, "dropout": True, "primary_metric": "accuracy", "trainable_parameters": params,
            "metrics": {"accuracy": {"mean": score, "std": 1.0}}, "config": config or GRID_CONFIG, "history": history or {},
            "prompt_similarity": extra.pop("prompt_similarity", {"reason": "feeds no soft prompt"}),
            "gate_weights": extra.pop("gate_weights", None), "weight_similarity": extra.pop("weight_similarity", None),
            "prompt_mean": extra.pop("prompt_mean", None), "initial_gate_weights": extra.pop("initial_gate_weights", None),
            **extra}


def history(rng: random.Random, steps: int, gates: int = 0) -> dict:
    """Two seeds of logged loss, prompt norm, validation accuracy (and gate means) every 10 steps."""
    out = {}
    for seed in ("0", "1"):
        series = {"loss": [[s, rng.uniform(0.01, 3.0) / s] for s in range(10, steps + 1, 10)],
                  "prompt_norm": [[s, rng.uniform(2, 200)] for s in range(10, steps + 1, 10)],
                  "validation_accuracy": [[s, rng.uniform(40, 90)] for s in range(10, steps + 1, 10)]}
        for g in range(gates):
            series[f"gate_mean_{g}"] = [[s, rng.uniform(0.1, 0.4)] for s in range(10, steps + 1, 10)]
        out[seed] = series
    return out


def similarity(rng: random.Random, tokens: int) -> dict:
    return {"matrix": [[1.0 if i == j else round(rng.uniform(-1, 1), 3) for j in range(tokens)] for i in range(tokens)]}


def profile_rows() -> list[dict]:
    from ptbench.methods import METHODS

    rng = random.Random(0)
    methods = [*METHODS, *VARIANTS, "my_new_method"]
    rows = []
    for method in methods:
        params = 0 if method == "control" else rng.randint(100, 2_000_000)
        for task in SUPERGLUE:
            gated = method in ("ept_msp", "ept_msp_no_fusion")
            extra = {"gate_weights": [[rng.random() for _ in range(4)] for _ in range(12)],
                     "initial_gate_weights": [[rng.random() for _ in range(4)] for _ in range(12)]} if gated else {}
            if method == "superpos":
                extra["weight_similarity"] = similarity(rng, 10)
            if method == "ept_star":
                extra["prompt_mean"] = [rng.uniform(-1, 1) for _ in range(16)]
            prompt = similarity(rng, 30 if method == "ept_msp_none" else 12)
            rows.append(row(method, task, rng.uniform(40, 95), params=params, prompt_similarity=prompt,
                            history=history(rng, 300, 4 if gated else 0) if task in ("boolq", "cb") else None, **extra))
        rows.append(row(method, "rte", rng.uniform(40, 95), backbone="tiny-t5", params=params,
                        history=history(rng, 30)))
    for method in ("pt", "ept", "mpt", "ept_msp", "my_new_method"):  # k-shot
        for task in SUPERGLUE:
            for k in (4, 16, 32):
                rows.append(row(method, task, rng.uniform(40, 80), kind="fewshot", k=k))
    rows += sweep_rows(rng)
    rows += [row("ept_star", target, rng.uniform(20, 95), kind="zeroshot", source_task=source)  # seed 003 Fig. 10
             for source in SUPERGLUE for target in SUPERGLUE if source != target]
    return rows


def sweep_rows(rng: random.Random) -> list[dict]:
    """For every sweep, runs differing in its knob alone (knob rows besides the grid's)."""
    out = []

    def knob(method, key, values, base, task="rte", **extra):
        for value in values:
            out.append(row(method, task, rng.uniform(40, 95), kind="knob", config={**base, key: value},
                           params=rng.randint(1000, 90_000), **extra))

    knob("ept_msp_no_fusion", "num_experts", range(2, 9), {"fusion": False, "length": 100, "short_length": 60})
    for method, key in (("ept_msp", "short_length"), ("dept", "length"), ("pt", "length")):
        for value in (4, 20, 40, 60, 80, 100):
            out.append(row(method, "rte", rng.uniform(40, 95), kind="knob", config={key: value, "length": 100}
                           if key == "short_length" else {key: value}, train_seconds=rng.uniform(10, 90),
                           params=76_800))
    for method in ("ept", "ept_star"):
        for task in ("multirc", "cola"):
            knob(method, "broadcast_length", range(1, 11), {"hidden_size": 10}, task=task)
    knob("ept", "hidden_size", (1, 3, 10, 30, 100, 300, 1000), {"broadcast_length": 3})
    for method in ("pt", "residual", "p_tuning", "ept", "ept_star"):
        for task in SUPERGLUE:
            knob(method, "lr", (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0), {"variant": "lr"}, task=task)
    knob("superpos", "num_tokens", (16, 32, 64, 128, 256, 512, 1024, 2048, 4096), {"length": 10})
    return out


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Each figure's result and, looked at just before it is saved, its smallest text on the page, what
    reaches past its edge and its panels' line counts."""
    out_dir = tmp_path_factory.mktemp("figures")
    seen, save = {}, figures.save

    def look(plt, fig, folder, name):
        seen[name] = {"smallest_px": smallest_text_px(fig), "clipped": clipped_texts(fig),
                      "lines": max(len([line for line in ax.lines if not line.get_label().startswith("_")])
                                   for ax in fig.axes)}
        return save(plt, fig, folder, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "save", look)
        patch.setattr(task_figures, "save", look)
        results = figures.draw_all(profile_rows(), out_dir)
    return {f.name: f for f in results}, seen


def test_every_figure_is_drawn(drawn):
    results, _ = drawn
    assert all(f.drawn for f in results.values()), [(f.name, f.reason) for f in results.values() if not f.drawn]


def test_every_text_is_legible_at_the_pages_display_width(drawn):
    """smallest font (pt) x min(1000, width px) / width pt >= 9 px, as the page shows the PNG."""
    results, seen = drawn
    for name in results:
        assert seen[name]["smallest_px"] >= MIN_TEXT_PX, (name, seen[name]["smallest_px"])


def test_no_title_label_or_legend_is_cut_off(drawn):
    results, seen = drawn
    for name in results:
        assert seen[name]["clipped"] == [], name


def test_no_panel_holds_more_than_max_lines_lines(drawn):
    results, seen = drawn
    for name in results:  # 26 methods drawn: the curves split by family
        assert seen[name]["lines"] <= MAX_LINES, (name, seen[name]["lines"])
    assert "columns of at most" in results["learning_curves"].caption


def test_the_pngs_stay_small_for_a_page_that_inlines_them(drawn):
    results, _ = drawn
    sizes = {name: f.files[0].stat().st_size for name, f in results.items()}
    assert max(sizes.values()) < 400_000 and sum(sizes.values()) < 2_000_000, sizes
    for f in results.values():
        width, _ = Image.open(f.files[0]).size
        assert width <= 1600, f.name  # never far past the page's 1000 px


def test_the_legibility_rule_catches_a_small_font_on_a_wide_figure():
    from ptbench.report.figure_style import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(20, 4))
    ax.set_title("seven points", fontsize=7)
    assert smallest_text_px(fig) == pytest.approx(7 * 1000 / (20 * 72))  # 4.9 px on the page
    ax.set_ylabel("a label much longer than the figure is tall, so it runs off both of its edges " * 2)
    assert any("y axis" in name for name in clipped_texts(fig))
    plt.close(fig)


def test_no_figure_says_anything_in_python_error_text(drawn, tmp_path):
    """Captions, notes and reasons; the prompt-similarity reasons included as the rows stage writes them
    for a state the report cannot rebuild (tests/report/test_prompts.py)."""
    import torch

    from ptbench.artifacts import save_state
    from ptbench.report.prompts import learned_views

    results, _ = drawn
    save_state(tmp_path / "state.safetensors", {"embedding": torch.zeros(3, 7)})  # pt, but not t5-small's width
    views = learned_views(tmp_path / "state.safetensors", "pt", {"length": 10}, {"backbone": "t5-small"}, 64)
    assert "reason" in views["similarity"]
    broken = [row("pt", "boolq", 60.0, prompt_similarity=views["similarity"]),
              row("ept_msp", "boolq", 60.0, prompt_similarity=similarity(random.Random(1), 6))]
    (tmp_path / "figures").mkdir()
    shown = figures.prompt_similarity(broken, tmp_path / "figures", figures.Styles(["pt", "ept_msp"]))
    unshown = figures.prompt_similarity(broken[:1], tmp_path / "figures", figures.Styles(["pt"]))
    assert shown.drawn and "pt:" in shown.note and not unshown.drawn and "pt:" in unshown.reason
    for figure in [*results.values(), shown, unshown]:
        for text in (figure.caption, figure.note, figure.reason):
            assert not ERROR_TEXT.search(text), (figure.name, text)
