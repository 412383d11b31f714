"""The calibrated efficiency: per chip and per bound, from the closest evidence, adjusted by a fitted prior.

:data:`EXPLANATION` says it in five lines (the report and ``gpucompare validate`` print them). Each evidence
chip i gives ``e_i · (w_X / w_i)^beta`` (``w = TDP / peak(dtype)``, e_i its figures' median at that level),
capped at 1; ``e`` is the median over the evidence chips. At one level, runs made here (``measured-here``)
are used before published figures.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gpucompare.dtypes import BITS
from gpucompare.model.evidence import Observation, shape_text, workload_class
from gpucompare.model.families import Factor, best_factor, best_family, memory_factor
from gpucompare.specs import Chip, ChipDB

EXPLANATION: tuple[str, ...] = (
    "A workload's time on chip X is its roofline time divided by an efficiency: t = max(F/P_X, B/BW_X) / e.",
    "e comes from the closest evidence on the same bound and implementation family (a library native to one "
    "architecture, FlashAttention-3 on Hopper, is another family on a chip of another architecture): the chip's "
    "own figures, else other chips' figures from the same script, then the same family; another family only "
    "through a factor fitted on chips that published both (with its own leave-one-out error), or, for "
    "memory-bound work of a family published on one chip only, through a factor fitted from the other chips' "
    "best kernels; a projection of this project's workload takes each chip's best published kernel. "
    "Unrepresentative entries are never evidence.",
    "Compute efficiency is not copied across chips: it scales as (TDP / peak)^beta, the power a chip has per "
    "TFLOP/s of peak (capped chips such as the H20 run near their peak, power-limited ones do not).",
    "beta is fitted by least squares within scripts (same group and shape), never on the chip predicted; "
    "memory efficiency is copied unchanged from figures of comparable size (no per-chip memory term: no chip "
    "figure was found that predicts it).",
    "The naive baseline is the same evidence with the efficiency copied unchanged (beta = 0); every projection "
    "quotes the leave-one-chip-out median and p90 |error| of its class and level, with n, or no ±.",
)


def power_per_tflops(chip: Chip, dtype: str) -> float | None:
    """``w = TDP / peak(dtype)`` in W per TFLOP/s; None when either is unknown."""
    peak = chip.peak_tflops.get(dtype)
    if not peak or not chip.tdp_w:
        return None
    return chip.tdp_w / peak


@dataclass(frozen=True)
class Target:
    """What is predicted: a workload at a shape and dtype on a chip; ``group``: the script whose figure is
    predicted (validation), None for a prediction of this project's own workload; ``implementation``: the
    library or kernel family of the figure predicted (validation), None for "the best kernel published"."""

    chip: str
    workload: str
    shape: Mapping[str, Any]
    dtype: str
    group: str | None = None
    implementation: str | None = None


Match = Callable[[Observation, Target], bool]


def _same_bits(o: Observation, t: Target) -> bool:
    """Same precision (bit width): fp16 and bf16 run at one peak on every chip of the database."""
    return BITS.get(o.dtype) == BITS.get(t.dtype)


def _same_impl(o: Observation, t: Target) -> bool:
    return t.implementation is None or o.implementation == t.implementation


def _same_script(o: Observation, t: Target) -> bool:
    return o.group == t.group and o.workload == t.workload and _same_impl(o, t)


def _known_impl(t: Target) -> bool:
    return t.implementation is not None


#: The level at which a figure of another implementation family is transferred through a fitted factor.
FACTOR_LEVEL = "other implementation, fitted factor"
#: The level at which memory-bound work of a family published on no other chip (nor with a fitted factor to a
#: family that was) is predicted from the other chips' best kernels through a factor fitted on those chips
#: (:func:`gpucompare.model.families.memory_factor`, with its own leave-one-chip-out error).
MEMORY_FACTOR_LEVEL = "other implementation, memory-bound factor"
#: Evidence levels, closest first. Only "own chip" takes the target chip's figures; the "same script"
#: levels need the target's group (validation of a published figure). A target of a known implementation
#: takes its own family's figures, then another family's through a fitted factor (:data:`FACTOR_LEVEL`),
#: never more; a target without one (a projection of this project's workload) takes each evidence chip's
#: best family, down to any workload of the same bound.
LEVELS: tuple[tuple[str, Match], ...] = (
    ("own chip", lambda o, t: o.chip == t.chip and o.workload == t.workload and _same_bits(o, t) and _same_impl(o, t)),
    (
        "same script and shape",
        lambda o, t: _same_script(o, t) and o.dtype == t.dtype and dict(o.shape) == dict(t.shape),
    ),
    ("same script", lambda o, t: _same_script(o, t) and o.dtype == t.dtype),
    ("same script, other dtype", _same_script),
    (
        "same implementation, workload and precision",
        lambda o, t: _known_impl(t) and _same_impl(o, t) and o.workload == t.workload and _same_bits(o, t),
    ),
    ("same implementation and workload", lambda o, t: _known_impl(t) and _same_impl(o, t) and o.workload == t.workload),
    (FACTOR_LEVEL, lambda o, t: _known_impl(t) and o.workload == t.workload and _same_bits(o, t)),
    (MEMORY_FACTOR_LEVEL, lambda o, t: _known_impl(t) and o.bound == "memory" and o.workload == t.workload and _same_bits(o, t)),
    ("same workload and precision", lambda o, t: not _known_impl(t) and o.workload == t.workload and _same_bits(o, t)),
    ("same workload", lambda o, t: not _known_impl(t) and o.workload == t.workload),
    ("same workload class", lambda o, t: not _known_impl(t) and o.klass == workload_class(t.workload)),
    ("same bound, any workload", lambda o, t: not _known_impl(t)),  # the pool is already of the target's bound
)  # fmt: skip


@dataclass(frozen=True)
class Calibration:
    """The fitted exponent: compute efficiency ∝ (TDP / peak)^beta. ``points``/``keys``: what it was fitted on."""

    beta: float
    points: int = 0
    keys: int = 0
    excluded: tuple[str, ...] = ()  # chips left out of the fit (validation)

    def describe(self) -> str:
        return (
            f"beta = {self.beta:.3f}, fitted on {self.points} chip figures in {self.keys} same-script groups"
        )


def _per_chip_log(obs: Iterable[Observation], db: ChipDB) -> dict[str, tuple[float, float]]:
    """chip -> (ln w, median ln e) over a key's observations; chips without w are left out."""
    by_chip: dict[str, list[float]] = {}
    for o in obs:
        by_chip.setdefault(o.chip, []).append(o.efficiency)
    out = {}
    for chip, effs in by_chip.items():
        w = power_per_tflops(db.get(chip), next(o.dtype for o in obs if o.chip == chip))
        if w:
            out[chip] = (math.log(w), math.log(statistics.median(effs)))
    return out


