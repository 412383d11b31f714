"""Terminal output of the commands: tables, wrapped text and the progress of ``gpucompare run``, through rich.

One rule for every command, decided per stream:

* **terminal** (the stream is a tty): tables fit the terminal's width, their long text columns wrap;
  headers are bold and statuses coloured unless ``NO_COLOR`` is set; ``gpucompare run`` shows a progress bar
  with an ETA on stderr, each finished case printed above it.
* **plain** (a pipe, a file, a captured stream): ASCII rules, no escape codes, tables at their natural width
  (one line per row, so ``grep`` and ``diff`` work) unless ``COLUMNS`` is set, then they fit it; text
  wrapped at :data:`PLAIN_TEXT_WIDTH`; the progress is one line per case (also in a terminal with
  ``gpucompare run --no-progress``).

Fitting a width (:meth:`Table.fit`): the columns a command marks droppable (``Column.drop``, highest first)
are hidden until the table fits, with one line naming them; if it still does not fit, every cell may wrap.
``--wide`` (:func:`set_wide`) shows every column at its natural width. Numbers go through
:mod:`gpucompare.fmt` (no scientific notation).

The commands build :class:`Table` objects and hand them, with plain strings and :class:`Wrapped` paragraphs,
to :func:`echo` (print) or :func:`render` (the plain text, for a caller that writes it elsewhere).
No torch here: the table commands import this module and nothing heavier.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from io import StringIO
from typing import Any, Literal, TextIO

from rich import box as rich_box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text

from gpucompare import fmt as numbers
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
WRAP_MIN = 30  # a wrapping column narrower than this is hidden first when the table has droppable columns


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
    drop: int = 0

    def text(self, value: Any) -> str:
        if value is None:
            return self.missing
        if callable(self.fmt):
            return self.fmt(value)
        if self.fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.fmt.endswith(("g", "e")):
                digits = "".join(ch for ch in self.fmt if ch.isdigit())
                return numbers.number(float(value), int(digits) if digits else 6)
            return format(value, self.fmt)
        return str(value)


class Table:
    """Rows of text under named columns, printed by :func:`echo` (``indent``: spaces before every line)."""

    def __init__(self, *columns: Column | str, indent: int = 0):
        self.columns = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
        self.rows: list[tuple[str, ...]] = []
        self.indent = indent
        self.fold = False  # every cell may break anywhere (set by :meth:`fit` when words do not fit)

    def add_row(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(_safe(col.text(v)) for col, v in zip(self.columns, values)))

    def fit(self, width: int) -> tuple[Table, list[str]]:
        """This table narrowed to ``width``: droppable columns hidden (highest ``drop`` first, the rightmost of
        a tie first) until it fits; if it still does not, every text column (left-aligned) may break anywhere,
        numbers stay whole. The hidden headers beside it."""
        keep = list(range(len(self.columns)))
        order = sorted(
            (i for i, c in enumerate(self.columns) if c.drop), key=lambda i: (-self.columns[i].drop, -i)
        )
        hidden = []
        for i in order:
            if self._select(keep).min_width(readable=True) <= width:
                break
            keep.remove(i)
            hidden.append(self.columns[i].header)
        table = self._select(keep)
        if table.min_width() > width:
            table.columns = tuple(replace(c, wrap=True) if c.align == "left" else c for c in table.columns)
            table.fold = True
        return table, hidden

    def _select(self, keep: Sequence[int]) -> Table:
        out = Table(*(self.columns[i] for i in keep), indent=self.indent)
        out.rows = [tuple(row[i] for i in keep) for row in self.rows]
        return out

    def min_width(self, readable: bool = False) -> int:
        """The narrowest width without cutting a cell: fixed columns whole, wrapping ones at their longest
        word (``readable``: at least :data:`WRAP_MIN` characters, so that a wrapped cell stays a few lines)."""
        widths = []
        for i, col in enumerate(self.columns):
            cells = [col.header, *(row[i] for row in self.rows)]
            natural = max(cell_len(c) for c in cells)
            if self.fold and col.align == "left":
                cells = ["xxxxxx"]  # rich folds a text cell anywhere; a few characters at least
            elif col.wrap:
                cells = [word for c in cells for word in c.split()] or [""]
            least = max(cell_len(c) for c in cells)
            widths.append(max(least, min(natural, WRAP_MIN)) if readable and col.wrap else least)
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


def _plain_console(file: TextIO, width: int | None = None) -> Console:
    # Without a width: wide enough never to wrap a table row; rows are padded to their columns only.
    return Console(
        file=file,
        width=width or 1_000_000,
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


_WIDE = False


def set_wide(on: bool) -> None:
    """``--wide``: every table at its natural width, every column shown (default: fit the terminal)."""
    global _WIDE
    _WIDE = bool(on)


def plain_width() -> int | None:
    """The width plain output fits: ``COLUMNS`` when set (at least 20), else none (natural width)."""
    try:
        width = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return None if _WIDE else max(width, 20)


def output_width(stream: TextIO | None = None) -> int | None:
    """The width output to ``stream`` (stdout) must fit: the terminal's, else ``COLUMNS`` when set; None
    with ``--wide`` or for a pipe without ``COLUMNS`` (natural width)."""
    stream = stream if stream is not None else sys.stdout
    if _WIDE:
        return None
    return terminal_console(stream).width if is_terminal(stream) else plain_width()


def fit_lines(text: str, width: int | None, indent: int = 0) -> list[str]:
    """``text`` as lines of at most ``width`` characters (None: one line), each indented by ``indent``; a
    word longer than the width (a URL) is broken."""
    pad, text = " " * indent, _safe(text)
    if width is None:
        return [pad + text]
    return textwrap.wrap(text, max(width, 20), initial_indent=pad, subsequent_indent=pad + "  ") or [""]


def _fitted(block: Table, width: int | None) -> tuple[Table, str | None]:
    """The table to print at ``width`` and the line naming its hidden columns (None: nothing hidden)."""
    if width is None or _WIDE:
        return block, None
    table, hidden = block.fit(width)
    if not hidden:
        return table, None
    note = (
        f"({len(hidden)} column(s) hidden to fit {width} characters: {', '.join(hidden)}; --wide shows them)"
    )
    return table, note


def render(*blocks: Block) -> str:
    """The plain text of ``blocks`` (no escape codes, ASCII rules, no trailing spaces), one block a line;
    tables fit ``COLUMNS`` when it is set (:func:`plain_width`)."""
    buf = StringIO()
    width = plain_width()
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            buf.seek(0)
            buf.truncate()
            inner = None if width is None else width - block.indent
            table, note = _fitted(block, inner)
            _plain_console(buf, inner).print(table._rich(terminal=False))
            pad = " " * block.indent
            out += [(pad + line).rstrip() for line in buf.getvalue().splitlines()]
            out += textwrap.wrap(note, width) if note and width else [note] if note else []
        elif isinstance(block, Wrapped):
            out += block.lines(min(PLAIN_TEXT_WIDTH, width or PLAIN_TEXT_WIDTH))
        elif width is not None and len(block) > width:  # a long line wraps at COLUMNS (words kept whole)
            out += textwrap.wrap(_safe(block), width, break_long_words=False, break_on_hyphens=False) or [""]
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
            # Fitted to the terminal (droppable columns hidden, then cells wrapped); --wide: natural width.
            table, note = _fitted(block, console.width - block.indent)
            wide = terminal_console(stream, max(console.width, table.min_width()))
            wide.print(Padding(table._rich(terminal=True), (0, 0, 0, block.indent), expand=False))
            if note:
                console.print(Text(note, style="dim"))
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
            # advance and redraw first: printing redraws the bar as last rendered, so it then already counts
            # this case (the bar and the [n/N] line agree even when a busy kernel starves rich's refresh thread)
            self._bar.advance(self._task)
            self._bar.refresh()
            self._bar.console.print(line)
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


format_seconds = numbers.seconds  # a duration for people ("1.23 ms", "45.6 µs"): gpucompare.fmt


def counts_line(statuses: Iterable[str], noun: str, order: Sequence[str] = ()) -> str:
    """``"12 cases: 10 ok, 1 failed, 1 skipped"``: the statuses in ``order`` first (zeros included), then
    any other in order of appearance."""
    seen = list(statuses)
    names = list(order) + [s for s in dict.fromkeys(seen) if s not in order]
    return f"{len(seen)} {noun}: " + ", ".join(f"{seen.count(s)} {s}" for s in names)
