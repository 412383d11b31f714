"""The runner: correctness before timing, failures recorded (not crashes), skips explained, CLI, bench/.

Most tests use a fake workload (doubling a vector) so they do not depend on kernel speed.
"""

from __future__ import annotations

import io
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

from gpucompare import cli
from gpucompare.measure import case, runner, timing
from gpucompare.results import load_run, validate_record

REPO = Path(__file__).resolve().parents[2]
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
    """Count the implementations timed (timing.measure_many) and the telemetry snapshots."""
    calls = {"measure": 0, "telemetry": 0}
    real_measure = timing.measure_many

    def measure(fns, **kw):
        calls["measure"] += len(fns)
        return real_measure(fns, **kw)

    def snapshot(*a, **k):
        calls["telemetry"] += 1
        return {"sm_clock_mhz": None, "error": "no GPU (test)"}

    monkeypatch.setattr(case.timing, "measure_many", measure)
    monkeypatch.setattr(case.telemetry, "telemetry_snapshot", snapshot)
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
    gpu = {**base, "mode": "gpu"}  # a CPU run's % of peak is not shown (its peak is no roof to judge by)
    text = runner.format_summary(
        [
            gpu,
            {
                **gpu,
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
    assert lines[2].split() == ["copy", "triton", "4099", "fp32", "25", "µs", "5", "GB/s", "25.0", "ok"]
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
    monkeypatch.setattr("gpucompare.measure.peaks.local_peaks", lambda desc: PEAKS)


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
    [
        (["--only", "gemm,nope"], "nope"),
        (["--only", "copy", "--dtypes", "fp128"], "fp128"),
        (["--only", "copy", "--budget", "-1"], "budget"),
    ],
)
def test_cli_run_bad_names_one_line_exit_2(tmp_path, capsys, args, needle):
    try:
        rc = cli.main(["run", "--tier", "cpu", *args, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # a usage error from argparse (--budget's type checks the number)
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucompare: error:") and needle in err[0]
    assert not (tmp_path / "o").exists()


_PLUGIN = """
import dataclasses
import gpucompare.measure.peaks
import gpucompare.workloads as wl

gpucompare.measure.peaks.local_peaks = lambda desc: {peaks!r}  # skip the CPU peak measurement (seconds)
if {break_torch!r}:  # the torch copy returns x + 1: a wrong output
    copy = wl.WORKLOADS["copy"]
    def bad(inputs, dtype, _build=copy.impl("torch").build):
        fn = _build(inputs, dtype)
        return lambda: fn() + 1
    impls = tuple(dataclasses.replace(i, build=bad) if i.name == "torch" else i for i in copy.impls)
    wl.WORKLOADS["copy"] = dataclasses.replace(copy, impls=impls)
if {lose_device!r}:  # the first case hits a sticky CUDA error
    from gpucompare.measure import runner
    _real = runner.measure_one
    def _lost(*args, **kw):
        rec = _real(*args, **kw)
        raise runner.DeviceLostError("CUDA context lost at case 1; no further case", dict(rec, status="failed", reason="lost"))
    runner.measure_one = _lost
"""


def _pytest_bench(
    tmp_path: Path, *extra: str, break_torch: bool = False, lose_device: bool = False, rc: int = 0
):
    """``pytest bench/bench_bandwidth.py`` on the copy workload in a subprocess; (proc, run folder)."""
    res = tmp_path / "runs"
    plugin = _PLUGIN.format(peaks=PEAKS, break_torch=break_torch, lose_device=lose_device)
    (tmp_path / "_bench_plugin.py").write_text(plugin)
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
    assert "local_peaks" not in data["machine_info"]["gpucompare"]  # machine facts only (issue 12)
    assert len(data["benchmarks"]) == len(records) > 0
    for b in data["benchmarks"]:
        rec = records[(b["extra_info"]["impl"], b["extra_info"]["shape"])]
        assert b["params"] == {"case": f"copy-{rec['shape_label']}-fp32-{rec['impl']}"}  # a plain string
        assert b["extra_info"]["local_peak_bw_tbps"] == PEAKS["bandwidth_tbps"]
        assert b["stats"]["rounds"] == rec["count"]
        assert b["stats"]["median"] == pytest.approx(rec["median_s"], rel=1e-12)
        assert b["stats"]["min"] == rec["min_s"]
        assert b["extra_info"]["status"] == "ok" and b["extra_info"]["gbps"] == rec["gbps"]


def test_pytest_bench_disabled_still_checks_and_writes_records(tmp_path):
    """--benchmark-disable: every case still checked (a wrong one fails with its message) and recorded."""
    proc, folder = _pytest_bench(tmp_path, "--benchmark-disable", break_torch=True, rc=1)
    run = load_run(folder)
    records = run.records
    assert len(records) == len(runner.plan("cpu", only=["copy"], dtypes=["fp32"], device="cpu"))
    assert run.machine["planned_cases"] == len(records) and run.machine["finished"] is True
    assert {r["impl"]: r["status"] for r in records} == {"triton": "ok", "torch": "failed"}
    for r in records:  # each case ran once: one timed sample, and the method says so
        assert r["status"] != "ok" or (r["count"] == 1 and r["method"]["max_reps"] == 1)
    assert all(r["median_s"] is None for r in records if r["impl"] == "torch")
    assert "copy-n4099-fp32-torch: wrong output: relative error" in proc.stdout
    assert "fixture was not used" not in proc.stdout + proc.stderr


# ---------------------------------------------------------------- the GPU path, faked (no GPU needed)

STICKY = "CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be asynchronously reported"


class CpuTensorsWorkload(FakeWorkload):
    """FakeWorkload whose tensors stay on the CPU whatever device is asked, so the CUDA branch of the runner
    runs here; keeps a weak reference to each input so tests can see it freed."""

    def __init__(self, *impls):
        super().__init__(*impls)
        self.refs: list = []

    def make_inputs(self, shape, dtype, device, seed=0):
        import weakref

        inputs = super().make_inputs(shape, dtype, "cpu", seed)
        self.refs.append(weakref.ref(inputs["x"]))
        return inputs


@pytest.fixture
def fake_gpu(monkeypatch, spies):
    """torch.cuda.synchronize / empty_cache recorded; ``state["broken"]`` makes synchronize raise STICKY."""
    state = {"broken": False, "sync": 0, "empty_cache": 0, "probe": 0}

    def synchronize(dev=None):
        state["sync"] += 1
        if state["broken"]:
            raise RuntimeError(STICKY)

    def empty_cache():
        state["empty_cache"] += 1

    real_probe = case.cuda_context_error

    def probe(dev):
        state["probe"] += 1
        return real_probe(dev) if state["broken"] else None

    monkeypatch.setattr(torch.cuda, "synchronize", synchronize)
    monkeypatch.setattr(torch.cuda, "empty_cache", empty_cache)
    monkeypatch.setattr(case, "cuda_context_error", probe)
    monkeypatch.setattr(case.devinfo, "cuda_index", lambda dev: 0)
    spied = case.timing.measure_many  # the spies fixture's counting wrapper
    monkeypatch.setattr(case.timing, "measure_many", lambda fns, **kw: spied(fns, **{**kw, "device": "cpu"}))
    return state


def one_gpu(w, impl_name, dtype="fp32"):
    impl = next(i for i in w.impls if i.name == impl_name)
    return runner.measure_one(
        w, w.tiers["cpu"][0], dtype, impl, device="cuda", machine=MACHINE, peaks=PEAKS,
        timing_config=FAST, command="pytest", run_id="run-1",
    )  # fmt: skip


def test_gpu_case_frees_its_memory_and_empties_the_cache(fake_gpu):
    w = CpuTensorsWorkload()
    rec = one_gpu(w, "torch")
    assert rec["status"] == "ok", rec["reason"]
    assert fake_gpu["empty_cache"] >= 1 and fake_gpu["probe"] == 0  # released; no probe after a success
    assert w.refs[-1]() is None  # the case's input tensor is gone once its record is returned


def test_gpu_oom_is_a_record_and_the_failed_case_is_freed(fake_gpu):
    def oom(x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 GiB")

    w = CpuTensorsWorkload(_impl("oom", oom))
    rec = one_gpu(w, "oom")
    validate_record(rec)
    assert rec["status"] == "failed"
    assert rec["reason"] == "out of memory at shape n257 (fp32, oom) while first run"
    assert fake_gpu["empty_cache"] >= 1 and fake_gpu["probe"] == 0
    assert w.refs[-1]() is None  # not kept alive by the exception's traceback
    assert one_gpu(w, "torch")["status"] == "ok"  # the suite goes on


def test_non_sticky_gpu_failure_probes_the_context_and_goes_on(fake_gpu):
    w = CpuTensorsWorkload(_impl("bad", lambda x: (_ for _ in ()).throw(ValueError("bad stride"))))
    rec = one_gpu(w, "bad")
    assert rec["status"] == "failed" and rec["reason"] == "first run raised ValueError: bad stride"
    assert fake_gpu["probe"] == 1


def test_sticky_cuda_error_raises_device_lost_with_the_record(fake_gpu):
    def crash(x):
        fake_gpu["broken"] = True
        raise RuntimeError(STICKY)

    w = CpuTensorsWorkload(_impl("crash", crash))
    with pytest.raises(runner.DeviceLostError) as info:
        one_gpu(w, "crash")
    rec = info.value.record
    validate_record(rec)
    assert rec["status"] == "failed" and "illegal memory access" in rec["reason"]
    assert "CUDA context is now unusable" in rec["reason"]
    assert "double-n257-fp32-crash" in str(info.value) and "no further case" in str(info.value)
    from gpucompare.errors import GpucompareError

    assert isinstance(info.value, GpucompareError)  # the CLI prints it as one line


def test_cuda_context_probe_reports_the_sticky_error(monkeypatch):
    def synchronize(dev=None):
        raise RuntimeError(STICKY)

    monkeypatch.setattr(torch.cuda, "synchronize", synchronize)
    assert runner.cuda_context_error(torch.device("cuda")) == (
        "RuntimeError: CUDA error: an illegal memory access was encountered"
    )


def test_telemetry_reads_the_current_gpu_when_the_device_has_no_index(monkeypatch):
    seen = []
    monkeypatch.setattr(case.devinfo, "cuda_index", lambda dev: 3)
    monkeypatch.setattr(case.telemetry, "telemetry_snapshot", lambda index=0: seen.append(index) or {})
    case._telemetry(torch.device("cuda"))
    case._telemetry(torch.device("cuda", 1))
    assert seen == [3, 3]  # cuda_index resolves both (faked to 3 here)


def test_run_suite_stops_on_a_lost_device_and_keeps_the_records(tmp_path, monkeypatch):
    w = FakeWorkload()
    shape = w.tiers["cpu"][0]
    calls = []

    real = runner.measure_case

    def measure_case(wl, sh, dt, impls, **kw):
        calls.append(1)
        (rec,) = real(wl, sh, dt, impls, **{**kw, "device": "cpu"})
        if len(calls) == 2:
            lost = {**rec, "status": "failed", "reason": "lost"}
            raise runner.DeviceLostError("CUDA context lost at x", lost)
        return [rec]

    other = FakeWorkload()  # three cases of different workloads: three groups, measured one after the other
    cases = [
        (w, shape, "fp32", w.impls[0]),
        (other, shape, "fp32", other.impls[0]),
        (w, shape, "fp16", w.impls[0]),
    ]
    monkeypatch.setattr(runner, "plan", lambda *a, **k: cases)
    monkeypatch.setattr(runner, "describe_machine", lambda dev, cmd: ({**MACHINE, "command": cmd}, PEAKS))
    monkeypatch.setattr(runner, "measure_case", measure_case)
    out = io.StringIO()
    with pytest.raises(runner.DeviceLostError, match="stopped after 2 of 3 cases"):
        runner.run_suite("cpu", out_dir=tmp_path, progress=False, command="gpucompare run", stream=out)
    (folder,) = tmp_path.iterdir()
    run = load_run(folder)
    assert [r["status"] for r in run.records] == ["ok", "failed"] and len(calls) == 2
    assert "2 cases: 1 ok, 1 failed" in out.getvalue()


def test_triton_autotuning_results_are_cached_on_disk_unless_the_user_says_otherwise():
    code = (
        "import os, gpucompare.kernels, triton; from triton import knobs; "
        "print(os.environ['TRITON_CACHE_AUTOTUNING'], knobs.autotuning.cache)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_CACHE_AUTOTUNING"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]  # (setdefault: an explicit TRITON_CACHE_AUTOTUNING=0 wins)


def test_cli_run_budget_reaches_the_timer_and_the_command(tmp_path, monkeypatch):
    seen = []
    real = runner.measure_case

    def measure_case(*args, **kw):
        seen.append(kw["timing_config"])
        return real(*args, **kw)

    _fast_peaks(monkeypatch)
    monkeypatch.setattr(runner, "measure_case", measure_case)
    argv = ["run", "--tier", "cpu", "--only", "copy", "--dtypes", "fp32", "--budget", "0.05"]
    assert cli.main([*argv, "--out", str(tmp_path), "--no-progress"]) == 0
    assert seen and all(c.budget_s == 0.05 and c.min_reps == FAST.min_reps for c in seen)
    (folder,) = tmp_path.iterdir()
    assert "--budget 0.05" in load_run(folder).records[0]["command"]


def test_pytest_bench_stops_the_session_on_a_lost_device(tmp_path):
    proc, folder = _pytest_bench(tmp_path, "--benchmark-disable", lose_device=True, rc=1)
    records = load_run(folder).records
    assert len(records) == 1 and records[0]["status"] == "failed"  # written, then nothing else ran
    out = proc.stdout + proc.stderr
    assert "CUDA context lost at case 1" in out and "1 cases: 0 ok, 1 failed" in out


def test_each_record_carries_its_measurement_method(tmp_path, monkeypatch):
    """The timer, flush, warm-up and stop rule are stored (and versioned) in every record."""
    (w, shape, dt, impl) = runner.plan("cpu", ["copy"], ["fp32"])[0]
    rec = runner.measure_one(
        w, shape, dt, impl, device="cpu", machine=MACHINE, peaks=PEAKS, timing_config=FAST, run_id="r"
    )
    method = rec["method"]
    assert method["version"] == timing.METHOD_VERSION and method["timer"] == timing.METHOD_CPU
    assert method["flush"] == "none" and method["min_reps"] == FAST.min_reps
    assert method["budget_s"] == FAST.budget_s and method["noise_target"] == FAST.noise_target
    validate_record(rec)


# ---------------------------------------------------------------------------------------------- one case, several impls


@dataclass(frozen=True)
class PoolImpl:
    name: str
    baseline: bool
    available: Any
    build: Any
    baseline_pool: bool = True


def _pool(name, fn_of_x, baseline=False):
    return PoolImpl(name, baseline, _always, lambda inputs, dtype: lambda: fn_of_x(inputs["x"]))


def _slow_double(x):
    import time

    time.sleep(2e-3)
    return x * 2


def case_records(w, impls, dtype="fp32"):
    recs = runner.measure_case(
        w, w.tiers["cpu"][0], dtype, impls, device="cpu", machine=MACHINE, peaks=PEAKS,
        timing_config=FAST, command="pytest", run_id="run-1",
    )  # fmt: skip
    for r in recs:
        validate_record(r, r["impl"])
    return recs


def test_a_case_times_its_implementations_together_and_shares_its_inputs(spies):
    w = FakeWorkload(_impl("twice", lambda x: x + x))
    recs = case_records(w, w.impls)
    assert [r["impl"] for r in recs] == ["torch", "twice"] and {r["status"] for r in recs} == {"ok"}
    assert spies["measure"] == 2 and spies["telemetry"] == 2  # one interleaved measurement, one NVML pair
    assert w.inputs_made == 1  # inputs (and reference) once per case
    for r in recs:
        assert r["method"]["order"] == "interleaved" and r["method"]["interleaved_with"] == ["torch", "twice"]
        assert r["best_baseline"] == "torch" and r["baseline"] == (r["impl"] == "torch")
        assert r["telemetry"]["during"] is None  # the NVML sampler runs on a GPU only


def test_the_fastest_passing_pool_member_is_the_baseline(spies):
    w = FakeWorkload()
    impls = (
        _pool("slow", _slow_double, baseline=True),  # the workload's fixed baseline, but slower
        _pool("fast", lambda x: x * 2),
        _pool("wrong", lambda x: x * 3),  # fastest of all, but fails its check: never the baseline
        _impl("kernel", lambda x: x * 2),
    )
    recs = {r["impl"]: r for r in case_records(w, impls)}
    assert recs["wrong"]["status"] == "failed" and recs["fast"]["median_s"] < recs["slow"]["median_s"]
    assert {r["best_baseline"] for r in recs.values()} == {"fast"}
    assert [n for n, r in recs.items() if r["baseline"]] == ["fast"]
    (alone,) = case_records(w, impls[1:2])  # one backend alone (as pytest bench/ measures): nothing to choose
    assert alone["baseline"] is False and alone["best_baseline"] is None


def test_one_failing_implementation_does_not_fail_the_others(spies):
    w = FakeWorkload(_impl("boom", lambda x: (_ for _ in ()).throw(ValueError("bad stride"))))
    recs = case_records(w, w.impls)
    assert [r["status"] for r in recs] == ["ok", "failed"]
    assert recs[1]["reason"] == "first run raised ValueError: bad stride"
    assert recs[0]["method"]["order"] == "alone"  # only the implementation that passed was timed


def test_run_suite_groups_the_cases_of_one_workload_shape_and_dtype(tmp_path, monkeypatch):
    _fast_peaks(monkeypatch)
    groups = []
    real = runner.measure_case

    def measure_case(w, shape, dt, impls, **kw):
        groups.append((w.name, shape.label, dt, [i.name for i in impls]))
        return real(w, shape, dt, impls, **kw)

    monkeypatch.setattr(runner, "measure_case", measure_case)
    runner.run_suite("cpu", ["copy"], ["fp32"], tmp_path, progress=False, stream=io.StringIO())
    from gpucompare.workloads import WORKLOADS

    labels = [s.label for s in WORKLOADS["copy"].shapes("cpu")]
    assert groups == [("copy", label, "fp32", ["triton", "torch"]) for label in labels]
    (folder,) = tmp_path.iterdir()
    assert len(load_run(folder).records) == 2 * len(groups)


def test_the_autotune_config_a_triton_kernel_ran_with_is_recorded():
    import gpucompare.kernels.gemm as gemm

    (w, shape, dt, impl) = next(c for c in runner.plan("cpu", ["gemm"], ["fp32"]) if c[3].name == "triton")
    rec = runner.measure_one(
        w, shape, dt, impl, device="cpu", machine=MACHINE, peaks=PEAKS, timing_config=FAST, run_id="r"
    )
    assert rec["status"] == "ok", rec["reason"]
    interp = gemm._INTERP_CONFIG  # the interpreter's one config: what the autotuner must report
    (name,) = rec["kernel_config"]
    chosen = rec["kernel_config"][name]
    assert name == "_matmul_kernel"
    assert {k: chosen[k] for k in interp.kwargs} == interp.kwargs
    assert (chosen["num_warps"], chosen["num_stages"]) == (interp.num_warps, interp.num_stages)
    torch_rec = runner.measure_one(
        w,
        shape,
        dt,
        w.impl("torch"),
        device="cpu",
        machine=MACHINE,
        peaks=PEAKS,
        timing_config=FAST,
        run_id="r",
    )
    assert torch_rec["kernel_config"] is None  # no autotuned kernel ran
