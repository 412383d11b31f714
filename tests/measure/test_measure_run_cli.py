"""``gpucompare run`` under abuse (issue 12): a failed case is a non-zero exit, ``--tier gpu`` without a GPU and
an unwritable ``--out`` are one line before anything is measured, a full disk is one line with consistent
files, run.json says how many cases were planned and whether the run finished; and the CLI starts without
torch."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from gpucompare import cli
from gpucompare.hw import has_gpu
from gpucompare.measure import runner
from gpucompare.results import load_run, read_records_csv, store

PEAKS = {"tflops": {"fp32": 1e-4}, "bandwidth_tbps": 1e-3, "source": "measured-cpu"}
RUN = ["run", "--tier", "cpu", "--only", "copy", "--dtypes", "fp32", "--budget", "0.01", "--no-progress"]


@pytest.fixture
def fast(monkeypatch):
    """No CPU peak measurement (seconds); ``calls`` counts the machine descriptions (= measuring began)."""
    calls = []
    real = runner.describe_machine

    def describe(dev, command):
        calls.append(1)
        return real(dev, command)

    monkeypatch.setattr("gpucompare.measure.peaks.local_peaks", lambda desc: PEAKS)
    monkeypatch.setattr(runner, "describe_machine", describe)
    return calls


def _err_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_complete_run_records_planned_cases_and_finished(tmp_path, fast, capsys):
    assert cli.main([*RUN, "--out", str(tmp_path)]) == 0
    (folder,) = tmp_path.iterdir()
    run = load_run(folder)
    assert run.machine["planned_cases"] == len(run.records) == len(runner.plan("cpu", ["copy"], ["fp32"]))
    assert run.machine["finished"] is True


def test_a_failed_case_makes_the_exit_status_1(tmp_path, fast, monkeypatch, capsys):
    real = runner.measure_case  # the runner measures the implementations of a case together

    def wrong_torch(*args, **kw):
        recs = real(*args, **kw)
        bad = {"status": "failed", "reason": "wrong output: test"}
        return [{**r, **bad} if r["impl"] == "torch" else r for r in recs]

    monkeypatch.setattr(runner, "measure_case", wrong_torch)
    assert cli.main([*RUN, "--out", str(tmp_path)]) == 1
    (folder,) = tmp_path.iterdir()
    records = load_run(folder).records
    failed = sum(r["status"] == "failed" for r in records)
    assert failed and failed < len(records)
    assert (
        _err_lines(capsys)[-1]
        == f"gpucompare run: {failed} of {len(records)} cases failed (see the table): exit status 1"
    )


@pytest.mark.skipif(has_gpu(), reason="checks the refusal on a machine without a GPU")
def test_tier_gpu_without_a_gpu_is_refused_before_measuring(tmp_path, fast, capsys):
    assert cli.main(["run", "--tier", "gpu", "--out", str(tmp_path / "o")]) == 3  # environment, not usage
    assert _err_lines(capsys) == [
        "gpucompare: error: tier 'gpu' needs a CUDA GPU and this machine has none; use tier 'cpu'"
    ]
    assert not fast and not (tmp_path / "o").exists()


def test_unwritable_out_is_refused_before_measuring(tmp_path, fast, capsys):
    (tmp_path / "file").write_text("in the way\n")
    assert cli.main([*RUN, "--out", str(tmp_path / "file" / "runs")]) == 2
    (line,) = _err_lines(capsys)
    assert line.startswith("gpucompare: error: ") and "file/runs: cannot write results there" in line
    assert not fast  # refused before the machine was described (the CPU peaks alone take seconds)


def test_full_disk_during_a_run_is_one_line_and_the_files_agree(tmp_path, fast, monkeypatch, capsys):
    real = store.atomic_write
    csv_writes = []

    def fills_up(path, data, **kw):
        if Path(path).name == "records.csv":
            csv_writes.append(1)
            if len(csv_writes) == 3:  # the empty CSV, record 1, then record 2 fails
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(store, "atomic_write", fills_up)
    assert cli.main([*RUN, "--out", str(tmp_path)]) == 2
    err = _err_lines(capsys)  # the progress lines of the cases, then the error
    (line,) = [x for x in err if x.startswith("gpucompare: error: ")]
    assert err[-1] == line and "Traceback" not in "".join(err)
    assert err[-2].startswith("[2/") and err[-2].endswith(" ... interrupted")  # the cut case's line ends
    assert "cannot write record 2: No space left on device; the run keeps its first 1 records" in line
    (folder,) = tmp_path.iterdir()
    assert load_run(folder).records == read_records_csv(folder / "records.csv")
    assert len(load_run(folder).records) == 1 and load_run(folder).machine["finished"] is False


def test_os_errors_are_one_line(tmp_path, capsys):
    """An OSError no loader wrapped (here: the report's output folder is a file) is one line, exit 2."""
    (tmp_path / "out").write_text("a file\n")
    assert cli.main(["report", "--out", str(tmp_path / "out"), "--no-plots"]) == 2
    (line,) = _err_lines(capsys)
    assert line.startswith("gpucompare: error: ") and str(tmp_path / "out") in line


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["run", "--help"], ["workloads", "--help"]])
def test_version_and_help_answer_without_importing_torch(argv):
    code = (
        "import sys\nfrom gpucompare.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('torch loaded:', 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "torch loaded: False"
    assert "gpucompare" in out.stdout
