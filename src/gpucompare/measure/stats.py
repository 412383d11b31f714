"""The statistics of a measurement's samples, and achieved throughput (the timing rule itself is
:mod:`gpucompare.measure.timing`, which re-exports these).

Percentiles use linear interpolation between order statistics (numpy's default, Hyndman-Fan type 7):
for sorted samples ``x_0..x_{n-1}``, ``q(p) = x_i + (x_{i+1} - x_i)·f`` where ``i + f = p·(n-1)``.

Achieved throughput is computed only by :func:`throughput` (from the workload registry's FLOP and byte
counts divided by the median).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

METHOD_CPU = "perf_counter"


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
    host_launch_s: float | None = None  # GPU: the call's host time in the warm-up (longest warm call)
    sleep_s: float | None = None  # GPU: the sleep before each start event (None: no sleep)


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
