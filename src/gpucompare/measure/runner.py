"""The runner: a tier's cases (:func:`plan`), grouped by (workload, shape, dtype) and measured one group at a
time (:func:`gpucompare.measure.case.measure_case`: checked, then the implementations timed interleaved) into
one run folder (:func:`run_suite`).

Triton: kernel modules are imported lazily by the workloads, through the ``gpucompare.kernels`` package, which
sets Triton up first (:func:`gpucompare.hw.configure_triton`). A prebuilt Triton cache
(``gpucompare cache build``, :mod:`gpucompare.measure.triton_cache`) is installed before the first case when
its Triton build hash matches this one; ``run.json`` says whether it was used, and why not.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import torch

from gpucompare import console, hw
from gpucompare.errors import EnvironmentProblem, Interrupted
from gpucompare.measure import timing, triton_cache
from gpucompare.measure.case import (
    DeviceLostError,
    cuda_context_error,
    measure_case,
    measure_one,
    release_memory,
)
from gpucompare.measure.machine import describe_machine
from gpucompare.measure.summary import (
    _progress_detail,
    format_seconds,
    format_summary,
    format_throughput,
    percent_of_peak,
    summary,
)
from gpucompare.results import DEFAULT_ROOT, RunWriter, check_writable

__all__ = [  # the one-case and summary names are re-exported: callers know them as runner.*
    "TIERS", "DeviceLostError", "case_id", "cuda_context_error", "default_tier", "format_seconds",
    "format_summary", "format_throughput", "group_cases", "measure_case", "measure_one", "percent_of_peak",
    "plan", "release_memory", "run_suite", "summary",
]  # fmt: skip

TIERS = hw.TIERS


# ---------------------------------------------------------------- planning


def plan(
    tier: str,
    only: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    *,
    device: torch.device | str | None = None,
) -> list[tuple[Any, Any, str, Any]]:
    """The cases of a tier, in a fixed order: workloads (registry order) × shapes × dtypes × impls (an impl
    only for the dtypes it exists for, ``Impl.only_dtypes``).

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
                    only_for = getattr(impl, "only_dtypes", None)
                    if only_for is None or dt in only_for:
                        cases.append((w, shape, dt, impl))
    return cases


def group_cases(cases: Sequence[tuple[Any, Any, str, Any]]) -> list[list[tuple[Any, Any, str, Any]]]:
    """Consecutive cases of the same (workload, shape, dtype) together: the implementations timed
    interleaved (:func:`measure_case`), in plan order."""
    groups: list[list[tuple[Any, Any, str, Any]]] = []
    for case in cases:
        if groups and all(a is b or a == b for a, b in zip(groups[-1][0][:3], case[:3])):
            groups[-1].append(case)
        else:
            groups.append([case])
    return groups


def case_id(workload: Any, shape: Any, dtype: str, impl: Any) -> str:
    """Readable id: ``gemm-67x45x129-fp16-triton``."""
    return f"{workload.name}-{shape.label}-{dtype}-{impl.name}"


# ---------------------------------------------------------------- a whole suite


def default_tier() -> str:
    return "gpu" if hw.has_gpu() else "cpu"


