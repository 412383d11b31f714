"""Terminal output of the commands: tables, wrapped text and the progress of ``gpucompare run``, through rich.

One rule for every command, decided per stream:

* **terminal** (the stream is a tty): tables fit the terminal's width, their long text columns wrap;
  headers are bold and statuses coloured unless ``NO_COLOR`` is set; ``gpucompare run`` shows a progress bar
  with an ETA on stderr, each finished case printed above it.
* **plain** (a pipe, a file, a captured stream): ASCII rules, no escape codes, tables at their natural width
  (one line per row, so ``grep`` and ``diff`` work), text wrapped at :data:`PLAIN_TEXT_WIDTH`; the progress
  is one line per case (also in a terminal with ``gpucompare run --no-progress``).

The commands build :class:`Table` objects and hand them, with plain strings and :class:`Wrapped` paragraphs,
to :func:`echo` (print) or :func:`render` (the plain text, for a caller that writes it elsewhere).
No torch here: the table commands import this module and nothing heavier.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from io import StringIO
from typing import Any, Literal, TextIO

from rich import box as rich_box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text

from gpucompare.sanitize import terminal as _safe

PLAIN_TEXT_WIDTH = 110
"""Where :class:`Wrapped` text wraps in plain output (a terminal wraps it at its own width)."""

COLORS = {
    "ok": "green",
    "reproduced": "green",
    "failed": "red",
    "refuted": "red",
    "skipped": "yellow",
    "partial": "yellow",
    "unknown": "yellow",
}
"""Colour of a status cell in a terminal, by its first word (``failed: reason`` is red)."""

# Only the rule under the header; columns separated by two spaces (right padding 1 + a blank divider).
_PLAIN_BOX = rich_box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
_TERMINAL_BOX = rich_box.Box("    \n    \n ── \n    \n    \n    \n    \n    \n")
_GAP = 2  # characters between two columns (see the boxes above)


@dataclass(frozen=True)
class Column:
    """One column of a :class:`Table`.

    ``fmt``: a format spec applied to numbers (``",.0f"``, ``".4g"``) or a function value -> text; strings
    are shown as given. ``missing``: the text of a ``None`` cell. ``wrap``: a long text column, wrapped to
    the terminal's width (the other columns keep their width). ``colored``: colour the cell by its first
    word (:data:`COLORS`) in a terminal.
    """

    header: str
    align: Literal["left", "right"] = "left"
    fmt: str | Callable[[Any], str] | None = None
    missing: str = "-"
    wrap: bool = False
    colored: bool = False

    def text(self, value: Any) -> str:
        if value is None:
            return self.missing
        if callable(self.fmt):
            return self.fmt(value)
        if self.fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            return format(value, self.fmt)
        return str(value)


class Table:
    """Rows of text under named columns, printed by :func:`echo` (``indent``: spaces before every line)."""

    def __init__(self, *columns: Column | str, indent: int = 0):
        self.columns = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
        self.rows: list[tuple[str, ...]] = []
        self.indent = indent

    def add_row(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(_safe(col.text(v)) for col, v in zip(self.columns, values)))

    def min_width(self) -> int:
        """The narrowest width without cutting a cell: fixed columns whole, wrapping ones at their longest
        word."""
        widths = []
        for i, col in enumerate(self.columns):
            cells = [col.header, *(row[i] for row in self.rows)]
            if col.wrap:
                cells = [word for c in cells for word in c.split()] or [""]
            widths.append(max(cell_len(c) for c in cells))
        return self.indent + sum(widths) + _GAP * (len(widths) - 1)

    def _rich(self, terminal: bool) -> RichTable:
        table = RichTable(
            box=_TERMINAL_BOX if terminal else _PLAIN_BOX,
            show_edge=False,
            pad_edge=False,
            padding=(0, 1, 0, 0),
            header_style="bold" if terminal else "",
            expand=False,
        )
        for col in self.columns:
            table.add_column(col.header, justify=col.align, no_wrap=not col.wrap, overflow="fold")
        for row in self.rows:
            cells = []
            for col, cell in zip(self.columns, row):
                color = COLORS.get(cell.split(":")[0].split(" ")[0]) if col.colored and terminal else None
                cells.append(Text(cell, style=color or ""))
            table.add_row(*cells)
        return table


@dataclass(frozen=True)
class Wrapped:
    """A paragraph wrapped at the terminal's width (plain output: :data:`PLAIN_TEXT_WIDTH`), each line
    indented by ``indent`` spaces."""

    text: str
    indent: int = 0

    def lines(self, width: int) -> list[str]:
        pad = " " * self.indent
        return textwrap.wrap(_safe(self.text), width=width, initial_indent=pad, subsequent_indent=pad) or [""]


Block = str | Table | Wrapped


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal (a closed or odd stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _plain_console(file: TextIO) -> Console:
    # Wide enough never to wrap a table row; rows are padded to their columns only, not to this width.
    return Console(
        file=file,
        width=1_000_000,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        force_interactive=False,
        no_color=True,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )


def terminal_console(stream: TextIO, width: int | None = None) -> Console:
    """A rich console on the terminal ``stream``: its width (or ``width``), its colours (none with
    ``NO_COLOR``)."""
    return Console(file=stream, width=width, force_terminal=True, highlight=False, emoji=False, markup=False)


def render(*blocks: Block) -> str:
    """The plain text of ``blocks`` (no escape codes, ASCII rules, no trailing spaces), one block a line."""
    buf = StringIO()
    console = _plain_console(buf)
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            buf.seek(0)
            buf.truncate()
            console.print(block._rich(terminal=False))
            pad = " " * block.indent
            out += [(pad + line).rstrip() for line in buf.getvalue().splitlines()]
        elif isinstance(block, Wrapped):
            out += block.lines(PLAIN_TEXT_WIDTH)
        else:
            out.append(_safe(block))
    return "\n".join(out)


def echo(*blocks: Block, file: TextIO | None = None) -> None:
    """Print ``blocks`` (tables, wrapped paragraphs, lines) to ``file`` (stdout): for a terminal through
    rich at its width, else as :func:`render`'s plain text."""
    stream = file if file is not None else sys.stdout
    if not is_terminal(stream):
        stream.write(render(*blocks) + "\n")
        stream.flush()
        return
    console = terminal_console(stream)
    for block in blocks:
        if isinstance(block, Table):
            # A table whose fixed columns do not fit keeps them whole; the terminal folds its lines.
            wide = terminal_console(stream, max(console.width, block.min_width()))
            wide.print(Padding(block._rich(terminal=True), (0, 0, 0, block.indent), expand=False))
        elif isinstance(block, Wrapped):
            for line in block.lines(max(console.width - 1, 20)):
                console.print(Text(line), soft_wrap=True)
        else:
            console.print(Text(_safe(block)))


