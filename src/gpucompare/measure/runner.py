"""The runner: one (workload, shape, dtype, impl) → one results record; a whole tier → one run folder.

For each case, in this order (``measure_one``):

1. dtype runnable here and ``impl.available(dtype, device)``, else status ``skipped`` with the reason;
2. seeded inputs (``workload.make_inputs(..., seed=0)``) and the reference on those inputs, then the
   closure (``impl.build``) — none of this is timed;
3. one call of the closure, checked with ``gpucompare.reference.check`` against the reference. For low
   precision (fp16/bf16/fp8) a non-baseline implementation is also allowed ``BASELINE_FACTOR`` × the error of
   the workload's baseline implementation on the same inputs (flash-attention's rule, see
   gpucompare.reference).
   A wrong, NaN or Inf output → status ``failed`` with the check's message, and nothing is timed;
4. telemetry before, ``gpucompare.timing.measure``, telemetry after; achieved TFLOP/s and GB/s from
   ``gpucompare.timing.throughput(flops, bytes, median)`` with the registry's counts.

Any exception (an out-of-memory error included: ``out of memory at shape X while <phase>``) makes the
record ``failed`` with a one-line reason; the suite goes on. After every case its tensors are released
(``torch.cuda.empty_cache``; ``gc.collect`` after a failure) so large cases do not accumulate memory. A
*sticky* CUDA error (illegal memory access, ...) leaves the process's CUDA context unusable: after a failure
the context is probed, and :class:`DeviceLostError` (carrying the failed record) stops the suite with one
clear message instead of hundreds of bogus failures. ``KeyboardInterrupt`` is not caught: records already
written are kept by the writer.

References run on the inputs' device (float64 on the GPU; a 16384³ reference GEMM takes ~0.2 s on an H100)
and are freed before timing.

Triton: kernel modules are imported lazily by the workloads, through the ``gpucompare.kernels`` package, which
sets Triton up first (:func:`gpucompare.hw.configure_triton`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import inspect
import math
import socket
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import torch

from gpucompare import console, hw, reference
from gpucompare.console import format_seconds
from gpucompare.dtypes import LOW_PRECISION
from gpucompare.errors import GpucompareError, first_line
from gpucompare.measure import device as devinfo
from gpucompare.measure import telemetry, timing
from gpucompare.measure.machine import describe_machine, git_commit, local_bandwidth, local_peak, utc_now
from gpucompare.results import DEFAULT_ROOT, Record, RunWriter, check_writable

TIERS = hw.TIERS


class DeviceLostError(GpucompareError):
    """A sticky CUDA error (illegal memory access, misaligned address, device-side assert, ...) left the
    process's CUDA context unusable: every later case would fail the same way, so the suite stops.
    ``record`` is the failed record of the case where it was detected (to be written before stopping)."""

    def __init__(self, message: str, record: dict):
        super().__init__(message)
        self.record = record


# ---------------------------------------------------------------- planning


def plan(
    tier: str,
    only: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    *,
    device: torch.device | str | None = None,
) -> list[tuple[Any, Any, str, Any]]:
    """The cases of a tier, in a fixed order: workloads (registry order) × shapes × dtypes × impls.

    ``only``: workload or family names (``workloads.select_workloads``; ``ValueError`` naming an unknown one). ``dtypes``: keep only these; a
    dtype the workload knows but this device cannot run is kept when asked for explicitly, so its record
    says why it was skipped. ``ValueError`` for an unknown tier or a dtype no selected workload knows.
    """
    from gpucompare import workloads as wl

    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; known: {', '.join(TIERS)}")
    dev = torch.device(device) if device is not None else hw.default_device()
    selected = list(wl.WORKLOADS.values()) if not only else wl.select_workloads(only)
    if dtypes:
        known = {d for w in selected for d in w.dtypes}
        unknown = [d for d in dtypes if d not in known]
        if unknown:
            raise ValueError(
                f"unknown dtype {unknown[0]!r} for workloads {', '.join(w.name for w in selected)}; "
                f"known: {', '.join(sorted(known))}"
            )
    cases = []
    for w in selected:
        chosen = [d for d in w.dtypes if d in dtypes] if dtypes else list(w.dtypes_for(dev))
        for shape in w.tiers.get(tier, ()):
            for dt in chosen:
                for impl in w.impls:
                    cases.append((w, shape, dt, impl))
    return cases


def case_id(workload: Any, shape: Any, dtype: str, impl: Any) -> str:
    """Readable id: ``gemm-67x45x129-fp16-triton``."""
    return f"{workload.name}-{shape.label}-{dtype}-{impl.name}"


# ---------------------------------------------------------------- one measurement


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _is_oom(exc: BaseException) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def _available(impl: Any, dtype: str, dev: torch.device, shape: Any) -> tuple[bool, str]:
    """``impl.available(dtype, device, shape)``; the shape is passed where the impl takes it (size limits)."""
    try:
        params = inspect.signature(impl.available).parameters.values()
        takes_shape = len(params) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):
        takes_shape = False
    return impl.available(dtype, dev, shape) if takes_shape else impl.available(dtype, dev)


def _baseline_output(workload: Any, shape: Any, impl: Any, inputs: dict, dtype: str, dev: torch.device):
    """Output of the workload's baseline impl on the same inputs, for the low-precision rule (or None)."""
    if dtype not in LOW_PRECISION or impl.baseline:
        return None
    base = next((i for i in workload.impls if i.baseline), None)
    if base is None:
        return None
    try:
        ok, _ = _available(base, dtype, dev, shape)
        if not ok:
            return None
        out = base.build(inputs, dtype)()
        _sync(dev)
        return out
    except Exception:  # the baseline is only a help for the bound; without it the dtype bound applies
        return None


