"""The figure of the calibrated projection: predicted against published figures (leave-one-chip-out).
matplotlib is imported only when the figure is drawn."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from gpucompare.report.plots import log_axes, pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BAND = 0.10  # the ±10 % band drawn around y = x


OUTLIER = 0.20  # a prediction off by more than this is labelled on the figure
UNITS = ("TFLOP/s", "GB/s")


def predicted_vs_measured(points: pd.DataFrame) -> Figure:
    """Log-log, one panel per unit (TFLOP/s, GB/s): published figure (x) against the leave-one-chip-out
    prediction (y), y = x and a ±10 % band; a chip keeps one colour and marker in both panels (8 colours ×
    3 markers), and a prediction off by more than 20 % is labelled with its chip. ``points``: columns chip,
    unit, measured, predicted (``id`` optional)."""
    from gpucompare.report.plots import PALETTE

    fig, axes = pyplot().subplots(1, 2, figsize=(9.5, 5.2), layout="constrained")
    chips = sorted(set(points.chip)) if len(points) else []
    shapes = ("o", "s", "^")
    style = {
        c: (PALETTE[i % len(PALETTE)], shapes[(i // len(PALETTE)) % len(shapes)]) for i, c in enumerate(chips)
    }
    for ax, unit in zip(axes, UNITS):
        mine = points[points.unit == unit] if len(points) else points
        for chip, sub in mine.groupby("chip", sort=True):
            colour, marker = style[chip]
            ax.scatter(sub.measured, sub.predicted, color=colour, marker=marker, s=30)
        if len(mine):
            lo = min(mine.measured.min(), mine.predicted.min()) / 1.5
            hi = max(mine.measured.max(), mine.predicted.max()) * 1.5
            ax.plot([lo, hi], [lo, hi], "k-", lw=1)
            ax.fill_between([lo, hi], [lo * (1 - BAND), hi * (1 - BAND)], [lo * (1 + BAND), hi * (1 + BAND)],
                            color="gray", alpha=0.2)  # fmt: skip
            labelled: set[tuple] = set()
            for r in mine.itertuples(index=False):
                off = r.predicted / r.measured - 1
                spot = (r.chip, round(math.log10(r.measured), 1), round(math.log10(r.predicted), 1))
                if abs(off) > OUTLIER and spot not in labelled:  # one label per chip and place
                    ax.annotate(f"{r.chip} {off:+.0%}", (r.measured, r.predicted), textcoords="offset points",
                                xytext=(6, -10 if len(labelled) % 2 else 4), fontsize=7)  # fmt: skip
                    labelled.add(spot)
            log_axes(ax)
        ax.set_xlabel(f"published ({unit})")
        ax.set_ylabel(f"predicted with the chip left out ({unit})")
        ax.set_title(f"{unit}: {len(mine)} figures")
        ax.grid(True, which="major", alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=style[c][0], marker=style[c][1], linestyle="none", label=c) for c in chips
    ]
    handles += [Line2D([], [], color="k", label="predicted = published (grey: ±10 %)")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=7, frameon=False)
    fig.suptitle("Calibrated projection, leave-one-chip-out: labelled points are off by more than 20 %")
    return fig
