"""Projection onto every chip: measured records analysed together, each projected by the one rule.

Projection onto chip X keeps the efficiency split by bound (e_c, e_m from
:func:`gpucompare.model.roofline.efficiencies`)::

    t_X = max(F / (e_c · P_X(d)), B / (e_m · BW_X))

A dtype chip X lacks gives status "unsupported", a missing peak or bandwidth "unknown"; never a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from gpucompare.model.roofline import TERA, Efficiencies, Measured, analyse_record, efficiencies
from gpucompare.specs import Chip, ChipDB, load_chips


def chip_index(chips: ChipDB | Iterable[Chip] | None = None) -> ChipDB:
    """``chips`` as the one resolver (``db.find`` / ``db.get``); the packaged database when None."""
    if chips is None:
        return load_chips()
    if isinstance(chips, ChipDB):
        return chips
    return ChipDB(list(chips), {}, {}, "given chips")


@dataclass
class Analysis:
    """Every ok record of the given runs on its roofline, plus the records that could not be modelled."""

    measured: list[Measured]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (record name, reason)

    def runs(self) -> list[str]:
        return sorted({m.run_id for m in self.measured})

    def of_run(self, run_id: str) -> list[Measured]:
        return [m for m in self.measured if m.run_id == run_id]

    def best(self) -> list[Measured]:
        """Fastest implementation per (run, workload, shape, dtype), sorted."""
        best: dict[tuple, Measured] = {}
        for m in self.measured:
            k = (m.run_id, *m.key)
            if k not in best or (m.median_s, m.impl) < (best[k].median_s, best[k].impl):
                best[k] = m
        return [best[k] for k in sorted(best)]


def analyse(records: Iterable[Mapping], chips: ChipDB | Iterable[Chip] | None = None) -> Analysis:
    """Analyse every record; failed, skipped and unmodellable ones are listed with the reason.

    ``chips`` supply the spec clocks of the measured chips (default: the packaged database).
    """
    db = chip_index(chips)
    measured, skipped = [], []
    for rec in records:
        name = "{}:{}/{}/{}/{}".format(
            *(rec[k] for k in ("run_id", "workload", "shape_label", "dtype", "impl"))
        )
        if rec["status"] != "ok":
            skipped.append((name, f"status {rec['status']}: {rec['reason'] or ''}".strip()))
            continue
        try:
            measured.append(analyse_record(rec, db))
        except ValueError as exc:
            skipped.append((name, str(exc)))
    measured.sort(key=lambda m: (m.run_id, *m.key, m.impl))
    return Analysis(measured, sorted(skipped))


@dataclass(frozen=True)
class ProjectionResult:
    """Projected time of one piece of work on one chip; ``time_s`` is None unless ``status == "ok"``."""

    chip_id: str
    workload: str
    shape_label: str
    dtype: str
    status: str  # ok | unsupported | unknown | unmeasured
    reason: str = ""
    time_s: float | None = None
    bound: str | None = None
    flops: float = 0.0
    bytes: float = 0.0
    e_c: float | None = None
    e_m: float | None = None
    basis: str = ""
    impl: str = ""
    source_run_id: str = ""
    source: str = ""  # the measured chip (or device) the efficiencies come from
    pipeline_check: bool = False

    @property
    def tflops(self) -> float | None:
        return self.flops / self.time_s / TERA if self.time_s and self.flops else None

    @property
    def gbps(self) -> float | None:
        return self.bytes / self.time_s / 1e9 if self.time_s else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tflops"], d["gbps"] = self.tflops, self.gbps
        return d


def project_work(
    flops: float, nbytes: float, dtype: str, chip: Chip, e_c: float | None, e_m: float | None
) -> tuple[str, str, float | None, str | None]:
    """``t_X = max(F / (e_c·P_X(dtype)), B / (e_m·BW_X))`` -> (status, reason, time_s, bound on X).

    A term whose work is zero needs neither a peak nor an efficiency (a copy has no FLOPs).
    """
    t_c = t_m = 0.0
    if flops > 0:
        status = chip.peak_status(dtype)
        if status == "unsupported":
            return "unsupported", f"{chip.id} has no {dtype} support", None, None
        if status != "known":
            return "unknown", f"{chip.id}: {dtype} peak is not known", None, None
        if not e_c:
            return "unmeasured", "no compute efficiency measured", None, None
        t_c = flops / (e_c * chip.peak_tflops[dtype] * TERA)
    if nbytes > 0:
        if not chip.bandwidth_tbps:
            return "unknown", f"{chip.id}: memory bandwidth is not known", None, None
        if not e_m:
            return "unmeasured", "no memory efficiency measured", None, None
        t_m = nbytes / (e_m * chip.bandwidth_tbps * TERA)
    return "ok", "", max(t_c, t_m), ("compute" if t_c >= t_m else "memory")


def project(m: Measured, chip: Chip, eff: Efficiencies) -> ProjectionResult:
    """Project measured record ``m`` onto ``chip`` with efficiencies ``eff``."""
    status, reason, t, bound = project_work(m.flops, m.bytes, m.dtype, chip, eff.e_c, eff.e_m)
    return ProjectionResult(
        chip_id=chip.id,
        workload=m.workload,
        shape_label=m.shape_label,
        dtype=m.dtype,
        status=status,
        reason=reason,
        time_s=t,
        bound=bound,
        flops=m.flops,
        bytes=m.bytes,
        e_c=eff.e_c,
        e_m=eff.e_m,
        basis=f"e_c:{eff.basis_c} e_m:{eff.basis_m}",
        impl=m.impl,
        source_run_id=m.run_id,
        source=m.source,
        pipeline_check=m.pipeline_check,
    )


def project_all(analysis: Analysis, chips: Iterable[Chip]) -> list[ProjectionResult]:
    """Every best-implementation measured record projected onto every chip; sorted, deterministic."""
    chips = list(chips)
    out = []
    for m in analysis.best():
        eff = efficiencies(m, analysis.of_run(m.run_id))
        out.extend(project(m, c, eff) for c in chips)
    out.sort(key=lambda p: (p.source_run_id, p.workload, p.shape_label, p.dtype, p.impl, p.chip_id))
    return out
