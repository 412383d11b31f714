"""What is here: the device, the chip it is, its local peaks, the software versions and GPU telemetry.

Three questions, answered in one place:

* :func:`describe` -- the machine description that goes into ``run.json``: mode (``"gpu"`` or
  ``"cpu-fallback"``), the driver's device name resolved to a chip of the spec database (the SM count and
  the memory are cross-checked by :func:`gpucompare.specs.match_device`, so an H100 PCIe is never taken for
  an SXM part), compute capability, SM count, L2 size, memory, clocks, versions, host and CPU.
* :func:`local_peaks` -- the peaks a measurement is compared with on *this* device:

  - a chip of the database: its dense spec peaks (source ``"spec"``);
  - an NVIDIA GPU the database does not know: an estimate from the device's own properties (source
    ``"estimated-from-device"``)::

        peak_TFLOP/s(dtype) = SMs × f_clock × (FLOP / clock / SM)(arch, dtype) / 1e12
        bandwidth_TB/s      = 2 (DDR) × f_mem × bus_width_bits / 8 / 1e12

    with the FLOP/clock/SM table :data:`FLOP_PER_CLOCK_PER_SM` below;
  - the CPU: an honest *measured* figure (best of several large ``torch.mm`` and a large ``copy_``;
    source ``"measured-cpu"``), cached per process.

* :func:`telemetry_snapshot` -- SM/memory clocks, power, temperature and the clock-event (throttle)
  reasons through NVML (package ``nvidia-ml-py``, imported as ``pynvml``). Every field is read on its own;
  a field the GPU does not support is None, and no NVML (no driver, no package) gives every field None with
  the reason in ``error``. It never raises.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import math
import os
import platform
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

from gpucompare import hw

# ---------------------------------------------------------------------------------------------- constants

#: Dense FLOP per clock per SM by compute capability (major, minor), as the datacenter/workstation parts
#: run them: tensor cores for tf32/bf16/fp16/fp8/fp4/int8 (fp32 accumulate), the vector units for fp32,
#: and fp64 as the spec database counts it (the tensor-core DMMA rate on sm80/sm90, the vector rate
#: elsewhere). None: the architecture has no such path. Derived from datasheet peaks, e.g.
#: A100 bf16 312e12 / (108 SMs × 1.41e9) = 2048; H100 SXM bf16 989.4e12 / (132 × 1.83e9) ≈ 4096;
#: L40S bf16 362e12 / (142 × 2.52e9) ≈ 1024; V100 fp16 125e12 / (80 × 1.53e9) ≈ 1024.
FLOP_PER_CLOCK_PER_SM: dict[tuple[int, int], dict[str, int | None]] = {
    (7, 0): {"fp64": 64, "fp32": 128, "tf32": None, "bf16": None, "fp16": 1024, "fp8": None, "fp4": None,
             "int8": None},
    (7, 5): {"fp64": 4, "fp32": 128, "tf32": None, "bf16": None, "fp16": 1024, "fp8": None, "fp4": None,
             "int8": 2048},
    (8, 0): {"fp64": 128, "fp32": 128, "tf32": 1024, "bf16": 2048, "fp16": 2048, "fp8": None, "fp4": None,
             "int8": 4096},
    (8, 6): {"fp64": 4, "fp32": 256, "tf32": 512, "bf16": 1024, "fp16": 1024, "fp8": None, "fp4": None,
             "int8": 2048},
    (8, 9): {"fp64": 4, "fp32": 256, "tf32": 512, "bf16": 1024, "fp16": 1024, "fp8": 2048, "fp4": None,
             "int8": 2048},
    (9, 0): {"fp64": 256, "fp32": 256, "tf32": 2048, "bf16": 4096, "fp16": 4096, "fp8": 8192, "fp4": None,
             "int8": 8192},
    (10, 0): {"fp64": 128, "fp32": 256, "tf32": 4096, "bf16": 8192, "fp16": 8192, "fp8": 16384, "fp4": 32768,
              "int8": 16384},
    (12, 0): {"fp64": 4, "fp32": 256, "tf32": 512, "bf16": 1024, "fp16": 1024, "fp8": 2048, "fp4": 4096,
              "int8": 2048},
}

#: GeForce parts of these architectures run tensor-core math with fp32 accumulation (what torch and
#: Triton use) at half the rate of their workstation siblings (RTX 4090: 165 dense fp16 TFLOP/s with fp32
#: accumulate vs 330 with fp16 accumulate); these dtypes are halved for a device named "GeForce".
GEFORCE_HALF_RATE_ARCHS = frozenset({(7, 5), (8, 6), (8, 9), (12, 0)})
GEFORCE_HALF_RATE_DTYPES = frozenset({"tf32", "bf16", "fp16", "fp8", "fp4"})

#: Slowdown reasons that mean the measurement ran below its clock target. GPU idle, application-clock
#: settings, sync boost and display-clock settings are not throttling.
THROTTLE_REASONS = frozenset(
    {"sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"}
)

# name -> (pynvml constant of the current API, older "Throttle" constant, documented bit value)
_REASON_BITS: tuple[tuple[str, str, int], ...] = (
    ("gpu_idle", "GpuIdle", 0x1),
    ("applications_clocks_setting", "ApplicationsClocksSetting", 0x2),
    ("sw_power_cap", "SwPowerCap", 0x4),
    ("hw_slowdown", "HwSlowdown", 0x8),
    ("sync_boost", "SyncBoost", 0x10),
    ("sw_thermal_slowdown", "SwThermalSlowdown", 0x20),
    ("hw_thermal_slowdown", "HwThermalSlowdown", 0x40),
    ("hw_power_brake_slowdown", "HwPowerBrakeSlowdown", 0x80),
    ("display_clock_setting", "DisplayClockSetting", 0x100),
)

TELEMETRY_FIELDS = (
    "sm_clock_mhz",
    "sm_clock_max_mhz",
    "mem_clock_mhz",
    "mem_clock_max_mhz",
    "power_w",
    "power_limit_w",
    "temperature_c",
    "clock_event_reasons",
    "power_violation_ns",
    "thermal_violation_ns",
)

#: Cumulative NVML violation counters (``nvmlDeviceGetViolationStatus``: nanoseconds, since the driver
#: loaded, that the clocks were held below their target by the power / thermal policy), by telemetry field.
#: The clock-event reasons are instantaneous, read before and after a measurement; these counters also
#: see a power cap or thermal slowdown that came and went *during* it.
VIOLATION_POLICIES = {
    "power_violation_ns": "NVML_PERF_POLICY_POWER",
    "thermal_violation_ns": "NVML_PERF_POLICY_THERMAL",
}

# CPU peak measurement: n×n fp32 matmuls (best of reps) and a copy of COPY_BYTES.
CPU_MM_SIZES = {"fp32": (2048, 5), "bf16": (1024, 3), "fp16": (256, 2)}
CPU_COPY_BYTES = 128 * 2**20
CPU_PEAK_BUDGET_S = 1.0  # per dtype: repetitions stop early once this is spent (the best so far counts)


# ---------------------------------------------------------------------------------------------- helpers


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _as_device(device: torch.device | str | None) -> torch.device:
    dev = hw.default_device() if device is None else torch.device(device)
    if dev.type not in ("cuda", "cpu"):
        raise ValueError(f"unsupported device {dev}: gpucompare runs on a CUDA GPU or the CPU")
    if dev.type == "cuda" and not hw.has_gpu():
        raise ValueError(f"device {dev} requested, but torch sees no CUDA GPU here")
    return dev


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


# ---------------------------------------------------------------------------------------------- describe


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
        "mode": "gpu" if dev.type == "cuda" else "cpu-fallback",
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
    if desc["clock_rate_mhz"] is None or desc["memory_clock_mhz"] is None or not desc["memory_bus_width_bits"]:
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
    pci = None
    if attr("pci_bus_id") is not None:
        pci = f"{int(attr('pci_domain_id') or 0):08x}:{int(attr('pci_bus_id')):02x}:{int(attr('pci_device_id') or 0):02x}.0"
    return {
        "device_name": str(attr("name")),
        "compute_capability": f"{major}.{minor}" if major is not None else None,
        "sm_count": int(attr("multi_processor_count")) if attr("multi_processor_count") else None,
        "l2_bytes": int(attr("L2_cache_size")) if attr("L2_cache_size") else None,
        "memory_gb": round(float(total) / 1e9, 3) if total else None,
        "clock_rate_mhz": khz_to_mhz(attr("clock_rate")),
        "memory_clock_mhz": khz_to_mhz(attr("memory_clock_rate")),
        "memory_bus_width_bits": int(bus) if bus else None,
        "pci_bus_id": pci,
    }


def _host_memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 3)
    except (ValueError, OSError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------- local peaks


def _dtypes() -> tuple[str, ...]:
    from gpucompare.specs import DTYPES

    return tuple(DTYPES)


def local_peaks(desc: Mapping[str, Any]) -> dict[str, Any]:
    """The peaks of the device ``desc`` (from :func:`describe`) describes.

    Returns ``{"source", "tflops": {dtype: TFLOP/s | None}, "bandwidth_tbps", "chip_id", "notes": [..]}``
    with ``source`` one of ``"spec"``, ``"estimated-from-device"``, ``"measured-cpu"``. Never raises for a
    GPU the database does not know, and never gives another chip's figures.
    """
    mode = desc.get("mode")
    if mode == "cpu-fallback":
        return measured_cpu_peaks()
    if mode != "gpu":
        raise ValueError(f"local_peaks needs a describe() dict with mode 'gpu' or 'cpu-fallback', got {mode!r}")
    chip_id = desc.get("chip_id")
    if chip_id:
        from gpucompare.specs import get_chip

        chip = get_chip(chip_id)
        return {
            "source": "spec",
            "tflops": {d: chip.peak_tflops.get(d) for d in _dtypes()},
            "bandwidth_tbps": chip.bandwidth_tbps,
            "chip_id": chip.id,
            "notes": [f"dense spec peaks of {chip.id} from the spec database"],
        }
    return estimated_gpu_peaks(desc)


def _parse_cc(cc: Any) -> tuple[int, int] | None:
    if isinstance(cc, (tuple, list)) and len(cc) == 2:
        return int(cc[0]), int(cc[1])
    if isinstance(cc, str) and "." in cc:
        major, minor = cc.split(".", 1)
        if major.isdigit() and minor.isdigit():
            return int(major), int(minor)
    return None


def estimated_gpu_peaks(desc: Mapping[str, Any]) -> dict[str, Any]:
    """Peaks of an NVIDIA GPU the database does not know, from its own properties (see the module doc).

    The clock is the one the device reports (its maximum boost clock): vendors quote tensor peaks at a
    lower sustained clock (H100 SXM: 1830 vs 1980 MHz), so these estimates run high by up to ~10 %.
    """
    notes: list[str] = []
    cc = _parse_cc(desc.get("compute_capability"))
    sms, clock = desc.get("sm_count"), desc.get("clock_rate_mhz")
    name = str(desc.get("device_name") or "")
    table = FLOP_PER_CLOCK_PER_SM.get(cc) if cc is not None else None
    tflops: dict[str, float | None] = dict.fromkeys(_dtypes())
    if table is None:
        notes.append(f"no FLOP/clock/SM table for compute capability {desc.get('compute_capability')}: "
                     "compute peaks unknown")
    elif not sms or not clock:
        notes.append("SM count or clock rate not reported: compute peaks unknown")
    else:
        geforce = "geforce" in name.lower() and cc in GEFORCE_HALF_RATE_ARCHS
        for dtype in tflops:
            per_clk = table.get(dtype)
            if per_clk is None:
                continue
            if geforce and dtype in GEFORCE_HALF_RATE_DTYPES:
                per_clk //= 2
            tflops[dtype] = sms * clock * 1e6 * per_clk / 1e12
        notes.append(f"{sms} SMs × {clock:g} MHz × FLOP/clock/SM of sm_{cc[0]}{cc[1]}, at the reported max clock")
        if geforce:
            notes.append("GeForce: tensor-core rates with fp32 accumulation halved")
    bw = None
    mem_clock, bus = desc.get("memory_clock_mhz"), desc.get("memory_bus_width_bits")
    if mem_clock and bus:
        bw = 2 * mem_clock * 1e6 * bus / 8 / 1e12
        notes.append(f"bandwidth = 2 × {mem_clock:g} MHz × {bus} bits / 8")
    else:
        notes.append("memory clock or bus width not reported: bandwidth unknown")
    if desc.get("chip_match_reason"):
        notes.append(f"not a database chip: {desc['chip_match_reason']}")
    return {"source": "estimated-from-device", "tflops": tflops, "bandwidth_tbps": bw, "chip_id": None,
            "notes": notes}


def _best_time(fn: Callable[[], Any], reps: int, budget_s: float = CPU_PEAK_BUDGET_S) -> float:
    """The shortest of up to ``reps`` timed calls; stops early once ``budget_s`` is spent (>= 1 call)."""
    best, start = math.inf, time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start >= budget_s:
            break
    return best


def measured_cpu_peaks() -> dict[str, Any]:
    """Attainable CPU peaks, measured once per process (about one second on two cores); a fresh copy.

    The rate of each dtype d is ``2 n³ / t_best / 1e12`` for an n×n ``torch.mm`` (sizes and repetitions in
    :data:`CPU_MM_SIZES`; fp16 is tiny because torch's CPU fp16 matmul runs at a few GFLOP/s); the roof
    ``tflops[d]`` of every measured dtype is the best of those rates (see the comment in the code), and
    ``bandwidth = 2 × bytes / t_best`` for ``dst.copy_(src)`` of :data:`CPU_COPY_BYTES` (read + write).
    Dtypes not measured are None.
    """
    return copy.deepcopy(_measure_cpu_peaks())


@functools.cache
def _measure_cpu_peaks() -> dict[str, Any]:
    gen = torch.Generator().manual_seed(0)
    tflops: dict[str, float | None] = dict.fromkeys(_dtypes())
    notes = []
    for dtype, (n, reps) in CPU_MM_SIZES.items():
        tdt = getattr(torch, {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[dtype])
        a = torch.randn(n, n, generator=gen).to(tdt)
        b = torch.randn(n, n, generator=gen).to(tdt)
        torch.mm(a, b)  # warm-up
        tflops[dtype] = 2 * n**3 / _best_time(lambda a=a, b=b: torch.mm(a, b), reps) / 1e12
        notes.append(f"{dtype}: best of <= {reps} torch.mm {n}x{n}: {tflops[dtype] * 1e3:.3g} GFLOP/s")
    # The roof for every measured dtype is the best rate of any of them: a CPU kernel may compute a
    # low-precision op in fp32 (torch's CPU attention kernels upcast fp16), so the slow fp16 torch.mm
    # is not a ceiling for fp16 work, and a "% of peak" above 100 % would say the roof is wrong.
    roof = max(v for v in tflops.values() if v is not None)
    tflops = {d: (roof if v is not None else None) for d, v in tflops.items()}
    notes.append("roof per dtype: the best of the measured rates")
    src = torch.ones(CPU_COPY_BYTES // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    dst.copy_(src)
    bw = 2 * CPU_COPY_BYTES / _best_time(lambda: dst.copy_(src), 3) / 1e12
    notes.append(f"bandwidth: best of 3 copy_ of {CPU_COPY_BYTES // 2**20} MiB (read + write)")
    return {"source": "measured-cpu", "tflops": tflops, "bandwidth_tbps": bw, "chip_id": None, "notes": notes}


# ---------------------------------------------------------------------------------------------- NVML


@functools.cache
def _nvml() -> tuple[Any, str | None]:
    """(the initialised pynvml module, None) or (None, the reason); NVML is initialised once per process."""
    try:
        import pynvml
    except ImportError as exc:
        return None, f"pynvml (package nvidia-ml-py) not importable: {exc}"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"NVML unavailable: {_first_line(exc)}"
    return pynvml, None


def _nvml_handle(nv: Any, index: int) -> Any:
    """The NVML handle of torch's CUDA device ``index``: by PCI bus id, else by UUID, when torch reports
    them (so that ``CUDA_VISIBLE_DEVICES`` renumbering cannot pick another GPU), else by NVML index."""
    if hw.has_gpu() and 0 <= index < torch.cuda.device_count():
        props = torch.cuda.get_device_properties(index)
        pci = _gpu_properties(props)["pci_bus_id"]
        uuid = getattr(props, "uuid", None)
        lookups = []
        if pci is not None:
            lookups.append(lambda: nv.nvmlDeviceGetHandleByPciBusId(pci))
        if uuid is not None:
            text = str(uuid)
            lookups.append(lambda: nv.nvmlDeviceGetHandleByUUID(text if text.startswith(("GPU-", "MIG-"))
                                                                else f"GPU-{text}"))
        for lookup in lookups:
            try:
                return lookup()
            except Exception:  # not found by this key: try the next one
                continue
    return nv.nvmlDeviceGetHandleByIndex(index)


def _nvml_device_facts(index: int) -> dict[str, Any]:
    """Max SM clock, max memory clock and bus width from NVML, for a torch build that lacks them."""
    nv, _ = _nvml()
    out: dict[str, Any] = {}
    if nv is None:
        return out
    try:
        handle = _nvml_handle(nv, index)
    except Exception:
        return out
    for key, call in (
        ("clock_rate_mhz", lambda: nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_SM)),
        ("memory_clock_mhz", lambda: nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_MEM)),
        ("memory_bus_width_bits", lambda: nv.nvmlDeviceGetMemoryBusWidth(handle)),
    ):
        try:
            out[key] = float(call()) if key != "memory_bus_width_bits" else int(call())
        except Exception:
            continue
    return out


def _reason_table() -> tuple[tuple[str, int], ...]:
    """(name, bit) pairs from pynvml's constants (current ``ClocksEvent`` names, then the older
    ``ClocksThrottle`` ones), falling back to the documented values when pynvml is absent."""
    try:
        import pynvml
    except ImportError:
        pynvml = None
    table = []
    for name, suffix, bit in _REASON_BITS:
        value = None
        for prefix in ("nvmlClocksEventReason", "nvmlClocksThrottleReason"):
            value = getattr(pynvml, prefix + suffix, None) if pynvml is not None else None
            if value is not None:
                break
        table.append((name, int(value) if value is not None else bit))
    return tuple(table)


def decode_clock_event_reasons(bits: int) -> list[str]:
    """Names of the clock-event (throttle) reason bits set in ``bits``, in bit order.

    Bits without a name here come back as ``"unknown_0x..."`` so nothing is silently dropped.
    ``decode_clock_event_reasons(0x4) == ["sw_power_cap"]``.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 0:
        raise ValueError(f"clock event reasons must be a non-negative int bit mask, got {bits!r}")
    names, known = [], 0
    for name, bit in _reason_table():
        known |= bit
        if bits & bit:
            names.append(name)
    rest = bits & ~known
    pos = 0
    while rest >> pos:
        if (rest >> pos) & 1:
            names.append(f"unknown_{1 << pos:#x}")
        pos += 1
    return names


