"""Results storage: schema validation, the append-only writer, killed runs and the loader's messages."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gpucompare.errors import ResultsError
from gpucompare.results import (
    CSV_COLUMNS,
    RECORD_FIELDS,
    RunWriter,
    load_run,
    load_runs,
    run_dir_name,
    validate_record,
)

CPU_MACHINE = {"mode": "cpu-fallback", "chip_id": None, "device_name": "cpu", "hostname": "box.example.org"}


METHOD = {"version": 1, "timer": "perf_counter", "flush": "none", "flush_bytes": None}


def make_record(run_id: str, **over) -> dict:
    rec = {
        "schema_version": 2,
        "method": METHOD,
        "run_id": run_id,
        "workload": "gemm",
        "family": "gemm",
        "intent": "compute",
        "shape": {"M": 67, "N": 45, "K": 129},
        "shape_label": "67x45x129",
        "dtype": "fp32",
        "impl": "torch",
        "baseline": True,
        "status": "ok",
        "reason": None,
        "flops": 2 * 67 * 45 * 129,
        "bytes": 4 * (67 * 129 + 129 * 45 + 67 * 45),
        "median_s": 1e-4,
        "p20_s": 9e-5,
        "p80_s": 1.1e-4,
        "min_s": 8e-5,
        "count": 7,
        "cv": 0.05,
        "rel_iqr": 0.02,
        "noise_target_met": False,
        "tflops": 0.0078,
        "gbps": 2.1,
        "rel_error": 1e-7,
        "error_bound": 1e-5,
        "mode": "cpu-fallback",
        "chip_id": None,
        "device_name": "cpu",
        "local_peak_tflops": 0.19,
        "local_peak_bw_tbps": 0.01,
        "local_peak_source": "measured-cpu",
        "telemetry": {"before": None, "after": None},
        "throttled": None,
        "versions": {"python": "3.11", "torch": "2.13"},
        "command": "gpucompare run",
        "git_commit": None,
        "timestamp": "2026-11-23T12:00:00+00:00",
        "hostname": "box",
    }
    rec.update(over)
    return rec


def test_round_trip_jsonl_csv_and_run_json(tmp_path):
    w = RunWriter(tmp_path, CPU_MACHINE)
    assert w.path.parent == tmp_path and w.path.name.endswith("-box-cpu") and w.run_id == w.path.name
    w.append(make_record(w.run_id))
    w.append(
        make_record(
            w.run_id,
            impl="triton",
            baseline=False,
            rel_error=math.inf,
            status="failed",
            reason="wrong output",
            median_s=None,
        )
    )
    run = load_run(w.path)
    assert run.machine["run_id"] == w.run_id and run.machine["mode"] == "cpu-fallback"
    assert [r["impl"] for r in run.records] == ["torch", "triton"]
    assert run.records[1]["rel_error"] is None  # inf is stored as null (JSON has no Infinity)
    assert run.records[0] == make_record(w.run_id)
    with open(w.path / "records.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS == tuple(RECORD_FIELDS)
    assert len(rows) == 2
    assert json.loads(rows[0]["shape"]) == {"M": 67, "N": 45, "K": 129}  # nested objects: JSON-encoded
    assert rows[0]["median_s"] == "0.0001" and rows[1]["median_s"] == "" and rows[0]["baseline"] == "true"
    assert list(w.path.iterdir()) and not [p for p in w.path.iterdir() if p.name.endswith(".tmp")]


def test_run_dir_names_and_no_clobber(tmp_path):
    assert run_dir_name({"mode": "gpu", "chip_id": "h100-sxm", "hostname": "n1"}).endswith("-n1-h100-sxm")
    assert run_dir_name({"mode": "gpu", "chip_id": None, "hostname": "n1"}).endswith("-n1-unknown-gpu")
    assert run_dir_name({"mode": "cpu-fallback", "hostname": "a b/c"}).endswith("-a-b-c-cpu")
    a, b = RunWriter(tmp_path, CPU_MACHINE), RunWriter(tmp_path, CPU_MACHINE)
    assert a.path != b.path and b.path.name == a.path.name + "-2"
    assert json.loads((b.path / "run.json").read_text())["run_id"] == b.run_id


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"median_s": "fast"}, "field 'median_s': expected a finite number or null, got str"),
        ({"status": "done"}, "field 'status': 'done' is not one of ok, failed, skipped"),
        ({"intent": "both"}, "field 'intent'"),
        ({"baseline": 1}, "field 'baseline': expected true/false"),
        ({"count": True}, "field 'count': expected an integer"),
        ({"schema_version": 4}, "field 'schema_version': expected one of 1, 2, 3, got 4"),
        ({"method": "fast"}, "field 'method': expected an object or null"),
        ({"schema_version": 1}, "field 'method' is not in schema version 1"),
        ({"extra": 1}, "field 'extra' is not in schema version 2"),
        ({"status": "failed", "reason": None}, "field 'reason'"),
        ({"median_s": None}, "field 'median_s': must be a number when status is 'ok'"),
        ({"telemetry": {"before": None}}, "field 'telemetry.after' is missing"),
    ],
)
def test_validate_record_names_the_field(change, needle):
    """Each malformed record is refused with a message naming the field."""
    with pytest.raises(ResultsError) as exc:
        validate_record(make_record("r", **change), "f.jsonl:3")
    assert str(exc.value).startswith("f.jsonl:3: ") and needle in str(exc.value)


def test_validate_record_missing_field():
    rec = make_record("r")
    del rec["hostname"]
    with pytest.raises(ResultsError, match=r"^x:1: field 'hostname' is missing$"):
        validate_record(rec, "x:1")


def test_malformed_file_reports_file_line_and_field(tmp_path):
    w = RunWriter(tmp_path, CPU_MACHINE)
    w.append(make_record(w.run_id))
    with open(w.jsonl, "a") as fh:
        fh.write(json.dumps(make_record(w.run_id, mode="tpu")) + "\n")
    with pytest.raises(ResultsError) as exc:
        load_run(w.path)
    assert f"{w.jsonl}:2: field 'mode': 'tpu' is not one of gpu, cpu-fallback" in str(exc.value)
    # not JSON in the middle of the file: an error even with allow_truncated_tail
    lines = w.jsonl.read_text().splitlines()
    w.jsonl.write_text("{oops\n" + lines[0] + "\n")
    with pytest.raises(ResultsError, match=r"records\.jsonl:1: not valid JSON"):
        load_run(w.path, allow_truncated_tail=True)


def test_writer_rejects_bad_record_and_writes_nothing(tmp_path):
    w = RunWriter(tmp_path, CPU_MACHINE)
    with pytest.raises(ResultsError, match="field 'dtype'"):
        w.append(make_record(w.run_id, dtype=None))
    with pytest.raises(ValueError, match="run_id"):
        w.append(make_record("another-run"))
    assert w.jsonl.read_text() == "" and load_run(w.path).records == []


def test_truncated_tail_error_or_warning(tmp_path):
    w = RunWriter(tmp_path, CPU_MACHINE)
    for impl in ("torch", "triton"):
        w.append(make_record(w.run_id, impl=impl))
    with open(w.jsonl, "a") as fh:
        fh.write(json.dumps(make_record(w.run_id))[:57])  # killed mid-write: no newline
    with pytest.raises(ResultsError, match=r"records\.jsonl:3: truncated last line"):
        load_run(w.path)
    with pytest.warns(UserWarning, match=r"records\.jsonl:3: truncated last line"):
        run = load_run(w.path, allow_truncated_tail=True)
    assert [r["impl"] for r in run.records] == ["torch", "triton"]


def test_bad_run_json(tmp_path):
    w = RunWriter(tmp_path, CPU_MACHINE)
    (w.path / "run.json").write_text('{"run_id": "x", "mode": "quantum"}')
    with pytest.raises(ResultsError, match=r"run\.json: field 'mode'"):
        load_run(w.path)
    with pytest.raises(ResultsError, match="not a run folder"):
        load_run(tmp_path)
    with pytest.raises(ResultsError, match="no such results folder"):
        load_runs(tmp_path / "nope")


def test_load_runs_sorted_and_deterministic(tmp_path):
    paths = []
    for host in ("zeta", "alpha", "mid"):
        w = RunWriter(tmp_path / "runs", {**CPU_MACHINE, "hostname": host})
        w.append(make_record(w.run_id))
        paths.append(w.path)
    runs = load_runs(tmp_path)
    assert [r.path for r in runs] == sorted(paths, key=str)
    assert [r.path for r in load_runs([paths[0], paths[1]])] == sorted(paths[:2], key=str)
    assert load_runs(paths[2])[0].records[0]["run_id"] == paths[2].name
    assert load_runs(tmp_path / "runs")[0].to_frame().shape == (1, len(RECORD_FIELDS))


_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, {tests!r})
    from test_results_store import make_record, CPU_MACHINE
    from gpucompare.results import RunWriter
    w = RunWriter(sys.argv[1], CPU_MACHINE)
    print(w.path, flush=True)
    mode = sys.argv[2]
    for i in range(10**6):
        w.append(make_record(w.run_id, count=i + 1))
        if mode == "exit-mid-write" and i == 2:
            with open(w.jsonl, "a") as fh:  # the 4th record is half written when the process dies
                fh.write(json.dumps(make_record(w.run_id))[:40])
                fh.flush()
            os._exit(1)
        time.sleep(0.002)
    """
)


