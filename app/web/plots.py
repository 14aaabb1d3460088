"""Charts for pages: matplotlib figures rendered to SVG and embedded as data: URIs
(or PNG for PDF documents).

A data: URI is an image, so the page's CSP (no inline styles) does not touch the SVG's own
styling, and the page needs no second request. Every chart goes on a page beside a table or a
text alternative that carries the same numbers (`alt` says what the chart shows). Figures are
built with matplotlib.figure.Figure, never pyplot, so concurrent requests share no state.
"""

import base64
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from app.core.lru import LRU


def font_dir() -> Path:
    """matplotlib's DejaVu fonts (Latin, Greek, Cyrillic), for PDF documents."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6")


def figure(width: float = 6.4, height: float = 3.0) -> tuple[Figure, object]:
    """A figure with one axes, sized in inches (fixed margins: a layout engine costs more
    than the drawing)."""
    fig = Figure(figsize=(width, height), dpi=96)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.95, bottom=0.27)
    return fig, fig.add_subplot()


_SVG: LRU[str, str] = LRU(128)


class Chart:
    """A chart described by its inputs, drawn when first needed: `uri` for a page (an SVG
    data: URI, text kept as text), `png()` for a PDF.

    Drawing costs 100-300 ms of CPU, so the SVG is cached per process, keyed by a digest of
    the chart's kind and inputs: the same inputs always draw the same chart, so a cached
    entry is always right, and a report page redraws only when its figures have changed.
    """

    def __init__(self, key: str, draw: Callable[[], Figure]) -> None:
        self.key = hashlib.sha256(key.encode()).hexdigest()
        self._draw = draw

    @property
    def uri(self) -> str:
        hit = _SVG.get(self.key)
        if hit is None:
            buffer = io.BytesIO()
            with matplotlib.rc_context({"svg.fonttype": "none"}):
                self._draw().savefig(buffer, format="svg", metadata={"Date": None})
            hit = _SVG.put(
                self.key,
                "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode(),
            )
        return hit

    def png(self, dpi: int = 150) -> bytes:
        buffer = io.BytesIO()
        self._draw().savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()


@dataclass(frozen=True)
class Drawn:
    """A chart drawn earlier, its SVG data: URI kept (a page shows it as it is)."""

    uri: str


def _floats(values) -> list[float]:
    return [float(v) for v in values]


def _marks(ax, marks) -> None:
    """Labelled dashed vertical lines at the marks' x."""
    for x, label in marks:
        ax.axvline(x, color="#595959", linestyle="--", linewidth=0.9)
        ax.annotate(
            label,
            (x, 1),
            xycoords=("data", "axes fraction"),
            fontsize="x-small",
            rotation=90,
            va="top",
            ha="right",
        )


def _finish(ax, xlabel: str, ylabel: str, legend: bool) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(frameon=False, fontsize="small")


def lines(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    marks: Sequence[tuple[float, str]] = (),
    ylim: tuple[float, float] | None = None,
) -> Chart:
    """Line chart: series label -> (x, y); marks are labelled vertical lines at x."""
    series = {k: (_floats(x), _floats(y)) for k, (x, y) in series.items()}
    marks = [(float(x), str(label)) for x, label in marks]
    key = repr(("lines", series, xlabel, ylabel, marks, ylim))
    return Chart(key, lambda: _draw_lines(series, xlabel, ylabel, marks, ylim))


def _draw_lines(series, xlabel, ylabel, marks, ylim) -> Figure:
    fig, ax = figure()
    for (label, (x, y)), colour in zip(series.items(), PALETTE * 4, strict=False):
        ax.plot(list(x), list(y), label=label, color=colour, linewidth=1.6)
    _marks(ax, marks)
    if ylim:
        ax.set_ylim(*ylim)
    _finish(ax, xlabel, ylabel, len(series) > 1)
    return fig


def bars(
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    stacked: bool = False,
) -> Chart:
    """Bar chart: one group per category, one bar per series (or stacked)."""
    categories, series = [str(c) for c in categories], {k: _floats(v) for k, v in series.items()}
    key = repr(("bars", categories, series, xlabel, ylabel, stacked))
    return Chart(key, lambda: _draw_bars(categories, series, xlabel, ylabel, stacked))


