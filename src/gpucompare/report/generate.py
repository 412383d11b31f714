"""Write the report under an output folder::

    README.md          the report in Markdown (tables inline, plots linked)
    report.html        the same, self-contained (inline CSS, plots as inline SVG; opens with no network)
    tables/*.csv       one per table of the sections (see ``gpucompare.report.sections``)
    plots/*.{png,svg}  the sections' figures

Deterministic: the same runs give byte-identical tables and SVGs. Every file is written atomically
(``gpucompare.files.atomic_write``).

The report never deletes or overwrites a file it did not write. ``report-files.txt`` (the manifest) lists
every file the last generation wrote, relative to the output folder; the next generation deletes only the
files listed there that it no longer writes (a stale plot), and refuses, before writing anything, to replace
a ``README.md`` or ``report.html`` that the manifest does not list (a user's own file). ``plots=False``
leaves the plots as they are (and listed). The manifest is written before the first file (listing the old
and the new files), and again at the end (the new files only), so an interrupted generation leaves no file
the next one would not recognise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gpucompare.errors import GpucompareError
from gpucompare.files import atomic_write
from gpucompare.report.build import build
from gpucompare.report.format import csv_text, render_html, render_markdown
from gpucompare.report.plots import save
from gpucompare.report.section import ReportData
from gpucompare.results import Run, load_runs

MANIFEST = "report-files.txt"
_MANIFEST_HEADER = (
    "# written by `gpucompare report`: the files it generated here; it deletes or replaces only these\n"
)
#: Top-level files a user may well have in a folder of their own: never replaced unless listed.
PROTECTED = ("README.md", "report.html")


class ReportOutputError(GpucompareError):
    """The output folder holds a file the report would replace but did not write."""


def _inline_svg(text: str) -> str:
    """SVG file text without its XML declaration and DOCTYPE, ready to inline in HTML."""
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.S)


def _write_plots(data: ReportData, folder: Path) -> list[Path]:
    written: list[Path] = []
    for plot in data.plots:
        written += save(plot.draw(), folder / plot.stem, plot.formats)
    return written


def read_manifest(out: Path) -> set[str]:
    """The relative paths the previous generation wrote (empty when there is no manifest). A line that is
    not a plain relative path inside ``out`` is ignored: the report then deletes less, never more."""
    try:
        text = (out / MANIFEST).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise ReportOutputError(f"{out / MANIFEST}: cannot read: {exc.strerror or exc}") from None
    listed = set()
    for line in text.splitlines():
        name = line.strip()
        parts = Path(name).parts
        if name and not name.startswith("#") and not Path(name).is_absolute() and ".." not in parts:
            listed.add(Path(name).as_posix())
    return listed


def _write_manifest(out: Path, names: set[str]) -> None:
    atomic_write(out / MANIFEST, _MANIFEST_HEADER + "".join(f"{n}\n" for n in sorted(names)))


def _check_protected(out: Path, previous: set[str]) -> None:
    for name in PROTECTED:
        if (out / name).exists() and name not in previous:
            raise ReportOutputError(
                f"{out / name}: exists and was not written by `gpucompare report` (not listed in "
                f"{out / MANIFEST}); move it away or choose another --out"
            )


def _remove_stale(out: Path, previous: set[str], keep: set[str]) -> None:
    """Delete the files the previous generation wrote and this one did not (nothing else)."""
    for name in sorted(previous - keep):
        path = out / name
        if path.is_file() and not path.is_symlink():
            path.unlink()


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
    _check_protected(out, previous)
    tables_dir, plots_dir = out / "tables", out / "plots"
    tables = {tables_dir / f"{name}.csv": df for name, df in sorted(data.tables.items())}
    # Plots not redrawn stay, and stay listed, so a later full generation can still remove them.
    kept = set() if plots else {n for n in previous if n.startswith("plots/")}
    planned = {_rel(out, p) for p in tables} | set(PROTECTED) | kept
    _write_manifest(out, previous | planned)
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
    now = {_rel(out, p) for p in written} | kept
    _remove_stale(out, previous, now)
    _write_manifest(out, now)
    return sorted(written)


def _rel(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()
