"""The error a projection carries: the leave-one-chip-out error of its own class and evidence level.

A projection of this project's workload on chip X (``gpucompare predict``, the report) takes each evidence
chip's best published kernel (:mod:`gpucompare.model.calibration`, a target without implementation). It is
validated the same way, cell by cell: for each chip X, workload and precision with representative figures,
X's best family's median efficiency is predicted from the other chips only (``beta`` refitted without X)
and compared: ``e_pred / e_X - 1`` (the error on a rate). At the level "own chip" the error is the spread of
the chip's own figures: each figure predicted by the median of the chip's other figures of the same family,
workload and precision (other shapes).

:func:`expected_error` gives the band of a prediction: median and 90th percentile of |error| with n, from
the cells of the same validation class and level, and only when at least :data:`MIN_N` of them exist and
one of them is of the prediction's precision; otherwise no band and the reason (no ± is printed then).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from gpucompare.dtypes import BITS
from gpucompare.model.calibration import Calibration, Target, comparable_size, estimate, fit
from gpucompare.model.evidence import Observation, observations, validation_class
from gpucompare.model.families import best_family
from gpucompare.model.loco import p90
from gpucompare.specs import ChipDB, load_chips
from gpucompare.specs.published import PublishedEntry, load_published

MIN_N = 3  # fewer leave-one-chip-out predictions than this: the error is not known
INDICATIVE_P90 = 0.25  # a projection whose p90 error exceeds this is indicative only


@dataclass(frozen=True)
class CellRow:
    """One validated projection cell: a chip's best-kernel efficiency on one workload and precision."""

    chip: str
    workload: str
    klass: str | None
    bits: int
    dtype: str
    level: str | None
    implementation: str  # the family of the figure predicted (the chip's best, or the figure's own)
    measured_e: float
    predicted_e: float | None
    naive_e: float | None
    rel_error: float | None
    naive_rel_error: float | None
    evidence: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ErrorBand:
    """|error| of the projections of one class at one evidence level: median and p90 over ``n``; both None
    when not known (``basis`` says why)."""

    median: float | None
    p90: float | None
    n: int
    basis: str

    @property
    def known(self) -> bool:
        return self.median is not None

    def text(self) -> str:
        """``±4 % (p90 9 %, n=12)`` or ``error not known``."""
        if self.median is None or self.p90 is None:
            return "error not known"
        return f"±{self.median:.0%} (p90 {self.p90:.0%}, n={self.n})"


def _own_chip_rows(obs: Sequence[Observation]) -> list[CellRow]:
    """Each figure predicted by the median of its chip's other figures of one family, workload and bits."""
    rows = []
    for o in obs:
        peers = [
            p.efficiency
            for p in obs
            if p.id != o.id and p.chip == o.chip and p.workload == o.workload and p.implementation == o.implementation
            and BITS.get(p.dtype) == BITS.get(o.dtype) and p.bound == o.bound
            and (o.bound != "memory" or comparable_size(p, o.bytes))
        ]  # fmt: skip
        if not peers:
            continue
        pred = statistics.median(peers)
        err = pred / o.efficiency - 1
        rows.append(
            CellRow(
                o.chip,
                o.workload,
                validation_class(o.workload),
                BITS.get(o.dtype, 0),
                o.dtype,
                "own chip",
                o.implementation,
                o.efficiency,
                pred,
                pred,
                err,
                err,
                len(peers),
            )
        )
    return rows


def _cells(obs: Sequence[Observation]) -> dict[tuple, list[Observation]]:
    cells: dict[tuple, list[Observation]] = {}
    for o in obs:
        if validation_class(o.workload) is not None:
            cells.setdefault((o.chip, o.workload, BITS.get(o.dtype, 0), o.bound), []).append(o)
    return cells