def _draw_bars(categories, series, xlabel, ylabel, stacked) -> Figure:
    fig, ax = figure()
    n = max(len(series), 1)
    width = 0.8 if stacked else 0.8 / n
    base = [0.0] * len(categories)
    for k, ((label, values), colour) in enumerate(zip(series.items(), PALETTE * 4, strict=False)):
        values = [float(v) for v in values]
        x = [i + (0 if stacked else (k - (n - 1) / 2) * width) for i in range(len(categories))]
        ax.bar(x, values, width=width, bottom=base if stacked else None, label=label, color=colour)
        if stacked:
            base = [b + v for b, v in zip(base, values, strict=True)]
    ax.set_xticks(
        range(len(categories)),
        list(categories),
        rotation=45 if len(categories) > 8 else 0,
        fontsize="small",
    )
    _finish(ax, xlabel, ylabel, len(series) > 1)
    return fig


def histogram(
    edges: Sequence[float],
    counts: dict[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    marks: Sequence[tuple[float, str]] = (),
) -> Chart:
    """Step histogram from bin edges (k + 1,) and counts (k,) per series."""
    edges, counts = _floats(edges), {k: _floats(v) for k, v in counts.items()}
    marks = [(float(x), str(label)) for x, label in marks]
    key = repr(("histogram", edges, counts, xlabel, ylabel, marks))
    return Chart(key, lambda: _draw_histogram(edges, counts, xlabel, ylabel, marks))


def _draw_histogram(edges, counts, xlabel, ylabel, marks) -> Figure:
    fig, ax = figure()
    for (label, values), colour in zip(counts.items(), PALETTE * 4, strict=False):
        ax.stairs(list(values), list(edges), label=label, color=colour, linewidth=1.6)
    _marks(ax, marks)
    _finish(ax, xlabel, ylabel, len(counts) > 1)
    return fig


def scatter(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    diagonal: bool = False,
) -> Chart:
    """Scatter chart: series label -> (x, y); diagonal draws y = x (no change)."""
    series = {k: (_floats(x), _floats(y)) for k, (x, y) in series.items()}
    key = repr(("scatter", series, xlabel, ylabel, diagonal))
    return Chart(key, lambda: _draw_scatter(series, xlabel, ylabel, diagonal))


def _draw_scatter(series, xlabel, ylabel, diagonal) -> Figure:
    fig, ax = figure(6.4, 3.6)
    values: list[float] = []
    for (label, (x, y)), colour in zip(series.items(), PALETTE * 4, strict=False):
        ax.scatter(list(x), list(y), label=label, color=colour, s=12, alpha=0.8)
        values += list(x) + list(y)
    if diagonal and values:
        low, high = min(values), max(values)
        ax.plot([low, high], [low, high], color="#595959", linestyle="--", linewidth=0.9)
    _finish(ax, xlabel, ylabel, len(series) > 1)
    return fig


def curve_with_points(
    curve: tuple[Sequence[float], Sequence[float]],
    points: Sequence[tuple[float, float, float, float]],
    *,
    xlabel: str,
    ylabel: str,
    labels: tuple[str, str] = ("model", "observed (95% interval)"),
    marks: Sequence[tuple[float, str]] = (),
) -> Chart:
    """A model curve (x, y) against observed points (x, y, low, high): the points with their
    interval as error bars and a shaded band joining the intervals."""
    line = (_floats(curve[0]), _floats(curve[1]))
    pts = [tuple(float(v) for v in p) for p in points]
    marks = [(float(x), str(label)) for x, label in marks]
    key = repr(("curve_with_points", line, pts, xlabel, ylabel, labels, marks))
    return Chart(key, lambda: _draw_curve_with_points(line, pts, xlabel, ylabel, labels, marks))


def _draw_curve_with_points(line, pts, xlabel, ylabel, labels, marks) -> Figure:
    fig, ax = figure()
    ax.plot(line[0], line[1], color=PALETTE[0], linewidth=1.6, label=labels[0])
    if pts:
        x, y, lo, hi = (list(v) for v in zip(*pts, strict=True))
        ax.fill_between(x, lo, hi, color=PALETTE[1], alpha=0.18, linewidth=0)
        below = [max(0.0, a - b) for a, b in zip(y, lo, strict=True)]  # rounding: never < 0
        above = [max(0.0, b - a) for a, b in zip(y, hi, strict=True)]
        ax.errorbar(x, y, yerr=[below, above], fmt="o", color=PALETTE[1], markersize=4,
                    capsize=2, label=labels[1])  # fmt: skip
    _marks(ax, marks)
    ax.set_ylim(0, 1)
    _finish(ax, xlabel, ylabel, True)
    return fig
