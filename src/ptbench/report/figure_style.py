"""How every figure looks: one colour + marker per method for the whole report, a line style per
backbone, the legend outside the data, PNG at print resolution, and captions written from what was
drawn (report/figures.py).

Choices: colours are matplotlib's 20 "tab20" colours and markers a list of 9; method i (in sorted
order of every method the report's rows hold) gets colour i mod 20 and marker i mod 9, so no two of
up to 180 methods share both, and no two of up to 20 share a colour. One map for the whole report: a
method looks the same in every figure. The legend is one per figure, to the right of the panels
(``fig.legend(loc="outside right upper")``, constrained layout), never over the data. PNG at 200 dpi
(the PDF is vector).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DPI = 200
COLOURS = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
           "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
           "#17becf", "#9edae5")  # matplotlib's tab20
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<")  # 9: coprime with 20 colours
LINESTYLES = ("-", "--", ":", "-.")


@dataclass
class FigureResult:
    name: str
    title: str
    mirrors: str  # the seed figure it corresponds to
    files: list[Path] = field(default_factory=list)
    reason: str = ""  # not drawn: the runs it needs
    caption: str = ""  # drawn: what it shows, written from the data drawn
    tasks: list[str] = field(default_factory=list)  # drawn: the tasks it shows
    note: str = ""  # drawn: what was left out and why
    styles: dict[str, tuple[str, str]] = field(default_factory=dict)  # method -> (colour, marker) drawn
    paper_points: int = 0  # the papers' printed values overlaid

    @property
    def drawn(self) -> bool:
        return bool(self.files)

    def done(self, files: list[Path], caption: str, tasks) -> FigureResult:
        self.files, self.caption, self.tasks, self.reason = files, caption, sorted(set(tasks)), ""
        return self


class Styles:
    """Colour + marker per method, line style per backbone: ``styles(method, backbone)`` -> plot kwargs."""

    def __init__(self, methods, backbones=()) -> None:
        self.methods = {m: i for i, m in enumerate(sorted(set(methods)))}
        self.backbones = {b: i for i, b in enumerate(sorted(set(backbones)))}

    def colour_marker(self, method: str) -> tuple[str, str]:
        if method not in self.methods:  # a method the rows did not hold: the next free slot
            self.methods[method] = len(self.methods)
        i = self.methods[method]
        return COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]

    def __call__(self, method: str, backbone: str | None = None) -> dict[str, str]:
        colour, marker = self.colour_marker(method)
        return {"color": colour, "marker": marker,
                "linestyle": LINESTYLES[self.backbones.get(backbone, 0) % len(LINESTYLES)]}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display in a pipeline
    import matplotlib.pyplot as plt

    return plt


def panels(n: int, width: float = 3.6, height: float = 2.8):
    plt = pyplot()
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:n])


def legend_outside(fig, axes, title: str | None = None) -> None:
    """One legend for the figure, right of the panels: every labelled artist once (twin axes included)."""
    handles: dict[str, object] = {}
    every = [a for ax in axes for a in (ax, *ax.get_shared_x_axes().get_siblings(ax))]
    for ax in dict.fromkeys(every):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        labels = sorted(handles)
        fig.legend([handles[k] for k in labels], labels, loc="outside right upper", fontsize=7, frameon=False,
                   title=title, title_fontsize=7)


def save(plt, fig, out_dir: Path, name: str) -> list[Path]:
    files = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in files:
        fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return files


def listing(names, limit: int | None = None) -> str:
    names = sorted(set(names))
    shown = names if limit is None else names[:limit]
    return ", ".join(shown) + (f" and {len(names) - len(shown)} more" if len(names) > len(shown) else "")
