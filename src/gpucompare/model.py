"""The roofline model: efficiency split by bound, projection onto every chip, ratios, a transformer layer.

Units: FLOPs and bytes as stored in the record (from ``gpucompare.workloads``; never re-derived here),
peaks in TFLOP/s (1e12 FLOP/s) and TB/s (1e12 B/s), times in seconds.

Measured record on local chip L (dtype d, F FLOPs, B bytes, median time t)::

    t*_L = max(F / P_L(d), B / BW_L)          roofline time at L (P_L, BW_L: the record's local peaks)
    e    = t*_L / t                            efficiency on the record's own bound
    I    = F / B,   ridge_L = P_L(d) / BW_L    bound at L: "compute" if I >= ridge_L else "memory"
    u_c  = (F / P_L) / t,  u_m = (B / BW_L) / t   utilisation of each resource (the own one equals e)

Projection onto chip X keeps the efficiency split by bound::

    t_X = max(F / (e_c · P_X(d)), B / (e_m · BW_X))

How e_c and e_m are chosen for a record r (bound b at L, dtype d, in run R) -- ``efficiencies()``:

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

A dtype chip X lacks gives status "unsupported", a missing peak or bandwidth "unknown"; never a number.

Clock: the spec peaks assume the chip's boost clock (``Chip.boost_clock_mhz``; a ``peak_clock_mhz``
attribute, when the spec database has one, is preferred: the H100's tensor peak implies 1830 MHz, not
its 1980 MHz boost). The run clock is the SM clock of the telemetry sample taken after the timed loop
(under load), else the one before. For compute-bound records the clock-normalised efficiency is
``e_norm = e × spec_clock / run_clock``: the efficiency against a peak rescaled to the clock the chip
actually ran at (how well the kernel used the cycles it got). Projections use the as-run efficiency; the
clock-normalised one is shown beside it. Chips without a published clock (H20: peaks capped
independently of clock) get no normalisation, with the reason.

cpu-fallback runs are modelled like any other (local roof = measured CPU peak), but every result
derived from them carries ``pipeline_check=True``: CPU efficiencies say nothing about GPUs. The report
keeps them out of the chip tables unless asked (``--include-cpu``), and labels them when included.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TERA = 1e12
BOUNDS = ("compute", "memory")


# --------------------------------------------------------------------------------------------- inputs
def _records_of(runs: Iterable[Any]) -> list[dict]:
    """Flatten runs (``Run`` objects with ``.records``, dicts of records, or a DataFrame) into dicts."""
    out: list[dict] = []
    if hasattr(runs, "to_dict") and hasattr(runs, "columns"):  # a DataFrame of records
        return [dict(r) for r in runs.to_dict(orient="records")]
    for item in runs:
        if isinstance(item, Mapping):
            out.append(dict(item))
        elif hasattr(item, "records"):
            out.extend(dict(r) for r in item.records)
        else:
            raise ValueError(f"expected a Run, a record dict or a DataFrame, got {type(item).__name__}")
    return out


def chip_index(chips: Iterable[Any] | None = None) -> dict[str, Any]:
    """Chips by id; the spec database's chips when ``chips`` is None."""
    if chips is None:
        from gpucompare.specs import all_chips

        chips = all_chips()
    return {c.id: c for c in chips}


def _chip_id(chip: Any) -> str:
    return chip if isinstance(chip, str) else chip.id


def _peak_status(chip: Any, dtype: str) -> str:
    if hasattr(chip, "peak_status"):
        return chip.peak_status(dtype)
    if dtype in getattr(chip, "unsupported", ()):
        return "unsupported"
    return "known" if chip.peak_tflops.get(dtype) is not None else "unknown"


def spec_clock_mhz(chip: Any | None) -> float | None:
    """The clock the chip's spec peaks assume (``peak_clock_mhz`` if the database has it, else boost)."""
    if chip is None:
        return None
    clock = getattr(chip, "peak_clock_mhz", None) or getattr(chip, "boost_clock_mhz", None)
    return float(clock) if clock else None


