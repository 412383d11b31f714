"""The store under abuse (issue 12): a full disk, an unwritable folder, two writers at once, kill -9 at random
moments. Every case leaves records.jsonl and records.csv whole and agreeing, or one clear error."""

from __future__ import annotations

import errno
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from test_results_store import CPU_MACHINE, make_record

from gpucompare import cli
from gpucompare.errors import ResultsError
from gpucompare.results import RunWriter, check_writable, load_run, read_records_csv, store

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _both(path: Path) -> tuple[list[dict], list[dict]]:
    return load_run(path).records, read_records_csv(path / "records.csv")


def test_full_disk_while_writing_the_csv_rolls_the_jsonl_back(tmp_path, monkeypatch):
    w = RunWriter(tmp_path, CPU_MACHINE)
    for i in range(3):
        w.append(make_record(w.run_id, count=i + 1))
    real = store.atomic_write

    def full(path, data, **kw):
        if Path(path).name == "records.csv":
            raise ENOSPC
        return real(path, data, **kw)

    monkeypatch.setattr(store, "atomic_write", full)
    with pytest.raises(ResultsError, match=r"records\.csv: cannot write record 4: No space left on device; "
                       r"the run keeps its first 3 records"):  # fmt: skip
        w.append(make_record(w.run_id, count=4))
    jsonl, csv_records = _both(w.path)
    assert [r["count"] for r in jsonl] == [r["count"] for r in csv_records] == [1, 2, 3]
    assert len(w.records) == 3


def test_full_disk_while_appending_the_jsonl_cuts_the_partial_line(tmp_path, monkeypatch):
    w = RunWriter(tmp_path, CPU_MACHINE)
    w.append(make_record(w.run_id, count=1))

    def fsync(fd):  # the line reached the file, then the disk filled up
        raise ENOSPC

    monkeypatch.setattr(store.os, "fsync", fsync)
    with pytest.raises(ResultsError, match=r"records\.jsonl: cannot write record 2: No space left"):
        w.append(make_record(w.run_id, count=2))
    monkeypatch.undo()
    jsonl, csv_records = _both(w.path)
    assert [r["count"] for r in jsonl] == [r["count"] for r in csv_records] == [1]
    w.append(make_record(w.run_id, count=2))  # space again: the run goes on where it was
    assert [r["count"] for r in load_run(w.path).records] == [1, 2]


def test_out_folder_is_created_and_test_written(tmp_path):
    assert check_writable(tmp_path / "a" / "b") == tmp_path / "a" / "b"  # missing parents are created
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the test file is gone
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match=r"file/runs: cannot write results there: Not a directory"):
        check_writable(tmp_path / "file" / "runs")


def test_unwritable_out_folder_is_one_line(tmp_path, monkeypatch):
    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store.tempfile, "NamedTemporaryFile", read_only)
    with pytest.raises(ResultsError, match=r": cannot write results there: Read-only file system$"):
        RunWriter(tmp_path, CPU_MACHINE)


def test_planned_cases_and_finished_in_run_json(tmp_path):
    w = RunWriter(tmp_path, CPU_MACHINE, planned_cases=2)
    assert load_run(w.path).machine == {**w.machine, "planned_cases": 2, "finished": False}
    w.append(make_record(w.run_id))
    w.finish()
    assert json.loads((w.path / "run.json").read_text())["finished"] is True


# ---------------------------------------------------------------- other processes: two writers, kill -9

