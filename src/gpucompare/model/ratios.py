"""Per-workload ratios between two chips: the projected speed-up ``t_B / t_A`` on the same measured work.

Feeds the claims (``workload_ratios`` is the provider ``claims.check_all`` takes) and the report's ratio
tables. cpu-fallback runs never feed a verdict: they are pipeline checks
(:func:`gpucompare.results.is_pipeline_check`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from gpucompare import results
from gpucompare.errors import ResultsError
from gpucompare.model.layer import STEPS, CountsFn, LayerConfig, StepResult, compose_steps
from gpucompare.model.projection import Analysis, analyse, chip_index, project
from gpucompare.model.roofline import Measured, efficiencies
from gpucompare.specs import Chip, ChipDB

RATIO_KEYS = ("basis", "ratio", "bound_a", "bound_b", "detail")

WorkloadRatios = Callable[[Chip | str, Chip | str], list[dict]]


def ratio(t_a: float | None, t_b: float | None) -> float | None:
    """Speed-up of A over B on the same work: ``t_B / t_A`` (None when either time is missing)."""
    if not t_a or not t_b:
        return None
    return t_b / t_a


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def _pick_source(analysis: Analysis, key: tuple, prefer: set[str], include_cpu: bool) -> Measured | None:
    """The run whose best record of ``key`` feeds the ratios: a GPU run, a preferred chip's first.

    Without a GPU run, the first pipeline-check run by id, only with ``include_cpu``.
    """
    best = [m for m in analysis.best() if m.key == key]
    gpu = [m for m in best if not m.pipeline_check]
    if gpu:
        return min(gpu, key=lambda m: (m.chip_id not in prefer, m.run_id))
    if include_cpu and best:
        return min(best, key=lambda m: m.run_id)
    return None


def _ratio_row(analysis: Analysis, src: Measured, chip_a: Chip, chip_b: Chip) -> dict:
    """One workload row: both projections from ``src``'s efficiencies, the ratio and how it was got."""
    eff = efficiencies(src, analysis.of_run(src.run_id))
    pa, pb = project(src, chip_a, eff), project(src, chip_b, eff)
    r = ratio(pa.time_s, pb.time_s)
    if r is None:
        detail = "no ratio: " + "; ".join(
            f"{c.id} {p.status}" + (f" ({p.reason})" if p.reason else "")
            for c, p in ((chip_a, pa), (chip_b, pb))
        )
    else:
        detail = (
            f"t_{chip_a.id}={pa.time_s:.4g}s t_{chip_b.id}={pb.time_s:.4g}s from run "
            f"{src.run_id} ({src.source}, impl {src.impl}, e_c={_g(eff.e_c)} [{eff.basis_c}], "
            f"e_m={_g(eff.e_m)} [{eff.basis_m}])"
        )
    workload, shape_label, dtype = src.key
    return {
        "basis": f"workload:{workload}/{shape_label}/{dtype}",
        "ratio": r,
        "bound_a": pa.bound,
        "bound_b": pb.bound,
        "detail": detail + (" [PIPELINE CHECK: CPU efficiencies]" if src.pipeline_check else ""),
        "source_run_id": src.run_id,
        "pipeline_check": src.pipeline_check,
    }


def workload_ratio_rows(
    analysis: Analysis, chip_a: Chip, chip_b: Chip, include_cpu: bool = False
) -> list[dict]:
    """Per (workload, shape, dtype): projected speed-up of A over B (``t_B / t_A``), with bounds and detail.

    The efficiencies come from one source run per key: a run measured on A or B when there is one,
    else the first GPU run by id. cpu-fallback runs are used only with ``include_cpu`` (then labelled).
    """
    prefer = {chip_a.id, chip_b.id}
    rows = []
    for key in sorted({m.key for m in analysis.measured}):
        src = _pick_source(analysis, key, prefer, include_cpu)
        if src is not None:
            rows.append(_ratio_row(analysis, src, chip_a, chip_b))
    return rows


def _step_row(step: str, a: Chip, b: Chip, steps: Sequence[StepResult], layer: LayerConfig) -> dict:
    """The ``model:<step>`` row: the composed layer step on A against the same step on B."""
    sa = next(s for s in steps if s.chip_id == a.id and s.step == step)
    sb = next(s for s in steps if s.chip_id == b.id and s.step == step)
    why = sa.reason or sb.reason
    return {
        "basis": f"model:{step}",
        "ratio": ratio(sa.time_s, sb.time_s),
        "bound_a": sa.bound_summary,
        "bound_b": sb.bound_summary,
        "detail": f"{step} of one {layer.dims.name}-sized layer: {a.id} {sa.status} {_g(sa.time_s)}s, "
        f"{b.id} {sb.status} {_g(sb.time_s)}s" + (f" ({why})" if why else ""),
    }


def workload_ratios(
    records: Iterable[Mapping] | Analysis,
    chips: ChipDB | Iterable[Chip] | None = None,
    layer: LayerConfig | None = None,
    counts: CountsFn | None = None,
) -> WorkloadRatios:
    """Provider for ``claims.check_all(workload_ratios=...)``: ``(chip_a, chip_b) -> list of dicts``.

    Each dict: ``basis`` ("workload:<workload>/<shape_label>/<dtype>" or "model:<step>"), ``ratio``
    (speed-up of A over B, None when not projectable), ``bound_a``, ``bound_b``, ``detail``.
    Chips may be given as ``Chip`` objects or names (resolved in ``chips``, default the packaged
    database). cpu-fallback records are left out: their ratios would be pipeline checks, not verdicts
    about GPUs (with only such records every list is empty of workloads and the ``model:`` steps are
    "unmeasured").
    """
    db = chip_index(chips)
    analysis = records if isinstance(records, Analysis) else analyse(records, db)
    analysis = Analysis([m for m in analysis.measured if not m.pipeline_check], analysis.skipped)
    layer = layer or LayerConfig()

    def provider(chip_a: Chip | str, chip_b: Chip | str) -> list[dict]:
        a, b = (c if isinstance(c, Chip) else db.get(c) for c in (chip_a, chip_b))
        rows = [{k: r[k] for k in RATIO_KEYS} for r in workload_ratio_rows(analysis, a, b)]
        steps = compose_steps(analysis, [a, b], layer, counts)
        return rows + [_step_row(step, a, b, steps, layer) for step in STEPS]

    return provider


def stored_workload_ratios(paths: Sequence[str] | None = None) -> WorkloadRatios | None:
    """:func:`workload_ratios` over the stored GPU runs under ``paths`` (run folders or folders of runs; a
    killed run's truncated last line is skipped with a warning),
    else under ``results/runs`` when it exists. cpu-fallback runs never feed a verdict, so they are left
    out. None when the default place holds no GPU run; explicit paths without one are an error
    (``ResultsError``). The CLI's ``claims`` and ``compare`` both call this.
    """
    if paths is None and not results.DEFAULT_ROOT.is_dir():
        return None
    where = [results.DEFAULT_ROOT] if paths is None else list(paths)
    runs = results.load_runs(where, include_cpu=False, allow_truncated_tail=True)
    if runs:
        return workload_ratios([rec for run in runs for rec in run.records])
    if paths is None:
        return None
    raise ResultsError(
        f"no GPU run (run.json) under {', '.join(map(str, paths))}: cpu-fallback runs never feed a verdict"
    )