def projection_rows(
    entries: Sequence[PublishedEntry] | None = None,
    db: ChipDB | None = None,
    include_unrepresentative: bool = False,
) -> list[CellRow]:
    """Every cell (chip, workload, precision, bound) predicted with its chip left out, then the own-chip
    spread rows (module docstring)."""
    db = db or load_chips()
    entries = load_published() if entries is None else entries
    obs, _ = observations(entries, db, include_unrepresentative=include_unrepresentative)
    fits: dict[str, Calibration] = {}
    rows = []
    for (chip, workload, bits, bound), mine in sorted(_cells(obs).items()):
        best = best_family(mine)
        actual = statistics.median(o.efficiency for o in best)
        train = [o for o in obs if o.chip != chip]
        cal = fits.setdefault(chip, fit(train, db, excluded=(chip,)))
        first = best[0]
        est = estimate(Target(chip, workload, first.shape, first.dtype), bound, train, cal, db, first.bytes)
        pred = est.e if est else None
        naive = est.naive if est else None
        rows.append(
            CellRow(
                chip,
                workload,
                validation_class(workload),
                bits,
                first.dtype,
                est.level if est else None,
                first.implementation,
                actual,
                pred,
                naive,
                pred / actual - 1 if pred else None,
                naive / actual - 1 if naive else None,
                len(est.evidence) if est else 0,
            )
        )
    return rows + _own_chip_rows(obs)


@lru_cache(maxsize=2)
def _default_rows(include_unrepresentative: bool) -> tuple[CellRow, ...]:
    return tuple(projection_rows(include_unrepresentative=include_unrepresentative))


def default_projection_rows(include_unrepresentative: bool = False) -> list[CellRow]:
    """:func:`projection_rows` of the packaged ledger (computed once)."""
    return list(_default_rows(include_unrepresentative))


def expected_error(workload: str, level: str, dtype: str, rows: Sequence[CellRow] | None = None) -> ErrorBand:
    """The band of a projection of ``workload`` in ``dtype`` made from ``level`` (module docstring)."""
    rows = default_projection_rows() if rows is None else rows
    klass = validation_class(workload)
    ok = [r for r in rows if r.klass == klass and r.level == level and r.rel_error is not None]
    # A streaming copy's rate is a byte rate: far above the caches the element type does not change it, so
    # bandwidth evidence of any dtype bands a bandwidth projection. Compute classes need their own precision.
    if klass != "bandwidth" and not any(r.bits == BITS.get(dtype) for r in ok):
        return ErrorBand(None, None, len(ok), f"no {dtype} {klass} projection from '{level}' was validated")
    if len(ok) < MIN_N:
        return ErrorBand(
            None, None, len(ok), f"only {len(ok)} leave-one-chip-out {klass} projection(s) from '{level}'"
        )
    errs = [abs(r.rel_error) for r in ok if r.rel_error is not None]
    basis = f"|error| of {len(errs)} leave-one-chip-out {klass} projections from '{level}'"
    return ErrorBand(statistics.median(errs), p90(errs), len(errs), basis)


def summarise_cells(rows: Sequence[CellRow]) -> list[dict[str, Any]]:
    """Per validation class: n, median and p90 |error| of the model and of the naive transfer (cells of a
    level other than "own chip")."""
    from gpucompare.model.evidence import VALIDATION_CLASSES

    out = []
    for k in VALIDATION_CLASSES:
        ok = [r for r in rows if r.klass == k and r.level != "own chip" and r.rel_error is not None]
        if not ok:
            continue
        errs = [abs(r.rel_error) for r in ok if r.rel_error is not None]
        naive = [abs(r.naive_rel_error) for r in ok if r.naive_rel_error is not None]
        out.append(
            {
                "klass": k,
                "n": len(errs),
                "median_abs": statistics.median(errs),
                "p90_abs": p90(errs),
                "naive_median_abs": statistics.median(naive) if naive else None,
                "naive_p90_abs": p90(naive),
            }
        )
    return out