_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_results_store import CPU_MACHINE, make_record
    from gpucompare.results import RunWriter

    out, n = sys.argv[1], int(sys.argv[2])
    w = RunWriter(out, CPU_MACHINE, planned_cases=n)
    print(w.path, flush=True)
    for i in range(n):
        w.append(make_record(w.run_id, count=i + 1, reason="x" * (i % 7) * 100 or None))
    w.finish()
    """
)


def _writer(out: Path, n: int) -> subprocess.Popen:
    code = _WRITER.format(tests=str(Path(__file__).parent))
    return subprocess.Popen([sys.executable, "-c", code, str(out), str(n)], stdout=subprocess.PIPE, text=True)


def _whole(folder: Path) -> list[int]:
    """The counts of a run's records, checked whole and in order in both files (the CSV may lag by the one
    record being written when the process was killed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tail cut by the kill is skipped (test_results_store)
        run = load_run(folder, allow_truncated_tail=True)
    counts = [r["count"] for r in run.records]
    assert counts == list(range(1, len(counts) + 1))
    in_csv = [r["count"] for r in read_records_csv(folder / "records.csv")]
    assert in_csv == counts or in_csv == counts[:-1], (in_csv, counts)
    return counts


def test_two_runs_into_the_same_folder_both_keep_whole_records(tmp_path):
    """Two writers started together with the same machine: two run folders (mkdir is the lock), each whole."""
    procs = [_writer(tmp_path, 60) for _ in range(2)]
    paths = {Path(p.stdout.readline().strip()) for p in procs}
    assert all(p.wait(timeout=120) == 0 for p in procs)
    assert len(paths) == 2 and {p.parent for p in paths} == {tmp_path}
    for path in paths:
        assert _whole(path) == list(range(1, 61))
        assert load_run(path).machine["finished"] is True


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_runs_killed_at_random_moments_leave_whole_records_and_a_report(tmp_path):
    """kill -9 ten times at random moments (seeded): whole records, ``finished: false``, and a report."""
    rng = random.Random(12)
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 60
    kept = []
    for _ in range(10):
        proc = _writer(runs, 100_000)
        path = Path(proc.stdout.readline().strip())  # the run folder exists: kill from here on
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert load_run(path, allow_truncated_tail=True).machine["finished"] is False
        kept.append(len(_whole(path)))
        assert time.monotonic() < deadline
    assert sum(kept) > 0, kept  # the kills did land while records were being written
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        rc = cli.main(
            ["report", "--runs", str(runs), "--out", str(tmp_path / "out"), "--no-plots", "--include-cpu"]
        )
    assert rc == 0, err.getvalue()
    assert all(line.startswith("gpucompare: warning: ") for line in err.getvalue().splitlines())
    assert (tmp_path / "out" / "report.html").is_file()


# ---------------------------------------------------------------- the values the issue's fuzzing broke


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"flops": 10**400}, "'flops'"),  # was OverflowError in the float check
        ({"median_s": 10**400}, "'median_s'"),
        ({"median_s": 1e308}, "'median_s'"),  # was ValueError further down (model, plots)
        ({"dtype": "fp99"}, "'dtype'"),  # was ValueError in the report
        ({"versions": "unknown"}, "'versions'"),  # was AttributeError
        ({"bytes": 0}, "'bytes'"),  # was ZeroDivisionError in the plots
        ({"shape": {"M": -1}}, "'shape.M'"),
        (
            {"telemetry": {"before": {"sm_clock_mhz": "fast"}, "after": None}},
            "'telemetry.before.sm_clock_mhz'",
        ),
    ],
)
def test_issue_values_are_refused_naming_file_and_field(tmp_path, change, field):
    w = RunWriter(tmp_path, CPU_MACHINE)
    (w.path / "records.jsonl").write_text(json.dumps(make_record(w.run_id, **change)) + "\n")
    with pytest.raises(ResultsError, match=rf"records\.jsonl:1: field {field}"):
        load_run(w.path)


@pytest.mark.parametrize("versions", ["unknown", {"torch": 2}])
def test_run_json_versions_must_hold_strings(tmp_path, versions):
    w = RunWriter(tmp_path, CPU_MACHINE)
    (w.path / "run.json").write_text(json.dumps({**w.machine, "versions": versions}))
    with pytest.raises(ResultsError, match=r"run\.json: field 'versions"):
        load_run(w.path)
