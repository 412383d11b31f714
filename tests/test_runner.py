"""The runner: correctness before timing, failures recorded (not crashes), skips explained, CLI, bench/.

Most tests use a fake workload (doubling a vector) so they do not depend on kernel speed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from gpucompare import cli, runner, timing
from gpucompare.results import load_run, validate_record

REPO = Path(__file__).resolve().parents[1]
MACHINE = {
    "mode": "cpu-fallback",
    "chip_id": None,
    "device_name": "test cpu",
    "hostname": "box",
    "git_commit": None,
    "versions": {"python": "3", "torch": torch.__version__},
    "command": "pytest",
}


@dataclass(frozen=True)
class FShape:
    label: str
    params: dict


@dataclass(frozen=True)
class FImpl:
    name: str
    baseline: bool
    available: Any
    build: Any


def _always(dtype, device):
    return True, ""


def _impl(name, fn_of_x, baseline=False, available=_always):
    return FImpl(name, baseline, available, lambda inputs, dtype: lambda: fn_of_x(inputs["x"]))


class FakeWorkload:
    """y = 2x over N elements: 1 FLOP and 2 element moves per element."""

    name, family, intent, dtypes = "double", "test", "memory", ("fp32", "fp16", "fp8")

    def __init__(self, *impls):
        self.impls = (_impl("torch", lambda x: x * 2, baseline=True), *impls)
        self.tiers = {"cpu": (FShape("n257", {"N": 257}),)}
        self.inputs_made = 0

    def flops(self, shape):
        return shape.params["N"]

    def bytes(self, shape, dtype):
        return 2 * shape.params["N"] * torch.empty((), dtype=_dt(dtype)).element_size()

    def make_inputs(self, shape, dtype, device, seed=0):
        self.inputs_made += 1
        g = torch.Generator().manual_seed(seed)
        return {"x": torch.randn(shape.params["N"], generator=g).to(device=device, dtype=_dt(dtype))}

    def reference(self, inputs):
        return inputs["x"].double() * 2

    def dtypes_for(self, device):
        return ("fp32", "fp16")


def _dt(dtype):
    return {"fp32": torch.float32, "fp16": torch.float16, "fp8": torch.float32}[dtype]


PEAKS = {"tflops": {"fp32": 1e-4, "fp16": None}, "bandwidth_tbps": 1e-3, "source": "measured-cpu"}
FAST = timing.TimingConfig.for_device(torch.device("cpu"))


@pytest.fixture
def spies(monkeypatch):
    """Count calls of timing.measure and of the telemetry snapshot."""
    calls = {"measure": 0, "telemetry": 0}
    real_measure = timing.measure

    def measure(fn, **kw):
        calls["measure"] += 1
        return real_measure(fn, **kw)

    def snapshot(*a, **k):
        calls["telemetry"] += 1
        return {"sm_clock_mhz": None, "error": "no GPU (test)"}

    monkeypatch.setattr(runner.timing, "measure", measure)
    monkeypatch.setattr(runner.devinfo, "telemetry_snapshot", snapshot)
    return calls


def one(w, impl_name, dtype="fp32", **kw):
    impl = next(i for i in w.impls if i.name == impl_name)
    rec = runner.measure_one(
        w,
        w.tiers["cpu"][0],
        dtype,
        impl,
        device="cpu",
        machine=MACHINE,
        peaks=PEAKS,
        timing_config=FAST,
        command="pytest",
        run_id="run-1",
        **kw,
    )
    validate_record(rec, f"record of {impl_name}")  # every outcome is a valid schema-1 record
    return rec


def test_ok_record_is_checked_timed_and_counted(spies):
    w = FakeWorkload()
    samples: list[float] = []
    rec = one(w, "torch", samples_out=samples)
    assert rec["status"] == "ok" and rec["reason"] is None
    assert spies["measure"] == 1 and spies["telemetry"] == 2
    assert rec["flops"] == 257 and rec["bytes"] == 2 * 257 * 4
    assert rec["rel_error"] == 0.0 and rec["error_bound"] == pytest.approx(1e-5)
    assert rec["count"] == len(samples) >= 1 and min(samples) == rec["min_s"]
    assert rec["p20_s"] <= rec["median_s"] <= rec["p80_s"]
    assert rec["tflops"] == pytest.approx(257 / rec["median_s"] / 1e12, rel=1e-9)
    assert rec["gbps"] == pytest.approx(2 * 257 * 4 / rec["median_s"] / 1e9, rel=1e-9)
    assert rec["local_peak_tflops"] == 1e-4 and rec["local_peak_source"] == "measured-cpu"
    assert rec["telemetry"]["before"]["error"] == "no GPU (test)" and rec["mode"] == "cpu-fallback"
    assert rec["timestamp"].endswith("+00:00") and rec["run_id"] == "run-1"


def test_wrong_output_fails_and_is_not_timed(spies):
    rec = one(FakeWorkload(_impl("garbage", lambda x: x * 2 + 1)), "garbage")
    assert rec["status"] == "failed" and rec["reason"].startswith("wrong output: relative error")
    assert rec["rel_error"] > 1e-3 and rec["median_s"] is None and rec["tflops"] is None
    assert spies["measure"] == 0 and spies["telemetry"] == 0


def test_nan_output_fails_and_is_not_timed(spies):
    rec = one(FakeWorkload(_impl("nan", lambda x: torch.full_like(x, math.nan))), "nan")
    assert rec["status"] == "failed" and "NaN or Inf" in rec["reason"]
    assert rec["rel_error"] is None and spies["measure"] == 0


def test_skip_reason_propagated_and_nothing_built(spies):
    w = FakeWorkload(
        _impl("unicorn", lambda x: x * 2, available=lambda d, dev: (False, "needs a unicorn GPU"))
    )
    rec = one(w, "unicorn")
    assert rec["status"] == "skipped" and rec["reason"] == "needs a unicorn GPU"
    assert w.inputs_made == 0 and spies["measure"] == 0
    rec = one(w, "torch", dtype="fp8")  # a dtype the workload knows but this device cannot run
    assert rec["status"] == "skipped" and rec["reason"] == "fp8 is not measured on this device (cpu)"


def test_exceptions_become_failed_records(spies):
    def boom(x):
        raise RuntimeError("boom\nsecond line")

    def oom(x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    w = FakeWorkload(_impl("boom", boom), _impl("oom", oom))
    rec = one(w, "boom")
    assert rec["status"] == "failed" and rec["reason"] == "first run raised RuntimeError: boom"
    rec = one(w, "oom")
    assert rec["reason"] == "out of memory at shape n257 (fp32, oom) while first run"
    assert spies["measure"] == 0


def test_low_precision_uses_the_baseline_rule(spies):
    # fp16 bound is 1e-2; the baseline's own error (0.8 %) raises it to 2 x 0.8 % for the others
    w = FakeWorkload(_impl("close", lambda x: (x.double() * 2 * 1.012).half()))
    w.impls = (_impl("torch", lambda x: (x.double() * 2 * 1.008).half(), baseline=True), w.impls[1])
    rec = one(w, "close", dtype="fp16")
    assert rec["status"] == "ok", rec["reason"]
    assert 0.0115 < rec["rel_error"] < 0.0125 and rec["error_bound"] == pytest.approx(0.016, rel=0.1)
    rec = one(FakeWorkload(_impl("close", lambda x: (x.double() * 2 * 1.012).half())), "close", dtype="fp16")
    assert rec["status"] == "failed"  # exact baseline: the plain fp16 bound applies


def test_summary_table_and_percent_of_peak():
    base = {
        "workload": "copy",
        "impl": "triton",
        "shape_label": "4099",
        "dtype": "fp32",
        "intent": "memory",
        "status": "ok",
        "median_s": 2.5e-5,
        "tflops": 0.0,
        "gbps": 5.0,
        "local_peak_bw_tbps": 0.02,
        "local_peak_tflops": 0.1,
        "reason": None,
    }
    assert runner.percent_of_peak(base) == pytest.approx(25.0)
    assert runner.percent_of_peak({**base, "intent": "compute", "tflops": 0.05}) == pytest.approx(50.0)
    text = runner.format_summary(
        [
            base,
            {
                **base,
                "impl": "torch",
                "status": "failed",
                "median_s": None,
                "reason": "wrong output: relative error 1 > bound 1e-05 (fp32)",
            },
        ]
    )
    lines = text.splitlines()
    assert lines[0].split() == [
        "workload",
        "impl",
        "shape",
        "dtype",
        "median",
        "throughput",
        "%",
        "peak",
        "status",
    ]
    assert lines[2].split() == ["copy", "triton", "4099", "fp32", "25", "us", "5", "GB/s", "25.0", "ok"]
    assert lines[3].endswith("failed: wrong output: relative error 1 > bound 1e-05 (fp32)")
    assert lines[-1] == "2 cases: 1 ok, 1 failed, 0 skipped"


def test_plan_is_deterministic_and_validates_names():
    from gpucompare import workloads

    cases = runner.plan("cpu", device="cpu")
    assert cases == runner.plan("cpu", device="cpu") and cases
    ids = [runner.case_id(*c) for c in cases]
    assert len(set(ids)) == len(ids)
    order = list(workloads.WORKLOADS)
    assert [order.index(c[0].name) for c in cases] == sorted(order.index(c[0].name) for c in cases)
    only = runner.plan("cpu", only=["copy"], dtypes=["fp32"], device="cpu")
    assert only and {(c[0].name, c[2]) for c in only} == {("copy", "fp32")}
    with pytest.raises(ValueError, match="nope"):
        runner.plan("cpu", only=["nope"], device="cpu")
    with pytest.raises(ValueError, match="unknown dtype 'fp128'"):
        runner.plan("cpu", only=["copy"], dtypes=["fp128"], device="cpu")
    with pytest.raises(ValueError, match="unknown tier 'tpu'"):
        runner.plan("tpu", device="cpu")


def _fast_peaks(monkeypatch):
    monkeypatch.setattr(runner.devinfo, "local_peaks", lambda desc: PEAKS)


def test_cli_run_copy_writes_a_run_folder(tmp_path, monkeypatch, capsys):
    _fast_peaks(monkeypatch)
    out = tmp_path / "runs"
    rc = cli.main(
        ["run", "--tier", "cpu", "--only", "copy", "--dtypes", "fp32", "--out", str(out), "--no-progress"]
    )
    assert rc == 0
    (folder,) = out.iterdir()
    assert {p.name for p in folder.iterdir()} == {"run.json", "records.jsonl", "records.csv"}
    run = load_run(folder)
    n_cases = len(runner.plan("cpu", only=["copy"], dtypes=["fp32"], device="cpu"))
    assert (
        len(run.records) == n_cases and len((folder / "records.csv").read_text().splitlines()) == n_cases + 1
    )
    assert all(r["status"] == "ok" and r["workload"] == "copy" for r in run.records), run.records
    assert run.machine["mode"] == "cpu-fallback" and run.machine["run_id"] == folder.name
    assert run.records[0]["command"].startswith("gpucompare run --tier cpu --only copy")
    stdout = capsys.readouterr().out
    assert "workload" in stdout and f"results: {folder}" in stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--only", "gemm,nope"], "nope"), (["--only", "copy", "--dtypes", "fp128"], "fp128")],
)
def test_cli_run_bad_names_one_line_exit_2(tmp_path, capsys, args, needle):
    assert cli.main(["run", "--tier", "cpu", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucompare: error:") and needle in err[0]
    assert not (tmp_path / "o").exists()


_PLUGIN = """
import dataclasses
import gpucompare.device
import gpucompare.workloads as wl

