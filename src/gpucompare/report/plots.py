"""The report's figures (matplotlib, imported only when a figure is drawn): the per-chip rooflines and the
validation scatter here, the headline's charts in :mod:`~gpucompare.report.charts`. Saved as SVG (and PNG)
with fixed metadata, a fixed SVG hash salt and text drawn as paths, so the same data and the pinned
plotting stack (``requirements-cpu.txt``) give the same bytes. Colours: the Okabe-Ito palette
(colour-blind safe), with line styles or hatches as a second cue.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpucompare import model
from gpucompare.files import atomic_write
from gpucompare.specs import Chip

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SALT = "gpucompare"
#: Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "svg.hashsalt": SALT,
    "svg.fonttype": "path",
}


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update({**STYLE, "axes.prop_cycle": cycler(color=list(PALETTE))})
    return plt


METADATA = {"svg": {"Date": None, "Creator": "gpucompare"}, "png": {"Software": "gpucompare"}}


def save(fig: Figure, stem: Path, formats: Sequence[str] = ("svg", "png")) -> list[Path]:
    """Save a figure in ``formats`` (fixed metadata, fixed hash salt, 100 dpi), atomically; close it."""
    import matplotlib

    plt = pyplot()
    out = []
    with matplotlib.rc_context({"svg.hashsalt": SALT, "svg.fonttype": "path"}):
        for ext in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, metadata=METADATA[ext], dpi=100)
            path = stem.with_suffix(f".{ext}")
            atomic_write(path, buf.getvalue())
            out.append(path)
    plt.close(fig)
    return out


def log_axes(ax: Any) -> None:
    """Log-log axes with plain tick labels (no mathtext: faster and identical across runs)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(NullLocator())


def roofline(
    chip: Chip, measured: Sequence[model.Measured], projections: Sequence[model.ProjectionResult]
) -> Figure:
    """Roofline of ``chip`` (a roof per dtype present), points measured on it and projections onto it."""
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    points = [m for m in measured if m.chip_id == chip.id and m.flops > 0]
    projs = [p for p in projections if p.chip_id == chip.id and p.status == "ok" and p.flops > 0]
    dtypes = sorted({p.dtype for p in projs} | {m.dtype for m in points} | {"bf16"})
    ais = [p.flops / p.bytes for p in projs if p.bytes] + [m.intensity for m in points if m.bytes]
    lo = math.floor(math.log10(min([0.1, *ais]))) if ais else -1
    hi = math.ceil(math.log10(max([1e4, *ais]))) if ais else 4
    xs = [10 ** (lo + i * (hi - lo) / 100) for i in range(101)]  # FLOP/byte, covering every point
    bw = chip.bandwidth_tbps
    for dt in dtypes:
        peak = chip.peak_tflops.get(dt)
        if peak and bw:
            ax.plot(xs, [min(peak, x * bw) for x in xs], label=f"roof {dt} ({peak:g} TFLOP/s, {bw:g} TB/s)")
    if projs:
        ax.scatter(
            [p.flops / p.bytes for p in projs], [p.tflops for p in projs], marker="x", label="projected"
        )
    if points:
        ax.scatter(
            [m.intensity for m in points],
            [m.flops / m.median_s / 1e12 for m in points],
            marker="o",
            facecolors="none",
            edgecolors="k",
            label="measured here",
        )
    log_axes(ax)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("TFLOP/s")
    pipeline = any(p.pipeline_check for p in projs)
    ax.set_title(f"{chip.id}: roofline" + (" (pipeline-check points: CPU efficiencies)" if pipeline else ""))
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def validation(rows: Sequence[model.ValidationRow]) -> Figure:
    """Projected against measured time for every validation pair (log-log, with the diagonal)."""
    fig, ax = pyplot().subplots(figsize=(5, 5))
    rows = [r for r in rows if r.projected_s]
    xs, ys = [r.measured_s for r in rows], [r.projected_s for r in rows]
    ax.scatter(xs, ys)
    if rows:
        lo, hi = min(xs + ys), max(xs + ys)
        ax.plot([lo, hi], [lo, hi], "k--", label="projected = measured")
        log_axes(ax)
        ax.legend(fontsize=8)
    ax.set_xlabel("measured time (s)")
    ax.set_ylabel("projected time (s)")
    ax.set_title("validation: " + ("projected vs measured" if rows else "unvalidated (no second chip)"))
    fig.tight_layout()
    return fig
