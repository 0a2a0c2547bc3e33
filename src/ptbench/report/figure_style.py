"""How every figure looks: one colour, marker and line style per method, fixed by its name, for the
whole report; panels of at most MAX_LINES lines, grouped by method family; legends beside the data,
never over it; text legible on the report page; captions written from what was drawn (report/figures.py).

Choices:

- Styles. A method's style comes from its NAME, never from its position among the methods a profile
  ran, so adding or removing a method moves no other: each method ptbench registers (``ptbench
  methods``) has a fixed entry in FAMILIES (distinct saturated colours within a family, a distinct
  colour + marker pair across all of them). A variant (``ept_msp_no_fusion``: rows name its
  ``registered_method``, else its longest registered-name prefix) keeps its base method's hue at
  another lightness, with another marker and a dash-dotted or dotted line: params.yaml's variants by
  the VARIANTS table (each marker its own), others hashed from the name. Any other name gets a hashed
  saturated hue and marker. No pale shades: every colour's HLS lightness is at most MAX_LIGHTNESS
  (tab20's pale halves are 0.78-0.84). Only two hashed styles falling on the same colour + marker
  move one of them (the later name, to its next hashed candidate). Each panel holds one backbone (its
  title says which), so line styles need not tell backbones apart.
- Lines per panel. A figure with more than MAX_LINES methods splits them by family (FAMILIES' order),
  a family of more than MAX_LINES into parts: one column of panels per group, the group's legend
  above it. Fewer methods share a panel, the legend right of the panels.
- Legibility. The report page shows a figure at most DISPLAY_WIDTH_PX CSS pixels wide (its ``img``
  max-width); every text must be at least MIN_TEXT_PX tall there: smallest font (pt) x
  min(DISPLAY_WIDTH_PX, width in px) / width in pt >= MIN_TEXT_PX (``smallest_text_px``). Fonts are
  FONT_SIZES (9 pt and up) and figures at most MAX_WIDTH_IN wide, so that holds with room;
  constrained layout keeps every title and label inside the figure (``clipped_texts`` checks it).
- Files. PNG at DPI, lines and points with a 256-colour palette (the page inlines every PNG: small
  files); PDF vector.
"""
from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DPI = 130
DISPLAY_WIDTH_PX = 1000  # report/page.py: img {max-width: 100%} in a page at most this wide
MIN_TEXT_PX = 9
MAX_WIDTH_IN = 11.5  # at 9 pt: 9 x 1000 / (11.5 x 72) = 10.9 px on the page
FONT_SIZES = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9,
              "legend.fontsize": 9, "legend.title_fontsize": 9.5, "figure.titlesize": 11, "figure.labelsize": 9}
MAX_LINES = 8
MAX_COLUMNS = 4  # panels per row when one group of methods shares them
MAX_LEGEND_ROWS = 24  # a longer legend right of the panels wraps into columns rather than tower over them
LEGEND_WIDTH_IN = 2.2  # a legend right of the panels: a 20-character name at 9 pt and its handle
MAX_LIGHTNESS = 0.6  # tab20's pale shades are 0.78-0.84