gpucompare.device.local_peaks = lambda desc: {peaks!r}  # skip the CPU peak measurement (seconds)
if {break_torch!r}:  # the torch copy returns x + 1: a wrong output
    copy = wl.WORKLOADS["copy"]
    def bad(inputs, dtype, _build=copy.impl("torch").build):
        fn = _build(inputs, dtype)
        return lambda: fn() + 1
    impls = tuple(dataclasses.replace(i, build=bad) if i.name == "torch" else i for i in copy.impls)
    wl.WORKLOADS["copy"] = dataclasses.replace(copy, impls=impls)
"""


def _pytest_bench(tmp_path: Path, *extra: str, break_torch: bool = False, rc: int = 0):
    """``pytest bench/bench_bandwidth.py`` on the copy workload in a subprocess; (proc, run folder)."""
    res = tmp_path / "runs"
    (tmp_path / "_bench_plugin.py").write_text(_PLUGIN.format(peaks=PEAKS, break_torch=break_torch))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "_bench_plugin",
        "bench/bench_bandwidth.py",
        "--tier",
        "cpu",
        "--workloads",
        "copy",
        "--dtypes",
        "fp32",
        "--results-dir",
        str(res),
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout[-3000:] + proc.stderr[-3000:]
    (folder,) = res.iterdir()
    return proc, folder


def test_pytest_bench_stores_our_samples(tmp_path):
    """pytest-benchmark's stats are the runner's samples: JSON median == record median_s."""
    bjson = tmp_path / "bench.json"
    proc, folder = _pytest_bench(tmp_path, f"--benchmark-json={bjson}")
    assert "gpucompare" in proc.stdout and "cases:" in proc.stdout  # terminal summary
    records = {(r["impl"], r["shape_label"]): r for r in load_run(folder).records}
    data = json.loads(bjson.read_text())
    assert data["machine_info"]["gpucompare"]["mode"] == "cpu-fallback"
    assert data["machine_info"]["gpucompare"]["local_peaks"] == PEAKS
    assert len(data["benchmarks"]) == len(records) > 0
    for b in data["benchmarks"]:
        rec = records[(b["extra_info"]["impl"], b["extra_info"]["shape"])]
        assert b["stats"]["rounds"] == rec["count"]
        assert b["stats"]["median"] == pytest.approx(rec["median_s"], rel=1e-12)
        assert b["stats"]["min"] == rec["min_s"]
        assert b["extra_info"]["status"] == "ok" and b["extra_info"]["gbps"] == rec["gbps"]


def test_pytest_bench_disabled_still_checks_and_writes_records(tmp_path):
    """--benchmark-disable: every case still checked (a wrong one fails with its message) and recorded."""
    proc, folder = _pytest_bench(tmp_path, "--benchmark-disable", break_torch=True, rc=1)
    records = load_run(folder).records
    assert len(records) == len(runner.plan("cpu", only=["copy"], dtypes=["fp32"], device="cpu"))
    assert {r["impl"]: r["status"] for r in records} == {"triton": "ok", "torch": "failed"}
    assert all(r["median_s"] is None for r in records if r["impl"] == "torch")
    assert "copy-n4099-fp32-torch: wrong output: relative error" in proc.stdout
    assert "fixture was not used" not in proc.stdout + proc.stderr
