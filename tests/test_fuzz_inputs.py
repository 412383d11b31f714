"""Fuzz every loader with malformed inputs (issue 12): each ends in the project's error (one line naming the
file, a ``GpucompareError``), a record skipped with a warning, or a valid load, never another exception.

Loaders: the chip database, the claims file, the published ledger (TOML, mutated as data and as bytes),
run.json, records.jsonl, records.csv, and ``gpucompare report`` over a corrupted run folder (exit status 0
or 2, stderr lines of the form ``gpucompare: ...``; also ``project``, ``compare`` and ``claims`` over it). ``N_EXAMPLES`` inputs per loader (1,000 in CI,
deterministic; ``GPUCOMPARE_FUZZ_EXAMPLES=20000`` for a longer, random run); the counts are printed.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import warnings
from collections import Counter
from pathlib import Path

import pytest
import tomllib
from fuzz_helpers import (
    JSON_VALUES,
    N_CLI,
    N_EXAMPLES,
    N_REPORT,
    TOML_VALUES,
    cut_toml,
    fuzz_settings,
    mutate,
    mutate_bytes,
    outcome_line,
)
from hypothesis import given
from hypothesis import strategies as st

from gpucompare import cli
from gpucompare.claims.loading import load_claims, parse_claims
from gpucompare.errors import GpucompareError
from gpucompare.results import Record, load_run, read_records_csv, records_csv
from gpucompare.specs import db as chipdb
from gpucompare.specs import published
from gpucompare.specs.validate import Validator

ROOT = Path(__file__).resolve().parents[1]
DB = chipdb.load_chips()


def _refused(exc: GpucompareError, where: str) -> str:
    msg = str(exc)
    assert "\n" not in msg.strip(), f"more than one line: {msg!r}"
    assert where in msg, f"the message does not name {where!r}: {msg!r}"
    return "refused"


def _report(capsys, what: str, counts: Counter, n: int) -> None:
    with capsys.disabled():
        print(f"\n{outcome_line(what, counts)}")
    assert sum(counts.values()) >= n


# ---------------------------------------------------------------- TOML files


def _toml_case(kind, text: str, parse_data, load_path, tmp: Path, name: str) -> str:
    """One malformed TOML input: parsed data mutated (``parse_data``) or the file's bytes (``load_path``)."""
    draw = kind.draw
    try:
        if draw(st.booleans()):
            data = mutate(_parsed(text), draw, TOML_VALUES)
            parse_data(data, name)
        else:
            path = tmp / name
            path.write_bytes(mutate_bytes(text.encode(), draw))
            load_path(path)
    except GpucompareError as exc:
        return _refused(exc, name)
    return "accepted"


@functools.cache
def _parsed(text: str) -> dict:
    return tomllib.loads(text)  # mutate() copies it


@pytest.mark.parametrize(
    ("what", "source", "header", "name"),
    [
        ("chips TOML", chipdb.DEFAULT_PATH, "[[chips]]", "chips.toml"),
        ("claims TOML", ROOT / "seeds" / "claims.toml", "[[claim]]", "claims.toml"),
        ("published ledger", published.DEFAULT_PATH, "[[entries]]", "published.toml"),
    ],
)
def test_fuzz_toml_loaders(what, source, header, name, tmp_path, capsys):
    text = cut_toml(Path(source).read_text(encoding="utf-8"), header, 3)
    parse_data, load_path = {
        "chips.toml": (lambda d, w: Validator(d, w).run(), chipdb.load_chips),
        "claims.toml": (lambda d, w: parse_claims(d, w, DB), lambda p: load_claims(p, DB)),
        "published.toml": (
            lambda d, w: published.parse_published(d, w, DB),
            lambda p: published.load_published(p, DB),
        ),
    }[name]
    load_path(_write(tmp_path / name, text))  # the unmutated sample is valid
    counts: Counter = Counter()

    @fuzz_settings(N_EXAMPLES)
    @given(st.data())
    def one(kind):
        counts[_toml_case(kind, text, parse_data, load_path, tmp_path, name)] += 1

    one()
    _report(capsys, what, counts, N_EXAMPLES)
    assert counts["refused"] > N_EXAMPLES // 4  # the mutations do reach the validation


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- run folders


