"""One case: the implementations of one (workload, shape, dtype) checked, then timed together, into records.

For each case, in this order (:func:`measure_case`):

1. per implementation: dtype runnable here and ``impl.available(dtype, device, shape)``, else status ``skipped``
   with the reason;
2. seeded inputs (``workload.make_inputs(..., seed=0)``) and the reference on those inputs, once for the case;
   then per implementation its closure (``impl.build``) -- none of this is timed;
3. per implementation, one call of the closure (Triton compiles and autotunes here; the autotune config each
   kernel chose is recorded in ``kernel_config``), checked with ``gpucompare.reference.check`` against the
   reference. For low precision (fp16/bf16/fp8) a non-baseline implementation is also allowed
   ``BASELINE_FACTOR`` × the error of the workload's baseline implementation on the same inputs
   (flash-attention's rule, see gpucompare.reference). A wrong, NaN or Inf output → status ``failed`` with the
   check's message, and that implementation is not timed;
4. the implementations that passed are timed together, interleaved (``gpucompare.measure.timing.measure_many``:
   A B A B, same clock and power state), with one NVML reading before and after and, on a GPU, a background
   NVML sampler during the timed window (``telemetry["during"]``: SM clock, power, temperature min / median /
   max per implementation); achieved TFLOP/s and GB/s from ``timing.throughput(flops, bytes, median)``;
5. the case's baseline: where the workload has a pool of vendor implementations (``Impl.baseline_pool``: the
   SDPA backends), the fastest that passed is the baseline (``baseline`` True on it alone); every record
   names it in ``best_baseline``.

Any exception (an out-of-memory error included: ``out of memory at shape X while <phase>``) makes the record
``failed`` with a one-line reason (the whole case's when it comes from a shared phase: inputs, reference,
timing); the suite goes on. After every case its tensors are released (``torch.cuda.empty_cache``;
``gc.collect`` after a failure) so large cases do not accumulate memory. A *sticky* CUDA error (illegal memory
access, ...) leaves the process's CUDA context unusable: after a failure the context is probed, and
:class:`DeviceLostError` (carrying the case's records) stops the suite with one clear message instead of
hundreds of bogus failures. ``KeyboardInterrupt`` is not caught.

References run on the inputs' device (float64 on the GPU; a 16384³ reference GEMM takes ~0.2 s on an H100)
and are freed before timing.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import math
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from gpucompare import reference
from gpucompare.dtypes import LOW_PRECISION
from gpucompare.errors import GpucompareError, first_line
from gpucompare.measure import autotune, telemetry, timing
from gpucompare.measure import device as devinfo
from gpucompare.measure.machine import git_commit, local_bandwidth, local_peak, utc_now
from gpucompare.results import Record


class DeviceLostError(GpucompareError):
    """A sticky CUDA error (illegal memory access, misaligned address, device-side assert, ...) left the
    process's CUDA context unusable: every later case would fail the same way, so the suite stops.
    ``record`` is the failed record of the case where it was detected (to be written before stopping)."""

    def __init__(self, message: str, record: dict, records: list[dict] | None = None):
        super().__init__(message)
        self.record = record
        self.records = records if records is not None else [record]  # the whole case's, to be written


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _is_oom(exc: BaseException) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def impl_available(impl: Any, dtype: str, dev: torch.device, shape: Any) -> tuple[bool, str]:
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
        ok, _ = impl_available(base, dtype, dev, shape)
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
    device: torch.device | str,
    machine: Mapping[str, Any],
    peaks: Mapping[str, Any],
    command: str | None,
    run_id: str,
) -> dict[str, Any]:
    """The record of a case before it is measured: what, where, with which versions (status ``failed``
    until it succeeds). The runner and the distributed (collective) runner both start from it."""
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
        mode=machine.get("mode", devinfo.mode_of(torch.device(device))),
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


def _skeleton(workload, shape, dtype, impl, dev, machine, peaks, config, command, run_id) -> dict[str, Any]:
    """The record of one implementation before anything ran, with the timing method and the impl's notes."""
    rec = base_record(
        workload, shape, dtype, impl, device=dev, machine=machine, peaks=peaks, command=command, run_id=run_id
    )
    rec["method"] = timing.method_description(config, dev)
    rec["notes"] = impl.notes(shape, dtype, dev) if getattr(impl, "notes", None) else None
    return rec


def measure_one(workload: Any, shape: Any, dtype: str, impl: Any, **kwargs: Any) -> dict:
    """:func:`measure_case` for one implementation: its record (``samples_out`` receives its samples)."""
    return measure_case(workload, shape, dtype, (impl,), **kwargs)[0]