def _telemetry(dev: torch.device) -> dict:
    """One NVML reading of the GPU ``dev`` (``cuda`` without an index: the current device)."""
    if dev.type != "cuda":
        return dict(telemetry.telemetry_snapshot())
    return dict(telemetry.telemetry_snapshot(devinfo.cuda_index(dev)))


def base_record(
    workload: Any,
    shape: Any,
    dtype: str,
    impl: Any,
    *,
    machine: Mapping[str, Any],
    peaks: Mapping[str, Any],
    command: str | None,
    run_id: str,
) -> dict:
    """The record of a case before it is measured: what, where, with which versions (status ``failed``)."""
    return Record(
        run_id=run_id,
        workload=workload.name,
        family=workload.family,
        intent=workload.intent,
        shape=dict(shape.params),
        shape_label=shape.label,
        dtype=dtype,
        impl=impl.name,
        baseline=bool(impl.baseline),
        mode=machine.get("mode", "gpu"),
        chip_id=machine.get("chip_id"),
        device_name=machine.get("device_name"),
        local_peak_tflops=local_peak(peaks, dtype),
        local_peak_bw_tbps=local_bandwidth(peaks),
        local_peak_source=peaks.get("source"),
        versions=dict(machine.get("versions") or {}),
        command=command if command is not None else machine.get("command"),
        git_commit=machine.get("git_commit", git_commit()),
        timestamp=utc_now(),
        hostname=machine.get("hostname") or socket.gethostname(),
    ).to_dict()


