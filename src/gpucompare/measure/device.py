"""What is here: the device, the chip it is, and the software versions (``run.json``'s machine description).

:func:`describe` gives the mode (``"gpu"`` or ``"cpu-fallback"``), the driver's device name resolved to a chip
of the spec database (the SM count and the memory are cross-checked by :func:`gpucompare.specs.match_device`,
so an H100 PCIe is never taken for an SXM part), compute capability, SM count, L2 size, memory, clocks,
versions, host and CPU. The peaks a measurement is compared with are in :mod:`.peaks`; NVML telemetry in
:mod:`.telemetry`.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
from typing import Any

import torch

from gpucompare import hw
from gpucompare.measure.telemetry import _nvml, _nvml_device_facts, pci_bus_id


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _as_device(device: torch.device | str | None) -> torch.device:
    dev = hw.default_device() if device is None else torch.device(device)
    if dev.type not in ("cuda", "cpu"):
        raise ValueError(f"unsupported device {dev}: gpucompare runs on a CUDA GPU or the CPU")
    if dev.type == "cuda" and not hw.has_gpu():
        raise ValueError(f"device {dev} requested, but torch sees no CUDA GPU here")
    return dev


def mode_of(dev: torch.device) -> str:
    """The run mode of a device: ``"gpu"``, or the pipeline-check mode on the CPU (see ``results.is_pipeline_check``)."""
    from gpucompare.results import PIPELINE_CHECK_MODE

    return "gpu" if dev.type == "cuda" else PIPELINE_CHECK_MODE


def cuda_index(dev: torch.device) -> int:
    """The torch index of a CUDA device (``cuda`` means the current device)."""
    return dev.index if dev.index is not None else torch.cuda.current_device()


def l2_cache_bytes(device: torch.device | str | None = None) -> int | None:
    """The L2 cache size in bytes of a CUDA device (``get_device_properties().L2_cache_size``); None on CPU."""
    dev = _as_device(device)
    if dev.type != "cuda":
        return None
    size = getattr(torch.cuda.get_device_properties(cuda_index(dev)), "L2_cache_size", None)
    return int(size) if size else None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def versions() -> dict[str, str | None]:
    """python, torch, triton, cuda (torch's build), driver (NVML; None without it), gpucompare."""
    import gpucompare

    driver = None
    nv, _ = _nvml()
    if nv is not None:
        try:
            driver = str(nv.nvmlSystemGetDriverVersion())
        except Exception:  # NVML error or a missing symbol: the version is simply unknown
            driver = None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "triton": _version("triton"),
        "cuda": torch.version.cuda,
        "driver": driver,
        "gpucompare": getattr(gpucompare, "__version__", None) or _version("gpucompare"),
    }


def _match_chip(name: str, sm_count: int | None, memory_gb: float | None) -> tuple[str | None, str]:
    """(chip id, reason) from the spec database's device matcher; never a wrong chip, never an exception."""
    from gpucompare.errors import GpucompareError
    from gpucompare.specs import match_device

    try:
        match = match_device(name, sm_count=sm_count, memory_gb=memory_gb)
    except (GpucompareError, ValueError) as exc:
        return None, f"spec database lookup failed: {exc}"
    return (match.chip.id if match.chip is not None else None), match.reason


def describe(device: torch.device | str | None = None) -> dict[str, Any]:
    """The machine description for ``run.json`` (see docs/architecture.md).

    Keys: ``mode``, ``device`` (torch's string), ``device_name``, ``chip_id`` and ``chip_match_reason``,
    ``compute_capability`` (``"9.0"``; None on CPU), ``sm_count``, ``l2_bytes``, ``memory_gb`` (total device
    memory in GB = bytes / 1e9, as the spec database's matcher expects), ``clock_rate_mhz``,
    ``memory_clock_mhz``, ``memory_bus_width_bits``, ``pci_bus_id`` (None when not reported),
    ``versions``, ``hostname``, ``cpu_model``, ``cpu_cores`` (logical), ``torch_threads``.
    ``device=None`` means the default device (the GPU when there is one).
    """
    dev = _as_device(device)
    desc: dict[str, Any] = {
        "mode": mode_of(dev),
        "device": str(dev),
        "device_name": None,
        "chip_id": None,
        "chip_match_reason": None,
        "compute_capability": None,
        "sm_count": None,
        "l2_bytes": None,
        "memory_gb": None,
        "clock_rate_mhz": None,
        "memory_clock_mhz": None,
        "memory_bus_width_bits": None,
        "pci_bus_id": None,
        "versions": versions(),
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if dev.type == "cpu":
        desc["device_name"] = desc["cpu_model"] or platform.machine() or "cpu"
        desc["chip_match_reason"] = "CPU fallback: the spec database holds GPUs only"
        desc["memory_gb"] = _host_memory_gb()
        return desc

    idx = cuda_index(dev)
    props = torch.cuda.get_device_properties(idx)
    desc.update(_gpu_properties(props))
    if (
        desc["clock_rate_mhz"] is None
        or desc["memory_clock_mhz"] is None
        or not desc["memory_bus_width_bits"]
    ):
        desc.update({k: v for k, v in _nvml_device_facts(idx).items() if desc.get(k) is None})
    desc["chip_id"], desc["chip_match_reason"] = _match_chip(
        desc["device_name"], desc["sm_count"], desc["memory_gb"]
    )
    return desc


def _gpu_properties(props: Any) -> dict[str, Any]:
    """The describe() fields read from ``torch.cuda.get_device_properties`` (clock attributes may be absent)."""

    def attr(name: str) -> Any:
        return getattr(props, name, None)

    def khz_to_mhz(value: Any) -> float | None:
        return float(value) / 1e3 if value else None

    major, minor = attr("major"), attr("minor")
    total = attr("total_memory")
    bus = attr("memory_bus_width")
    return {
        "device_name": str(attr("name")),
        "compute_capability": f"{major}.{minor}" if major is not None else None,
        "sm_count": int(attr("multi_processor_count")) if attr("multi_processor_count") else None,
        "l2_bytes": int(attr("L2_cache_size")) if attr("L2_cache_size") else None,
        "memory_gb": round(float(total) / 1e9, 3) if total else None,
        "clock_rate_mhz": khz_to_mhz(attr("clock_rate")),
        "memory_clock_mhz": khz_to_mhz(attr("memory_clock_rate")),
        "memory_bus_width_bits": int(bus) if bus else None,
        "pci_bus_id": pci_bus_id(props),
    }


def _host_memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 3)
    except (ValueError, OSError, AttributeError):
        return None