def measure_case(
    workload: Any,
    shape: Any,
    dtype: str,
    impls: Sequence[Any],
    *,
    device: torch.device | str,
    machine: Mapping[str, Any],
    peaks: Mapping[str, Any],
    timing_config: Any = None,
    command: str | None = None,
    run_id: str,
    samples_out: list[float] | None = None,
) -> list[dict]:
    """Check, then time (interleaved), the implementations ``impls`` of one (workload, shape, dtype); their
    records in the same order (schema :data:`gpucompare.results.record.SCHEMA_VERSION`).

    ``samples_out``: a list that receives the per-repetition times (seconds) of the first implementation
    when it is timed, for pytest-benchmark to store. Raises :class:`DeviceLostError` (with the failed record)
    only when a failure left the CUDA context unusable; every other failure is a ``failed`` record.
    """
    dev = torch.device(device)
    config = timing_config if timing_config is not None else timing.TimingConfig.for_device(dev)
    recs = {
        i.name: _skeleton(workload, shape, dtype, i, dev, machine, peaks, config, command, run_id)
        for i in impls
    }
    results: dict[str, dict] = {}
    state = {"phase": "counting flops/bytes", "impl": ""}
    oom = False
    try:
        _run_case(recs, results, state, workload, shape, dtype, impls, dev, config, samples_out)
    except Exception as exc:  # a shared phase (inputs, reference, timing): every open record fails with it
        oom = oom or _is_oom(exc)
        for name, rec in recs.items():
            results.setdefault(name, _failed(rec, state["phase"], exc, f"{shape.label} ({dtype}, {name})"))
    # Out of the except block, so the traceback (and the tensors its frames hold) is gone: free this case's
    # inputs, outputs and reference before the next case, whose sizes may need all of the memory.
    out = [results[i.name] for i in impls]
    failed = [r for r in out if r["status"] == "failed"]
    release_memory(dev, collect=bool(failed))
    _choose_baseline(out, impls)
    if dev.type == "cuda" and failed and not all(r.get("_oom") for r in failed):
        broken = cuda_context_error(dev)
        if broken is not None:
            rec = next(r for r in failed if not r.get("_oom"))
            rec["reason"] = (
                f"{rec['reason']}; the CUDA context is now unusable ({broken}): a sticky error such as "
                "an illegal memory access, possibly raised asynchronously by an earlier kernel"
            )
            rec.pop("_oom", None)
            raise DeviceLostError(
                f"CUDA context lost at {workload.name}-{shape.label}-{dtype}-{rec['impl']} ({rec['reason']}); "
                "no further case can run in this process",
                rec,
                [{k: v for k, v in r.items() if k != "_oom"} for r in out],
            )
    for r in out:
        r.pop("_oom", None)
    return out


def _failed(rec: dict, phase: str, exc: BaseException, where: str) -> dict:
    """The failed record for ``exc`` raised while ``phase``; ``_oom`` (removed before returning) marks OOM."""
    if _is_oom(exc):
        return {
            **rec,
            "status": "failed",
            "reason": f"out of memory at shape {where} while {phase}",
            "_oom": True,
        }
    return {**rec, "status": "failed", "reason": f"{phase} raised {first_line(exc)}"}


def _choose_baseline(records: list[dict], impls: Sequence[Any]) -> None:
    """Mark each record's ``best_baseline``: where implementations form a baseline pool (``Impl.baseline_pool``:
    the SDPA backends) and two or more of them were measured, the fastest that passed its check, which alone
    keeps ``baseline`` True; otherwise the workload's baseline when it passed. None when no candidate passed."""
    pool = {i.name for i in impls if getattr(i, "baseline_pool", False)}
    if len(pool) < 2:  # one backend alone (pytest bench/ measures one impl at a time): nothing to choose from
        pool = set()
    candidates = [r for r in records if (r["impl"] in pool if pool else r["baseline"])]
    ok = [r for r in candidates if r["status"] == "ok"]
    best = min(ok, key=lambda r: r["median_s"])["impl"] if ok else None
    for r in records:
        r["best_baseline"] = best
        if pool and r["impl"] in pool:
            r["baseline"] = r["impl"] == best


def _skip_reason(workload: Any, impl: Any, dtype: str, dev: torch.device, shape: Any) -> str | None:
    ok, why = impl_available(impl, dtype, dev, shape)
    if not ok:
        return why or f"{impl.name} is not available here"
    if dtype not in tuple(workload.dtypes_for(dev)):
        return f"{dtype} is not measured on this device ({dev})"
    return None