def run_clock_mhz(record: Mapping) -> float | None:
    """SM clock under load: the telemetry sample after the timed loop, else the one before."""
    tel = record.get("telemetry") or {}
    for when in ("after", "before"):
        sample = tel.get(when) or {}
        clock = sample.get("sm_clock_mhz")
        if clock:
            return float(clock)
    return None


# ----------------------------------------------------------------------------------- measured points
@dataclass(frozen=True)
class Measured:
    """One ok record placed on its local roofline."""

    run_id: str
    mode: str
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
    def pipeline_check(self) -> bool:
        """True for the CPU fallback: a check of the pipeline, not a statement about any GPU."""
        return self.mode != "gpu"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.workload, self.shape_label, self.dtype)

    @property
    def source(self) -> str:
        return self.chip_id or self.device_name or "unknown-device"


def analyse_record(record: Mapping, chips: Mapping[str, Any] | None = None) -> Measured:
    """Place one ``status == "ok"`` record on its local roofline (see the module docstring).

    ``chips`` (id -> Chip) supplies the spec clock of the local chip; it is optional.
    Raises ValueError naming the record and the missing or bad field.
    """
    name = (
        f"{record.get('run_id')}:{record.get('workload')}/{record.get('shape_label')}/{record.get('dtype')}"
    )
    if record.get("status") != "ok":
        raise ValueError(f"{name}: status is {record.get('status')!r}, only ok records are modelled")
    vals = {}
    for f in ("flops", "bytes", "median_s", "local_peak_tflops", "local_peak_bw_tbps"):
        v = record.get(f)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise ValueError(f"{name}: field {f!r} is missing")
        v = float(v)
        if v < 0 or (f != "flops" and f != "bytes" and v <= 0):
            raise ValueError(f"{name}: field {f!r} must be positive, got {v}")
        vals[f] = v
    F, B, t = vals["flops"], vals["bytes"], vals["median_s"]
    P, BW = vals["local_peak_tflops"] * TERA, vals["local_peak_bw_tbps"] * TERA
    if F == 0 and B == 0:
        raise ValueError(f"{name}: flops and bytes are both zero")
    t_c, t_m = F / P, B / BW
    intensity = F / B if B > 0 else math.inf
    ridge = P / BW
    bound = "compute" if intensity >= ridge else "memory"
    t_roof = max(t_c, t_m)
    eff = t_roof / t

    chip = (chips or {}).get(record.get("chip_id")) if record.get("chip_id") else None
    rclock = run_clock_mhz(record)
    if chip is not None:
        sclock = spec_clock_mhz(chip)
        no_clock = f"{chip.id} publishes no clock its peaks scale with"
    elif record.get("local_peak_source") == "estimated-from-device":
        max_clock = ((record.get("telemetry") or {}).get("after") or {}).get("sm_clock_max_mhz")
        sclock = float(max_clock) if max_clock else None
        no_clock = "no maximum SM clock reported"
    else:
        sclock = None
        no_clock = "no spec clock (CPU fallback or measured peak)"
    norm = None
    if bound != "compute":
        note = "memory-bound: not clock-normalised"
    elif sclock is None:
        note = no_clock
    elif rclock is None:
        note = "no SM clock in the telemetry"
    else:
        norm = eff * sclock / rclock
        note = "ran below spec clock" if rclock < sclock else "ran at or above spec clock"
    return Measured(
        run_id=str(record.get("run_id")),
        mode=str(record.get("mode") or "gpu"),
        chip_id=record.get("chip_id"),
        device_name=str(record.get("device_name") or ""),
        workload=str(record["workload"]),
        shape_label=str(record["shape_label"]),
        shape=dict(record.get("shape") or {}),
        dtype=str(record["dtype"]),
        impl=str(record.get("impl") or ""),
        flops=F,
        bytes=B,
        median_s=t,
        peak_tflops=vals["local_peak_tflops"],
        peak_bw_tbps=vals["local_peak_bw_tbps"],
        peak_source=str(record.get("local_peak_source") or ""),
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


@dataclass
class Analysis:
    """Every ok record of the given runs on its roofline, plus the records that could not be modelled."""

    measured: list[Measured]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (record name, reason)

    def runs(self) -> list[str]:
        return sorted({m.run_id for m in self.measured})

    def of_run(self, run_id: str) -> list[Measured]:
        return [m for m in self.measured if m.run_id == run_id]

    def best(self, run_id: str | None = None) -> list[Measured]:
        """Fastest implementation per (run, workload, shape, dtype), sorted."""
        best: dict[tuple, Measured] = {}
        for m in self.measured:
            if run_id is not None and m.run_id != run_id:
                continue
            k = (m.run_id, *m.key)
            if k not in best or (m.median_s, m.impl) < (best[k].median_s, best[k].impl):
                best[k] = m
        return [best[k] for k in sorted(best)]


def analyse(runs: Iterable[Any], chips: Mapping[str, Any] | Iterable[Any] | None = None) -> Analysis:
    """Analyse every record of ``runs``; failed, skipped and unmodellable ones are listed with the reason."""
    index = chips if isinstance(chips, Mapping) else _safe_index(chips)
    measured, skipped = [], []
    for rec in _records_of(runs):
        name = "{}:{}/{}/{}/{}".format(
            *(rec.get(k) for k in ("run_id", "workload", "shape_label", "dtype", "impl"))
        )
        if rec.get("status") != "ok":
            skipped.append((name, f"status {rec.get('status')}: {rec.get('reason') or ''}".strip()))
            continue
        try:
            measured.append(analyse_record(rec, index))
        except ValueError as exc:
            skipped.append((name, str(exc)))
    measured.sort(key=lambda m: (m.run_id, *m.key, m.impl))
    return Analysis(measured, sorted(skipped))


def _safe_index(chips: Iterable[Any] | None) -> dict[str, Any]:
    if chips is not None:
        return chip_index(chips)
    try:
        return chip_index(None)
    except ImportError:  # spec database not available: no spec clocks
        return {}


# ---------------------------------------------------------------------------------------- efficiencies
@dataclass(frozen=True)
class Efficiencies:
    e_c: float | None
    e_m: float | None
    basis_c: str
    basis_m: str


def _median_eff(pool: Sequence[Measured], bound: str, dtype: str | None) -> float | None:
    best: dict[tuple, Measured] = {}
    for m in pool:
        if m.bound != bound or (dtype is not None and m.dtype != dtype):
            continue
        k = m.key
        if k not in best or m.median_s < best[k].median_s:
            best[k] = m
    if not best:
        return None
    return statistics.median(sorted(m.efficiency for m in best.values()))


def efficiencies(m: Measured, pool: Sequence[Measured]) -> Efficiencies:
    """(e_c, e_m) for record ``m``; ``pool``: analysed records of its run (the rule: module docstring)."""
    pool = [p for p in pool if p.run_id == m.run_id]
    res: dict[str, tuple[float | None, str]] = {}
    for bound in BOUNDS:
        if bound == m.bound:
            res[bound] = (m.efficiency, "own")
            continue
        own_util = m.compute_util if bound == "compute" else m.memory_util
        med, basis = _median_eff(pool, bound, m.dtype), f"median-{bound}-{m.dtype}"
        if med is None and bound == "memory":
            med, basis = _median_eff(pool, bound, None), "median-memory-any-dtype"
        if med is None:
            res[bound] = (own_util if own_util > 0 else None, "own-utilisation")
        elif own_util > med:
            res[bound] = (own_util, "own-utilisation")
        else:
            res[bound] = (med, basis)
    return Efficiencies(res["compute"][0], res["memory"][0], res["compute"][1], res["memory"][1])


# ------------------------------------------------------------------------------------------ projection
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
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["tflops"], d["gbps"] = self.tflops, self.gbps
        return d


def project_work(
    flops: float, nbytes: float, dtype: str, chip: Any, e_c: float | None, e_m: float | None
) -> tuple[str, str, float | None, str | None]:
    """``t_X = max(F / (e_c·P_X(dtype)), B / (e_m·BW_X))`` -> (status, reason, time_s, bound on X).

    A term whose work is zero needs neither a peak nor an efficiency (a copy has no FLOPs).
    """
    cid = _chip_id(chip)
    t_c = t_m = 0.0
    if flops > 0:
        status = _peak_status(chip, dtype)
        if status == "unsupported":
            return "unsupported", f"{cid} has no {dtype} support", None, None
        if status != "known":
            return "unknown", f"{cid}: {dtype} peak is not known", None, None
        if not e_c:
            return "unmeasured", "no compute efficiency measured", None, None
        t_c = flops / (e_c * chip.peak_tflops[dtype] * TERA)
    if nbytes > 0:
        if not getattr(chip, "bandwidth_tbps", None):
            return "unknown", f"{cid}: memory bandwidth is not known", None, None
        if not e_m:
            return "unmeasured", "no memory efficiency measured", None, None
        t_m = nbytes / (e_m * chip.bandwidth_tbps * TERA)
    return "ok", "", max(t_c, t_m), ("compute" if t_c >= t_m else "memory")


def project(m: Measured, chip: Any, eff: Efficiencies) -> ProjectionResult:
    """Project measured record ``m`` onto ``chip`` with efficiencies ``eff``."""
    status, reason, t, bound = project_work(m.flops, m.bytes, m.dtype, chip, eff.e_c, eff.e_m)
    return ProjectionResult(
        chip_id=_chip_id(chip),
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


def project_all(analysis: Analysis, chips: Iterable[Any], best_only: bool = True) -> list[ProjectionResult]:
    """Every (best-implementation) measured record projected onto every chip; sorted, deterministic."""
    chips = list(chips)
    items = analysis.best() if best_only else analysis.measured
    out = []
    for m in items:
        eff = efficiencies(m, analysis.of_run(m.run_id))
        out.extend(project(m, c, eff) for c in chips)
    out.sort(key=lambda p: (p.source_run_id, p.workload, p.shape_label, p.dtype, p.impl, p.chip_id))
    return out


# ---------------------------------------------------------------------------------------------- ratios
def ratio(t_a: float | None, t_b: float | None) -> float | None:
    """Speed-up of A over B on the same work: ``t_B / t_A`` (None when either time is missing)."""
    if not t_a or not t_b:
        return None
    return t_b / t_a


def _pick_source(analysis: Analysis, key: tuple, prefer: set[str]) -> Measured | None:
    """The run whose best record of ``key`` feeds the ratios: GPU runs only, a preferred chip's first."""
    cands = [m for m in analysis.best() if m.key == key and not m.pipeline_check]
    if not cands:
        return None
    cands.sort(key=lambda m: (m.chip_id not in prefer, m.run_id))
    return cands[0]


def workload_ratio_rows(
    analysis: Analysis, chip_a: Any, chip_b: Any, include_cpu: bool = False
) -> list[dict]:
    """Per (workload, shape, dtype): projected speed-up of A over B (``t_B / t_A``), with bounds and detail.

    The efficiencies come from one source run per key: a run measured on A or B when there is one,
    else the first GPU run by id. cpu-fallback runs are used only with ``include_cpu`` (then labelled).
    """
    prefer = {_chip_id(chip_a), _chip_id(chip_b)}
    keys = sorted({m.key for m in analysis.measured})
    rows = []
    for key in keys:
        src = _pick_source(analysis, key, prefer)
        if src is None and include_cpu:
            cands = [m for m in analysis.best() if m.key == key]
            src = sorted(cands, key=lambda m: m.run_id)[0] if cands else None
        if src is None:
            continue
        eff = efficiencies(src, analysis.of_run(src.run_id))
        pa, pb = project(src, chip_a, eff), project(src, chip_b, eff)
        r = ratio(pa.time_s, pb.time_s)
        label = " [PIPELINE CHECK: CPU efficiencies]" if src.pipeline_check else ""
        if r is None:
            detail = "no ratio: " + "; ".join(
                f"{_chip_id(c)} {p.status}" + (f" ({p.reason})" if p.reason else "")
                for c, p in ((chip_a, pa), (chip_b, pb))
            )
        else:
            detail = (
                f"t_{_chip_id(chip_a)}={pa.time_s:.4g}s t_{_chip_id(chip_b)}={pb.time_s:.4g}s from run "
                f"{src.run_id} ({src.source}, impl {src.impl}, e_c={_g(eff.e_c)} [{eff.basis_c}], "
                f"e_m={_g(eff.e_m)} [{eff.basis_m}])"
            )
        rows.append(
            {
                "basis": f"workload:{key[0]}/{key[1]}/{key[2]}",
                "ratio": r,
                "bound_a": pa.bound,
                "bound_b": pb.bound,
                "detail": detail + label,
                "source_run_id": src.run_id,
                "pipeline_check": src.pipeline_check,
            }
        )
    return rows


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def workload_ratios(
    runs: Iterable[Any] | Analysis,
    chips: Iterable[Any] | None = None,
    layer: LayerConfig | None = None,
    counts: CountsFn | None = None,
) -> Callable[[Any, Any], list[dict]]:
    """Provider for ``claims.check_all(workload_ratios=...)``: ``(chip_a, chip_b) -> list of dicts``.

    Each dict: ``basis`` ("workload:<workload>/<shape_label>/<dtype>" or "model:<step>"), ``ratio``
    (speed-up of A over B, None when not projectable), ``bound_a``, ``bound_b``, ``detail``.
    Chips may be given as ``Chip`` objects or ids. cpu-fallback records are left out: their ratios would
    be pipeline checks, not verdicts about GPUs (with only such records every list is empty of workloads
    and the ``model:`` steps are "unmeasured").
    """
    index = chip_index(chips) if chips is not None else _safe_index(None)
    analysis = runs if isinstance(runs, Analysis) else analyse(runs, index)
    # cpu-fallback records never feed a verdict about GPUs (they are pipeline checks)
    analysis = Analysis([m for m in analysis.measured if not m.pipeline_check], analysis.skipped)
    layer = layer or LayerConfig()

    def resolve(c: Any) -> Any:
        if not isinstance(c, str):
            return c
        if c in index:
            return index[c]
        from gpucompare.specs import get_chip

        return get_chip(c)

    def provider(chip_a: Any, chip_b: Any) -> list[dict]:
        a, b = resolve(chip_a), resolve(chip_b)
        rows = [
            {k: r[k] for k in ("basis", "ratio", "bound_a", "bound_b", "detail")}
            for r in workload_ratio_rows(analysis, a, b)
        ]
        steps = compose_steps(analysis, [a, b], layer, counts)
        for step in STEPS:
            sa = next(s for s in steps if s.chip_id == a.id and s.step == step)
            sb = next(s for s in steps if s.chip_id == b.id and s.step == step)
            rows.append(
                {
                    "basis": f"model:{step}",
                    "ratio": ratio(sa.time_s, sb.time_s),
                    "bound_a": sa.bound_summary,
                    "bound_b": sb.bound_summary,
                    "detail": f"{step} of one Llama-3-70B-sized layer: {a.id} {sa.status} {_g(sa.time_s)}s, "
                    f"{b.id} {sb.status} {_g(sb.time_s)}s"
                    + (f" ({sa.reason or sb.reason})" if sa.reason or sb.reason else ""),
                }
            )
        return rows

    return provider


def stored_workload_ratios(paths: Sequence[str] | None = None) -> Callable[[Any, Any], list[dict]] | None:
    """:func:`workload_ratios` over the stored GPU runs under ``paths`` (run folders or folders of runs),
    else under ``results/runs`` when it exists. cpu-fallback runs never feed a verdict, so they are left
    out. None when the default place holds no GPU run; explicit paths without one are an error
    (``ResultsError``). The CLI's ``claims`` and ``compare`` both call this.
    """
    from gpucompare import results
    from gpucompare.errors import ResultsError

    if paths is None and not results.DEFAULT_ROOT.is_dir():
        return None
    where = [results.DEFAULT_ROOT] if paths is None else list(paths)
    runs = [r for r in results.load_runs(where) if r.machine.get("mode") != "cpu-fallback"]
    if runs:
        return workload_ratios(runs)
    if paths is None:
        return None
    raise ResultsError(
        f"no GPU run (run.json) under {', '.join(map(str, paths))}: cpu-fallback runs never feed a verdict"
    )


# ------------------------------------------------------------------------------------ run-to-run noise
NOISE_MIN_TIME_S = 100e-6  # the ≤ 1 % run-to-run goal applies to kernels longer than this


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
    for key, ms in sorted(groups.items()):
        runs = sorted({m.run_id for m in ms})
        if len(runs) < 2:
            continue
        medians = sorted(m.median_s for m in ms)
        mid = statistics.median(medians)
        rows.append(
            {
                "source": key[0],
                "workload": key[1],
                "shape_label": key[2],
                "dtype": key[3],
                "impl": key[4],
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


# ---------------------------------------------------------------------------------- layer composition
STEPS = ("train", "prefill", "decode")


@dataclass(frozen=True)
class LayerConfig:
    """One Llama-3-70B-sized transformer layer and the three steps composed from it.

    train: fwd + bwd over ``train_batch × train_seq`` tokens (GEMM bwd = 2 × fwd GEMMs: dX and dW;
    attention bwd = the ``attention_bwd`` workload); prefill: fwd over ``prefill_batch × prefill_seq``
    tokens; decode: one new token per sequence for ``decode_batch`` sequences (skinny GEMMs, M = batch)
    plus decode attention over a KV cache of ``decode_context`` tokens. ``layers`` only scales the
    tokens/s figure to a full model (GEMMs and attention only: no embedding, norms or communication).
    """

    hidden: int = 8192
    q_heads: int = 64
    kv_heads: int = 8
    head_dim: int = 128
    mlp: int = 28672
    layers: int = 80
    dtype: str = "bf16"
    train_batch: int = 1
    train_seq: int = 4096
    prefill_batch: int = 1
    prefill_seq: int = 4096
    decode_batch: int = 32
    decode_context: int = 4096

    def gemms(self, m: int) -> list[tuple[str, int, int, int]]:
        """(name, M, N, K) of the layer's GEMMs for M tokens: QKV, out, gate, up, down (SwiGLU)."""
        h, d = self.hidden, self.head_dim
        qkv = (self.q_heads + 2 * self.kv_heads) * d
        return [
            ("qkv", m, qkv, h),
            ("out", m, h, self.q_heads * d),
            ("gate", m, self.mlp, h),
            ("up", m, self.mlp, h),
            ("down", m, h, self.mlp),
        ]


@dataclass(frozen=True)
class Piece:
    """One composed piece of a step: a workload at a shape, ``multiplier`` times."""

    name: str
    workload: str
    dims: Mapping[str, int | bool]
    multiplier: float = 1.0


def step_pieces(step: str, cfg: LayerConfig) -> list[Piece]:
    """The pieces of ``step`` ("train" | "prefill" | "decode") for one layer."""
    att = {"hq": cfg.q_heads, "hkv": cfg.kv_heads, "d": cfg.head_dim, "causal": True}
    if step in ("train", "prefill"):
        b, s = (cfg.train_batch, cfg.train_seq) if step == "train" else (cfg.prefill_batch, cfg.prefill_seq)
        mult = 3.0 if step == "train" else 1.0  # fwd + bwd (dX, dW: 2 × fwd)
        pieces = [
            Piece(f"gemm-{n}", "gemm", {"M": M, "N": N, "K": K}, mult) for n, M, N, K in cfg.gemms(b * s)
        ]
        pieces.append(Piece("attention-fwd", "attention_fwd", {"batch": b, "sq": s, "sk": s, **att}))
        if step == "train":
            pieces.append(Piece("attention-bwd", "attention_bwd", {"batch": b, "sq": s, "sk": s, **att}))
        return pieces
    if step == "decode":
        b = cfg.decode_batch
        pieces = [Piece(f"gemm-{n}", "gemm", {"M": M, "N": N, "K": K}) for n, M, N, K in cfg.gemms(b)]
        pieces.append(
            Piece(
                "decode-attention",
                "decode_attention",
                {
                    "batch": b,
                    "hq": cfg.q_heads,
                    "hkv": cfg.kv_heads,
                    "L": cfg.decode_context,
                    "d": cfg.head_dim,
                },
            )
        )
        return pieces
    raise ValueError(f"unknown step {step!r}; known: {', '.join(STEPS)}")


def step_tokens(step: str, cfg: LayerConfig) -> int:
    return {
        "train": cfg.train_batch * cfg.train_seq,
        "prefill": cfg.prefill_batch * cfg.prefill_seq,
        "decode": cfg.decode_batch,
    }[step]


def default_counts(workload: str, dims: Mapping[str, Any], dtype: str, label: str) -> tuple[float, float]:
    """(FLOPs, bytes) of a piece from ``gpucompare.workloads`` (the only cost model)."""
    from gpucompare.workloads import Shape, get_workload

    w = get_workload(workload)
    shape = Shape(label=label, params=dict(dims))
    return float(w.flops(shape)), float(w.bytes(shape, dtype))


CountsFn = Callable[[str, Mapping[str, Any], str, str], tuple[float, float]]


def _shape_distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Shape distance: Σ over shared numeric params of |log2 a - log2 b|, + 1 per other differing param."""
    dist = 0.0
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if (
            isinstance(x, bool)
            or isinstance(y, bool)
            or not isinstance(x, int | float)
            or not isinstance(y, int | float)
        ):
            dist += 0.0 if x == y else 1.0
        elif x > 0 and y > 0:
            dist += abs(math.log2(x) - math.log2(y))
        else:
            dist += 0.0 if x == y else 1.0
    return dist


def nearest_measured(
    analysis: Analysis, workload: str, dtype: str, params: Mapping[str, Any], prefer_run: str | None = None
) -> Measured | None:
    """Best-implementation record of ``workload``/``dtype`` with the shape nearest ``params`` (GPU first)."""
    cands = [m for m in analysis.best(prefer_run) if m.workload == workload and m.dtype == dtype]
    if not cands:
        return None
    return min(
        cands, key=lambda m: (m.pipeline_check, _shape_distance(m.shape, params), m.run_id, m.shape_label)
    )


@dataclass(frozen=True)
class PieceResult:
    name: str
    workload: str
    flops: float
    bytes: float
    multiplier: float
    status: str
    reason: str
    time_s: float | None  # multiplier included
    bound: str | None
    matched: str  # "<run_id>:<shape_label>/<impl>" of the record whose efficiencies were used


@dataclass(frozen=True)
class StepResult:
    chip_id: str
    step: str
    status: str  # ok | unsupported | unknown | unmeasured
    reason: str
    time_s: float | None
    tokens: int
    tokens_per_s: float | None  # for the full ``layers``-deep stack
    pieces: tuple[PieceResult, ...]
    pipeline_check: bool

    @property
    def bound_summary(self) -> str | None:
        if self.status != "ok":
            return None
        t = {"compute": 0.0, "memory": 0.0}
        for p in self.pieces:
            t[p.bound] += p.time_s or 0.0
        return "compute" if t["compute"] >= t["memory"] else "memory"

    def to_dict(self) -> dict[str, Any]:
        """The flat row the CLI's JSON and the report's table print (pieces summarised as ``matched``)."""
        return {
            "chip_id": self.chip_id,
            "step": self.step,
            "status": self.status,
            "reason": self.reason,
            "time_s": self.time_s,
            "tokens": self.tokens,
            "tokens_per_s": self.tokens_per_s,
            "bound": self.bound_summary,
            "pipeline_check": self.pipeline_check,
            "matched": "; ".join(f"{p.name}<-{p.matched}" for p in self.pieces if p.matched),
        }


def compose_steps(
    analysis: Analysis,
    chips: Iterable[Any],
    cfg: LayerConfig | None = None,
    counts: CountsFn | None = None,
    source_run: str | None = None,
) -> list[StepResult]:
    """Time and tokens/s of train, prefill and decode steps of one layer on each chip.

    Each piece's FLOPs and bytes come from ``counts`` (default: ``gpucompare.workloads``); its
    efficiencies from the nearest measured shape of the same workload and dtype (``nearest_measured``,
    GPU runs first; ``source_run`` restricts to one run), chosen per ``efficiencies()``. A step is
    "unmeasured" when any piece has no measured record, else its status is the worst piece status.
    Step time = Σ multiplier × projected piece time (pieces run one after another).
    """
    cfg = cfg or LayerConfig()
    counts = counts or default_counts
    out = []
    for chip in chips:
        for step in STEPS:
            pieces, status, reason, total, pc = [], "ok", "", 0.0, False
            for p in step_pieces(step, cfg):
                F, B = counts(p.workload, p.dims, cfg.dtype, f"{step}-{p.name}")
                m = nearest_measured(analysis, p.workload, cfg.dtype, p.dims, source_run)
                if m is None:
                    pr = PieceResult(
                        p.name,
                        p.workload,
                        F,
                        B,
                        p.multiplier,
                        "unmeasured",
                        f"no {p.workload} {cfg.dtype} measurement",
                        None,
                        None,
                        "",
                    )
                else:
                    pc = pc or m.pipeline_check
                    eff = efficiencies(m, analysis.of_run(m.run_id))
                    st, rs, t, bd = project_work(F, B, cfg.dtype, chip, eff.e_c, eff.e_m)
                    pr = PieceResult(
                        p.name,
                        p.workload,
                        F,
                        B,
                        p.multiplier,
                        st,
                        rs,
                        None if t is None else t * p.multiplier,
                        bd,
                        f"{m.run_id}:{m.shape_label}/{m.impl}",
                    )
                pieces.append(pr)
                if pr.status != "ok" and status == "ok":
                    status, reason = pr.status, f"{pr.name}: {pr.reason}"
                total += pr.time_s or 0.0
            t = total if status == "ok" else None
            tokens = step_tokens(step, cfg)
            tps = tokens / (t * cfg.layers) if t else None
            out.append(StepResult(_chip_id(chip), step, status, reason, t, tokens, tps, tuple(pieces), pc))
    return out


# ---------------------------------------------------------------------------------------- validation
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


def validate(analysis: Analysis, chips: Mapping[str, Any]) -> list[ValidationRow]:
    """Project every GPU run on a known chip onto every other run's chip; compare with its measurement.

    Matched on (workload, shape, dtype, impl). Empty when fewer than two distinct real chips were
    measured: the model is then "unvalidated".
    """
    runs = {}
    for m in analysis.measured:
        if not m.pipeline_check and m.chip_id in chips:
            runs.setdefault(m.run_id, m.chip_id)
    rows = []
    for ra, ca in sorted(runs.items()):
        pool = analysis.of_run(ra)
        for rb, cb in sorted(runs.items()):
            if cb == ca:
                continue
            target = {(m.key, m.impl): m for m in analysis.of_run(rb)}
            for m in pool:
                other = target.get((m.key, m.impl))
                if other is None:
                    continue
                p = project(m, chips[cb], efficiencies(m, pool))
                err = validation_error(p.time_s, other.median_s) if p.time_s else None
                rows.append(
                    ValidationRow(
                        ra,
                        ca,
                        rb,
                        cb,
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


def validation_status(rows: Sequence[ValidationRow]) -> str:
    """One sentence: validated (with the median |error|) or "unvalidated"."""
    errs = [abs(r.error) for r in rows if r.error is not None]
    if not errs:
        return (
            "unvalidated: no two real chips were measured on the same work, so the projections are untested"
        )
    med = statistics.median(errs)
    return f"validated on {len(errs)} projections between measured chips: median |error| {med:.1%}"
