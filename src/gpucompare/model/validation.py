"""How far to trust the model: projections between measured chips against their measurements, and the
run-to-run noise of the measurements themselves.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from gpucompare.model.projection import Analysis, project
from gpucompare.model.roofline import Measured, efficiencies
from gpucompare.specs import Chip, ChipDB

NOISE_MIN_TIME_S = 100e-6  # the ≤ 1 % run-to-run goal applies to kernels longer than this


@dataclass(frozen=True)
class ValidationRow:
    from_run: str
    from_chip: str
    to_run: str
    to_chip: str
    workload: str
    shape_label: str
    dtype: str
    impl: str
    measured_s: float
    projected_s: float | None
    error: float | None  # projected / measured - 1
    status: str


def validation_error(projected_s: float, measured_s: float) -> float:
    """Relative error of a projection: ``projected / measured - 1`` (positive: the model is pessimistic)."""
    if measured_s <= 0:
        raise ValueError("measured time must be positive")
    return projected_s / measured_s - 1.0


def _chip_runs(analysis: Analysis, chips: ChipDB) -> dict[str, str]:
    """Run id -> chip id, for the GPU runs measured on a chip of ``chips``."""
    runs: dict[str, str] = {}
    for m in analysis.measured:
        if not m.pipeline_check and m.chip_id and chips.find(m.chip_id) is not None:
            runs.setdefault(m.run_id, m.chip_id)
    return runs


def _validate_pair(
    analysis: Analysis, source: tuple[str, str], to_run: str, to_chip: Chip
) -> list[ValidationRow]:
    """Every record of the ``source`` run (run id, chip id) projected onto ``to_chip``, the chip of
    ``to_run``, against ``to_run``'s measurement of the same work."""
    from_run, from_chip = source
    pool = analysis.of_run(from_run)
    target = {(m.key, m.impl): m for m in analysis.of_run(to_run)}
    rows = []
    for m in pool:
        other = target.get((m.key, m.impl))
        if other is None:
            continue
        p = project(m, to_chip, efficiencies(m, pool))
        err = validation_error(p.time_s, other.median_s) if p.time_s else None
        rows.append(
            ValidationRow(
                from_run,
                from_chip,
                to_run,
                to_chip.id,
                m.workload,
                m.shape_label,
                m.dtype,
                m.impl,
                other.median_s,
                p.time_s,
                err,
                p.status,
            )
        )
    return rows


def validate(analysis: Analysis, chips: ChipDB) -> list[ValidationRow]:
    """Project every GPU run on a known chip onto every other run's chip; compare with its measurement.

    Matched on (workload, shape, dtype, impl). Empty when fewer than two distinct real chips were
    measured: the model is then "unvalidated".
    """
    runs = _chip_runs(analysis, chips)
    rows = []
    for ra, ca in sorted(runs.items()):
        for rb, cb in sorted(runs.items()):
            if cb != ca:
                rows.extend(_validate_pair(analysis, (ra, ca), rb, chips.get(cb)))
    return rows


def validation_status(rows: Sequence[ValidationRow]) -> str:
    """One sentence: validated (with the median |error|) or "unvalidated"."""
    errs = [abs(r.error) for r in rows if r.error is not None]
    if not errs:
        return (
            "unvalidated: no two real chips were measured on the same work, so the projections are untested"
        )
    med = statistics.median(errs)
    return f"validated on {len(errs)} projections between measured chips: median |error| {med:.1%}"


def run_to_run_spread(analysis: Analysis) -> list[dict]:
    """Spread of the medians of one kernel across repeated runs on the same chip.

    Groups measured records by (chip or device, workload, shape, dtype, impl); a group measured in two or
    more runs gives ``spread = (max - min) / median`` of its per-run medians. ``goal_applies`` marks kernels
    whose median exceeds :data:`NOISE_MIN_TIME_S` (the goal is a spread ≤ 1 % for those). Sorted rows.
    """
    groups: dict[tuple, list[Measured]] = {}
    for m in analysis.measured:
        groups.setdefault((m.source, m.workload, m.shape_label, m.dtype, m.impl), []).append(m)
    rows = []
    for (source, workload, shape_label, dtype, impl), ms in sorted(groups.items()):
        runs = {m.run_id for m in ms}
        if len(runs) < 2:
            continue
        medians = sorted(m.median_s for m in ms)
        mid = statistics.median(medians)
        rows.append(
            {
                "source": source,
                "workload": workload,
                "shape_label": shape_label,
                "dtype": dtype,
                "impl": impl,
                "runs": len(runs),
                "median_of_medians_s": mid,
                "min_median_s": medians[0],
                "max_median_s": medians[-1],
                "spread": (medians[-1] - medians[0]) / mid if mid > 0 else None,
                "goal_applies": mid > NOISE_MIN_TIME_S,
                "pipeline_check": any(m.pipeline_check for m in ms),
            }
        )
    return rows
