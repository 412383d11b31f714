"""The facts stored with every run and record: the machine (``run.json``), its local peaks, the git commit
and the time."""

from __future__ import annotations

import functools
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from gpucompare.measure import device as devinfo
from gpucompare.measure import peaks as peakinfo


@functools.cache
def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout gpucompare runs from; None when it is not a git repository."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second (``2026-11-23T12:00:00+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _plain(obj: Any) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


def local_peak(peaks: Mapping[str, Any], dtype: str) -> float | None:
    """The local peak TFLOP/s for ``dtype`` from ``device.local_peaks`` (None when unknown)."""
    per_dtype = peaks.get("tflops")
    if per_dtype is None:
        per_dtype = peaks.get("peak_tflops", {})
    value = per_dtype.get(dtype) if isinstance(per_dtype, Mapping) else None
    return float(value) if value is not None else None


def local_bandwidth(peaks: Mapping[str, Any]) -> float | None:
    value = peaks.get("bandwidth_tbps")
    return float(value) if value is not None else None


def describe_machine(device: torch.device, command: str | None, *, peaks: bool = True) -> tuple[dict, dict]:
    """(machine description for run.json, local peaks): ``device.describe`` + peaks + provenance.

    ``peaks=False``: no local peaks (``{}``), for runs whose roof is not the chip's compute or memory (the
    collectives: their roof is the link), so the CPU fallback does not spend seconds measuring its peak."""
    desc = dict(devinfo.describe(device))
    local = dict(_plain(peakinfo.local_peaks(desc))) if peaks else {}
    machine = {
        **desc,
        "local_peaks": local,
        "command": command,
        "git_commit": git_commit(),
        "timestamp": utc_now(),
        "hostname": desc.get("hostname") or socket.gethostname(),
        "matmul_flags": _matmul_flags(),
    }
    return machine, local


def _matmul_flags() -> dict[str, Any] | None:
    """The cuBLAS flags the torch GEMM baseline runs under (``kernels.gemm.matmul_flags``: reduced-precision
    reductions off on both sides); None when the kernel module cannot be imported."""
    from gpucompare.workloads.availability import kernel_status

    mod, _ = kernel_status("gemm", "matmul_flags")
    return mod.matmul_flags() if mod is not None else None