# ---------------------------------------------------------------- progress of `gpucompare run`


class CaseProgress:
    """The progress of a run over ``total`` cases on ``stream`` (stderr), used as a context manager::

        with CaseProgress(len(cases), bar=True) as progress:
            for case in cases:
                progress.start(label)
                ...
                progress.finish(status, detail)

    ``bar``: a rich progress bar with the ETA, each finished case printed above it, when ``stream`` is a
    terminal; ``bar=False`` (or a stream that is not a terminal) prints one plain line per case
    (``[ 3/12] label ... ok 25 us, 5 GB/s``).
    """

    def __init__(self, total: int, stream: TextIO | None = None, *, bar: bool = True):
        self.total, self.done = total, 0
        self.stream = stream if stream is not None else sys.stderr
        self._label = ""
        self._bar: Any = None
        self._task: Any = None
        if bar and is_terminal(self.stream):
            self._bar = _progress_bar(terminal_console(self.stream))

    def __enter__(self) -> CaseProgress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if self.done == self.total:
                self._bar.update(self._task, description="done")
            self._bar.stop()
        elif self._label and exc[0] is not None:  # a case begun and not finished: end its line
            self.stream.write("interrupted\n")
            self.stream.flush()

    def _counter(self) -> str:
        return f"[{self.done + 1:>{len(str(self.total))}}/{self.total}]"

    def start(self, label: str) -> None:
        """Case ``label`` begins."""
        self._label = label
        if self._bar is not None:
            self._bar.update(self._task, description=label)
        else:
            self.stream.write(f"{self._counter()} {label} ... ")
            self.stream.flush()

    def finish(self, status: str, detail: str = "") -> None:
        """The case begun last ended with ``status`` (``ok``, ``failed``, ``skipped``) and ``detail``."""
        if self._bar is not None:
            line = Text(f"{self._counter()} {self._label} ")
            line.append(status, style=COLORS.get(status, ""))
            line.append(f" {detail}".rstrip())
            self._bar.console.print(line)
            self._bar.advance(self._task)
        else:
            self.stream.write(f"{status} {detail}\n")
            self.stream.flush()
        self.done += 1
        self._label = ""


def _progress_bar(console: Console) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(  # the case last, so the bar does not move with the length of its name
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.description}", markup=False),
        console=console,
        speed_estimate_period=3600.0,  # the ETA from the whole run's pace, not the last 30 s
        transient=False,
    )


def format_seconds(s: float | None) -> str:
    """A duration for people: ``"1.23 ms"``, ``"45.6 us"``; ``"-"`` for None."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def counts_line(statuses: Iterable[str], noun: str, order: Sequence[str] = ()) -> str:
    """``"12 cases: 10 ok, 1 failed, 1 skipped"``: the statuses in ``order`` first (zeros included), then
    any other in order of appearance."""
    seen = list(statuses)
    names = list(order) + [s for s in dict.fromkeys(seen) if s not in order]
    return f"{len(seen)} {noun}: " + ", ".join(f"{seen.count(s)} {s}" for s in names)
