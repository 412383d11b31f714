"""The headline's charts: the roofline of the articles' chips with the workloads at their arithmetic intensity,
one ratio chart per chip pair (a bar per basis in each workload class, published values as marks), and the
efficiency per chip and workload class. Drawn from the numbers of :mod:`~gpucompare.report.headline` and the
sections; nothing is computed here but positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpucompare.fmt import times
from gpucompare.report.headline import CLASSES, PairFigure
from gpucompare.report.plots import LINESTYLES, PALETTE, log_axes, pyplot
from gpucompare.specs import Chip

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Bar colour per basis of the ratio charts (published values are marks, not bars).
BASIS_COLOURS = {"spec": PALETTE[5], "projected": PALETTE[1], "measured here": PALETTE[0]}
BAR_BASES = ("spec", "projected", "measured here")
PUBLISHED_COLOUR = PALETTE[3]


def label(chip: Chip) -> str:
    """A chip's short name as people say it ("H200", "Ascend 910C"): its first alias, else its id."""
    return chip.aliases[0] if chip.aliases else chip.id


@dataclass(frozen=True)
class Marker:
    """A workload placed on the overlay roofline: its name and arithmetic intensity (FLOP/byte)."""

    name: str
    intensity: float


def overlay_roofline(
    chips: Sequence[Chip], markers: Sequence[Marker], pair: tuple[Chip, Chip] | None, dtype: str = "bf16"
) -> Figure:
    """Every chip's ``dtype`` roof on one log-log chart, the workloads as vertical lines at their intensity,
    and, for ``pair`` (A, B), the speed-up A/B that the roofs give at each workload."""
    fig, ax = pyplot().subplots(figsize=(7.4, 4.9))
    chips = [c for c in chips if c.peak_tflops.get(dtype) and c.bandwidth_tbps]
    xs = [10 ** (-1 + i * 5 / 200) for i in range(201)]  # 0.1 .. 1e4 FLOP/byte
    for i, c in enumerate(sorted(chips, key=lambda c: -c.peak_tflops[dtype])):
        peak, bw = c.peak_tflops[dtype], c.bandwidth_tbps
        ax.plot(
            xs,
            [min(peak, x * bw) for x in xs],
            color=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=2,
            label=f"{label(c)}: {peak:,.0f} TFLOP/s, {bw:g} TB/s",
        )
    top = max((c.peak_tflops[dtype] for c in chips), default=1000.0)
    marks = sorted(markers, key=lambda m: m.intensity)
    for i, m in enumerate(marks):
        ax.axvline(m.intensity, color="#777777", linewidth=1, linestyle=":")
        text = m.name
        if pair is not None:
            r = _roof_ratio(pair, m.intensity, dtype)
            if r is not None:
                text += f"\n{label(pair[0])}/{label(pair[1])}\non spec {times(r)}"
        # a label goes left of its line when the next workload sits close on the right
        left = i + 1 < len(marks) and marks[i + 1].intensity < 3 * m.intensity
        x = m.intensity / 1.08 if left else m.intensity * 1.08
        ax.text(x, 0.06, text, fontsize=8.5, va="bottom", ha="right" if left else "left")
    log_axes(ax)
    ax.set_xlim(0.1, 1e4)
    ax.set_ylim(0.05, top * 3)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel(f"attainable {dtype} TFLOP/s (dense, spec)")
    ax.set_title(f"Roofline of the articles' chips ({dtype}, spec peaks) and where the workloads sit")
    ax.legend(loc="upper left", frameon=True)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def _roof_ratio(pair: tuple[Chip, Chip], intensity: float, dtype: str) -> float | None:
    a, b = pair
    pa, pb = a.peak_tflops.get(dtype), b.peak_tflops.get(dtype)
    if not (pa and pb and a.bandwidth_tbps and b.bandwidth_tbps):
        return None
    return min(pa, intensity * a.bandwidth_tbps) / min(pb, intensity * b.bandwidth_tbps)


def _ratio_rows(figures: Sequence[PairFigure], per_class: int) -> list[tuple[str, PairFigure | None]]:
    """The chart's rows, top to bottom: a header per class, then one row per basis (published: the first
    ``per_class``)."""
    rows: list[tuple[str, PairFigure | None]] = []
    for wc in CLASSES:
        mine = [f for f in figures if f.wclass == wc.key and f.ratio is not None]
        if not mine:
            continue
        rows.append((wc.label, None))
        for basis in ("spec", "projected", "published", "measured here"):
            rows += [(basis, f) for f in [f for f in mine if f.basis == basis][:per_class]]
    return rows