# family -> method -> (colour, marker). Within a family every colour differs; across families a
# colour recurs only with another marker. Other PEFT methods share the filled plus.
FAMILIES: dict[str, dict[str, tuple[str, str]]] = {
    "prompt tuning and transfer": {"control": ("#000000", "X"), "pt": ("#1f77b4", "o"), "spot": ("#ff7f0e", "s"),
                                   "attempt": ("#2ca02c", "^"), "mpt": ("#d62728", "D")},
    "reparameterised prompts": {"p_tuning": ("#9467bd", "o"), "residual": ("#8c564b", "s"),
                                "superpos": ("#17becf", "^"), "ept": ("#e7298a", "D"), "ept_star": ("#bcbd22", "v")},
    "decomposed prompts": {"dpt": ("#1c2f8f", "o"), "dept": ("#e6ab02", "s"), "ept_msp": ("#00897b", "^")},
    "other PEFT methods": {"lora": ("#1f77b4", "P"), "ia3": ("#ff7f0e", "P"), "adapter": ("#2ca02c", "P"),
                           "adapter_drop": ("#bcbd22", "P"), "adamix": ("#9467bd", "P"), "bitfit": ("#8c564b", "P"),
                           "prefix": ("#17becf", "P"), "ft": ("#000000", "P")},
}
# params.yaml's named variants: base method, its hue at another lightness, marker, line style
VARIANTS: dict[str, tuple[str, str, str, Any]] = {
    "ept_msp_none": ("ept_msp", "#003d37", "v", ":"), "ept_msp_decomposition": ("ept_msp", "#4db6ac", "<", "-."),
    "ept_msp_no_projection": ("ept_msp", "#00665a", "d", (0, (5, 1, 1, 1, 1, 1))),
    "ept_msp_no_fusion": ("ept_msp", "#00ccb7", "*", "-."),
}
OTHER_FAMILY = "other methods"
KNOWN = {method: style for members in FAMILIES.values() for method, style in members.items()}
KNOWN_VARIANTS = {name: (colour, marker) for name, (_, colour, marker, _) in VARIANTS.items()}
FAMILY_OF = {method: family for family, members in FAMILIES.items() for method in members}
HASHED_MARKERS = ("o", "s", "^", "D", "v", "<", ">", "p", "h", "*")
VARIANT_MARKERS = ("v", "<", ">", "*", "d", "X", "p", "h")
VARIANT_LINESTYLES = ("-.", ":", (0, (5, 1, 1, 1, 1, 1)))  # never "--": the short-prompt sweep's time lines
VARIANT_ATTEMPTS = 64  # then a variant takes a hashed style as any other name (its base has that many variants)
VARIANT_LIGHTNESS = (0.15, 0.25, 0.35, 0.45)  # a variant not in VARIANTS: one of these, by its name's hash
# numbered series that are not methods (the projection's spaces): saturated, each with its own marker
SEQUENCE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e7298a", "#17becf")
SEQUENCE_MARKERS = ("o", "s", "D", "^", "v", "<", ">", "P")


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


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")  # hash() is salted per process


def _hex(hue: float, lightness: float, saturation: float) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hls_to_rgb(hue, lightness, saturation))


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))


def lightness(colour: str) -> float:
    """HLS lightness of a "#rrggbb" colour: 0 black, 1 white."""
    return colorsys.rgb_to_hls(*_rgb(colour))[1]


