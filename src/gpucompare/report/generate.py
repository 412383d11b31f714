"""Write the report under an output folder::

    README.md          the report in Markdown (tables inline, plots linked)
    report.html        the same, self-contained (inline CSS, plots as inline SVG; opens with no network)
    tables/*.csv       one per table of the sections (see ``gpucompare.report.sections``)
    plots/*.{png,svg}  the sections' figures

Deterministic: the same runs give byte-identical tables and SVGs. Every file is written atomically
(``gpucompare.files.atomic_write``).

The report never deletes or overwrites a file it did not write, and never follows a symlink out of the
folder: its own manifest decides (:mod:`gpucompare.report.outdir`). ``plots=False`` leaves the plots as they
are (and listed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gpucompare.files import atomic_write
from gpucompare.report.build import build
from gpucompare.report.format import csv_text, render_html, render_markdown
from gpucompare.report.outdir import (
    MANIFEST,
    ReportOutputError,
    check_targets,
    digests,
    read_manifest,
    remove_stale,
    write_manifest,
)
from gpucompare.report.plots import save
from gpucompare.report.section import ReportData
from gpucompare.results import Run, load_runs

__all__ = ["MANIFEST", "PROTECTED", "ReportOutputError", "generate", "read_manifest"]

#: Top-level files a user may well have in a folder of their own (refused unless the report wrote them).
PROTECTED = ("README.md", "report.html")


def _inline_svg(text: str) -> str:
    """SVG file text without its XML declaration and DOCTYPE, ready to inline in HTML."""
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.S)


def _write_plots(data: ReportData, folder: Path) -> list[Path]:
    written: list[Path] = []
    for plot in data.plots:
        written += save(plot.draw(), folder / plot.stem, plot.formats)
    return written


def generate(
    out_dir: str | os.PathLike,
    runs: Sequence[Run] | None = None,
    *,
    include_cpu: bool = False,
    plots: bool = True,
    **build_kwargs: Any,
) -> list[Path]:
    """Regenerate the report under ``out_dir``; ``runs`` default to every run under ``<out_dir>/runs``.

    Returns the written paths (sorted). ``build_kwargs`` go to :func:`~gpucompare.report.build.build`
    (``db``, ``pairs``, ``claims_fn``, ``counts``, ``layer``).
    """
    out = Path(out_dir)
    if runs is None:
        root = out / "runs"
        runs = load_runs(root, include_cpu=True) if root.exists() else []
    data = build(list(runs), include_cpu=include_cpu, **build_kwargs)
    previous = read_manifest(out)
    tables_dir, plots_dir = out / "tables", out / "plots"
    tables = {tables_dir / f"{name}.csv": df for name, df in sorted(data.tables.items())}
    planned_plots = {
        (plots_dir / plot.stem).with_suffix(f".{ext}")
        for plot in (data.plots if plots else [])
        for ext in plot.formats
    }
    # Plots not redrawn stay, and stay listed, so a later full generation can still remove them.
    kept = {} if plots else {n: h for n, h in previous.items() if n.startswith("plots/")}
    planned = {_rel(out, p) for p in [*tables, *planned_plots]} | set(PROTECTED)
    check_targets(out, planned, previous)  # refuses before anything is written
    write_manifest(out, {**previous, **dict.fromkeys(planned)})
    written: list[Path] = []
    for path, df in tables.items():
        atomic_write(path, csv_text(df))
        written.append(path)
    figures = _write_plots(data, plots_dir) if plots else []
    written += figures
    svgs = {
        p.relative_to(out).as_posix(): _inline_svg(p.read_text(encoding="utf-8"))
        for p in figures
        if p.suffix == ".svg"
    }
    atomic_write(out / "README.md", render_markdown(data, svgs))
    atomic_write(out / "report.html", render_html(data, svgs))
    written += [out / "README.md", out / "report.html"]
    now = {**kept, **digests(out, written)}
    remove_stale(out, previous, set(now))
    write_manifest(out, now)
    return sorted(written)


def _rel(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()