def _child(tmp_path: Path, mode: str) -> subprocess.Popen:
    code = _CHILD.format(tests=str(Path(__file__).parent))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path), mode], stdout=subprocess.PIPE, text=True
    )


def test_killed_mid_write_keeps_every_finished_record(tmp_path):
    proc = _child(tmp_path, "exit-mid-write")
    path = Path(proc.stdout.readline().strip())
    assert proc.wait(timeout=60) == 1
    with pytest.raises(ResultsError, match=r"records\.jsonl:4: truncated last line"):
        load_run(path)
    with pytest.warns(UserWarning):
        run = load_run(path, allow_truncated_tail=True)
    assert [r["count"] for r in run.records] == [1, 2, 3]
    with open(path / "records.csv", newline="") as fh:
        assert [r["count"] for r in csv.DictReader(fh)] == ["1", "2", "3"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_keeps_records_and_files_readable(tmp_path):
    proc = _child(tmp_path, "forever")
    path = Path(proc.stdout.readline().strip())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (path / "records.jsonl").read_text().count("\n") < 5:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tail cut by the kill is allowed here, and reported (test above)
        run = load_run(path, allow_truncated_tail=True)
    counts = [r["count"] for r in run.records]
    assert len(counts) >= 5 and counts == list(range(1, len(counts) + 1))
    with open(path / "records.csv", newline="") as fh:  # atomic: a complete earlier or current version
        rows = list(csv.DictReader(fh))
    assert len(counts) - 1 <= len(rows) <= len(counts) + 1
    assert [int(r["count"]) for r in rows] == list(range(1, len(rows) + 1))


def test_schema_1_records_still_load_and_version_2_requires_the_method():
    v1 = make_record("r", schema_version=1)
    del v1["method"]
    assert validate_record(v1) is v1  # a run stored before the method was recorded stays readable
    v2 = make_record("r")
    del v2["method"]
    with pytest.raises(ResultsError, match="field 'method' is missing"):
        validate_record(v2)


def test_record_dataclass_is_the_field_list():
    from dataclasses import fields

    from gpucompare.results import Record

    assert list(RECORD_FIELDS) == [
        "schema_version",
        *(f.name for f in fields(Record) if f.name != "schema_version"),
    ]
    assert list(Record().to_dict()) == list(RECORD_FIELDS)
