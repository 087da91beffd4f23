"""PNG plots with matplotlib's Agg backend: written atomically, same pixel size every time.

- `scatter(path, series, ...)`: gain vs distance, one colour per series (task), each point labelled
  with its language code, with the least-squares line of each series.
- `coefficients(path, models, ...)`: regression coefficients with their intervals (`correlate --model`).
- `score_vs_layer(path, layers, series, ...)`: score against encoder layer (for `retrieve --layer
  all --plot DIR` and `align`).

Figures are `WIDTH x HEIGHT` pixels (figsize x dpi, no tight bounding box, which would change the
size), and the PNG carries no timestamp or software version, so reruns give identical files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from stilt_cli.core import atomic

WIDTH, HEIGHT, DPI = 960, 720, 120


@dataclass
class Series:
    label: str
    x: Sequence[float]
    y: Sequence[float]
    names: Sequence[str] = ()  # one text label per point (language codes)


def _figure(width: int, height: int):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI)


def _save(fig, path: str | os.PathLike) -> None:
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})


def scatter(path: str | os.PathLike, series: Sequence[Series], *, title: str = "", xlabel: str = "",
            ylabel: str = "", width: int = WIDTH, height: int = HEIGHT, fit: bool = True) -> None:
    """Scatter plot with labelled points and one fitted line per series."""
    import numpy as np

    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    colours = [f"C{i % 10}" for i in range(len(series))]
    for colour, item in zip(colours, series):
        x, y = np.asarray(item.x, float), np.asarray(item.y, float)
        ax.scatter(x, y, color=colour, label=item.label, s=28, zorder=3)
        for xi, yi, name in zip(x, y, item.names):
            ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=8, color=colour)
        if fit and len(x) >= 2 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            grid = np.linspace(x.min(), x.max(), 50)
            ax.plot(grid, slope * grid + intercept, color=colour, linewidth=1.2, alpha=0.8)
    ax.axhline(0.0, color="0.6", linewidth=0.8, linestyle=":")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="best")
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.1)
    _save(fig, path)


def score_vs_layer(path: str | os.PathLike, layers: Sequence[int], series: dict[str, Sequence[float]], *,
                   title: str = "", ylabel: str = "score", width: int = WIDTH, height: int = HEIGHT) -> None:
    """One line per series (e.g. per language) of score against layer index."""
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    for index, (label, values) in enumerate(series.items()):
        if len(values) != len(layers):
            raise ValueError(f"series {label!r} has {len(values)} values for {len(layers)} layers")
        ax.plot(list(layers), list(values), marker="o", markersize=3, label=label, color=f"C{index % 10}")
    ax.set_title(title)
    ax.set_xlabel("layer (hidden_states index, 0 = embeddings)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize=8, loc="best", ncol=2 if len(series) > 8 else 1)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.1)
    _save(fig, path)


def coefficients(path: str | os.PathLike, models: dict[str, Sequence[tuple[str, float, float, float]]], *,
                 title: str = "", xlabel: str = "coefficient", width: int = WIDTH, height: int = HEIGHT) -> None:
    """Coefficients with their intervals: one row per term, one colour (and small offset) per model."""
    import math

    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    terms = list(dict.fromkeys(term for rows in models.values() for term, *_ in rows))
    step = 0.6 / max(1, len(models))
    for index, (label, rows) in enumerate(models.items()):
        offset = (index - (len(models) - 1) / 2) * step
        for term, value, low, high in rows:
            ypos = terms.index(term) + offset
            if math.isfinite(low) and math.isfinite(high):
                ax.plot([low, high], [ypos, ypos], color=f"C{index % 10}", linewidth=2, alpha=0.8)
            ax.scatter([value], [ypos], color=f"C{index % 10}", s=30, zorder=3,
                       label=label if term == rows[0][0] else None)
    ax.axvline(0.0, color="0.6", linewidth=0.8, linestyle=":")
    ax.set_yticks(range(len(terms)))
    ax.set_yticklabels(terms)
    ax.set_ylim(len(terms) - 0.5, -0.5)  # first term on top
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    if len(models) > 1:
        ax.legend(fontsize=8, loc="best")
    fig.subplots_adjust(left=0.2, right=0.97, top=0.92, bottom=0.1)
    _save(fig, path)


@dataclass
class Curve:
    label: str  # the run (checkpoint name)
    steps: Sequence[int]
    values: Sequence[float]


def training_curves(path: str | os.PathLike, loss: Sequence[Curve], dev: Sequence[Curve], *, title: str = "",
                    width: int = WIDTH, height: int = HEIGHT) -> None:
    """Training loss (top) and English dev score (bottom) against step; one colour per run, the same in
    both panels. A run without dev evaluations has no bottom curve."""
    fig = _figure(width, height)
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2, sharex=None)
    colours = {label: f"C{i % 10}" for i, label in enumerate(dict.fromkeys(c.label for c in [*loss, *dev]))}
    for curve in loss:
        top.plot(list(curve.steps), list(curve.values), linewidth=1.0, label=curve.label, color=colours[curve.label])
    for curve in dev:
        bottom.plot(list(curve.steps), list(curve.values), marker="o", markersize=3, linewidth=1.2,
                    label=curve.label, color=colours[curve.label])
    top.set_title(title)
    top.set_ylabel("training loss")
    bottom.set_ylabel("English dev score")
    bottom.set_xlabel("optimizer step")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    if loss:
        top.legend(fontsize=8, loc="best")
    if not dev:
        bottom.text(0.5, 0.5, "no dev evaluations", ha="center", va="center", transform=bottom.transAxes, color="0.5")
    fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.08, hspace=0.25)
    _save(fig, path)