def use_triton_cache(dev: torch.device, packed: str | Path | None, stream: TextIO | None = None) -> dict:
    """On a GPU, install the prebuilt Triton cache ``packed`` when it matches this Triton build and GPU, and
    say so (or why not) on ``stream`` (stderr); what happened, for ``run.json``. A cache named explicitly
    that is not a readable file is a ``ValueError`` (on a CPU too: a wrong path is never silently ignored)."""
    if packed is not None and not Path(packed).is_file():
        raise ValueError(f"--triton-cache {packed}: no such file")
    if dev.type != "cuda":
        return {"used": False, "message": "no GPU: Triton kernels run in the interpreter, nothing compiles"}
    cc = hw.compute_capability(dev)
    target = f"cuda:{cc[0]}{cc[1]}" if cc else None
    status = triton_cache.use_for_run(Path(packed) if packed is not None else None, target)
    print(f"gpucompare: {status.message}", file=stream if stream is not None else sys.stderr, flush=True)
    return status.as_dict()


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
    triton_cache_dir: str | Path | None = None,
) -> Path:
    """Run a tier (``ValueError`` for bad names, or ``--tier gpu`` without a GPU, before anything is written);
    return the run folder. ``out_dir`` is created and test-written before anything is measured
    (``ResultsError`` when it cannot be written). run.json records the planned case count and, once the last
    case is written, ``finished: true``.

    Records are appended as they are measured (``RunWriter``); the summary table goes to ``stream``
    (stdout), the progress lines to ``progress_stream`` (stderr). ``budget_s``: the timing budget per case
    instead of the device default (:meth:`gpucompare.timing.TimingConfig.for_device`). ``triton_cache_dir``:
    the prebuilt Triton cache (default ``triton_cache.DEFAULT_PATH``), installed on a GPU when its build hash
    and target match (:func:`use_triton_cache`).
    """
    dev = hw.default_device()
    config = timing.TimingConfig.for_device(dev)
    if budget_s is not None:
        if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) or not budget_s > 0:
            raise ValueError(f"the timing budget must be a positive number of seconds, got {budget_s!r}")
        config = dataclasses.replace(config, budget_s=float(budget_s))
    tier = tier or default_tier()
    if tier == "gpu" and dev.type != "cuda":
        raise EnvironmentProblem("tier 'gpu' needs a CUDA GPU and this machine has none; use tier 'cpu'")
    cases = plan(tier, only, dtypes, device=dev)
    if not cases:
        raise ValueError(
            f"nothing to run for tier {tier!r} with workloads {only or 'all'} and dtypes {dtypes or 'all'}"
        )
    check_writable(out_dir)  # before the minutes of measuring, not after
    command = command if command is not None else " ".join(["gpucompare", *sys.argv[1:]])
    machine, peaks = describe_machine(dev, command)
    machine["tier"] = tier
    machine["triton_cache"] = use_triton_cache(dev, triton_cache_dir, progress_stream)
    writer = RunWriter(out_dir, machine, planned_cases=len(cases))
    try:
        lost = _measure_all(
            cases,
            writer,
            bar_args=(len(cases), progress_stream, progress),
            device=dev,
            peaks=peaks,
            config=config,
            command=command,
        )
    except KeyboardInterrupt:  # Ctrl-C: every finished case is on disk (RunWriter appends and fsyncs each)
        raise Interrupted(
            f"{len(writer.records)} of {len(cases)} cases written to {writer.path} (kept; run.json says "
            "the run did not finish)"
        ) from None
    if not lost:
        writer.finish()
    console.echo(*summary(writer.records), f"results: {writer.path}", file=stream)
    if lost:
        raise DeviceLostError(
            f"{lost}; stopped after {len(writer.records)} of {len(cases)} cases (records so far in {writer.path}); "
            "run the rest in a new process (e.g. --only with the remaining workloads)",
            lost.record,
        ) from None
    return writer.path


def _measure_all(cases, writer, *, bar_args, device, peaks, config, command) -> DeviceLostError | None:
    """Measure the grouped cases into ``writer``; the DeviceLostError that stopped them, if one did."""
    dev = device
    lost: DeviceLostError | None = None
    with console.CaseProgress(*bar_args[:2], bar=bar_args[2]) as bar:
        for group in group_cases(cases):
            w, shape, dt = group[0][:3]
            try:
                records = measure_case(
                    w,
                    shape,
                    dt,
                    [c[3] for c in group],
                    device=dev,
                    machine=writer.machine,
                    peaks=peaks,
                    timing_config=config,
                    command=command,
                    run_id=writer.run_id,
                )
            except DeviceLostError as exc:
                lost, records = exc, exc.records
            for rec in records:
                bar.start(case_id(w, shape, dt, next(c[3] for c in group if c[3].name == rec["impl"])))
                writer.append(rec)  # a full disk stops here: the case's progress line ends "interrupted"
                bar.finish(rec["status"], _progress_detail(rec))
            if lost:
                break
    return lost