def fit(pool: Sequence[Observation], db: ChipDB, excluded: Sequence[str] = ()) -> Calibration:
    """Least-squares ``beta`` of ``ln e = a_key + beta · ln w`` over compute-bound observations, one intercept
    per key (group, workload, dtype, shape): only differences between chips within one script count."""
    keys: dict[tuple, list[Observation]] = {}
    for o in pool:
        if o.bound == "compute":
            keys.setdefault((o.group, o.workload, o.dtype, shape_text(o.shape)), []).append(o)
    sxy = sxx = 0.0
    points = used = 0
    for obs in keys.values():
        pts = list(_per_chip_log(obs, db).values())
        if len(pts) < 2:
            continue
        mx = statistics.fmean(x for x, _ in pts)
        my = statistics.fmean(y for _, y in pts)
        sxy += sum((x - mx) * (y - my) for x, y in pts)
        sxx += sum((x - mx) ** 2 for x, _ in pts)
        points += len(pts)
        used += 1
    beta = sxy / sxx if sxx > 0 else 0.0
    return Calibration(beta, points, used, tuple(excluded))


@dataclass(frozen=True)
class Estimate:
    """The efficiency on the target's bound: calibrated (``e``) and naive, with the evidence behind them."""

    e: float
    naive: float
    level: str
    bound: str
    evidence: tuple[Observation, ...]
    per_chip: Mapping[str, float] = field(default_factory=dict)  # evidence chip -> transferred e
    factor: Factor | None = None  # the fitted factor between two families (FACTOR_LEVEL only)

    @property
    def implementations(self) -> tuple[str, ...]:
        """The families the evidence comes from."""
        return tuple(sorted({o.implementation for o in self.evidence}))

    @property
    def sources(self) -> tuple[str, ...]:
        """The publications (or runs) the evidence comes from: one means it rests on one source."""
        return tuple(sorted({o.source or o.id for o in self.evidence}))

    @property
    def kind(self) -> str:
        """``measured-here`` / ``published``: the strongest kind among the evidence."""
        kinds = {o.kind for o in self.evidence}
        return "measured-here" if "measured-here" in kinds else "published"


