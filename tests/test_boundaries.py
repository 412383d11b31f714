"""Issue 22's reproductions at the boundaries (files, arguments, exit statuses): each is refused where it
enters, in one line naming the file or argument, with the documented exit status (``gpucompare.errors``)."""

from __future__ import annotations

import os
import threading

import pytest

from gpucompare import cli
from gpucompare.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, Interrupted


def _run(argv, capsys) -> tuple[int, list[str]]:
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    return status, capsys.readouterr().err.strip().splitlines()


def _one_error(argv, capsys, *names: str, status: int = EXIT_USAGE) -> str:
    code, err = _run(argv, capsys)
    assert code == status, (argv, code, err)
    assert len(err) == 1 and err[0].startswith("gpucompare: error: "), err
    for name in names:
        assert name in err[0], (name, err[0])
    return err[0]


# ---------------------------------------------------------------- files

FILE_COMMANDS = [["specs", "--file"], ["claims", "--file"], ["published", "--file"]]


@pytest.mark.parametrize("cmd", FILE_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("levels", [40, 3000, 100_000])
def test_deeply_nested_toml_is_refused_naming_the_file(tmp_path, capsys, cmd, levels):
    """Issue 22 item 1: `a = [[[...]]]`, 3,000 levels, was a RecursionError in specs/claims/published --file."""
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * levels + "]" * levels + "\n")
    line = _one_error([*cmd, str(path)], capsys, "deep.toml")
    assert "nested too deeply" in line or "not valid TOML" in line


