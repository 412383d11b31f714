"""The one timing rule, used by the runner, the benchmarks and the CLI.

GPU (``method="cuda-events+l2-flush"``): warm-up, then repetitions each preceded by a write of a buffer of
twice the device's L2 size (so every repetition starts from a cold L2, like a kernel inside a model), with
a pair of CUDA events around the call only -- the flush is on the same stream before the start event, so it
is never inside the timed interval.

CPU (``method="perf_counter"``): warm-up, then ``time.perf_counter`` around each call; no cache flush.

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

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from gpucompare import device as devinfo
from gpucompare import hw

METHOD_GPU = "cuda-events+l2-flush"
METHOD_CPU = "perf_counter"


@dataclass(frozen=True)
class TimingConfig:
    """How long and how often to measure. Use :meth:`for_device` for the defaults of a device.

    ``warmup_reps`` / ``warmup_s``: warm-up stops at whichever comes first (at least one call).
    ``l2_bytes``: the L2 size for the flush buffer (2 × this is written); None means the device's own
    (``get_device_properties().L2_cache_size``).
    """

    min_reps: int = 5
    max_reps: int = 1000
    budget_s: float = 1.5
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

    @classmethod
    def for_device(cls, device: torch.device | str | None = None) -> TimingConfig:
        """GPU: ~1.5 s per measurement, 25 reps / 100 ms warm-up, L2 flush, ≥ 10 samples.
        CPU: 0.2 s per measurement, 2 reps / 20 ms warm-up, ≥ 3 samples, so the CPU suite stays fast."""
        dev = hw.default_device() if device is None else torch.device(device)
        if dev.type == "cuda":
            return cls(min_reps=10, max_reps=1000, budget_s=1.5, warmup_reps=25, warmup_s=0.1)
        return cls(min_reps=3, max_reps=200, budget_s=0.2, warmup_reps=2, warmup_s=0.02, flush_l2=False)


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


def throughput(flops: float | None, bytes_: float | None, seconds: float) -> tuple[float | None, float | None]:
    """(achieved TFLOP/s, achieved GB/s) = (flops / s / 1e12, bytes / s / 1e9); None for a None count.

    The only place achieved throughput is computed: ``flops`` and ``bytes_`` are the workload registry's
    counts, ``seconds`` the median time.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or seconds <= 0:
        raise ValueError(f"seconds must be a finite positive number, got {seconds!r}")
    out: list[float | None] = []
    for name, value, scale in (("flops", flops, 1e12), ("bytes", bytes_, 1e9)):
        if value is None:
            out.append(None)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
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
        "min_reps": min_reps, "max_reps": max_reps, "budget_s": budget_s, "warmup_reps": warmup_reps,
        "warmup_s": warmup_s, "noise_target": noise_target, "flush_l2": flush_l2, "l2_bytes": l2_bytes,
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


def _measure_cpu(fn: Callable[[], Any], cfg: TimingConfig) -> Timing:
    start = time.perf_counter()
    n = 0
    while True:  # warm-up: at least one call, then until warmup_reps calls or warmup_s seconds
        fn()
        n += 1
        if n >= cfg.warmup_reps or time.perf_counter() - start >= cfg.warmup_s:
            break
    samples: list[float] = []
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

    with torch.cuda.device(idx):
        stream = torch.cuda.current_stream(dev)
        torch.cuda.synchronize(dev)
        start = time.perf_counter()
        n = 0
        while True:  # warm-up, flush included so the per-call estimate covers the whole repetition
            flush()
            fn()
            n += 1
            torch.cuda.synchronize(dev)
            if n >= cfg.warmup_reps or time.perf_counter() - start >= cfg.warmup_s:
                break
        per_rep = max((time.perf_counter() - start) / n, 1e-6)

        samples: list[float] = []
        start = time.perf_counter()
        while True:
            remaining = max(cfg.budget_s - (time.perf_counter() - start), 0.0)
            batch = max(cfg.min_reps - len(samples), max(1, len(samples) // 4), 1)
            batch = min(batch, cfg.max_reps - len(samples))
            if len(samples) >= cfg.min_reps:
                batch = max(1, min(batch, int(remaining / per_rep)))
            events = []
            for _ in range(batch):
                flush()
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record(stream)
                fn()
                end.record(stream)
                events.append((begin, end))
            torch.cuda.synchronize(dev)
            samples.extend(b.elapsed_time(e) / 1e3 for b, e in events)
            stop, exhausted = _stop(samples, cfg, time.perf_counter() - start)
            if stop:
                return summarise(samples, cfg.noise_target, method=METHOD_GPU, budget_exhausted=exhausted)
