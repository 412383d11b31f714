"""Implementation families in the evidence: each chip's best family, and the fitted factor between two families.

The implementation (cuBLAS, cuDNN, FlashAttention-2/3/4, FlashInfer, ...) decides much of an achieved
figure: on one chip, published decode kernels reach from about a quarter to about 85 % of its bandwidth. So
efficiency is transferred within one family first (:mod:`gpucompare.model.calibration`), and across two
families only through a **fitted factor**: on the chips that published both families on the same workload
and precision, ``r_c = median e_I(c) / median e_J(c)``; the factor is the median of ``r_c`` and its
leave-one-chip-out error is ``f_{-c} / r_c - 1`` over those chips (None with fewer than two of them).
Memory-bound work of a family that no other chip published has no such pair: :func:`memory_factor` fits how
a family compares with the other chips' best kernels instead.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gpucompare.model.evidence import Observation


@dataclass(frozen=True)
class Factor:
    """``e_to ≈ factor · e_from`` on one workload and precision, fitted on ``chips``; ``loo``: the median
    |error| of its leave-one-chip-out predictions (None with fewer than two chips)."""

    src: str
    dst: str
    factor: float
    chips: tuple[str, ...]
    loo: float | None

    def describe(self) -> str:
        err = (
            f", leave-one-chip-out error {self.loo:.0%}"
            if self.loo is not None
            else ", error unknown (one chip)"
        )
        return f"{self.dst}/{self.src} factor {self.factor:.2f} fitted on {len(self.chips)} chip(s){err}"


def chip_family_medians(obs: Iterable[Observation]) -> dict[str, dict[str, float]]:
    """chip -> implementation -> median efficiency."""
    effs: dict[str, dict[str, list[float]]] = {}
    for o in obs:
        effs.setdefault(o.chip, {}).setdefault(o.implementation, []).append(o.efficiency)
    return {c: {i: statistics.median(v) for i, v in fam.items()} for c, fam in effs.items()}


def best_family(obs: Sequence[Observation]) -> list[Observation]:
    """Per chip, only the observations of its family with the highest median efficiency (ties: by name)."""
    medians = chip_family_medians(obs)
    best = {c: max(fam, key=lambda i: (fam[i], i)) for c, fam in medians.items()}
    return [o for o in obs if o.implementation == best[o.chip]]


def fit_factor(pool: Sequence[Observation], src: str, dst: str) -> Factor | None:
    """The factor from family ``src`` to ``dst`` over ``pool`` (one workload and precision); None when no
    chip published both."""
    medians = chip_family_medians(pool)
    ratios = {
        c: fam[dst] / fam[src] for c, fam in medians.items() if src in fam and dst in fam and fam[src] > 0
    }
    if not ratios:
        return None
    factor = statistics.median(ratios.values())
    loo = None
    if len(ratios) >= 2:
        errs = [
            abs(statistics.median(v for k, v in ratios.items() if k != c) / r - 1) for c, r in ratios.items()
        ]
        loo = statistics.median(errs)
    return Factor(src, dst, factor, tuple(sorted(ratios)), loo)


def best_factor(pool: Sequence[Observation], candidates: Sequence[Observation], dst: str) -> Factor | None:
    """Among the families of ``candidates`` (not ``dst``), the one whose factor to ``dst`` rests on the most
    chips of ``pool`` (then the smallest leave-one-out error, then the name); None when none has a factor."""
    fits = [
        f
        for src in sorted({o.implementation for o in candidates} - {dst})
        if (f := fit_factor(pool, src, dst))
    ]
    if not fits:
        return None
    return min(fits, key=lambda f: (-len(f.chips), f.loo if f.loo is not None else 9.0, f.src))


#: The source of :func:`memory_factor`: each other chip's best family, whatever it is.
BEST_ELSEWHERE = "best family elsewhere"


def _best_elsewhere(best: dict[str, float], chip: str, skip: str | None = None) -> float | None:
    """Median over the chips other than ``chip`` (and ``skip``) of their best family's median efficiency."""
    vals = [e for c, e in best.items() if c not in (chip, skip)]
    return statistics.median(vals) if vals else None


def _memory_ratios(medians: dict[str, dict[str, float]], skip: str | None = None) -> dict[str, list[float]]:
    """chip -> [e_F(c) / best elsewhere] over its families F, without chip ``skip`` anywhere."""
    best = {c: max(fam.values()) for c, fam in medians.items() if c != skip}
    out: dict[str, list[float]] = {}
    for c, fam in medians.items():
        ref = None if c == skip else _best_elsewhere(best, c)
        if ref:
            out[c] = [e / ref for e in fam.values()]
    return out


def memory_factor(pool: Sequence[Observation], dst: str) -> Factor | None:
    """For memory-bound work of a family ``dst`` published on no other chip: the fitted factor from the other
    chips' best family to *a* family, ``e_dst ≈ factor · median_c' best_e(c')``. For each chip c of ``pool``
    and each family F on it, ``r = e_F(c) / median over the other chips of their best family``; the factor is
    the median of r. Its leave-one-chip-out error: each chip's r predicted by the factor refitted with that
    chip removed everywhere (numerators and the references), ``f_{-c} / r - 1``, median |error| over the
    chips' figures. None with fewer than two chips (nothing to compare a chip with)."""
    medians = chip_family_medians(pool)
    ratios = _memory_ratios(medians)
    flat = [r for rs in ratios.values() for r in rs]
    if len(medians) < 2 or not flat:
        return None
    loo = None
    errs = []
    for c, rs in ratios.items():
        rest = [r for k, v in _memory_ratios(medians, skip=c).items() for r in v]
        if rest:
            f_c = statistics.median(rest)
            errs.extend(abs(f_c / r - 1) for r in rs)
    if errs:
        loo = statistics.median(errs)
    return Factor(BEST_ELSEWHERE, dst, statistics.median(flat), tuple(sorted(medians)), loo)