class Styles:
    """Colour, marker and line style per method, from its name: ``styles(method)`` -> plot kwargs.
    ``methods``: the methods drawn together (only a clash among hashed styles moves one of them);
    ``variant_of``: a named variant's registered method (rows' ``registered_method``)."""

    def __init__(self, methods, variant_of: dict[str, str] | None = None) -> None:
        self.variant_of = {name: base for name, base in (variant_of or {}).items() if name != base}
        self.assigned: dict[str, tuple[str, str]] = {**KNOWN, **KNOWN_VARIANTS}
        for method in sorted(set(methods) - set(KNOWN)):
            self.colour_marker(method)

    def base(self, method: str) -> str | None:
        """The registered method a variant varies; None for a registered or unknown name."""
        if method in KNOWN:
            return None
        if method in VARIANTS:
            return VARIANTS[method][0]
        if method in self.variant_of:
            return self.variant_of[method]
        prefixes = [known for known in KNOWN if method.startswith(known + "_")]
        return max(prefixes, key=len) if prefixes else None

    def family(self, method: str) -> str:
        return FAMILY_OF.get(self.base(method) or method, OTHER_FAMILY)

    def _candidate(self, method: str, attempt: int) -> tuple[str, str]:
        digest = _digest(f"{method}#{attempt}")
        base = self.base(method)
        if base is not None and attempt < VARIANT_ATTEMPTS:  # the base's hue at another lightness, another marker
            hue, base_lightness, saturation = colorsys.rgb_to_hls(*_rgb(self.colour_marker(base)[0]))
            shades = [shade for shade in VARIANT_LIGHTNESS if abs(shade - base_lightness) >= 0.08]
            shade = shades[digest % len(shades)]
            return _hex(hue, shade, saturation), VARIANT_MARKERS[digest // len(shades) % len(VARIANT_MARKERS)]
        hue = (digest % 3600) / 3600
        return _hex(hue, 0.4, 0.8), HASHED_MARKERS[digest // 3600 % len(HASHED_MARKERS)]

    def colour_marker(self, method: str) -> tuple[str, str]:
        if method not in self.assigned:
            taken = set(self.assigned.values())
            attempt = 0
            while (style := self._candidate(method, attempt)) in taken:
                attempt += 1
            self.assigned[method] = style
        return self.assigned[method]

    def linestyle(self, method: str):
        """Solid; a variant's line dash-dotted or dotted, so that it parts from its base's."""
        if method in VARIANTS:
            return VARIANTS[method][3]
        if self.base(method) is None:
            return "-"
        return VARIANT_LINESTYLES[_digest(method) % len(VARIANT_LINESTYLES)]

    def __call__(self, method: str) -> dict[str, Any]:
        colour, marker = self.colour_marker(method)
        return {"color": colour, "marker": marker, "linestyle": self.linestyle(method)}

    def order(self, methods) -> list[str]:
        """Family by family (FAMILIES' order, then the others), each in its table's order, variants after
        their base."""
        families = [*FAMILIES, OTHER_FAMILY]
        position = {method: i for i, method in enumerate(KNOWN)}

        def key(method: str):
            base = self.base(method) or method
            return families.index(self.family(method)), position.get(base, len(position)), base, method != base, method
        return sorted(set(methods), key=key)

    def groups(self, methods, limit: int = MAX_LINES) -> list[tuple[str, list[str]]]:
        """(title, methods) panels' worth: all together when at most ``limit``, else per family, a
        family of more than ``limit`` in parts."""
        ordered = self.order(methods)
        if len(ordered) <= limit:
            return [("", ordered)]
        by_family: dict[str, list[str]] = {}
        for method in ordered:
            by_family.setdefault(self.family(method), []).append(method)
        out = []
        for family, members in by_family.items():
            parts = [members[i:i + limit] for i in range(0, len(members), limit)]
            out += [(family if len(parts) == 1 else f"{family} ({i}/{len(parts)})", part)
                    for i, part in enumerate(parts, 1)]
        return out


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display in a pipeline
    matplotlib.rcParams.update(FONT_SIZES)  # the process draws only the report's figures
    import matplotlib.pyplot as plt

    return plt


def panels(n: int, width: float = 2.6, height: float = 2.2, columns: int = MAX_COLUMNS, extra_width: float = 0.0):
    """``n`` panels, ``columns`` a row; ``extra_width`` inches for a legend or colour bar beside them."""
    plt = pyplot()
    cols = min(columns, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(min(MAX_WIDTH_IN, width * cols + extra_width), height * rows),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:n])


def _legend_height(entries: int) -> float:
    return 0.3 + 0.2 * entries  # inches: a title line and 9-pt rows


@dataclass
class LinePanels:
    """Panels of lines: ``axes[(key, group)]``; with several groups, ``legend_cells[group]`` above each
    group's column of panels (one group: none, its legend goes right of the panels)."""

    fig: object
    axes: dict[tuple[str, int], object]
    legend_cells: list[object]
    groups: list[tuple[str, list[str]]]


def line_panels(keys: list[str], groups: list[tuple[str, list[str]]], entries: int, width: float = 2.6,
                height: float = 2.0):
    """One panel per key (a task and backbone) and group of methods (``Styles.groups``). One group: up to
    MAX_COLUMNS panels a row. Several: one column per group under a cell for its legend (``entries``
    rows at most) and one row per key, sharing its y axis so that the groups compare."""
    plt = pyplot()
    several = len(groups) > 1
    cols = len(groups) if several else min(MAX_COLUMNS, len(keys))
    rows = len(keys) if several else -(-len(keys) // cols)
    legend = _legend_height(entries) if several else 0.0
    fig = plt.figure(figsize=(min(MAX_WIDTH_IN, width * cols + (0 if several else LEGEND_WIDTH_IN)),
                              legend + height * rows), layout="constrained")
    grid = fig.add_gridspec(rows + several, cols, height_ratios=[legend] * several + [height] * rows)
    cells = [fig.add_subplot(grid[0, c]) for c in range(cols)] if several else []
    for cell in cells:
        cell.set_axis_off()
    axes: dict[tuple[str, int], object] = {}
    for i, key in enumerate(keys):
        for g in range(len(groups)):
            row, col = (i + 1, g) if several else divmod(i, cols)
            axes[(key, g)] = fig.add_subplot(grid[row, col], sharey=axes[(key, 0)] if g else None)
    return plt, LinePanels(fig, axes, cells, groups)


def group_legends(panels_: LinePanels, label_group, order) -> None:
    """Each group's legend in its cell (one group: right of the panels): every labelled artist of its
    panels (twin axes included) once, in ``order(labels)``. ``label_group(label)``: its group's index."""
    if not panels_.legend_cells:
        legend_outside(panels_.fig, list(panels_.axes.values()), order=order)
        return
    handles: list[dict[str, object]] = [{} for _ in panels_.legend_cells]
    for ax in panels_.axes.values():
        for twin in (ax, *ax.get_shared_x_axes().get_siblings(ax)):
            for handle, label in zip(*twin.get_legend_handles_labels()):
                handles[label_group(label)].setdefault(label, handle)
    for cell, found, (title, _) in zip(panels_.legend_cells, handles, panels_.groups):
        if found:
            labels = order(found)
            cell.legend([found[label] for label in labels], labels, loc="upper center", frameon=False, title=title,
                        borderaxespad=0)


def legend_outside(fig, axes, title: str | None = None, order=None, headers: dict[str, str] | None = None) -> None:
    """One legend for the figure, right of the panels: every labelled artist once (twin axes included),
    in ``order(labels)`` (default: sorted); ``headers``: label -> a bold line printed before it (a family
    name). A figure shorter than its legend grows to hold it."""
    from matplotlib.lines import Line2D

    handles: dict[str, object] = {}
    every = [a for ax in axes for a in (ax, *ax.get_shared_x_axes().get_siblings(ax))]
    for ax in dict.fromkeys(every):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if not handles:
        return
    labels = (order or sorted)(handles)
    entries, bold = [], set()
    for label in labels:
        if headers and label in headers:
            bold.add(len(entries))
            entries.append((Line2D([], [], linestyle="none"), headers[label]))
        entries.append((handles[label], label))
    legend = fig.legend(*zip(*entries), loc="outside right upper", frameon=False, title=title,
                        ncols=-(-len(entries) // MAX_LEGEND_ROWS))
    for i, text in enumerate(legend.get_texts()):
        if i in bold:
            text.set_fontweight("bold")
    needed = legend.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi + 0.3
    width, height = fig.get_size_inches()
    if needed > height:
        fig.set_size_inches(width, needed)


def integer_ticks(axis) -> None:
    """Whole-number ticks (token and space indices), at most 6 so that two-digit labels do not touch."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=5, integer=True))


def readable_log_axis(axis) -> None:
    """A log axis labelled plainly ("0.02", "50") and never crowded: 1-2-5 ticks over at most two decades,
    else powers of ten (every n-th past six decades), and within less than a factor 2 a few linear
    ticks; no minor labels (matplotlib labels minors over short ranges, and they overlap)."""
    import math

    from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator, NullFormatter

    class Readable(Locator):
        def __call__(self):
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin, vmax):
            low, high = sorted((vmin, vmax))
            if low <= 0 or high / low < 2:
                return MaxNLocator(4).tick_values(low, high)
            decades = math.log10(high) - math.log10(low)
            subs = (1, 2, 5) if decades <= 2 else (1,)
            stride = max(1, math.ceil(decades / 6))
            first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
            return [m * 10.0 ** e for e in range(first - first % stride, last + 1, stride) for m in subs]

    axis.set_major_locator(Readable())
    axis.set_major_formatter(FuncFormatter(lambda value, _: plain_number(value)))
    axis.set_minor_formatter(NullFormatter())


def plain_number(value: float) -> str:
    """A tick label: "0.03", "50", "2K", "200K", "1.5M" (parameter counts get a suffix, not 2e+05)."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= 10 * scale or (abs(value) >= scale and suffix != "K"):
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def value_ticks(axis, values, log: bool) -> None:
    """Ticks at the values drawn (at most 8, spread), labelled plainly ("0.03", "128"); on a log axis
    no minor labels, which overlap when the values span less than a decade."""
    from matplotlib.ticker import NullFormatter, NullLocator

    values = sorted(set(values))
    if len(values) > 8:
        step = -(-len(values) // 8)
        values = values[::step] + ([values[-1]] if (len(values) - 1) % step else [])
    if log:
        axis.set_minor_locator(NullLocator())
        axis.set_minor_formatter(NullFormatter())
    axis.set_ticks(values, [plain_number(v) for v in values])


def save(plt, fig, out_dir: Path, name: str) -> list[Path]:
    """The PNG (for the page) and the PDF (vector). A figure of lines and points holds few colours: its
    PNG is stored with a 256-colour palette, the same to the eye at a third of the size (the page inlines
    every PNG). A heatmap keeps every colour: there a colour is a value, and a palette would band it."""
    import io

    from PIL import Image

    png, pdf = out_dir / f"{name}.png", out_dir / f"{name}.pdf"
    fig.savefig(pdf, dpi=DPI)
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=DPI)
    heatmap = any(ax.images for ax in fig.axes)
    plt.close(fig)
    image = Image.open(rendered).convert("RGB")
    if not heatmap:
        image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(png, optimize=True, dpi=(DPI, DPI))
    return [png, pdf]


def _drawn_texts(fig):
    """The non-empty, visible texts of ``fig``, hidden panels' left out."""
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


def smallest_text_px(fig) -> float:
    """The smallest text of ``fig`` in CSS pixels as the report page shows the PNG (at most
    DISPLAY_WIDTH_PX wide): its size in points x displayed px per point."""
    width_in = fig.get_size_inches()[0]
    per_point = min(DISPLAY_WIDTH_PX, width_in * DPI) / (width_in * 72)
    return min(t.get_fontsize() for t in _drawn_texts(fig)) * per_point


def clipped_texts(fig) -> list[str]:
    """What reaches past the figure's edge once laid out as savefig lays it out: titles, axis labels
    with their tick labels, legends, figure titles (named by their text)."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    parts = [(legend.get_title().get_text() or "legend", legend) for legend in fig.legends]
    parts += [(text.get_text(), text) for text in fig.texts if text.get_visible() and text.get_text().strip()]
    for ax in (a for a in fig.axes if a.get_visible()):
        parts += [(title.get_text(), title) for title in (ax.title, ax._left_title, ax._right_title)
                  if title.get_text().strip()]
        if ax.axison:
            parts += [(f"{ax.get_title()!r}'s {name} axis", axis) for name, axis in (("x", ax.xaxis), ("y", ax.yaxis))]
        if ax.get_legend() is not None:
            parts.append((ax.get_legend().get_title().get_text() or "legend", ax.get_legend()))
    box = fig.bbox
    out = []
    for name, artist in parts:
        extent = artist.get_tightbbox(renderer)
        if extent is None or extent.width == 0:
            continue
        if extent.x0 < box.x0 - 1 or extent.y0 < box.y0 - 1 or extent.x1 > box.x1 + 1 or extent.y1 > box.y1 + 1:
            out.append(name)
    return out


def not_shown(names: list[str], separator: str = ", ") -> str:
    """A figure's note of what it left out ("" when nothing was)."""
    return f"not shown: {separator.join(names)}" if names else ""


def listing(names, limit: int | None = None) -> str:
    names = sorted(set(names))
    shown = names if limit is None else names[:limit]
    return ", ".join(shown) + (f" and {len(names) - len(shown)} more" if len(names) > len(shown) else "")