@pytest.mark.parametrize("cmd", FILE_COMMANDS, ids=lambda c: c[0])
def test_a_fifo_or_a_device_is_refused_without_reading(tmp_path, capsys, cmd):
    """Issue 22 item 8: a FIFO hung, /dev/zero ate memory."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    timer = threading.Timer(20, lambda: open(fifo, "wb").close())  # unblocks a reader, should one wait
    timer.start()
    try:
        _one_error([*cmd, str(fifo)], capsys, "pipe.toml", "not a regular file")
    finally:
        timer.cancel()
    _one_error([*cmd, "/dev/zero"], capsys, "/dev/zero", "not a regular file")


def test_an_oversized_toml_is_refused(tmp_path, capsys, monkeypatch):
    from gpucompare import files

    monkeypatch.setattr(files, "MAX_TOML_BYTES", 1000)
    path = tmp_path / "big.toml"
    path.write_text("a = '" + "x" * 2000 + "'\n")
    _one_error(["specs", "--file", str(path)], capsys, "big.toml", "more than the 1,000")


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--timeout", "inf"],
        ["run", "--timeout", "nan"],
        ["run", "--timeout", "1e9"],
        ["run", "--nproc", "100000"],
        ["run", "--nproc", "0"],
        ["run", "--nproc", "9" * 400],
        ["run", "--out", ""],
        ["report", "--out", ""],
        ["report", "--pairs", "h20:h20"],
        ["predict", "h20", "gemm", "--shape", "M=" + "9" * 400],
        ["predict", "h20", "gemm", "--shape", "M=" + "9" * 40],
        ["predict", "h20", "gemm", "--shape", "M=-5"],
        ["specs", "--match", "NVIDIA H100 PCIe", "--sm-count", "-1"],
        ["workloads", "--floor", ""],
        ["workloads", "--floor", "h20\x1b[2J"],
    ],
    ids=" ".join,
)
def test_bad_arguments_are_refused(capsys, argv):
    """Issue 22 item 8: each of these was accepted."""
    _one_error(argv, capsys)


# ---------------------------------------------------------------- exit statuses


def test_ctrl_c_in_run_is_one_line_and_status_130(capsys, monkeypatch, tmp_path):
    """Issue 22 item 8: Ctrl-C in `run` ended in a KeyboardInterrupt traceback."""
    from gpucompare.measure import runner

    def interrupted(*args, **kwargs):
        raise Interrupted(f"3 of 9 cases written to {tmp_path / 'run'} (kept)")

    monkeypatch.setattr(runner, "run_suite", interrupted)
    code, err = _run(["run", "--out", str(tmp_path), "--only", "gemm"], capsys)
    assert code == EXIT_INTERRUPTED
    assert err == [f"gpucompare: interrupted: 3 of 9 cases written to {tmp_path / 'run'} (kept)"]


def test_a_bare_keyboard_interrupt_is_status_130(capsys, monkeypatch):
    def stopped(args):
        raise KeyboardInterrupt

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser, "specs", stopped))
    code, err = _run(["specs"], capsys)
    assert code == EXIT_INTERRUPTED and len(err) == 1 and err[0].startswith("gpucompare: interrupted")


def _with_func(parser, command, func):
    parser._subparsers._group_actions[0].choices[command].set_defaults(func=func)
    return parser


def test_an_unexpected_exception_is_not_status_1(capsys, monkeypatch):
    """Issue 22 item 8: any uncaught exception exited 1, the same as 'a case failed'."""

    def broken(args):
        raise KeyError("size_bytes")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser, "specs", broken))
    code, err = _run(["specs"], capsys)
    assert code == EXIT_INTERNAL != 1
    assert len(err) == 1 and err[0].startswith("gpucompare: internal error: KeyError: 'size_bytes' at ")


# ---------------------------------------------------------------- records


def _collective_record() -> dict:
    from test_fuzz_inputs import sample_run

    _, records = sample_run()
    rec = dict(records[0], workload="all_reduce", family="collective", flops=0)
    rec["collective"] = {
        "world_size": 8,
        "backend": "nccl",
        "backend_version": "2.21.5",
        "algorithm": "Ring",
        "size_bytes": 1 << 30,
        "bus_factor": 1.75,
        "algbw_gbps": 200.0,
        "busbw_gbps": 350.0,
    }
    return rec


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"size_bytes": None}, "collective.size_bytes"),
        ({"world_size": "8"}, "collective.world_size"),
        ({"world_size": 0}, "collective.world_size"),
        ({"busbw_gbps": float("nan")}, "collective.busbw_gbps"),
        ({"busbw_gbps": None}, "collective.busbw_gbps"),
        ({"backend": "nccl\x1b[2J"}, "collective.backend"),
    ],
)
def test_the_schema_checks_inside_collective(change, field):
    """Issue 22 item 2: a collective record without size_bytes passed validation, then KeyError in model/comm."""
    from gpucompare.errors import ResultsError
    from gpucompare.results import validate_record

    rec = _collective_record()
    validate_record(rec)  # the unchanged record is valid
    rec["collective"].update(change)
    if change.get("size_bytes", 0) is None:
        del rec["collective"]["size_bytes"]
    with pytest.raises(ResultsError, match=field.replace(".", r"\.")):
        validate_record(rec, "r.jsonl:1")


@pytest.mark.parametrize("pairs", ["b20:b30a", "mi308x:rtx-pro-6000d"])
def test_chips_with_unknown_peaks_paired_in_a_report(tmp_path, capsys, pairs):
    """Issue 22 item 2: chips with unknown peaks paired in a report were an AssertionError (model/headline.py)."""
    code, err = _run(["report", "--out", str(tmp_path), "--no-plots", "--pairs", pairs], capsys)
    assert code == 0, err
    assert (tmp_path / "README.md").is_file()


def test_a_run_of_a_chip_the_database_lacks(tmp_path, capsys):
    """Issue 22 item 2: a small run of a chip the database lacks was a KeyError (report/sections/classes.py)."""
    from test_fuzz_inputs import sample_run, write_run

    machine, records = sample_run()
    machine["chip_id"] = "nochip-x"
    records = [dict(r, chip_id="nochip-x") for r in records[:1]]
    write_run(tmp_path / "runs" / "r1", machine, records)
    for argv in (
        ["report", "--out", str(tmp_path), "--no-plots"],
        ["compare", "h100", "h20", "--runs", str(tmp_path / "runs")],
        ["claims", "--results", str(tmp_path / "runs")],
    ):
        _one_error(argv, capsys, "nochip-x")


@pytest.mark.parametrize("value", ['"' + "x" * 100_000 + '"', '"16"', "true"])
def test_a_ledger_shape_value_of_the_wrong_type(tmp_path, capsys, value):
    """Issue 22 item 1: a ledger shape value of the wrong type was a TypeError in check_gqa, a huge string a
    32 GB multiply (MemoryError)."""
    import re

    from gpucompare.specs import published

    text = published.DEFAULT_PATH.read_text(encoding="utf-8")
    first = re.search(r"hq = \d+", text)
    path = tmp_path / "ledger.toml"
    path.write_text(text[: first.start()] + f"hq = {value}" + text[first.end() :], encoding="utf-8")
    _one_error(["published", "--file", str(path)], capsys, "ledger.toml", "field 'shape'", "is not int")