def measure_one(
    workload: Any,
    shape: Any,
    dtype: str,
    impl: Any,
    *,
    device: torch.device | str,
    machine: Mapping[str, Any],
    peaks: Mapping[str, Any],
    timing_config: Any = None,
    command: str | None = None,
    run_id: str,
    samples_out: list[float] | None = None,
) -> dict:
    """Check, then time, one case; return its record (schema version 1, see gpucompare.results).

    ``samples_out``: a list that receives the per-repetition times (seconds) when the case is timed,
    for pytest-benchmark to store. Raises :class:`DeviceLostError` (with the failed record) only when a
    failure left the CUDA context unusable; every other failure is a ``failed`` record.
    """
    dev = torch.device(device)
    config = timing_config if timing_config is not None else timing.TimingConfig.for_device(dev)
    rec = base_record(
        workload, shape, dtype, impl, machine=machine, peaks=peaks, command=command, run_id=run_id
    )
    rec["method"] = timing.method_description(config, dev)
    where = f"{shape.label} ({dtype}, {impl.name})"
    state = {"phase": "counting flops/bytes"}
    oom = False
    try:
        result = _check_and_time(rec, state, workload, shape, dtype, impl, dev, config, samples_out)
    except Exception as exc:
        oom = _is_oom(exc)
        if oom:
            reason = f"out of memory at shape {where} while {state['phase']}"
        else:
            reason = f"{state['phase']} raised {first_line(exc)}"
        result = {**rec, "status": "failed", "reason": reason}
    # Out of the except block, so the traceback (and the tensors its frames hold) is gone: free this case's
    # inputs, outputs and reference before the next case, whose sizes may need all of the memory.
    release_memory(dev, collect=result["status"] == "failed")
    if dev.type == "cuda" and result["status"] == "failed" and not oom:
        broken = cuda_context_error(dev)
        if broken is not None:
            result["reason"] = (
                f"{result['reason']}; the CUDA context is now unusable ({broken}): a sticky error such as "
                "an illegal memory access, possibly raised asynchronously by an earlier kernel"
            )
            raise DeviceLostError(
                f"CUDA context lost at {case_id(workload, shape, dtype, impl)} ({result['reason']}); "
                "no further case can run in this process",
                result,
            )
    return result


def _check_and_time(
    rec: dict[str, Any],
    state: dict[str, str],
    workload: Any,
    shape: Any,
    dtype: str,
    impl: Any,
    dev: torch.device,
    timing_config: Any,
    samples_out: list[float] | None,
) -> dict:
    """The body of :func:`measure_one`; ``state["phase"]`` says what it is doing (for failure messages)."""
    rec["flops"] = int(workload.flops(shape))
    rec["bytes"] = int(workload.bytes(shape, dtype))

    state["phase"] = "availability check"
    ok, why = _available(impl, dtype, dev, shape)
    if not ok:
        return {**rec, "status": "skipped", "reason": why or f"{impl.name} is not available here"}
    if dtype not in tuple(workload.dtypes_for(dev)):
        return {**rec, "status": "skipped", "reason": f"{dtype} is not measured on this device ({dev})"}

    state["phase"] = "building inputs"
    inputs = workload.make_inputs(shape, dtype, dev, seed=0)
    state["phase"] = "computing the reference"
    ref = workload.reference(inputs)  # on the inputs' device: the GPU computes its own float64 reference
    _sync(dev)
    state["phase"] = "building the implementation"
    fn = impl.build(inputs, dtype)
    state["phase"] = "first run"
    out = fn()  # Triton compiles and autotunes here, never inside a timed sample
    _sync(dev)
    state["phase"] = "correctness check"
    base_out = _baseline_output(workload, shape, impl, inputs, dtype, dev)
    chk = reference.check(out, ref, dtype, baseline=base_out)
    rec["rel_error"] = chk.rel_error if math.isfinite(chk.rel_error) else None
    rec["error_bound"] = chk.bound
    del out, ref, base_out  # the float64 reference can be GiBs: not held while timing
    if not chk.ok:
        return {**rec, "status": "failed", "reason": f"wrong output: {chk.message}"}
    if dev.type == "cuda":
        torch.cuda.empty_cache()

    state["phase"] = "timing"
    before = _telemetry(dev)  # NVML is read outside the timed loop only
    t = timing.measure(fn, device=dev, config=timing_config)
    after = _telemetry(dev)
    tflops, gbps = timing.throughput(rec["flops"], rec["bytes"], t.median_s)
    rec.update(
        status="ok",
        median_s=t.median_s,
        p20_s=t.p20_s,
        p80_s=t.p80_s,
        min_s=t.min_s,
        count=int(t.count),
        cv=t.cv,
        rel_iqr=t.rel_iqr,
        noise_target_met=bool(t.noise_target_met),
        tflops=tflops,
        gbps=gbps,
        telemetry={"before": before, "after": after},
        throttled=telemetry.throttled(before, after),
    )
    if samples_out is not None:
        samples_out.extend(float(x) for x in t.samples_s)
    return rec