def _transfer(
    e: float, chip: Chip, source: Chip, dtype: str, src_dtype: str, beta: float, bound: str
) -> float:
    if bound != "compute" or chip.id == source.id:
        return e
    w_x, w_i = power_per_tflops(chip, dtype), power_per_tflops(source, src_dtype)
    if not w_x or not w_i:
        return e
    return min(1.0, e * (w_x / w_i) ** beta)


def _level_evidence(
    level: str, match: Match, target: Target, same_bound: Sequence[Observation]
) -> tuple[list[Observation], Factor | None] | None:
    """The observations of one level (runs made here before published figures), restricted to one family
    per chip, and the fitted factor at :data:`FACTOR_LEVEL`; None when the level has none."""
    ev = [o for o in same_bound if match(o, target)]
    if level != "own chip":
        ev = [o for o in ev if o.chip != target.chip]
    here = [o for o in ev if o.kind == "measured-here"]
    ev = here or ev
    if not ev:
        return None
    if level == MEMORY_FACTOR_LEVEL:
        factor = memory_factor(ev, str(target.implementation))
        return (best_family(ev), factor) if factor else None
    if level != FACTOR_LEVEL:
        return (ev if _known_impl(target) else best_family(ev)), None
    dst = str(target.implementation)
    ev = [o for o in ev if o.implementation != dst]
    peers = [o for o in same_bound if o.chip != target.chip and match(o, target)]
    factor = best_factor(peers, ev, dst) if ev else None
    if factor is None:
        return None
    return [o for o in ev if o.implementation == factor.src], factor


#: Memory-bound evidence is taken from calls of comparable size: within this factor of the target's bytes.
BYTES_SPAN = 8.0


def comparable_size(o: Observation, nbytes: float | None) -> bool:
    """A memory-bound figure speaks for a call of about its own size (small calls are latency-bound): bytes
    within :data:`BYTES_SPAN` of the target's (a figure without byte counts, STREAM's GB/s, always)."""
    return not nbytes or not o.bytes or 1 / BYTES_SPAN <= o.bytes / nbytes <= BYTES_SPAN


def estimate(
    target: Target,
    bound: str,
    pool: Sequence[Observation],
    cal: Calibration,
    db: ChipDB,
    nbytes: float | None = None,
) -> Estimate | None:
    """The efficiency on ``bound`` for ``target`` from the closest level of :data:`LEVELS` with evidence;
    None when no observation of that bound matches any level. ``nbytes``: the target's bytes (memory-bound
    evidence is then of comparable size, :func:`comparable_size`)."""
    chip = db.get(target.chip)
    same_bound = [o for o in pool if o.bound == bound and (bound != "memory" or comparable_size(o, nbytes))]
    for level, match in LEVELS:
        if level.startswith("same script") and target.group is None:
            continue
        found = _level_evidence(level, match, target, same_bound)
        if found is None:
            continue
        ev, factor = found
        scale = factor.factor if factor else 1.0
        naive_chip: dict[str, float] = {}
        calib_chip: dict[str, float] = {}
        for src in sorted({o.chip for o in ev}):
            mine = [o for o in ev if o.chip == src]
            e_src = statistics.median(o.efficiency for o in mine)
            naive_chip[src] = e_src
            calib_chip[src] = min(
                1.0, scale * _transfer(e_src, chip, db.get(src), target.dtype, mine[0].dtype, cal.beta, bound)
            )
        return Estimate(
            e=statistics.median(calib_chip.values()),
            naive=statistics.median(naive_chip.values()),
            level=level,
            bound=bound,
            evidence=tuple(ev),
            per_chip=calib_chip,
            factor=factor,
        )
    return None
