"""GPU telemetry through NVML (package ``nvidia-ml-py``, imported as ``pynvml``).

:func:`telemetry_snapshot` gives SM/memory clocks, power, temperature and the clock-event (throttle) reasons.
Every field is read on its own; a field the GPU does not support is None, and no NVML (no driver, no package)
gives every field None with the reason in ``error``. It never raises. :func:`throttled` decides whether a
measurement ran below its clock target. :class:`Sampler` reads SM clock, power and temperature in a background
thread *during* the timed window (min / median / max per implementation).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

import torch

from gpucompare import hw
from gpucompare.errors import first_line
from gpucompare.results.record import TELEMETRY_FIELDS

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


#: Cumulative NVML violation counters (``nvmlDeviceGetViolationStatus``: nanoseconds, since the driver
#: loaded, that the clocks were held below their target by the power / thermal policy), by telemetry field.
#: The clock-event reasons are instantaneous, read before and after a measurement; these counters also
#: see a power cap or thermal slowdown that came and went *during* it.
VIOLATION_POLICIES = {
    "power_violation_ns": "NVML_PERF_POLICY_POWER",
    "thermal_violation_ns": "NVML_PERF_POLICY_THERMAL",
}


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
        return None, f"NVML unavailable: {first_line(exc)}"
    return pynvml, None


def pci_bus_id(props: Any) -> str | None:
    """``DDDDDDDD:BB:DD.0`` from ``torch.cuda.get_device_properties``, None when torch does not report it."""
    bus = getattr(props, "pci_bus_id", None)
    if bus is None:
        return None
    domain, dev = getattr(props, "pci_domain_id", None) or 0, getattr(props, "pci_device_id", None) or 0
    return f"{int(domain):08x}:{int(bus):02x}:{int(dev):02x}.0"


def _nvml_handle(nv: Any, index: int) -> Any:
    """The NVML handle of torch's CUDA device ``index``: by PCI bus id, else by UUID, when torch reports
    them (so that ``CUDA_VISIBLE_DEVICES`` renumbering cannot pick another GPU), else by NVML index."""
    if hw.has_gpu() and 0 <= index < torch.cuda.device_count():
        props = torch.cuda.get_device_properties(index)
        pci = pci_bus_id(props)
        uuid = getattr(props, "uuid", None)
        lookups = []
        if pci is not None:
            lookups.append(lambda: nv.nvmlDeviceGetHandleByPciBusId(pci))
        if uuid is not None:
            text = str(uuid)
            lookups.append(
                lambda: nv.nvmlDeviceGetHandleByUUID(
                    text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}"
                )
            )
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
        return _empty_telemetry(f"no NVML handle for GPU {index}: {first_line(exc)}")

    def reasons() -> list[str]:
        fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
        fn = fn or nv.nvmlDeviceGetCurrentClocksThrottleReasons
        return decode_clock_event_reasons(int(fn(handle)))

    sampled = _sample_readers(nv, handle)

    def violation(policy: str) -> Callable[[], int]:
        return lambda: int(nv.nvmlDeviceGetViolationStatus(handle, getattr(nv, policy)).violationTime)

    readers: dict[str, Callable[[], Any]] = {
        "sm_clock_mhz": sampled["sm_clock_mhz"],
        "sm_clock_max_mhz": lambda: float(nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_SM)),
        "mem_clock_mhz": lambda: float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_MEM)),
        "mem_clock_max_mhz": lambda: float(nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_MEM)),
        "power_w": sampled["power_w"],
        "power_limit_w": lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1e3,
        "temperature_c": sampled["temperature_c"],
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
            failed.append(f"{key}: {first_line(exc)}")
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


# ---------------------------------------------------------------------------------------------- during a measurement

#: The fields the background sampler reads, and their NVML reader (handle -> value).
SAMPLED_FIELDS = ("sm_clock_mhz", "power_w", "temperature_c")
SAMPLE_INTERVAL_S = 0.02


def _sample_readers(nv: Any, handle: Any) -> dict[str, Callable[[], float]]:
    def temperature() -> float:
        sensor = getattr(nv, "NVML_TEMPERATURE_GPU", 0)
        if hasattr(nv, "nvmlDeviceGetTemperature"):
            return float(nv.nvmlDeviceGetTemperature(handle, sensor))
        return float(nv.nvmlDeviceGetTemperatureV(handle, sensor))

    return {
        "sm_clock_mhz": lambda: float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM)),
        "power_w": lambda: nv.nvmlDeviceGetPowerUsage(handle) / 1e3,
        "temperature_c": temperature,
    }


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    xs = sorted(values)
    mid = len(xs) // 2
    median = xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2
    return {"min": xs[0], "median": median, "max": xs[-1]}


class Sampler:
    """NVML readings of SM clock, power and temperature every ``interval_s`` in a background thread while a
    measurement runs (``with Sampler(index) as s: ...``), each tagged with the implementation being timed
    (:meth:`tag`, the ``on_batch`` hook of :func:`gpucompare.measure.timing.measure_many`).

    :meth:`summary` gives, for one tag (or all readings), the count and min / median / max of each field;
    without NVML, ``error`` says why and there are no readings. Never raises.
    """

    def __init__(self, index: int = 0, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.index, self.interval_s = int(index), float(interval_s)
        self._tag: str | None = None
        self._readings: list[tuple[str | None, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self._readers: dict[str, Callable[[], float]] = {}

    def tag(self, name: str | None) -> None:
        """Readings from now on belong to ``name``."""
        self._tag = name

    def __enter__(self) -> Sampler:
        nv, why = _nvml()
        if nv is None:
            self.error = why
            return self
        try:
            self._readers = _sample_readers(nv, _nvml_handle(nv, self.index))
        except Exception as exc:
            self.error = f"no NVML handle for GPU {self.index}: {first_line(exc)}"
            return self
        self._thread = threading.Thread(target=self._loop, name="gpucompare-nvml-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * self.interval_s + 1.0)

    def _loop(self) -> None:
        while True:
            self.read_once()
            if self._stop.wait(self.interval_s):
                return

    def read_once(self) -> None:
        """One reading of every field (a field that fails is left out of it, its error kept)."""
        values: dict[str, float] = {}
        for key, read in self._readers.items():
            try:
                values[key] = float(read())
            except Exception as exc:  # NotSupported, NoPermission, ...: this field only
                self.error = f"{key}: {first_line(exc)}"
        if values:
            self._readings.append((self._tag, values))

    def summary(self, tag: str | None = None) -> dict[str, Any]:
        """``{"samples": n, "interval_s": .., "error": .., <field>: {"min", "median", "max"} or None}`` over the
        readings tagged ``tag`` (all readings when None)."""
        rows = [v for t, v in list(self._readings) if tag is None or t == tag]
        out: dict[str, Any] = {"samples": len(rows), "interval_s": self.interval_s, "error": self.error}
        for key in SAMPLED_FIELDS:
            out[key] = _spread([r[key] for r in rows if key in r])
        return out