def pair_ratios(a: Chip, b: Chip, figures: Sequence[PairFigure], per_class: int = 3) -> Figure:
    """Speed-up of A over B per workload class, one row per basis: bars for spec, projected and measured
    here, a diamond for each published value (labelled with its group and dtype); a line at parity (1×)."""
    rows = _ratio_rows(figures, per_class)
    fig, ax = pyplot().subplots(figsize=(7.4, 0.24 * len(rows) + 1.1))
    hi = max([f.ratio for _, f in rows if f is not None] + [1.0])
    for y, (name, f) in enumerate(rows):
        if f is None:
            ax.text(
                0.005,
                y,
                name,
                transform=ax.get_yaxis_transform(),
                ha="left",
                va="center",
                fontweight="bold",
                fontsize=9,
            )
            continue
        text = times(f.ratio) + (f"  {f.tag}" if f.tag else "")
        if f.basis == "published":
            ax.plot([f.ratio], [y], marker="D", color=PUBLISHED_COLOUR, markersize=6, linestyle="none")
        else:
            ax.barh(y, f.ratio, height=0.7, color=BASIS_COLOURS[f.basis])
        ax.text(f.ratio + hi * 0.015, y, text, va="center", fontsize=8)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), ["" if f is None else name for name, f in rows], fontsize=8.5)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, hi * 1.6)
    ax.set_xlabel(f"speed-up of {label(a)} over {label(b)} (×; 1 = parity)")
    none_here = "" if any(f.basis == "measured here" for f in figures) else " (nothing measured here yet)"
    ax.set_title(f"{label(a)} vs {label(b)} per workload class{none_here}")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class EfficiencyBar:
    """One bar of the efficiency chart: a chip, a workload class, achieved / spec peak, and where it is from."""

    chip: str
    wclass: str
    efficiency: float
    basis: str  # "published" or "measured here"
    source: str


CLASS_MARKERS = ("o", "^", "s", "D", "v")


def efficiency(bars: Sequence[EfficiencyBar]) -> Figure:
    """Efficiency (achieved / spec peak, %) per chip: a row per chip, a mark per workload class (shape and
    colour), hollow for published figures, filled for runs made here."""
    chips = list(dict.fromkeys(b.chip for b in bars))
    fig, ax = pyplot().subplots(figsize=(7.4, 0.3 * len(chips) + 2.0), layout="constrained")
    for j, wc in enumerate(CLASSES):
        for basis, filled in (("published", False), ("measured here", True)):
            mine = [b for b in bars if b.wclass == wc.key and b.basis == basis]
            if not mine:
                continue
            colour = PALETTE[j % len(PALETTE)]
            ax.plot(
                [b.efficiency * 100 for b in mine],
                [chips.index(b.chip) for b in mine],
                marker=CLASS_MARKERS[j % len(CLASS_MARKERS)],
                markersize=8,
                linestyle="none",
                markerfacecolor=colour if filled else "white",
                markeredgecolor=colour,
                markeredgewidth=2,
                label=f"{wc.label} ({basis})",
            )
    ax.set_yticks(range(len(chips)), chips)
    ax.set_ylim(len(chips) - 0.5, -0.5)
    # every mark on the chart: beyond 100 % (a busbw above the wire with NVLink SHARP) the axis grows
    top = max([105.0, *(b.efficiency * 105 for b in bars)])
    ax.set_xlim(0, top)
    step = 10 if top <= 130 else 20 if top <= 260 else 50
    ax.set_xticks(range(0, int(top) + 1, step))
    ax.axvline(100, color="#444444", linewidth=1, linestyle="--")
    ax.text(100, -0.5, " spec peak", fontsize=8, va="bottom", ha="left", color="#444444")
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("efficiency: achieved / spec peak (%)")
    ax.set_title("Efficiency per chip and workload class")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    return fig


def intensity(flops: float, nbytes: float) -> float | None:
    """FLOP per byte, None when either count is zero (a copy has no place on a log axis)."""
    return flops / nbytes if flops > 0 and nbytes > 0 and math.isfinite(flops / nbytes) else None
