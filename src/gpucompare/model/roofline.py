"""One measured record on its local roofline, and the efficiencies split by bound.

Units: FLOPs and bytes as stored in the record (from ``gpucompare.workloads``; never re-derived here),
peaks in TFLOP/s (1e12 FLOP/s) and TB/s (1e12 B/s), times in seconds.

Measured record on local chip L (dtype d, F FLOPs, B bytes, median time t)::

    t*_L = max(F / P_L(d), B / BW_L)          roofline time at L (P_L, BW_L: the record's local peaks)
    e    = t*_L / t                            efficiency on the record's own bound
    I    = F / B,   ridge_L = P_L(d) / BW_L    bound at L: "compute" if I >= ridge_L else "memory"
    u_c  = (F / P_L) / t,  u_m = (B / BW_L) / t   utilisation of each resource (the own one equals e)

How e_c and e_m are chosen for a record r (bound b at L, dtype d, in run R) -- :func:`efficiencies`:

1. on r's own bound: r's own efficiency e (so a workload that is compute-bound at L keeps its compute
   efficiency, whatever the other records did);
2. on the other bound: the median, over the (workload, shape) pairs of run R bound by that other
   resource at L and of dtype d, of the best implementation's efficiency ("median-<bound>-<dtype>");
   for the memory bound only, when no record of dtype d is memory-bound, the same median over every
   dtype of run R ("median-memory-any-dtype": moving a byte costs the same whatever it encodes);
   compute efficiencies are never borrowed across dtypes;
3. never below r's own measured utilisation of that other resource (u_c or u_m above): r itself
   proves that the kernel reached it. When step 2 finds nothing, this measured lower bound is used
   alone ("own-utilisation"; the projection is then conservative: a time upper bound). Nothing is
   invented: every efficiency comes from a measurement of run R.

Step 3 also makes the projection onto L itself return exactly the measured time.

Clock: the spec peaks assume the chip's ``Chip.peak_clock_mhz`` when the database has it (the H100's
tensor peak implies 1830 MHz, not its 1980 MHz boost), else its ``boost_clock_mhz``. The run clock is the
SM clock of the telemetry sample taken after the timed loop (under load), else the one before. For
compute-bound records the clock-normalised efficiency is ``e_norm = e × spec_clock / run_clock``: the
efficiency against a peak rescaled to the clock the chip actually ran at (how well the kernel used the
cycles it got). Projections use the as-run efficiency; the clock-normalised one is shown beside it.
Chips without a published clock (H20: peaks capped independently of clock) get no normalisation, with
the reason.

cpu-fallback runs are modelled like any other (local roof = measured CPU peak), but every result derived
from them carries ``pipeline_check=True`` (:func:`gpucompare.results.is_pipeline_check`): CPU
efficiencies say nothing about GPUs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpucompare.results import is_pipeline_check
from gpucompare.specs import Chip, ChipDB

TERA = 1e12
BOUNDS = ("compute", "memory")
# Record fields the roofline needs as numbers: the work, the time and the local peaks.
_NUMBERS = ("flops", "bytes", "median_s", "local_peak_tflops", "local_peak_bw_tbps")


def spec_clock_mhz(chip: Chip | None) -> float | None:
    """The clock the chip's spec peaks assume (``peak_clock_mhz`` if the database has it, else boost)."""
    if chip is None:
        return None
    clock = chip.peak_clock_mhz or chip.boost_clock_mhz
    return float(clock) if clock else None


def _sample(record: Mapping, when: str) -> Mapping:
    """The record's telemetry sample ``when`` ("before" / "after" the timed loop); {} when not taken."""
    return record.get("telemetry", {}).get(when) or {}


def run_clock_mhz(record: Mapping) -> float | None:
    """SM clock under load: the telemetry sample after the timed loop, else the one before."""
    for when in ("after", "before"):
        clock = _sample(record, when).get("sm_clock_mhz")
        if clock:
            return float(clock)
    return None


@dataclass(frozen=True)
class Measured:
    """One ok record placed on its local roofline."""

    run_id: str
    pipeline_check: bool  # a CPU-fallback run: a check of the pipeline, not a statement about any GPU
    chip_id: str | None
    device_name: str
    workload: str
    shape_label: str
    shape: Mapping[str, Any]
    dtype: str
    impl: str
    flops: float
    bytes: float
    median_s: float
    peak_tflops: float
    peak_bw_tbps: float
    peak_source: str
    intensity: float  # F / B (FLOP/byte)
    ridge: float  # P_L / BW_L (FLOP/byte)
    bound: str  # "compute" | "memory" at L
    t_roof_s: float
    efficiency: float  # as run
    compute_util: float  # (F / P_L) / t
    memory_util: float  # (B / BW_L) / t
    run_clock_mhz: float | None
    spec_clock_mhz: float | None
    efficiency_clock_norm: float | None  # compute-bound only, e × spec_clock / run_clock
    clock_note: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.workload, self.shape_label, self.dtype)

    @property
    def source(self) -> str:
        return self.chip_id or self.device_name or "unknown-device"


def _numbers(record: Mapping, name: str) -> dict[str, float]:
    """The record's work, time and local peaks as floats; ValueError naming a missing or bad one."""
    vals = {}
    for f in _NUMBERS:
        v = record.get(f)
        if v is None:
            raise ValueError(f"{name}: field {f!r} is missing")
        v = float(v)
        if v < 0 or (f not in ("flops", "bytes") and v <= 0):
            raise ValueError(f"{name}: field {f!r} must be positive, got {v}")
        vals[f] = v
    if vals["flops"] == 0 and vals["bytes"] == 0:
        raise ValueError(f"{name}: flops and bytes are both zero")
    return vals