def release_memory(dev: torch.device, collect: bool = False) -> None:
    """Between cases: ``gc.collect()`` when asked (after a failure, whose traceback may have left reference
    cycles holding tensors), then return the CUDA caching allocator's free blocks to the driver
    (``torch.cuda.empty_cache``), so a 16384³ GEMM or a 16k-token attention starts from a clean device.
    Never raises (a broken CUDA context is reported by :func:`cuda_context_error`)."""
    if collect:
        gc.collect()
    if dev.type == "cuda":
        with contextlib.suppress(Exception):  # a sticky CUDA error: cuda_context_error says so
            torch.cuda.empty_cache()


def cuda_context_error(dev: torch.device) -> str | None:
    """None when the CUDA context of ``dev`` still works (a synchronize and a tiny kernel succeed), else the
    one-line error. After an illegal memory access, a misaligned address or a device-side assert, every later
    CUDA call in the process fails with the same error ("sticky" errors)."""
    try:
        torch.cuda.synchronize(dev)
        probe = torch.ones(4, device=dev)
        if float((probe + 1).sum().item()) != 8.0:
            return "a probe kernel returned a wrong sum"
    except Exception as exc:
        return first_line(exc)
    return None


# ---------------------------------------------------------------- presentation (shared by the CLI and pytest)


def percent_of_peak(record: Mapping[str, Any]) -> float | None:
    """Achieved / local peak, in %: TFLOP/s for compute-intent work, GB/s for memory-intent work; None for
    a collective (its roof is the link, see gpucompare.model.comm)."""
    if record.get("status") != "ok" or record.get("intent") == "communication":
        return None
    if record.get("intent") == "memory":
        bw = record.get("local_peak_bw_tbps")
        return 100.0 * record["gbps"] / (bw * 1e3) if bw and record.get("gbps") is not None else None
    peak = record.get("local_peak_tflops")
    return 100.0 * record["tflops"] / peak if peak and record.get("tflops") is not None else None


def format_throughput(record: Mapping[str, Any]) -> str:
    if record.get("status") != "ok":
        return "-"
    coll = record.get("collective") or {}
    if record.get("intent") == "communication" and coll.get("busbw_gbps") is not None:
        return f"{coll['busbw_gbps']:.4g} GB/s bus"
    if record.get("intent") in ("memory", "communication"):
        return f"{record['gbps']:.4g} GB/s"
    return f"{record['tflops']:.4g} TFLOP/s"


def summary(records: Iterable[Mapping[str, Any]], reason_width: int = 60) -> list[console.Block]:
    """The run's table (workload, impl, shape, dtype, median, throughput, % of local peak, status) and counts."""
    records = list(records)
    if not records:
        return ["no measurements"]
    table = console.Table(
        "workload",
        "impl",
        "shape",
        "dtype",
        console.Column("median", "right"),
        console.Column("throughput", "right"),
        console.Column("% peak", "right", fmt=".1f"),
        console.Column("status", wrap=True, colored=True),
    )
    for r in records:
        status = r.get("status", "?")
        if status != "ok" and r.get("reason"):
            reason = r["reason"]
            status += ": " + (reason if len(reason) <= reason_width else reason[: reason_width - 3] + "...")
        table.add_row(
            *(str(r.get(k)) for k in ("workload", "impl", "shape_label", "dtype")),
            format_seconds(r.get("median_s")),
            format_throughput(r),
            percent_of_peak(r),
            status,
        )
    statuses = (r.get("status", "?") for r in records)
    return [table, console.counts_line(statuses, "cases", ("ok", "failed", "skipped"))]


