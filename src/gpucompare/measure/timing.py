"""The one timing rule, used by the runner, the benchmarks and the CLI.

GPU (``method="cuda-events+l2-flush"``): warm-up, then repetitions each preceded by a write of a buffer of
twice the device's L2 size (so every repetition starts from a cold L2, like a kernel inside a model), with
a pair of CUDA events around the call only -- the flush is on the same stream before the start event, so it
is never inside the timed interval.

CPU (``method="perf_counter"``): warm-up, then ``time.perf_counter`` around each call; no cache flush.

Warm-up: the first (cold) call may compile and autotune Triton kernels or pick cuBLAS algorithms, so it is
never a sample and its duration counts neither towards ``warmup_s`` nor towards the per-repetition
estimate that sizes the GPU batches. Python's garbage collector is paused while samples are taken.

Both: repeat until the median is stable -- the relative interquartile range
``rel_iqr = (p75 - p25) / median <= noise_target``, checked once ``min_reps`` samples exist -- or until the
time budget ``budget_s`` or ``max_reps`` is reached; the :class:`Timing` record says which
(``noise_target_met``, ``budget_exhausted``) and the noise it reached. ``min_reps`` is a floor: a call that
is slower than ``budget_s / min_reps`` still gets ``min_reps`` samples.

Percentiles use linear interpolation between order statistics (numpy's default, Hyndman-Fan type 7):
for sorted samples ``x_0..x_{n-1}``, ``q(p) = x_i + (x_{i+1} - x_i)·f`` where ``i + f = p·(n-1)``.

Achieved throughput is computed only by :func:`throughput` (from the workload registry's FLOP and byte
counts divided by the median).
"""

from __future__ import annotations

import contextlib
import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from gpucompare import hw
from gpucompare.measure import device as devinfo

METHOD_GPU = "cuda-events+l2-flush"
METHOD_CPU = "perf_counter"
#: The version of the timing method: raise it whenever a change here can move a measured time (timer, flush,
#: warm-up, stop rule), so results taken before and after the change are told apart (``record["method"]``).
METHOD_VERSION = 1


@dataclass(frozen=True)
class TimingConfig:
    """How long and how often to measure. Use :meth:`for_device` for the defaults of a device.

    ``warmup_reps`` / ``warmup_s``: warm-up stops at whichever comes first (at least one call).
    ``l2_bytes``: the L2 size for the flush buffer (2 × this is written); None means the device's own
    (``get_device_properties().L2_cache_size``).
    """

    min_reps: int = 5
    max_reps: int = 1000
    budget_s: float = 1.0
    warmup_reps: int = 25
    warmup_s: float = 0.1
    noise_target: float = 0.01
    flush_l2: bool = True
    l2_bytes: int | None = None

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


def method_description(config: TimingConfig, device: torch.device | str) -> dict[str, Any]:
    """How a measurement with ``config`` on ``device`` is taken, as stored in each record (``method``)."""
    dev = torch.device(device)
    gpu = dev.type == "cuda"
    flush_bytes = None
    if gpu and config.flush_l2:
        l2 = config.l2_bytes or devinfo.l2_cache_bytes(dev)
        flush_bytes = 2 * l2 if l2 else None
    return {
        "version": METHOD_VERSION,
        "timer": METHOD_GPU if gpu else METHOD_CPU,
        "flush": "write" if flush_bytes else "none",
        "flush_bytes": flush_bytes,
        "warmup_reps": config.warmup_reps,
        "warmup_s": config.warmup_s,
        "cold_call_excluded": True,
        "stop_rule": "rel_iqr <= noise_target after min_reps, else budget_s or max_reps",
        "noise_target": config.noise_target,
        "min_reps": config.min_reps,
        "max_reps": config.max_reps,
        "budget_s": config.budget_s,
    }


@dataclass(frozen=True)
class Timing:
    """The statistics of one measurement; times in seconds.

    ``cv = stdev / mean`` (sample standard deviation, n - 1; 0 for one sample);
    ``rel_iqr = (p75 - p25) / median``; ``noise_target_met``: ``rel_iqr <= noise_target`` with at
    least two samples; ``budget_exhausted``: the loop stopped on the time budget or ``max_reps``
    before the noise target was met.
    """

    samples_s: tuple[float, ...]
    median_s: float
    p20_s: float
    p80_s: float
    min_s: float
    max_s: float
    mean_s: float
    count: int
    cv: float
    rel_iqr: float
    noise_target: float
    noise_target_met: bool
    budget_exhausted: bool
    method: str