def sample_run() -> tuple[dict, list[dict]]:
    """A valid run.json and three records (a GPU run on an H100: ok, failed, skipped)."""
    machine = {
        "run_id": "2026-01-01-host-h100-sxm",
        "mode": "gpu",
        "chip_id": "h100-sxm",
        "device_name": "NVIDIA H100 80GB HBM3",
        "versions": {"torch": "2.11.0", "triton": "3.6.0", "cuda": "13.0"},
        "planned_cases": 4,
        "finished": False,
        "hostname": "host",
        "timestamp": "2026-01-01T00:00:00+00:00",
    }
    base = dict(
        run_id=machine["run_id"],
        mode="gpu",
        chip_id="h100-sxm",
        device_name=machine["device_name"],
        local_peak_tflops=989.0,
        local_peak_bw_tbps=3.35,
        local_peak_source="spec",
        versions=dict(machine["versions"]),
        timestamp=machine["timestamp"],
        hostname="host",
        method={"version": 1, "timer": "cuda-events"},
    )
    gemm = dict(workload="gemm", family="gemm", shape={"M": 4096, "N": 4096, "K": 4096}, shape_label="4096^3")
    ok = Record(
        **base,
        **gemm,
        dtype="bf16",
        impl="torch",
        baseline=True,
        status="ok",
        flops=2 * 4096**3,
        bytes=3 * 2 * 4096**2,
        median_s=2e-4,
        p20_s=1.9e-4,
        p80_s=2.1e-4,
        min_s=1.8e-4,
        count=100,
        cv=0.02,
        rel_iqr=0.1,
        noise_target_met=True,
        tflops=687.0,
        gbps=503.0,
        telemetry={"before": {"sm_clock_mhz": 1980.0}, "after": {"sm_clock_mhz": 1755.0, "power_w": 690.0}},
    )
    copy = dict(
        workload="copy", family="bandwidth", intent="memory", shape={"N": 1 << 28}, shape_label="n2^28"
    )
    records = [
        ok.to_dict(),
        Record(
            **base,
            **copy,
            dtype="fp32",
            impl="torch",
            status="ok",
            flops=0,
            bytes=2 * 4 * (1 << 28),
            median_s=8e-4,
            p20_s=7.9e-4,
            p80_s=8.1e-4,
            min_s=7.8e-4,
            count=50,
            tflops=0.0,
            gbps=2684.0,
        ).to_dict(),
        Record(**base, **gemm, dtype="fp16", impl="triton", status="failed", reason="wrong output").to_dict(),
        Record(**base, **gemm, dtype="fp8", impl="triton", status="skipped", reason="no fp8 here").to_dict(),
    ]
    return machine, records


