"""gpucompare.console: plain tables for pipes, wrapped tables and colours for terminals, the run's progress."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from gpucompare import console
from gpucompare.console import CaseProgress, Column, Table, Wrapped

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7]|38;[0-9;]+)m")  # foreground colours, not bold

LONG = "an explanation long enough to need several lines in a narrow terminal window"


class Tty(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A 40-column colour terminal (rich reads COLUMNS for a stream without a real size)."""
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return Tty()


def _table(indent: int = 0) -> Table:
    table = Table(
        "chip",
        Column("TFLOP/s", "right", fmt=",.0f", missing="?"),
        Column("status", colored=True),
        Column("note", wrap=True),
        indent=indent,
    )
    table.add_row("h100-sxm", 1979.0, "ok", LONG)
    table.add_row("h20", None, "failed", "")
    return table


def test_plain_table_layout():
    lines = console.render(_table()).splitlines()
    assert lines[0].split() == ["chip", "TFLOP/s", "status", "note"]
    assert set(lines[1]) == {"-"} and len(lines[1]) == max(len(line) for line in lines)
    assert lines[2] == f"h100-sxm    1,979  ok      {LONG}"  # right-aligned number, one line per row
    assert lines[3] == "h20             ?  failed"  # no trailing spaces
    assert len(lines) == 4


