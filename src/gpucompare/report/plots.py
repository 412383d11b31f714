"""The report's figures (matplotlib, imported only when a figure is drawn): roofline per chip, projected
speed-ups per chip pair, projected vs measured time. Saved as SVG and PNG with fixed metadata and a fixed
SVG hash salt, so the same data gives the same SVG bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gpucompare import model
from gpucompare.files import atomic_write
from gpucompare.specs import Chip

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SALT = "gpucompare"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig: Figure, stem: Path) -> list[Path]:
    """Save a figure as SVG and PNG (fixed metadata, fixed hash salt), atomically; close it."""
    import matplotlib

    plt = _pyplot()
    out = []
    with matplotlib.rc_context({"svg.hashsalt": SALT, "svg.fonttype": "path"}):
        for ext, meta in (
            ("svg", {"Date": None, "Creator": "gpucompare"}),
            ("png", {"Software": "gpucompare"}),
        ):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, metadata=meta, dpi=100)
            path = stem.with_suffix(f".{ext}")
            atomic_write(path, buf.getvalue())
            out.append(path)
    plt.close(fig)
    return out


def _log_axes(ax: Any) -> None:
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
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
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
    _log_axes(ax)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("TFLOP/s")
    pipeline = any(p.pipeline_check for p in projs)
    ax.set_title(f"{chip.id}: roofline" + (" (pipeline-check points: CPU efficiencies)" if pipeline else ""))
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def ratio_bars(a: Chip, b: Chip, ratios: pd.DataFrame, spec_ratios: pd.DataFrame) -> Figure:
    """Bars of per-workload (and per-step) projected speed-ups of A over B, spec ratios as lines.

    ``ratios`` and ``spec_ratios`` are the report's tables (every pair); the rows of ``a`` over ``b`` are drawn.
    """
    df = ratios[(ratios.chip_a == a.id) & (ratios.chip_b == b.id) & ratios.ratio.notna()]
    fig, ax = _pyplot().subplots(figsize=(8, max(2.5, 0.3 * len(df) + 1.5)))
    labels = [s.removeprefix("workload:") for s in df.basis]
    ax.barh(range(len(df)), list(df.ratio), color="tab:blue")
    ax.set_yticks(range(len(df)), labels, fontsize=7)
    sr = spec_ratios
    sr = sr[(sr.chip_a == a.id) & (sr.chip_b == b.id) & sr.ratio.notna()]
    styles = ["--", ":", "-.", (0, (1, 3)), (0, (5, 2))] * 3
    for (basis, value), style in zip(sorted(zip(sr.basis, sr.ratio)), styles):
        ax.axvline(value, linestyle=style, color="gray", label=f"spec {basis}: {value:.3g}x")
    ax.set_xlabel(f"speed-up of {a.id} over {b.id} (t_{b.id} / t_{a.id})")
    ax.set_title(f"{a.id} vs {b.id}: projected per workload" + ("" if len(df) else " (no measurement yet)"))
    if len(sr):
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def validation(rows: Sequence[model.ValidationRow]) -> Figure:
    """Projected against measured time for every validation pair (log-log, with the diagonal)."""
    fig, ax = _pyplot().subplots(figsize=(5, 5))
    rows = [r for r in rows if r.projected_s]
    xs, ys = [r.measured_s for r in rows], [r.projected_s for r in rows]
    ax.scatter(xs, ys)
    if rows:
        lo, hi = min(xs + ys), max(xs + ys)
        ax.plot([lo, hi], [lo, hi], "k--", label="projected = measured")
        _log_axes(ax)
        ax.legend(fontsize=8)
    ax.set_xlabel("measured time (s)")
    ax.set_ylabel("projected time (s)")
    ax.set_title("validation: " + ("projected vs measured" if rows else "unvalidated (no second chip)"))
    fig.tight_layout()
    return fig
