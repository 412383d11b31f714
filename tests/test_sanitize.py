"""Strings from records are safe where they go (issue 22 item 6): terminal escapes never reach a terminal raw
(``diff``, ``project``, every table), formula prefixes are neutralised in CSV, and records.csv round-trips."""

from __future__ import annotations

import io
import json

import pytest

from gpucompare import cli, console
from gpucompare.results import read_records_csv, records_csv
from gpucompare.sanitize import csv_cell, csv_uncell, terminal

ESC = "\x1b]0;pwned\x07\x1b[2J"


def test_terminal_escapes_every_control_but_the_newline():
    assert terminal("a\x1b[31mb") == "a\\x1b[31mb"
    assert terminal("x\ny") == "x\ny"
    assert terminal("\x9b\x7f\r\t\u202e") == "\\x9b\\x7f\\x0d\\x09\\u202e"
    assert terminal("H100 SXM é") == "H100 SXM é"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'quoted", "''quoted"),
        ("-", "-"),
        ("-1.5", "-1.5"),
        ("+3e8", "+3e8"),
        ("gemm 4096^3", "gemm 4096^3"),
    ],
)
def test_csv_cells(text, cell):
    assert csv_cell(text) == cell
    assert csv_uncell(cell) == text


def test_a_table_never_prints_a_raw_escape():
    table = console.Table("device")
    table.add_row(f"H100{ESC}")
    out = console.render(table, console.Wrapped(ESC), ESC)
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned" in out


def _run_with(records_fn, tmp_path):
    from test_fuzz_inputs import sample_run, write_run

    machine, records = sample_run()
    records = records_fn(records)
    return write_run(tmp_path / machine["run_id"], machine, records), records


def test_diff_and_project_escape_record_strings(tmp_path, capsys):
    """Issue 22 item 6: escapes in shape_label/device_name reached the terminal raw through diff and project."""

    def hostile(records):
        for r in records:
            r["shape_label"] = f"4096{ESC}"
            r["device_name"] = f"NVIDIA{ESC}"
        return records

    folder, _ = _run_with(hostile, tmp_path)
    for argv in (["diff", str(folder), str(folder)], ["project", "--runs", str(folder)]):
        assert cli.main(argv) == 0, argv
        out, err = capsys.readouterr()
        assert "\x1b" not in out + err and "\x07" not in out + err, argv


def test_records_csv_neutralises_formulas_and_round_trips(tmp_path):
    def hostile(records):
        records[0]["shape_label"] = '=HYPERLINK("http://x")'
        records[2]["reason"] = "@SUM(1)"
        records[3]["reason"] = "'already quoted"
        return records

    _, records = _run_with(hostile, tmp_path)
    text = records_csv(records)
    assert ",'=HYPERLINK" in text.replace('"', "") and "'@SUM(1)" in text
    path = tmp_path / "records.csv"
    path.write_text(text)
    assert read_records_csv(path) == json.loads(json.dumps(records))


def test_report_tables_neutralise_formulas():
    import pandas as pd

    from gpucompare.report.format import csv_text

    text = csv_text(pd.DataFrame({"a": ["=1+1", "-", "ok"], "b": [-1.5, 2.0, 3.0]}))
    assert text.splitlines() == ["a,b", "'=1+1,-1.5", "-,2", "ok,3"]


def test_plain_output_of_echo(capsys):
    buf = io.StringIO()
    console.echo(f"line{ESC}", file=buf)
    assert "\x1b" not in buf.getvalue()