def test_plain_output_has_no_escape_codes_and_ascii_rules(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # a pipe stays plain even when colour is forced
    out = io.StringIO()
    console.echo("title", "", _table(indent=2), Wrapped("word " * 40, 4), file=out)
    text = out.getvalue()
    assert not ANSI.search(text) and text.isascii()
    assert text == console.render("title", "", _table(indent=2), Wrapped("word " * 40, 4)) + "\n"
    lines = text.splitlines()
    assert lines[2].startswith("  chip") and lines[3].startswith("  ---")
    para = lines[-2:]  # 40 words wrapped at PLAIN_TEXT_WIDTH, indented by 4
    assert all(line.startswith("    word") and len(line) <= console.PLAIN_TEXT_WIDTH for line in para)


def test_terminal_wraps_the_text_column_to_the_width(terminal):
    console.echo(_table(), file=terminal)
    lines = ANSI.sub("", terminal.getvalue()).splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert lines[1].strip() and set(lines[1].strip()) == {"─"}
    assert lines[2].startswith("h100-sxm    1,979  ok") and len(lines) > 5  # the note wrapped
    note = lines[0].index("note")
    assert " ".join(line[note:].strip() for line in lines[2:-1]) == LONG
    assert all(not line[:note].strip() for line in lines[3:-1])
    assert lines[-1].startswith("h20             ?  failed")


def test_terminal_colours_statuses_unless_no_color(terminal, monkeypatch):
    console.echo(_table(), file=terminal)
    assert COLOUR.search(terminal.getvalue())  # ok green, failed red
    monkeypatch.setenv("NO_COLOR", "1")
    quiet = Tty()
    console.echo(_table(), file=quiet)
    assert not COLOUR.search(quiet.getvalue())
    assert ANSI.sub("", quiet.getvalue()) == ANSI.sub("", terminal.getvalue())


def test_terminal_table_fits_and_numbers_stay_whole(terminal):
    table = Table("a" * 30, Column("b", "right"))
    table.add_row("x" * 30, "1" * 30)
    console.echo(table, file=terminal)
    lines = ANSI.sub("", terminal.getvalue()).splitlines()
    assert all(len(line) <= 40 for line in lines)  # the 40-column terminal: the text column folds
    assert any("1" * 30 in line for line in lines) and "…" not in "".join(lines)  # the number stays whole


def test_droppable_columns_hide_to_fit_and_wide_shows_them(terminal, monkeypatch):
    table = Table("name", Column("detail", wrap=True, drop=1), Column("value", "right"))
    table.add_row("gemm", "a long explanation " * 4, 1.5)
    console.echo(table, file=terminal)
    text = ANSI.sub("", terminal.getvalue())
    assert "detail" not in text.splitlines()[0] and "hidden to fit" in text and "--wide" in text
    assert all(len(line) <= 40 for line in text.splitlines())
    monkeypatch.setattr(console, "_WIDE", True)
    assert "a long explanation" in console.render(table)


def test_plain_output_fits_columns_when_set(monkeypatch):
    table = Table("name", Column("detail", wrap=True), Column("value", "right", fmt=".4g"))
    table.add_row("gemm", "word " * 40, 0.000012345)
    assert max(map(len, console.render(table).splitlines())) > 80  # a pipe: natural width, one line a row
    monkeypatch.setenv("COLUMNS", "50")
    lines = console.render(table, "w " * 60).splitlines()
    assert max(map(len, lines)) <= 50 and "0.0000123" in "".join(lines) and "e-05" not in "".join(lines)


def test_wrapped_text_follows_the_terminal_width(terminal):
    console.echo(Wrapped(LONG, 4), "a plain line", file=terminal)
    lines = ANSI.sub("", terminal.getvalue()).splitlines()
    assert len(lines) > 3 and all(line.startswith("    ") and len(line) < 40 for line in lines[:-1])
    assert " ".join(line.strip() for line in lines[:-1]) == LONG and lines[-1] == "a plain line"


def test_columns_format_cells():
    # a "g" spec never writes scientific notation (gpucompare.fmt.number)
    assert (
        Column("x", fmt=".3g").text(1234.5) == "1,234"
        and Column("x", fmt=".3g").text(1.2345e-5) == "0.0000123"
    )
    assert Column("x", fmt=lambda v: f"{v:.2f}x").text(6.691) == "6.69x"
    assert Column("x", fmt=".1f").text("text") == "text" and Column("x", fmt=".1f").text(True) == "True"
    assert Column("x").text(None) == "-" and Column("x", missing="n/a").text(None) == "n/a"
    with pytest.raises(ValueError, match="2 cells for 4 columns"):
        _table().add_row("a", "b")


def test_counts_line():
    statuses = ["ok", "failed", "ok", "skipped", "weird"]
    assert console.counts_line(statuses, "cases", ("ok", "failed", "skipped")) == (
        "5 cases: 2 ok, 1 failed, 1 skipped, 1 weird"
    )
    assert (
        console.counts_line(["partial", "refuted", "partial"], "claims") == "3 claims: 2 partial, 1 refuted"
    )


def _drive(progress: CaseProgress) -> None:
    with progress as p:
        p.start("gemm-64-fp16-triton")
        p.finish("ok", "25 us, 5 GB/s")
        p.start("copy-n4099-fp32-torch")
        p.finish("failed", "wrong output")


@pytest.mark.parametrize("bar", [True, False])
def test_progress_is_one_plain_line_per_case_off_a_terminal(bar):
    out = io.StringIO()
    _drive(CaseProgress(2, out, bar=bar))
    assert out.getvalue() == (
        "[1/2] gemm-64-fp16-triton ... ok 25 us, 5 GB/s\n[2/2] copy-n4099-fp32-torch ... failed wrong output\n"
    )


def test_no_progress_on_a_terminal_is_the_plain_lines(terminal):
    _drive(CaseProgress(2, terminal, bar=False))
    assert terminal.getvalue().splitlines()[0] == "[1/2] gemm-64-fp16-triton ... ok 25 us, 5 GB/s"
    assert not ANSI.search(terminal.getvalue())


def test_progress_bar_on_a_terminal(terminal, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    progress = CaseProgress(2, terminal)
    _drive(progress)
    text = ANSI.sub("", terminal.getvalue())
    assert "[1/2] gemm-64-fp16-triton ok 25 us, 5 GB/s" in text
    assert "[2/2] copy-n4099-fp32-torch failed wrong output" in text
    assert "2/2" in text and "eta" in text and "done" in text and progress.done == 2
    # the bar redrawn under the "[1/2]" line already counts that case (it stayed one behind)
    between = text[text.index("[1/2] gemm") : text.index("[2/2] copy")].replace("[1/2]", "")
    assert "1/2" in between and "0/2" not in between


def test_importing_console_does_not_import_torch():
    code = "import sys, gpucompare.console; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