def _run_case(
    recs: dict[str, dict],
    results: dict[str, dict],
    state: dict[str, str],
    workload: Any,
    shape: Any,
    dtype: str,
    impls: Sequence[Any],
    dev: torch.device,
    config: Any,
    samples_out: list[float] | None,
) -> None:
    """The body of :func:`measure_case`: fills ``results``; ``state["phase"]`` says what it is doing."""
    flops, nbytes = int(workload.flops(shape)), int(workload.bytes(shape, dtype))
    runnable = []
    for impl in impls:
        recs[impl.name].update(flops=flops, bytes=nbytes)
        state["phase"] = "availability check"
        why = _skip_reason(workload, impl, dtype, dev, shape)
        if why:
            results[impl.name] = {**recs[impl.name], "status": "skipped", "reason": why}
        else:
            runnable.append(impl)
    if not runnable:
        return
    state["phase"] = "building inputs"
    inputs = workload.make_inputs(shape, dtype, dev, seed=0)
    state["phase"] = "computing the reference"
    ref = workload.reference(inputs)  # on the inputs' device: the GPU computes its own float64 reference
    _sync(dev)
    other = next((i for i in runnable if not i.baseline), None)
    base_out = _baseline_output(workload, shape, other, inputs, dtype, dev) if other is not None else None
    fns = {}
    for impl in runnable:
        fn = _build_and_check(recs[impl.name], results, impl, inputs, ref, base_out, dtype, dev, shape)
        if fn is not None:
            fns[impl.name] = fn
    del ref, base_out  # the float64 reference can be GiBs: not held while timing
    if not fns:
        return
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    state["phase"] = "timing"
    timings, telem = _time(fns, dev, config)
    for name, t in timings.items():
        results[name] = _timed_record(recs[name], t, telem, name, list(fns), config, dev)
    first = runnable[0].name
    if samples_out is not None and first in timings:
        samples_out.extend(float(x) for x in timings[first].samples_s)


def _build_and_check(rec, results, impl, inputs, ref, base_out, dtype, dev, shape) -> Any:
    """Build ``impl``, run it once (Triton compiles and autotunes here, never inside a timed sample; the
    chosen autotune configs are recorded) and check it; its closure, or None with its failed record."""
    phase = "building the implementation"
    try:
        fn = impl.build(inputs, dtype)
        phase = "first run"
        with autotune.record_configs() as chosen:
            out = fn()
            _sync(dev)
        rec["kernel_config"] = chosen or None
        phase = "correctness check"
        chk = reference.check(out, ref, dtype, baseline=None if impl.baseline else base_out)
        del out
    except Exception as exc:
        results[impl.name] = _failed(rec, phase, exc, f"{shape.label} ({dtype}, {impl.name})")
        return None
    rec["rel_error"] = chk.rel_error if math.isfinite(chk.rel_error) else None
    rec["error_bound"] = chk.bound
    if not chk.ok:
        results[impl.name] = {**rec, "status": "failed", "reason": f"wrong output: {chk.message}"}
        return None
    return fn


def _time(fns: dict[str, Any], dev: torch.device, config: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Interleaved timings of ``fns`` and the telemetry: one NVML reading before and after, and on a GPU the
    background sampler's min / median / max per implementation (``during``)."""
    sampler = telemetry.Sampler(devinfo.cuda_index(dev)) if dev.type == "cuda" else None
    before = _telemetry(dev)  # the single readings stay outside the timed loop
    with sampler if sampler is not None else contextlib.nullcontext():
        timings = timing.measure_many(
            fns, device=dev, config=config, on_batch=sampler.tag if sampler is not None else None
        )
    after = _telemetry(dev)
    during = {name: sampler.summary(name) if sampler is not None else None for name in fns}
    return timings, {"before": before, "after": after, "during": during}


def _timed_record(rec, t, telem, name, order, config, dev) -> dict:
    tflops, gbps = timing.throughput(rec["flops"], rec["bytes"], t.median_s)
    method = {**timing.method_description(config, dev, order), "host_launch_s": t.host_launch_s}
    method["sleep_s"] = t.sleep_s
    return {
        **rec,
        "status": "ok",
        "median_s": t.median_s,
        "p20_s": t.p20_s,
        "p80_s": t.p80_s,
        "min_s": t.min_s,
        "count": int(t.count),
        "cv": t.cv,
        "rel_iqr": t.rel_iqr,
        "noise_target_met": bool(t.noise_target_met),
        "tflops": tflops,
        "gbps": gbps,
        "telemetry": {"before": telem["before"], "after": telem["after"], "during": telem["during"][name]},
        "throttled": telemetry.throttled(telem["before"], telem["after"]),
        "method": method,
    }


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
