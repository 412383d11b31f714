"""Write the report under an output folder::

    README.md          the report in Markdown (tables inline, plots linked)
    report.html        the same, self-contained (inline CSS, plots as inline SVG; opens with no network)
    tables/*.csv       one per table of the sections (see ``gpucompare.report.sections``)
    plots/*.{png,svg}  the sections' figures

Deterministic: the same runs give byte-identical tables and SVGs. Every file is written atomically
(``gpucompare.files.atomic_write``); stale CSVs and plots in ``tables/`` and ``plots/`` (generated
folders) are removed.
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
from gpucompare.report.plots import save
from gpucompare.report.section import ReportData
from gpucompare.results import Run, load_runs

GENERATED = (".csv", ".png", ".svg")


def _inline_svg(text: str) -> str:
    """SVG file text without its XML declaration and DOCTYPE, ready to inline in HTML."""
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.S)


def _write_plots(data: ReportData, folder: Path) -> list[Path]:
    written: list[Path] = []
    for plot in data.plots:
        written += save(plot.draw(), folder / plot.stem, plot.formats)
    return written


def _remove_stale(folders: Sequence[Path], keep: set[Path]) -> None:
    """Generated folders: drop what this generation did not write."""
    for folder in folders:
        if folder.is_dir():
            for f in folder.iterdir():
                if f.is_file() and f.suffix in GENERATED and f not in keep:
                    f.unlink()


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
    written: list[Path] = []
    tables_dir, plots_dir = out / "tables", out / "plots"
    for name, df in sorted(data.tables.items()):
        path = tables_dir / f"{name}.csv"
        atomic_write(path, csv_text(df))
        written.append(path)
    figures = _write_plots(data, plots_dir) if plots else []
    written += figures
    _remove_stale((tables_dir, plots_dir), set(written))
    svgs = {
        p.relative_to(out).as_posix(): _inline_svg(p.read_text(encoding="utf-8"))
        for p in figures
        if p.suffix == ".svg"
    }
    atomic_write(out / "README.md", render_markdown(data, svgs))
    atomic_write(out / "report.html", render_html(data, svgs))
    written += [out / "README.md", out / "report.html"]
    return sorted(written)