def format_summary(records: Iterable[Mapping[str, Any]], reason_width: int = 60) -> str:
    """:func:`summary` as plain text."""
    return console.render(*summary(records, reason_width))


def _progress_detail(record: Mapping[str, Any]) -> str:
    if record["status"] == "ok":
        return f"{format_seconds(record['median_s'])}, {format_throughput(record)}"
    return record.get("reason") or ""


# ---------------------------------------------------------------- a whole suite


def default_tier() -> str:
    return "gpu" if hw.has_gpu() else "cpu"


def run_suite(
    tier: str | None = None,
    only: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    out_dir: str | Path = DEFAULT_ROOT,
    progress: bool = True,
    *,
    command: str | None = None,
    stream: TextIO | None = None,
    progress_stream: TextIO | None = None,
    budget_s: float | None = None,
) -> Path:
    """Run a tier (``ValueError`` for bad names, or ``--tier gpu`` without a GPU, before anything is written);
    return the run folder. ``out_dir`` is created and test-written before anything is measured
    (``ResultsError`` when it cannot be written). run.json records the planned case count and, once the last
    case is written, ``finished: true``.

    Records are appended as they are measured (``RunWriter``); the summary table goes to ``stream``
    (stdout), the progress lines to ``progress_stream`` (stderr). ``budget_s``: the timing budget per case
    instead of the device default (:meth:`gpucompare.timing.TimingConfig.for_device`).
    """
    dev = hw.default_device()
    config = timing.TimingConfig.for_device(dev)
    if budget_s is not None:
        if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) or not budget_s > 0:
            raise ValueError(f"the timing budget must be a positive number of seconds, got {budget_s!r}")
        config = dataclasses.replace(config, budget_s=float(budget_s))
    tier = tier or default_tier()
    if tier == "gpu" and dev.type != "cuda":
        raise ValueError("tier 'gpu' needs a CUDA GPU and this machine has none; use tier 'cpu'")
    cases = plan(tier, only, dtypes, device=dev)
    if not cases:
        raise ValueError(
            f"nothing to run for tier {tier!r} with workloads {only or 'all'} and dtypes {dtypes or 'all'}"
        )
    check_writable(out_dir)  # before the minutes of measuring, not after
    command = command if command is not None else " ".join(["gpucompare", *sys.argv[1:]])
    machine, peaks = describe_machine(dev, command)
    machine["tier"] = tier
    writer = RunWriter(out_dir, machine, planned_cases=len(cases))
    lost: tuple[int, DeviceLostError] | None = None
    with console.CaseProgress(len(cases), progress_stream, bar=progress) as bar:
        for n, (w, shape, dt, impl) in enumerate(cases, start=1):
            bar.start(case_id(w, shape, dt, impl))
            try:
                rec = measure_one(
                    w,
                    shape,
                    dt,
                    impl,
                    device=dev,
                    machine=writer.machine,
                    peaks=peaks,
                    timing_config=config,
                    command=command,
                    run_id=writer.run_id,
                )
            except DeviceLostError as exc:
                lost, rec = (n, exc), exc.record
            writer.append(rec)
            bar.finish(rec["status"], _progress_detail(rec))
            if lost:
                break
    if not lost:
        writer.finish()
    console.echo(*summary(writer.records), f"results: {writer.path}", file=stream)
    if lost:
        n, exc = lost
        raise DeviceLostError(
            f"{exc}; stopped after {n} of {len(cases)} cases (records so far in {writer.path}); "
            "run the rest in a new process (e.g. --only with the remaining workloads)",
            exc.record,
        ) from None
    return writer.path