def _empty_telemetry(error: str | None) -> dict[str, Any]:
    return {**dict.fromkeys(TELEMETRY_FIELDS), "error": error}


def telemetry_snapshot(index: int = 0) -> dict[str, Any]:
    """One reading of GPU ``index`` (torch's numbering): clocks (MHz), power and limit (W), temperature (°C),
    clock-event reason names, and ``error`` (None, the reason NVML is unavailable, or the fields that
    failed). Never raises."""
    nv, why = _nvml()
    if nv is None:
        return _empty_telemetry(why)
    try:
        handle = _nvml_handle(nv, int(index))
    except Exception as exc:
        return _empty_telemetry(f"no NVML handle for GPU {index}: {_first_line(exc)}")

    def reasons() -> list[str]:
        fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
        fn = fn or nv.nvmlDeviceGetCurrentClocksThrottleReasons
        return decode_clock_event_reasons(int(fn(handle)))

    def temperature() -> float:
        sensor = getattr(nv, "NVML_TEMPERATURE_GPU", 0)
        if hasattr(nv, "nvmlDeviceGetTemperature"):
            return float(nv.nvmlDeviceGetTemperature(handle, sensor))
        return float(nv.nvmlDeviceGetTemperatureV(handle, sensor))

    def violation(policy: str) -> Callable[[], int]:
        return lambda: int(nv.nvmlDeviceGetViolationStatus(handle, getattr(nv, policy)).violationTime)

    readers: dict[str, Callable[[], Any]] = {
        "sm_clock_mhz": lambda: float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM)),
        "sm_clock_max_mhz": lambda: float(nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_SM)),
        "mem_clock_mhz": lambda: float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_MEM)),
        "mem_clock_max_mhz": lambda: float(nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_MEM)),
        "power_w": lambda: nv.nvmlDeviceGetPowerUsage(handle) / 1e3,
        "power_limit_w": lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1e3,
        "temperature_c": temperature,
        "clock_event_reasons": reasons,
        **{key: violation(policy) for key, policy in VIOLATION_POLICIES.items()},
    }
    snap: dict[str, Any] = {}
    failed = []
    for key, read in readers.items():
        try:
            snap[key] = read()
        except Exception as exc:  # NotSupported, NoPermission, FunctionNotFound, ...: this field only
            snap[key] = None
            failed.append(f"{key}: {_first_line(exc)}")
    snap["error"] = "; ".join(failed) if failed else None
    return snap


def throttled(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool | None:
    """Was the GPU slowed down around a measurement taken between the ``before`` and ``after`` snapshots?

    True when either snapshot shows a slowdown reason (:data:`THROTTLE_REASONS`: power cap, thermal,
    hardware slowdown, power brake), or a violation counter (:data:`VIOLATION_POLICIES`) grew from
    ``before`` to ``after`` (a slowdown during the measurement that had ended by the second reading);
    False when reasons or counters were read and show none; None when nothing was read (unknown).
    Idle and application-clock settings do not count."""
    snaps = [s for s in (before, after) if s]
    known = [r for r in (s.get("clock_event_reasons") for s in snaps) if r is not None]
    grew: bool | None = None
    if before and after:
        for key in VIOLATION_POLICIES:
            b, a = before.get(key), after.get(key)
            if b is not None and a is not None:
                grew = bool(grew) or a > b
    if not known and grew is None:
        return None
    return bool(grew) or any(name in THROTTLE_REASONS for reasons in known for name in reasons)
