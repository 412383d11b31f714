"""Implementation families in the evidence: each chip's best family, and the fitted factor between two families.

The implementation (cuBLAS, cuDNN, FlashAttention-2/3/4, FlashInfer, ...) decides much of an achieved
figure: on one chip, published decode kernels reach from about a quarter to about 85 % of its bandwidth. So
efficiency is transferred within one family first (:mod:`gpucompare.model.calibration`), and across two
families only through a **fitted factor**: on the chips that published both families on the same workload
and precision, ``r_c = median e_I(c) / median e_J(c)``; the factor is the median of ``r_c`` and its
leave-one-chip-out error is ``f_{-c} / r_c - 1`` over those chips (None with fewer than two of them).
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
