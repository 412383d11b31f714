"""The collective suite under a distributed launch: every rank runs the same cases in the same order; rank 0
writes the run folder (its ``run.json`` holds every rank's environment) and the records.

One case (:func:`measure_collective_one`), on every rank, in phases whose outcome the ranks agree on (an
all-gather of each rank's verdict, so no rank waits in a collective the others skipped):

1. ``start``: the implementation is available with this dtype and size on every rank, else ``skipped``;
2. ``build``: inputs, reference and buffers (local work; an error on any rank fails the case everywhere);
3. ``first call``: one collective, then ``check``: every rank's output against its own reference;
4. ``timing``: :func:`gpucompare.measure.distributed.time_collective` (nccl-tests' loop, slowest rank);
   algbw and busbw from :func:`gpucompare.workloads.collective.bandwidths`.

A collective that raises (a peer died, or hung past ``timeout_s``) stops the suite: the ranks still alive
name the ranks that are behind (:func:`gpucompare.measure.distributed.behind`), rank 0 writes the case as
``failed`` with that reason, and each rank raises :class:`~gpucompare.measure.distributed.DistributedError`.
When the launcher stops rank 0 (SIGTERM, after another rank exited), rank 0 writes the case as ``failed``
the same way. Records already written stay whole (appended one line at a time, signals blocked meanwhile).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist

from gpucompare import console, reference
from gpucompare.errors import GpucompareError, first_line
from gpucompare.measure import device as devinfo
from gpucompare.measure import distributed as dd
from gpucompare.measure import runner, timing
from gpucompare.measure.case import base_record, impl_available
from gpucompare.measure.machine import describe_machine
from gpucompare.results import RunWriter

PHASES = ("start", "build", "first call", "check", "timing", "done")


class CollectiveFailure(GpucompareError):
    """A collective raised on this rank (a peer died, or hung past the group's timeout)."""

    def __init__(self, phase: str, exc: BaseException):
        super().__init__(f"{phase} raised {first_line(exc)}")
        self.phase = phase


class LauncherStop(GpucompareError):
    """The launcher sent SIGTERM: another rank exited, and torchrun is stopping the job."""


@dataclass
class Context:
    """What every case of one distributed run shares."""

    launch: dd.Launch
    dev: torch.device
    timing: dd.CollectiveTiming
    machine: dict
    peaks: dict
    command: str
    run_id: str = ""
    writer: RunWriter | None = None
    records: list = field(default_factory=list)


class _Case:
    """One case's progress marks and agreements."""

    def __init__(self, ctx: Context, index: int):
        self.ctx, self.index = ctx, index

    def mark(self, phase: str) -> None:
        dd.mark_progress(self.ctx.launch.rank, self.index, phase)

    def agree(self, phase: str, ok: bool, why: str) -> tuple[bool, str]:
        """(every rank ok, the failing ranks and the first one's reason)."""
        self.mark(phase)
        got: list[Any] = [None] * self.ctx.launch.world_size
        try:
            dist.all_gather_object(got, (bool(ok), why))
        except Exception as exc:
            raise CollectiveFailure(phase, exc) from None
        bad = [(r, w) for r, (o, w) in enumerate(got) if not o]
        if not bad:
            return True, ""
        ranks = ", ".join(str(r) for r, _ in bad)
        return False, f"rank {ranks}: {bad[0][1]}" if self.ctx.launch.world_size > 1 else bad[0][1]

    def collective(self, phase: str, fn: Callable[[], Any]) -> Any:
        self.mark(phase)
        try:
            out = fn()
            if self.ctx.dev.type == "cuda":
                torch.cuda.synchronize(self.ctx.dev)
            return out
        except Exception as exc:
            raise CollectiveFailure(phase, exc) from None


def _local(fn: Callable[[], Any], what: str) -> tuple[Any, str]:
    """(result, "") or (None, why) for local work whose failure the ranks must agree on."""
    try:
        return fn(), ""
    except Exception as exc:
        return None, f"{what} raised {first_line(exc)}"


def _prepare(w: Any, shape: Any, dtype: str, impl: Any, dev: torch.device) -> tuple[Any, Any]:
    inputs = w.make_inputs(shape, dtype, dev, seed=0)
    ref = w.reference(inputs)
    return ref, impl.build(inputs, dtype)


def _base_record(ctx: Context, w: Any, shape: Any, dtype: str, impl: Any) -> dict:
    """The case's record before it is measured, with this rank's machine and peaks."""
    return base_record(
        w,
        shape,
        dtype,
        impl,
        device=ctx.dev,
        machine=ctx.machine,
        peaks=ctx.peaks,
        command=ctx.command,
        run_id=ctx.run_id,
    )


def measure_collective_one(ctx: Context, index: int, w: Any, shape: Any, dtype: str, impl: Any) -> dict:
    """One case on every rank; the record (the same status on every rank; rank 0's is the one written)."""
    from gpucompare.workloads.collective import bandwidths, bus_factor, message_bytes

    n, dev = ctx.launch.world_size, ctx.dev
    rec = _base_record(ctx, w, shape, dtype, impl)
    size = message_bytes(w.name, int(shape["bytes"]), dtype, n)
    backend = str(dist.get_backend())
    rec.update(method=ctx.timing.describe(dev), flops=0, bytes=size)
    rec["collective"] = {
        "world_size": n,
        "backend": backend,
        "backend_version": dd.backend_version(backend),
        "algorithm": dd.algorithm() if "nccl" in backend else "gloo's own",
        "size_bytes": size,
        "bus_factor": bus_factor(w.name, n),
    }
    case = _Case(ctx, index)
    ok, why = impl_available(impl, dtype, dev, shape)
    if ok and dtype not in w.dtypes_for(dev):
        ok, why = False, f"{dtype} is not measured on this device ({dev})"
    ok, why = case.agree("start", ok, why)
    if not ok:
        return {**rec, "status": "skipped", "reason": why}
    built, why = _local(lambda: _prepare(w, shape, dtype, impl, dev), "building inputs and reference")
    ok, why = case.agree("build", built is not None, why)
    if not ok:
        return {**rec, "status": "failed", "reason": why}
    ref, fn = built
    out = case.collective("first call", fn)
    chk = reference.check(out, ref, dtype)
    rec["rel_error"], rec["error_bound"] = (
        (chk.rel_error if chk.rel_error != float("inf") else None),
        chk.bound,
    )
    ok, why = case.agree("check", chk.ok, f"wrong output: {chk.message}")
    if not ok:
        return {**rec, "status": "failed", "reason": why}
    del out, ref
    t = case.collective("timing", lambda: dd.time_collective(fn, dev, ctx.timing))
    case.mark("done")
    algbw, busbw = bandwidths(w.name, size, t.median_s, n)
    tflops, gbps = timing.throughput(0, size, t.median_s)
    rec["collective"].update(algbw_gbps=algbw, busbw_gbps=busbw)
    rec.update(
        status="ok",
        median_s=t.median_s,
        p20_s=t.p20_s,
        p80_s=t.p80_s,
        min_s=t.min_s,
        count=t.count,
        cv=t.cv,
        rel_iqr=t.rel_iqr,
        noise_target_met=t.noise_target_met,
        tflops=tflops,
        gbps=gbps,
    )
    return rec


# ------------------------------------------------------------------------------------------ the suite


def _write(ctx: Context, rec: dict) -> None:
    """Rank 0 appends ``rec``; SIGTERM waits until the line is written, so a record is never cut."""
    ctx.records.append(rec)
    if ctx.writer is None:
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        ctx.writer.append(rec)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise LauncherStop("stopped by the launcher (SIGTERM): another rank exited; see the launcher's report")


def _failure_reason(ctx: Context, index: int, exc: CollectiveFailure) -> str:
    lag = dd.behind(dd.progress(ctx.launch.world_size), index, exc.phase, PHASES)
    who = (
        "behind: " + "; ".join(lag)
        if lag
        else "no rank is behind: a rank died or hung inside the collective (the launcher names one that exited)"
    )
    return f"rank {ctx.launch.rank}: {exc} ({who})"


def _plan(tier: str, only: Sequence[str] | None, dtypes: Sequence[str] | None, dev: torch.device) -> list:
    cases = runner.plan(tier, only or ["collective"], dtypes, device=dev)
    other = sorted({w.name for w, *_ in cases if w.intent != "communication"})
    if other:
        raise ValueError(
            f"under a distributed launch only collectives run; {', '.join(other)} must run without torchrun"
        )
    if not cases:
        raise ValueError(f"nothing to run for tier {tier!r} with workloads {only} and dtypes {dtypes}")
    return cases


def _open(ctx: Context, out_dir: str | Path, tier: str, envs: list, timeout_s: float, planned: int) -> None:
    """Rank 0 describes the machine and opens the run folder; every rank learns the run id."""
    if ctx.launch.rank == 0:
        ctx.machine, ctx.peaks = describe_machine(ctx.dev, ctx.command, peaks=False)
        ctx.machine["tier"] = tier
        ctx.machine["distributed"] = {"world_size": ctx.launch.world_size, "ranks": envs}
        ctx.writer = RunWriter(out_dir, ctx.machine, planned_cases=planned)
    box = [ctx.writer.run_id if ctx.writer else None]
    dist.broadcast_object_list(box, src=0)
    ctx.run_id = box[0]
    dd.set_case_timeout(timeout_s)


def run_distributed(
    launch: dd.Launch,
    *,
    tier: str | None,
    only: Sequence[str] | None,
    dtypes: Sequence[str] | None,
    out_dir: str | Path,
    timeout_s: float,
    command: str,
    progress: bool = True,
    stream: TextIO | None = None,
) -> Path | None:
    """Run the collective cases on this rank; rank 0 returns the run folder, the others None."""
    dev = dd.init_group(launch, timeout_s)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        envs: list[Any] = [None] * launch.world_size
        dist.all_gather_object(envs, dd.rank_environment(launch, dev))
        tier = tier or runner.default_tier()
        cases = _plan(tier, only, dtypes, dev)
        mode = {"mode": devinfo.mode_of(dev)}
        ctx = Context(launch, dev, dd.CollectiveTiming.for_device(dev), mode, {}, command)
        _open(ctx, out_dir, tier, envs, timeout_s, len(cases))
        _run_cases(ctx, cases, progress)
        if ctx.writer is not None and len(ctx.records) == len(cases):
            ctx.writer.finish()
        if ctx.writer is not None:
            console.echo(*runner.summary(ctx.records), f"results: {ctx.writer.path}", file=stream)
            return ctx.writer.path
        return None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if dist.is_initialized():
            dist.destroy_process_group()


def _run_cases(ctx: Context, cases: list, progress: bool) -> None:
    quiet = ctx.launch.rank != 0
    with console.CaseProgress(len(cases), sys.stderr, bar=progress and not quiet) as bar:
        for index, (w, shape, dtype, impl) in enumerate(cases):
            label = runner.case_id(w, shape, dtype, impl)
            if not quiet:
                bar.start(label)
            try:
                rec = measure_collective_one(ctx, index, w, shape, dtype, impl)
            except (CollectiveFailure, LauncherStop) as exc:
                _stop(ctx, index, label, w, shape, dtype, impl, exc)
            _write(ctx, rec)
            if not quiet:
                bar.finish(rec["status"], runner._progress_detail(rec))


def _stop(ctx: Context, index: int, label: str, w, shape, dtype, impl, exc: GpucompareError) -> None:
    """Write the failed case (rank 0) and raise the one-line error naming the ranks behind."""
    if isinstance(exc, CollectiveFailure):
        reason = _failure_reason(ctx, index, exc)
    else:
        reason = f"rank {ctx.launch.rank}: {exc}"
    rec = _base_record(ctx, w, shape, dtype, impl)
    _write(ctx, {**rec, "status": "failed", "reason": reason})
    where = f" (records so far in {ctx.writer.path})" if ctx.writer else ""
    raise dd.DistributedError(f"{label}: {reason}; the run stops here{where}") from None