def percentile(sorted_samples: Sequence[float], p: float) -> float:
    """The ``p``-quantile (0 <= p <= 1) of already sorted samples, by linear interpolation (type 7)."""
    if not sorted_samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {p!r}")
    pos = p * (len(sorted_samples) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    frac = pos - lo
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * frac


def relative_iqr(samples: Sequence[float]) -> float:
    """(p75 - p25) / median of the samples (inf when the median is 0 but the spread is not)."""
    xs = sorted(samples)
    iqr = percentile(xs, 0.75) - percentile(xs, 0.25)
    med = percentile(xs, 0.5)
    if med > 0:
        return iqr / med
    return 0.0 if iqr == 0 else math.inf


def summarise(
    samples: Sequence[float],
    noise_target: float = 0.01,
    *,
    method: str = METHOD_CPU,
    budget_exhausted: bool = False,
) -> Timing:
    """Statistics of per-repetition times (seconds); pure. Raises ValueError for no samples or a negative,
    NaN or infinite one."""
    xs = [float(x) for x in samples]
    if not xs:
        raise ValueError("summarise needs at least one sample")
    bad = [x for x in xs if not math.isfinite(x) or x < 0]
    if bad:
        raise ValueError(f"timing samples must be finite and >= 0, got {bad[0]!r}")
    if not (math.isfinite(noise_target) and noise_target >= 0):
        raise ValueError(f"noise_target must be a finite number >= 0, got {noise_target!r}")
    srt = sorted(xs)
    mean = statistics.fmean(xs)
    stdev = statistics.stdev(xs) if len(xs) > 1 else 0.0
    rel = relative_iqr(srt)
    return Timing(
        samples_s=tuple(xs),
        median_s=percentile(srt, 0.5),
        p20_s=percentile(srt, 0.2),
        p80_s=percentile(srt, 0.8),
        min_s=srt[0],
        max_s=srt[-1],
        mean_s=mean,
        count=len(xs),
        cv=stdev / mean if mean > 0 else 0.0,
        rel_iqr=rel,
        noise_target=float(noise_target),
        noise_target_met=len(xs) >= 2 and rel <= noise_target,
        budget_exhausted=bool(budget_exhausted),
        method=method,
    )


def throughput(
    flops: float | None, bytes_: float | None, seconds: float
) -> tuple[float | None, float | None]:
    """(achieved TFLOP/s, achieved GB/s) = (flops / s / 1e12, bytes / s / 1e9); None for a None count.

    The only place achieved throughput is computed: ``flops`` and ``bytes_`` are the workload registry's
    counts, ``seconds`` the median time.
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        raise ValueError(f"seconds must be a finite positive number, got {seconds!r}")
    out: list[float | None] = []
    for name, value, scale in (("flops", flops, 1e12), ("bytes", bytes_, 1e9)):
        if value is None:
            out.append(None)
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"{name} must be a finite number >= 0 or None, got {value!r}")
        out.append(value / seconds / scale)
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------- measure


def measure(
    fn: Callable[[], Any],
    *,
    device: torch.device | str,
    config: TimingConfig | None = None,
    min_reps: int | None = None,
    max_reps: int | None = None,
    budget_s: float | None = None,
    warmup_reps: int | None = None,
    warmup_s: float | None = None,
    noise_target: float | None = None,
    flush_l2: bool | None = None,
    l2_bytes: int | None = None,
) -> Timing:
    """Time the zero-argument ``fn`` on ``device`` by the rule of this module.

    Settings come from ``config`` (default :meth:`TimingConfig.for_device`), each overridden by the keyword
    of the same name when given.
    """
    if not callable(fn):
        raise ValueError(f"measure needs a zero-argument callable, got {type(fn).__name__}")
    dev = torch.device(device)
    if dev.type not in ("cuda", "cpu"):
        raise ValueError(f"unsupported device {dev}: measure runs on a CUDA GPU or the CPU")
    if dev.type == "cuda" and not hw.has_gpu():
        raise ValueError(f"device {dev} requested, but torch sees no CUDA GPU here")
    cfg = config if config is not None else TimingConfig.for_device(dev)
    overrides = {
        "min_reps": min_reps,
        "max_reps": max_reps,
        "budget_s": budget_s,
        "warmup_reps": warmup_reps,
        "warmup_s": warmup_s,
        "noise_target": noise_target,
        "flush_l2": flush_l2,
        "l2_bytes": l2_bytes,
    }
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    if dev.type == "cuda":
        return _measure_cuda(fn, dev, cfg)
    return _measure_cpu(fn, cfg)


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
    fn: Callable[[], Any], cfg: TimingConfig, sync: Callable[[], None], flush: Callable[[], None]
) -> float | None:
    """Warm-up; return the mean wall time of one warm repetition (flush + call + sync) in seconds, or None
    when there was no warm call.

    The first call is the cold one (Triton compilation and autotuning, cuBLAS heuristics and workspace,
    lazy module loading) and may take many seconds: it counts towards ``warmup_reps`` but neither towards
    ``warmup_s`` nor towards the per-repetition estimate. Warm calls follow until ``warmup_reps`` calls in
    all, or until ``warmup_s`` seconds have passed since the cold call ended.
    """
    flush()
    fn()
    sync()
    n, start = 1, time.perf_counter()
    while n < cfg.warmup_reps and time.perf_counter() - start < cfg.warmup_s:
        flush()
        fn()
        sync()
        n += 1
    return (time.perf_counter() - start) / (n - 1) if n > 1 else None


def _measure_cpu(fn: Callable[[], Any], cfg: TimingConfig) -> Timing:
    _warm_up(fn, cfg, lambda: None, lambda: None)
    samples: list[float] = []
    with _gc_paused():
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
            stop, exhausted = _stop(samples, cfg, time.perf_counter() - start)
            if stop:
                return summarise(samples, cfg.noise_target, method=METHOD_CPU, budget_exhausted=exhausted)


def _flush_buffer(nbytes: int, dev: torch.device) -> torch.Tensor:
    """A device buffer of ``nbytes`` (rounded up to 4 B) whose ``zero_()`` evicts the L2."""
    return torch.empty(-(-nbytes // 4), dtype=torch.int32, device=dev)


def _measure_cuda(fn: Callable[[], Any], dev: torch.device, cfg: TimingConfig) -> Timing:
    idx = devinfo.cuda_index(dev)
    dev = torch.device("cuda", idx)
    flush_buf = None
    if cfg.flush_l2:
        l2 = cfg.l2_bytes or devinfo.l2_cache_bytes(dev)
        if not l2:
            raise ValueError(f"cannot size the L2 flush: {dev} reports no L2 cache size; pass l2_bytes")
        flush_buf = _flush_buffer(2 * l2, dev)

    def flush() -> None:
        if flush_buf is not None:
            flush_buf.zero_()

    def sync() -> None:
        torch.cuda.synchronize(dev)

    with torch.cuda.device(idx):
        # Everything (flush, events, fn's kernels) goes to the current stream of the device: the flush is
        # ordered before the start event, and the events bracket exactly fn's work.
        stream = torch.cuda.current_stream(dev)
        sync()
        per_rep = _warm_up(fn, cfg, sync, flush)
        samples: list[float] = []
        with _gc_paused():
            start = time.perf_counter()
            while True:
                elapsed = time.perf_counter() - start
                remaining = max(cfg.budget_s - elapsed, 0.0)
                if per_rep is None and samples:  # no warm call to learn from: use what was measured so far
                    per_rep = max(elapsed / len(samples), 1e-6)
                # Batches of repetitions are queued back to back (the GPU never waits on Python between
                # them) and synchronised once; a batch never outlasts the remaining budget after min_reps.
                batch = max(cfg.min_reps - len(samples), len(samples) // 4, 1)
                batch = min(batch, cfg.max_reps - len(samples))
                if len(samples) >= cfg.min_reps and per_rep is not None:
                    batch = max(1, min(batch, int(remaining / max(per_rep, 1e-6))))
                elif per_rep is None:
                    batch = 1
                events = []
                for _ in range(batch):
                    flush()
                    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    begin.record(stream)
                    fn()
                    end.record(stream)
                    events.append((begin, end))
                sync()  # elapsed_time needs both events completed
                samples.extend(b.elapsed_time(e) / 1e3 for b, e in events)
                stop, exhausted = _stop(samples, cfg, time.perf_counter() - start)
                if stop:
                    return summarise(samples, cfg.noise_target, method=METHOD_GPU, budget_exhausted=exhausted)
