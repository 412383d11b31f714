"""The figure of the calibrated projection: predicted against published figures (leave-one-chip-out).
matplotlib is imported only when the figure is drawn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gpucompare.report.plots import log_axes, pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BAND = 0.10  # the ±10 % band drawn around y = x


def predicted_vs_measured(points: pd.DataFrame) -> Figure:
    """Log-log: published figure (x) against the leave-one-chip-out prediction (y), one colour per chip,
    with y = x and a ±10 % band. ``points``: columns chip, unit, measured, predicted."""
    fig, ax = pyplot().subplots(figsize=(7, 6))
    cmap = pyplot().get_cmap("tab20")
    markers = {"TFLOP/s": "o", "GB/s": "s"}
    for i, (chip, df) in enumerate(points.groupby("chip", sort=True)):
        for unit, sub in df.groupby("unit", sort=True):
            ax.scatter(sub.measured, sub.predicted, color=cmap(i % 20), marker=markers.get(unit, "^"),
                       label=chip if unit == df.unit.iloc[0] else None, s=28)  # fmt: skip
    if len(points):
        lo = min(points.measured.min(), points.predicted.min()) / 1.5
        hi = max(points.measured.max(), points.predicted.max()) * 1.5
        ax.plot([lo, hi], [lo, hi], "k-", lw=1, label="predicted = published")
        ax.fill_between([lo, hi], [lo * (1 - BAND), hi * (1 - BAND)], [lo * (1 + BAND), hi * (1 + BAND)],
                        color="gray", alpha=0.2, label="±10 %")  # fmt: skip
        log_axes(ax)
    ax.set_xlabel("published figure (TFLOP/s: circles; GB/s: squares)")
    ax.set_ylabel("predicted with the chip left out")
    ax.set_title("calibrated projection, leave-one-chip-out")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
