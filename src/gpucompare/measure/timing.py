"""The one timing rule, used by the runner, the benchmarks and the CLI.

GPU (``method="cuda-events+l2-flush"``): warm-up, then repetitions each preceded by a write of a buffer of
twice the device's L2 size then a read of a second such buffer (``flush="write+read"``: every repetition
starts from a cold L2, like a kernel inside a model, and the read makes the L2 write back the write's dirty
lines *before* the start event, not inside a short timed window), then a ``torch.cuda._sleep`` kernel, then a pair of CUDA events around the call only. The flush is on the same
stream before the start event, so it is never inside the timed interval. The sleep keeps the GPU busy
across the start event: it lasts ``HOST_MARGIN`` × the call's host time (the 90th percentile of the warm
calls' host times, the Python and the launches of one call without a synchronise: one slow call, an
allocation say, does not size every sleep) + ``SLEEP_FLOOR_S``, so the host has queued the
start event *and all of the call's kernels* before the sleep ends, and the host's launch time never enters
a sample (without it, a kernel shorter than its launch overhead was timed as its launch; Triton's launch
costs more host time than cuBLAS's, so that bias was against Triton). CUDA-graph replay would do the same
for short kernels; the sleep is used because it needs nothing of the closure (autotuners, allocations).

CPU (``method="perf_counter"``): warm-up, then ``time.perf_counter`` around each call; no cache flush.

Interleaving (:func:`measure_many`): the implementations of one case are measured together, in rounds:
one batch of each, in a fixed order (A B A B ...), each with its own samples, stop rule and budget, so
they see the same clock, power and temperature state (no implementation is timed right after seconds of
its own autotuning while the other runs on a cooled GPU). On the GPU a batch is at most
``budget_s / INTERLEAVE_SLICES`` long when there are several implementations, so they alternate often.
``on_batch(name)`` is called before each batch (the runner's NVML sampler tags its readings with it).

Warm-up: the first (cold) call may compile and autotune Triton kernels or pick cuBLAS algorithms, so it is
never a sample and its duration counts neither towards ``warmup_s`` nor towards the per-repetition
estimate that sizes the GPU batches. Python's garbage collector is paused while samples are taken.

Both: repeat until the median is stable -- the relative interquartile range
``rel_iqr = (p75 - p25) / median <= noise_target``, checked once ``min_reps`` samples exist -- or until the
time budget ``budget_s`` or ``max_reps`` is reached; the :class:`Timing` record says which
(``noise_target_met``, ``budget_exhausted``) and the noise it reached. ``min_reps`` is a floor: a call that
is slower than ``budget_s / min_reps`` still gets ``min_reps`` samples.

The statistics of the samples (percentiles, the noise measure) and the achieved throughput are computed in
:mod:`gpucompare.measure.stats` (re-exported here).
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from gpucompare import hw
from gpucompare.measure import device as devinfo
from gpucompare.measure.stats import METHOD_CPU, Timing, percentile, relative_iqr, summarise, throughput

__all__ = ["Timing", "TimingConfig", "measure", "measure_many", "percentile", "relative_iqr", "summarise",
           "throughput"]  # fmt: skip

METHOD_GPU = "cuda-events+l2-flush"
#: The version of the timing method: raise it whenever a change here can move a measured time (timer, flush,
#: warm-up, stop rule), so results taken before and after the change are told apart (``record["method"]``).
#: 1: flush, events around the call. 2: + the GPU kept busy across the start event (sleep sized to the host's
#: launch time) and the implementations of a case interleaved (A B A B).
#: 3: the flush writes one buffer then reads another (``flush_mode``), the sleep sized from the p90 host time.
METHOD_VERSION = 3
#: The warm calls' host-time quantile that sizes the sleep (p90: robust to one slow call).
HOST_QUANTILE = 0.9
FLUSH_MODES = ("write", "write+read")
#: The sleep before the start event: ``HOST_MARGIN`` × the call's host time + ``SLEEP_FLOOR_S``, at most
#: ``SLEEP_CAP_S``; cycles at the SM's maximum clock (a lower clock makes it last longer, never shorter).
HOST_MARGIN = 2.0
SLEEP_FLOOR_S = 20e-6
SLEEP_CAP_S = 10e-3
ASSUMED_SM_CLOCK_HZ = 2.0e9  # when the device reports no clock rate (H100/H200 boost: 1.98 GHz)
#: With several implementations, a GPU batch lasts at most budget_s / INTERLEAVE_SLICES.
INTERLEAVE_SLICES = 8


@dataclass(frozen=True)
class TimingConfig:
    """How long and how often to measure. Use :meth:`for_device` for the defaults of a device.

    ``warmup_reps`` / ``warmup_s``: warm-up stops at whichever comes first (at least one call).
    ``l2_bytes``: the L2 size for the flush buffer (2 × this is written); None means the device's own
    (``get_device_properties().L2_cache_size``). ``flush_mode``: ``write+read`` (default: write one buffer,
    then read a second, so the written lines are written back before the start event) or ``write``.
    """

    min_reps: int = 5
    max_reps: int = 1000
    budget_s: float = 1.0
    warmup_reps: int = 25
    warmup_s: float = 0.1
    noise_target: float = 0.01
    flush_l2: bool = True
    l2_bytes: int | None = None
    busy_start: bool = True  # GPU: the sleep before the start event (see the module docstring)
    flush_mode: str = "write+read"

    def __post_init__(self) -> None:
        if not (isinstance(self.min_reps, int) and self.min_reps >= 1):
            raise ValueError(f"min_reps must be an int >= 1, got {self.min_reps!r}")
        if not (isinstance(self.max_reps, int) and self.max_reps >= self.min_reps):
            raise ValueError(f"max_reps must be an int >= min_reps ({self.min_reps}), got {self.max_reps!r}")
        if not (isinstance(self.warmup_reps, int) and self.warmup_reps >= 0):
            raise ValueError(f"warmup_reps must be an int >= 0, got {self.warmup_reps!r}")
        for name in ("budget_s", "warmup_s", "noise_target"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.flush_mode not in FLUSH_MODES:
            raise ValueError(f"flush_mode must be one of {', '.join(FLUSH_MODES)}, got {self.flush_mode!r}")
        if self.l2_bytes is not None and not (isinstance(self.l2_bytes, int) and self.l2_bytes > 0):
            raise ValueError(f"l2_bytes must be a positive int or None, got {self.l2_bytes!r}")

    def once(self) -> TimingConfig:
        """One timed sample after the cold call (``pytest --benchmark-disable``: check and record, fast)."""
        return replace(self, min_reps=1, max_reps=1, warmup_reps=1, warmup_s=0.0)

    @classmethod
    def for_device(cls, device: torch.device | str | None = None) -> TimingConfig:
        """GPU: at most ~1 s per measurement (≥ 10 samples, ≤ 1000), 25 reps / 100 ms warm-up after the
        cold call, L2 flush; a kernel whose median is stable to 1 % stops after 10 samples.
        CPU: 0.2 s per measurement, 2 reps / 20 ms warm-up, ≥ 3 samples, so the CPU suite stays fast.

        GPU suite arithmetic (~350 cases): a stable kernel costs ~10 × its time, an unstable one ``budget_s``
        (or ``max_reps`` × (time + ~80 µs flush and launch), ~0.1 s for a 20 µs kernel); so the timed part
        is at most ~350 × 1 s ≈ 6 min and typically 1–3 min (compilation and references come on top)."""
        dev = hw.default_device() if device is None else torch.device(device)
        if dev.type == "cuda":
            return cls(min_reps=10, max_reps=1000, budget_s=1.0, warmup_reps=25, warmup_s=0.1)
        return cls(min_reps=3, max_reps=200, budget_s=0.2, warmup_reps=2, warmup_s=0.02, flush_l2=False)


def method_description(
    config: TimingConfig, device: torch.device | str, order: Sequence[str] = ()
) -> dict[str, Any]:
    """How a measurement with ``config`` on ``device`` is taken, as stored in each record (``method``);
    ``order``: the implementations measured together, in their round order (interleaved when two or more)."""
    dev = torch.device(device)
    gpu = dev.type == "cuda"
    flush_bytes = None
    if gpu and config.flush_l2:
        l2 = config.l2_bytes or devinfo.l2_cache_bytes(dev)
        flush_bytes = (2 if config.flush_mode == "write" else 4) * l2 if l2 else None
    return {
        "version": METHOD_VERSION,
        "timer": METHOD_GPU if gpu else METHOD_CPU,
        "flush": config.flush_mode if flush_bytes else "none",
        "flush_bytes": flush_bytes,
        "start": (
            f"gpu-busy: torch.cuda._sleep of {HOST_MARGIN:g} x the p{HOST_QUANTILE * 100:g} host time of the warm "
            f"calls + {SLEEP_FLOOR_S * 1e6:g} us "
            "before the start event"
            if gpu and config.busy_start
            else "host"
        ),
        "order": "interleaved" if len(order) > 1 else "alone",
        "interleaved_with": list(order) if len(order) > 1 else [],
        "warmup_reps": config.warmup_reps,
        "warmup_s": config.warmup_s,
        "cold_call_excluded": True,
        "stop_rule": "rel_iqr <= noise_target after min_reps, else budget_s or max_reps",
        "noise_target": config.noise_target,
        "min_reps": config.min_reps,
        "max_reps": config.max_reps,
        "budget_s": config.budget_s,
    }


# ---------------------------------------------------------------------------------------------- measure


def measure(
    fn: Callable[[], Any], *, device: torch.device | str, config: TimingConfig | None = None, **overrides: Any
) -> Timing:
    """Time the zero-argument ``fn`` on ``device`` by the rule of this module.

    Settings come from ``config`` (default :meth:`TimingConfig.for_device`), each overridden by a keyword of
    the same name (``min_reps=``, ``budget_s=``, ``flush_l2=``, ...) when given and not None.
    """
    return measure_many({"fn": fn}, device=device, config=config, **overrides)["fn"]


def measure_many(
    fns: Mapping[str, Callable[[], Any]],
    *,
    device: torch.device | str,
    config: TimingConfig | None = None,
    on_batch: Callable[[str], None] | None = None,
    **overrides: Any,
) -> dict[str, Timing]:
    """Time the implementations ``fns`` (name -> zero-argument callable) of one case, interleaved (see the
    module docstring); their Timings by name. ``on_batch(name)`` runs before each batch of ``name``."""
    if not fns or not all(callable(f) for f in fns.values()):
        bad = next((f for f in fns.values() if not callable(f)), None)
        raise ValueError(f"measure needs zero-argument callables, got {type(bad).__name__}")
    dev = torch.device(device)
    if dev.type not in ("cuda", "cpu"):
        raise ValueError(f"unsupported device {dev}: measure runs on a CUDA GPU or the CPU")
    if dev.type == "cuda" and not hw.has_gpu():
        raise ValueError(f"device {dev} requested, but torch sees no CUDA GPU here")
    cfg = config if config is not None else TimingConfig.for_device(dev)
    unknown = sorted(set(overrides) - set(TimingConfig.__dataclass_fields__))
    if unknown:
        raise TypeError(f"measure got unknown settings {unknown}")
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    states = [_State(name, fn) for name, fn in fns.items()]
    if dev.type == "cuda":
        _measure_cuda(states, dev, cfg, on_batch)
    else:
        _measure_cpu(states, cfg, on_batch)
    method = METHOD_GPU if dev.type == "cuda" else METHOD_CPU
    return {
        st.name: replace(
            summarise(st.samples, cfg.noise_target, method=method, budget_exhausted=st.exhausted),
            host_launch_s=st.host_s,
            sleep_s=st.sleep_s,
        )
        for st in states
    }


@dataclass
class _State:
    """One implementation in the interleaved loop."""

    name: str
    fn: Callable[[], Any]
    samples: list[float] = field(default_factory=list)
    spent: float = 0.0  # seconds of its own batches (its budget)
    per_rep: float | None = None  # wall seconds of one warm repetition, from the warm-up
    host_s: float | None = None
    sleep_s: float | None = None
    sleep_cycles: int = 0
    done: bool = False
    exhausted: bool = False


def _stop(samples: list[float], cfg: TimingConfig, elapsed: float) -> tuple[bool, bool]:
    """(stop now, budget exhausted) after the samples so far and ``elapsed`` seconds of measuring."""
    n = len(samples)
    if n < cfg.min_reps:
        return False, False
    if n >= 2 and relative_iqr(samples) <= cfg.noise_target:
        return True, False
    if elapsed >= cfg.budget_s or n >= cfg.max_reps:
        return True, True
    return False, False


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic garbage collector off while samples are taken (as ``timeit`` does), so a collection
    pause cannot land inside a sample; restored afterwards, also on an exception."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _warm_up(
    st: _State, cfg: TimingConfig, sync: Callable[[], None], flush: Callable[[], None], host: bool = False
) -> None:
    """Warm-up of one implementation; sets ``st.per_rep`` (mean wall time of a warm flush + call + sync, or
    None without a warm call) and, with ``host``, ``st.host_s`` (:func:`host_time`: the p90 of the warm
    calls' host times, without their synchronise; one extra call measures it when the warm-up had none).

    The first call is the cold one (Triton compilation and autotuning, cuBLAS heuristics and workspace,
    lazy module loading) and may take many seconds: it counts towards ``warmup_reps`` but neither towards
    ``warmup_s`` nor towards the per-repetition estimate. Warm calls follow until ``warmup_reps`` calls in
    all, or until ``warmup_s`` seconds have passed since the cold call ended.
    """
    flush()
    st.fn()
    sync()
    n, start, hosts = 1, time.perf_counter(), []
    while n < cfg.warmup_reps and time.perf_counter() - start < cfg.warmup_s:
        flush()
        t0 = time.perf_counter()
        st.fn()
        hosts.append(time.perf_counter() - t0)
        sync()
        n += 1
    st.per_rep = (time.perf_counter() - start) / (n - 1) if n > 1 else None
    if host and not hosts:
        flush()
        t0 = time.perf_counter()
        st.fn()
        hosts.append(time.perf_counter() - t0)
        sync()
    st.host_s = host_time(hosts)


def host_time(hosts: Sequence[float]) -> float | None:
    """The host time that sizes the sleep: the ``HOST_QUANTILE`` quantile of the warm calls' host times (not
    the slowest: one allocation or page fault would give every sample a 10 ms sleep), None without any."""
    return percentile(sorted(hosts), HOST_QUANTILE) if hosts else None


def _batch_size(st: _State, cfg: TimingConfig, interleaved: bool) -> int:
    """Repetitions in the next GPU batch of ``st``: enough for ``min_reps`` first, then a quarter of the
    samples so far, never past ``max_reps`` nor (after ``min_reps``) the remaining budget; with several
    implementations at most ``budget_s / INTERLEAVE_SLICES`` of time."""
    n = len(st.samples)
    per_rep = st.per_rep if st.per_rep is not None else (max(st.spent / n, 1e-6) if n else None)
    if per_rep is None:
        return 1  # no warm call to learn from: one repetition, then use what was measured
    batch = min(max(cfg.min_reps - n, n // 4, 1), cfg.max_reps - n)
    if n >= cfg.min_reps:
        batch = min(batch, int(max(cfg.budget_s - st.spent, 0.0) / max(per_rep, 1e-6)))
    if interleaved:
        batch = min(batch, int(cfg.budget_s / INTERLEAVE_SLICES / max(per_rep, 1e-6)))
    return max(1, batch)


def _interleave(
    states: list[_State],
    cfg: TimingConfig,
    run_batch: Callable[[_State, int], list[float]],
    batch_size: Callable[[_State], int],
    on_batch: Callable[[str], None] | None,
) -> None:
    """Rounds of one batch per unfinished implementation, in the given order, until each has stopped."""
    with _gc_paused():
        while not all(st.done for st in states):
            for st in states:
                if st.done:
                    continue
                if on_batch is not None:
                    on_batch(st.name)
                t0 = time.perf_counter()
                st.samples.extend(run_batch(st, batch_size(st)))
                st.spent += time.perf_counter() - t0
                st.done, st.exhausted = _stop(st.samples, cfg, st.spent)


def _measure_cpu(states: list[_State], cfg: TimingConfig, on_batch) -> None:
    for st in states:
        _warm_up(st, cfg, lambda: None, lambda: None)

    def one(st: _State, _n: int) -> list[float]:
        t0 = time.perf_counter()
        st.fn()
        return [time.perf_counter() - t0]

    _interleave(states, cfg, one, lambda st: 1, on_batch)


def _flush_buffer(nbytes: int, dev: torch.device) -> torch.Tensor:
    """A device buffer of ``nbytes`` (rounded up to 4 B) whose ``zero_()`` evicts the L2."""
    return torch.empty(-(-nbytes // 4), dtype=torch.int32, device=dev)


def make_flush(nbytes: int, dev: torch.device, mode: str) -> Callable[[], None]:
    """The flush before each repetition: write a buffer of ``nbytes`` (evicts the L2, leaving it dirty), and
    with ``write+read`` then read a second one of ``nbytes`` (:func:`_read`), so the dirty lines are
    written back before the start event and the L2 holds clean lines of a buffer no kernel touches."""
    written = _flush_buffer(nbytes, dev)
    if mode == "write":
        return written.zero_
    read = _flush_buffer(nbytes, dev)

    def flush() -> None:
        written.zero_()
        _read(read)

    return flush


def _read(buf: torch.Tensor) -> None:
    """Read every byte of ``buf`` on the device (a sum into one element, asynchronous like the write)."""
    buf.sum(dtype=torch.int64)


def sm_clock_hz(dev: torch.device) -> float:
    """The SM's maximum clock (Hz) as torch reports it, else ``ASSUMED_SM_CLOCK_HZ``."""
    khz = getattr(torch.cuda.get_device_properties(dev), "clock_rate", None)
    return float(khz) * 1e3 if khz else ASSUMED_SM_CLOCK_HZ