def write_run(folder: Path, machine, records, *, jsonl: bytes | None = None, run_json: bytes | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    if run_json is None:
        run_json = json.dumps(machine, allow_nan=True, default=str).encode()
    (folder / "run.json").write_bytes(run_json)
    if jsonl is None:
        jsonl = "".join(json.dumps(r, allow_nan=True, default=str) + "\n" for r in records).encode()
    (folder / "records.jsonl").write_bytes(jsonl)
    return folder


def _corrupt_run(kind, folder: Path) -> None:
    """A run folder with one corruption: run.json or a record mutated as data, or a file's bytes."""
    draw = kind.draw
    machine, records = sample_run()
    target = draw(st.sampled_from(("machine", "record", "run.json bytes", "jsonl bytes")))
    if target == "machine":
        machine = mutate(machine, draw, JSON_VALUES, keep_root=False)
    elif target == "record":
        i = draw(st.integers(0, len(records) - 1))
        records[i] = mutate(records[i], draw, JSON_VALUES, keep_root=False)
    write_run(folder, machine, records)
    if target.endswith("bytes"):
        path = folder / ("run.json" if target.startswith("run.json") else "records.jsonl")
        path.write_bytes(mutate_bytes(path.read_bytes(), draw))


def _load_case(folder: Path) -> str:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_run(folder, allow_truncated_tail=True)
    except GpucompareError as exc:
        return _refused(exc, str(folder))
    if caught:
        assert all("truncated last line" in str(w.message) for w in caught)
        return "skipped a truncated record"
    return "accepted"


def test_fuzz_run_folder(tmp_path, capsys):
    """run.json and records.jsonl: each load ends valid, refused in one line, or with the cut record skipped."""
    machine, records = sample_run()
    assert len(load_run(write_run(tmp_path / "valid", machine, records)).records) == len(records)
    counts: Counter = Counter()
    n = [0]

    @fuzz_settings(N_EXAMPLES)
    @given(st.data())
    def one(kind):
        n[0] += 1
        folder = tmp_path / f"run{n[0]}"
        _corrupt_run(kind, folder)
        counts[_load_case(folder)] += 1

    one()
    _report(capsys, "run.json and results JSONL", counts, N_EXAMPLES)
    assert counts["refused"] > N_EXAMPLES // 4


def test_fuzz_results_csv(tmp_path, capsys):
    _, records = sample_run()
    path = tmp_path / "records.csv"
    path.write_text(records_csv(records), encoding="utf-8")
    assert read_records_csv(path) == records
    counts: Counter = Counter()

    @fuzz_settings(N_EXAMPLES)
    @given(st.data())
    def one(kind):
        draw = kind.draw
        if draw(st.booleans()):
            rows = [dict(r) for r in records]
            i = draw(st.integers(0, len(rows) - 1))
            rows[i][draw(st.sampled_from(sorted(rows[i])))] = copy.deepcopy(draw(JSON_VALUES))
            raw = records_csv(rows).encode()
        else:
            raw = mutate_bytes(records_csv(records).encode(), draw)
        path.write_bytes(raw)
        try:
            read_records_csv(path)
            counts["accepted"] += 1
        except GpucompareError as exc:
            counts[_refused(exc, str(path))] += 1

    one()
    _report(capsys, "results CSV", counts, N_EXAMPLES)
    assert counts["refused"] > N_EXAMPLES // 4


# ---------------------------------------------------------------- the CLI over a corrupted run


def _commands(folder: Path, out: Path) -> list[list[str]]:
    """The commands that read a run folder (issue 12 fuzzed these: report, project, compare, claims)."""
    runs = str(folder)
    return [
        ["report", "--runs", runs, "--out", str(out), "--no-plots", "--include-cpu"],
        ["project", "--runs", runs, "--json", "--chips", "H200,H20", "--include-cpu"],
        ["compare", "H200", "H20", "--json", "--runs", runs],
        ["claims", "--json", "--results", runs],
    ]


def test_fuzz_cli_over_corrupted_run(tmp_path, capsys):
    """``gpucompare report|project|compare|claims`` over a corrupted run folder exit 0 or 2 and write only
    ``gpucompare...`` lines on stderr (exit 2: exactly one ``gpucompare: error:`` line, maybe after warnings)."""
    counts: Counter = Counter()
    n = [0]

    @fuzz_settings(N_REPORT)
    @given(st.data())
    def one(kind):
        n[0] += 1
        folder = tmp_path / "runs" / f"run{n[0]}"
        _corrupt_run(kind, folder)
        argv = kind.draw(st.sampled_from(_commands(folder, tmp_path / "out")))
        err, std = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            rc = cli.main(argv)
        lines = err.getvalue().splitlines()
        assert rc in (0, 2), (argv, rc, lines)
        assert all(line.startswith("gpucompare") for line in lines), lines
        errors = [line for line in lines if line.startswith("gpucompare: error: ")]
        assert len(errors) == (0 if rc == 0 else 1), lines
        counts[f"{argv[0]} {'ran' if rc == 0 else 'refused (exit 2)'}"] += 1

    one()
    _report(capsys, "report/project/compare/claims over a corrupted run folder", counts, N_REPORT)
    assert any(k.endswith("ran") for k in counts) and any(k.endswith("(exit 2)") for k in counts)


# ---------------------------------------------------------------- every command that reads a file (issue 22)

#: Issue 22's reproductions, run first as fixed cases of the command fuzzers (also tests/test_boundaries.py).
FIXED = {
    "specs": [b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", b"x = 1e400\n", b"\xff\xfe"],
    "claims": [b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", b"[[claim]]\nid = 1\n"],
    "published": [b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", b"[[entries]]\nshape = {hq = 'x'}\n"],
}
SOURCES = {
    "specs": (chipdb.DEFAULT_PATH, "[[chips]]"),
    "claims": (ROOT / "seeds" / "claims.toml", "[[claim]]"),
    "published": (published.DEFAULT_PATH, "[[entries]]"),
}


def _cli(argv: list[str]) -> tuple[int, list[str]]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code
    return rc, err.getvalue().splitlines()


def _clean_exit(argv: list[str], rc: int, lines: list[str]) -> str:
    assert rc in (0, 2), (argv, rc, lines)
    assert all(line.startswith("gpucompare") for line in lines), lines
    errors = [line for line in lines if line.startswith("gpucompare: error: ")]
    assert len(errors) == (0 if rc == 0 else 1), lines
    return "ran" if rc == 0 else "refused (exit 2)"


@pytest.mark.parametrize("command", ["specs", "claims", "published"])
def test_fuzz_file_commands(command, tmp_path, capsys):
    """``specs|claims|published --file`` over mutated files, special files and the fixed reproductions."""
    source, header = SOURCES[command]
    text = cut_toml(Path(source).read_text(encoding="utf-8"), header, 3)
    counts: Counter = Counter()
    path = tmp_path / f"{command}.toml"
    for raw in FIXED[command]:
        path.write_bytes(raw)
        argv = [command, "--file", str(path)]
        counts["fixed " + _clean_exit(argv, *_cli(argv))] += 1
    for special in ("/dev/zero", str(tmp_path)):
        argv = [command, "--file", special]
        assert _cli(argv)[0] == 2, argv

    @fuzz_settings(N_CLI)
    @given(st.data())
    def one(kind):
        path.write_bytes(mutate_bytes(text.encode(), kind.draw))
        argv = [command, "--file", str(path), *kind.draw(st.sampled_from([[], ["--json"]]))]
        counts[_clean_exit(argv, *_cli(argv))] += 1

    one()
    _report(capsys, f"gpucompare {command} --file", counts, N_CLI)


def test_fuzz_diff_over_corrupted_runs(tmp_path, capsys):
    """``gpucompare diff`` over two run folders, either corrupted."""
    machine, records = sample_run()
    good = write_run(tmp_path / "good", machine, records)
    counts: Counter = Counter()
    n = [0]

    @fuzz_settings(N_CLI)
    @given(st.data())
    def one(kind):
        n[0] += 1
        folder = tmp_path / f"run{n[0]}"
        _corrupt_run(kind, folder)
        pair = [str(good), str(folder)] if kind.draw(st.booleans()) else [str(folder), str(good)]
        argv = ["diff", *pair, *kind.draw(st.sampled_from([[], ["--json"]]))]
        counts[_clean_exit(argv, *_cli(argv))] += 1

    one()
    _report(capsys, "gpucompare diff over corrupted runs", counts, N_CLI)


_NAMES = st.one_of(
    st.sampled_from(["h20", "h100", "H200", "b200", "ascend-910c", "", "\x1b[2J", "x" * 300]),
    st.text(max_size=8),
)
_NUMBERS = st.one_of(
    st.sampled_from(["-1", "0", "nan", "inf", "9" * 400, "9" * 40, "1e400", ""]),
    st.integers().map(str),
    st.integers(1, 1 << 16).map(str),
)


@pytest.mark.parametrize("command", ["predict", "workloads", "compare", "specs"])
def test_fuzz_argument_commands(command, capsys):
    """Hostile names and numbers in the arguments of the commands that read the packaged files."""
    counts: Counter = Counter()

    @fuzz_settings(N_CLI)
    @given(st.data())
    def one(kind):
        d = kind.draw
        if command == "predict":
            shape = d(st.sampled_from(["M", "N", "K", "hq", "causal", "x"])) + "=" + d(_NUMBERS)
            workload = d(st.sampled_from(["gemm", "attention_fwd", "decode", "copy", "all_reduce"]))
            argv = [
                "predict",
                d(_NAMES),
                workload,
                "--shape",
                shape,
                "--dtype",
                d(st.sampled_from(["bf16", "fp8", "fp99"])),
            ]
        elif command == "workloads":
            argv = [
                "workloads",
                "--floor",
                d(_NAMES),
                *d(st.sampled_from([[], ["--dtype", "fp8"], ["--json"]])),
            ]
        elif command == "compare":
            argv = ["compare", d(_NAMES), d(_NAMES), *d(st.sampled_from([[], ["--json"]]))]
        else:
            argv = ["specs", "--match", d(_NAMES), "--sm-count", d(_NUMBERS), "--memory-gb", d(_NUMBERS)]
        counts[_clean_exit(argv, *_cli(argv))] += 1

    one()
    _report(capsys, f"gpucompare {command} with hostile arguments", counts, N_CLI)