def _spec_clock(record: Mapping, chip: Chip | None) -> tuple[float | None, str]:
    """(clock the local peaks assume, why there is none) for the record's local chip."""
    if chip is not None:
        return spec_clock_mhz(chip), f"{chip.id} publishes no clock its peaks scale with"
    if record["local_peak_source"] == "estimated-from-device":
        max_clock = _sample(record, "after").get("sm_clock_max_mhz")
        return (float(max_clock) if max_clock else None), "no maximum SM clock reported"
    return None, "no spec clock (CPU fallback or measured peak)"


def _clock_norm(
    bound: str, eff: float, sclock: float | None, rclock: float | None, no_clock: str
) -> tuple[float | None, str]:
    """(clock-normalised efficiency, note): compute-bound records with both clocks only."""
    if bound != "compute":
        return None, "memory-bound: not clock-normalised"
    if sclock is None:
        return None, no_clock
    if rclock is None:
        return None, "no SM clock in the telemetry"
    note = "ran below spec clock" if rclock < sclock else "ran at or above spec clock"
    return eff * sclock / rclock, note


def analyse_record(record: Mapping, chips: ChipDB | None = None) -> Measured:
    """Place one ``status == "ok"`` record on its local roofline (see the module docstring).

    ``chips`` supplies the spec clock of the local chip (``record["chip_id"]``); it is optional.
    Raises ValueError naming the record and the missing or bad field.
    """
    name = f"{record['run_id']}:{record['workload']}/{record['shape_label']}/{record['dtype']}"
    if record["status"] != "ok":
        raise ValueError(f"{name}: status is {record['status']!r}, only ok records are modelled")
    if record.get("intent") == "communication":
        raise ValueError(
            f"{name}: a collective: modelled by gpucompare.model.comm (link), not by the roofline"
        )
    vals = _numbers(record, name)
    F, B, t = vals["flops"], vals["bytes"], vals["median_s"]
    P, BW = vals["local_peak_tflops"] * TERA, vals["local_peak_bw_tbps"] * TERA
    t_c, t_m = F / P, B / BW
    intensity = F / B if B > 0 else math.inf
    ridge = P / BW
    bound = "compute" if intensity >= ridge else "memory"
    t_roof = max(t_c, t_m)
    eff = t_roof / t
    chip = chips.find(record["chip_id"]) if chips is not None and record["chip_id"] else None
    rclock = run_clock_mhz(record)
    sclock, no_clock = _spec_clock(record, chip)
    norm, note = _clock_norm(bound, eff, sclock, rclock, no_clock)
    return Measured(
        run_id=str(record["run_id"]),
        pipeline_check=is_pipeline_check(record),
        chip_id=record["chip_id"],
        device_name=str(record["device_name"] or ""),
        workload=str(record["workload"]),
        shape_label=str(record["shape_label"]),
        shape=dict(record["shape"]),
        dtype=str(record["dtype"]),
        impl=str(record["impl"]),
        flops=F,
        bytes=B,
        median_s=t,
        peak_tflops=vals["local_peak_tflops"],
        peak_bw_tbps=vals["local_peak_bw_tbps"],
        peak_source=str(record["local_peak_source"] or ""),
        intensity=intensity,
        ridge=ridge,
        bound=bound,
        t_roof_s=t_roof,
        efficiency=eff,
        compute_util=t_c / t,
        memory_util=t_m / t,
        run_clock_mhz=rclock,
        spec_clock_mhz=sclock,
        efficiency_clock_norm=norm,
        clock_note=note,
    )


@dataclass(frozen=True)
class Efficiencies:
    """The efficiencies a record projects with, and where each comes from (``own``, ``median-...``)."""

    e_c: float | None
    e_m: float | None
    basis_c: str
    basis_m: str


def _median_eff(pool: Sequence[Measured], bound: str, dtype: str | None) -> float | None:
    """Median over (workload, shape) of the best implementation's efficiency, among ``bound`` records."""
    best: dict[tuple, Measured] = {}
    for m in pool:
        if m.bound != bound or (dtype is not None and m.dtype != dtype):
            continue
        if m.key not in best or m.median_s < best[m.key].median_s:
            best[m.key] = m
    if not best:
        return None
    return statistics.median(sorted(m.efficiency for m in best.values()))


def _other_bound(m: Measured, bound: str, pool: Sequence[Measured]) -> tuple[float | None, str]:
    """Efficiency on the bound that is not ``m``'s own (rules 2 and 3 of the module docstring)."""
    own_util = m.compute_util if bound == "compute" else m.memory_util
    med, basis = _median_eff(pool, bound, m.dtype), f"median-{bound}-{m.dtype}"
    if med is None and bound == "memory":
        med, basis = _median_eff(pool, bound, None), "median-memory-any-dtype"
    if med is None:
        return (own_util if own_util > 0 else None), "own-utilisation"
    if own_util > med:
        return own_util, "own-utilisation"
    return med, basis


def efficiencies(m: Measured, pool: Sequence[Measured]) -> Efficiencies:
    """(e_c, e_m) for record ``m``; ``pool``: analysed records of its run (the rule: module docstring)."""
    pool = [p for p in pool if p.run_id == m.run_id]
    res = {
        bound: (m.efficiency, "own") if bound == m.bound else _other_bound(m, bound, pool) for bound in BOUNDS
    }
    return Efficiencies(res["compute"][0], res["memory"][0], res["compute"][1], res["memory"][1])