def sleep_seconds(host_s: float | None) -> float:
    """The sleep before each start event for a call whose host time is ``host_s`` seconds."""
    return min(HOST_MARGIN * (host_s or 0.0) + SLEEP_FLOOR_S, SLEEP_CAP_S)


def _measure_cuda(states: list[_State], dev: torch.device, cfg: TimingConfig, on_batch) -> None:
    idx = devinfo.cuda_index(dev)
    dev = torch.device("cuda", idx)
    flush: Callable[[], None] = lambda: None  # noqa: E731
    if cfg.flush_l2:
        l2 = cfg.l2_bytes or devinfo.l2_cache_bytes(dev)
        if not l2:
            raise ValueError(f"cannot size the L2 flush: {dev} reports no L2 cache size; pass l2_bytes")
        flush = make_flush(2 * l2, dev, cfg.flush_mode)
    sleeper = getattr(torch.cuda, "_sleep", None) if cfg.busy_start else None

    def sync() -> None:
        torch.cuda.synchronize(dev)

    with torch.cuda.device(idx):
        # Everything (flush, sleep, events, fn's kernels) goes to the current stream of the device: the flush
        # and the sleep are ordered before the start event, and the events bracket exactly fn's work.
        stream = torch.cuda.current_stream(dev)
        sync()
        clock = sm_clock_hz(dev) if sleeper is not None else 0.0
        for st in states:
            _warm_up(st, cfg, sync, flush, host=sleeper is not None)
            if sleeper is not None:
                st.sleep_s = sleep_seconds(st.host_s)
                st.sleep_cycles = int(st.sleep_s * clock)

        def batch(st: _State, n: int) -> list[float]:
            # queued back to back (the GPU never waits on Python between repetitions), synchronised once
            events = []
            for _ in range(n):
                flush()
                if st.sleep_cycles:
                    sleeper(st.sleep_cycles)
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record(stream)
                st.fn()
                end.record(stream)
                events.append((begin, end))
            sync()  # elapsed_time needs both events completed
            return [b.elapsed_time(e) / 1e3 for b, e in events]

        interleaved = len(states) > 1
        _interleave(states, cfg, batch, lambda st: _batch_size(st, cfg, interleaved), on_batch)
