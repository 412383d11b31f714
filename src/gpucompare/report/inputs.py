"""What every section builder reads: the runs analysed once, the chips, the chip pairs, the projections, the
layer composition, and the status block's sentences. Nothing here is written to a file.

cpu-fallback runs (``results.is_pipeline_check``) are listed in the machines table (labelled) and, with
``include_cpu``, in their own section of pipeline checks; they never feed an efficiency, a projection, a
ratio, a layer step, a validation or a verdict (``analysis`` holds GPU records only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from gpucompare import model
from gpucompare.report.headline import PairFigure, pair_figures
from gpucompare.results import Run, is_pipeline_check
from gpucompare.specs import Chip, ChipDB, spec_ratios
from gpucompare.specs.published import PublishedEntry

#: ``claims_fn(workload_ratios)``: the claim results as ``ClaimResult.to_dict()`` dicts.
ClaimsFn = Callable[[Callable | None], list[dict]]

CPU_SENTENCE = (
    "cpu-fallback runs are pipeline checks (Triton's interpreter and PyTorch on the CPU): CPU efficiencies "
    "say nothing about any GPU, so they are left out of the projection, ratio and model tables"
)
CPU_INCLUDED = (
    "**PIPELINE CHECK: the cpu-fallback runs are listed in their own section, _Pipeline checks_. They test "
    "the pipeline and say nothing about how any GPU performs: no projection, ratio or verdict uses them.**"
)
NO_RUN = (
    "No run of this suite was found: nothing on this page is measured here. Its numbers are specs "
    "(`specs/chips.toml`), published measurements (the ledger, `src/gpucompare/specs/published.toml`) and "
    "projections of the model calibrated on that ledger, each marked with its basis. Run `gpucompare run` "
    "on a GPU and regenerate with `gpucompare report` to add measured figures."
)
#: The status block's validation sentence while no two chips were measured here (the ledger check is the
#: section "Validation, chip by chip").
LEDGER_VALIDATION = (
    "no two chips were measured by this suite yet, so no projection is checked against a run made here; "
    "the calibrated projection is checked against the published ledger, leaving each chip out in turn "
    "(section _Validation, chip by chip_; `gpucompare validate`)"
)
NO_GPU_RUN = (
    "No GPU measurement exists yet: the runs found are cpu-fallback pipeline checks only, so no chip "
    "projection is published (see the pipeline-check note)."
)
SPEC_RATIO_COLUMNS = ["chip_a", "chip_b", "basis", "a_value", "b_value", "ratio", "reason"]


@dataclass(frozen=True)
class ReportInputs:
    """The report's inputs, computed once. ``analysis`` feeds the chip tables, ``all_analysis`` the run
    tables; ``notes`` are the status block's sentences (``cpu``, ``pairs``, ``model``) in display order."""

    db: ChipDB
    runs: Sequence[Run]
    records: list[dict]
    include_cpu: bool
    all_analysis: model.Analysis
    analysis: model.Analysis
    pairs: list[tuple[Chip, Chip]]
    spec_ratios: pd.DataFrame  # the chosen pairs' spec ratios, one row per pair and basis
    projections: list[model.ProjectionResult]
    steps: list[model.StepResult]
    validation: list[model.ValidationRow]
    validation_summary: str  # one sentence: validated (median |error|) or unvalidated
    layer: model.LayerConfig
    counts: model.CountsFn | None
    claims_fn: ClaimsFn | None
    status: str = ""
    notes: dict[str, str] = field(default_factory=dict)
    published: Sequence[PublishedEntry] = ()  # the ledger of published measurements
    figures: dict[tuple[str, str], list[PairFigure]] = field(default_factory=dict)  # per pair (ids)
    claims: list[dict] = field(default_factory=list)  # every claim checked (``ClaimResult.to_dict()``)

    @property
    def chips(self) -> list[Chip]:
        return list(self.db)


def _status(records: Sequence[dict], analysis: model.Analysis) -> str:
    if not records:
        return NO_RUN
    if not analysis.measured:
        return NO_GPU_RUN
    return (
        f"{len(analysis.runs())} run(s) and {len(analysis.measured)} measured records feed the projections."
    )


def _cpu_note(all_analysis: model.Analysis, include_cpu: bool) -> str | None:
    cpu_runs = sorted({m.run_id for m in all_analysis.measured if m.pipeline_check})
    if not cpu_runs:
        return None
    if include_cpu:
        return CPU_INCLUDED
    return f"{CPU_SENTENCE} (runs: {', '.join(cpu_runs)}; `gpucompare report --include-cpu` shows them, labelled)."


def _resolve_pairs(db: ChipDB, names: Sequence[tuple[str, str]]) -> tuple[list[tuple[Chip, Chip]], str]:
    """The pairs whose two chips are in ``db``, and a sentence naming the others."""
    pairs, skipped = [], ""
    for a_name, b_name in names:
        a, b = db.find(a_name), db.find(b_name)
        if a is not None and b is not None:
            pairs.append((a, b))
        else:
            skipped += f"pair {a_name} vs {b_name} skipped: chip not in the database. "
    return pairs, skipped


def _pair_spec_ratios(pairs: Sequence[tuple[Chip, Chip]]) -> pd.DataFrame:
    rows = [{"chip_a": a.id, "chip_b": b.id, **br.to_dict()} for a, b in pairs for br in spec_ratios(a, b)]
    return pd.DataFrame(rows, columns=SPEC_RATIO_COLUMNS)


def checked_claims(db: ChipDB, workload_ratios: Callable | None) -> list[dict]:
    """Every claim of the packaged claims file, checked against ``db`` (``ClaimResult.to_dict()`` dicts)."""
    from gpucompare.claims import check_all

    return [r.to_dict() for r in check_all(workload_ratios=workload_ratios, db=db)]


def _claims(
    analysis: model.Analysis,
    db: ChipDB,
    layer: model.LayerConfig,
    counts: model.CountsFn | None,
    claims_fn: ClaimsFn | None,
) -> tuple[list[dict], str]:
    """The claims checked once for the card and the claims section; GPU runs only (a CPU run never
    feeds a verdict). A note when the claims cannot be checked."""
    from gpucompare.model.headline import evidence_workload_ratios, with_layer_steps

    gpu = model.Analysis([m for m in analysis.measured if not m.pipeline_check])
    steps = model.workload_ratios(gpu, list(db), layer, counts) if gpu.measured else None
    provider = with_layer_steps(evidence_workload_ratios(db, measured=gpu.measured), steps)
    try:
        return (claims_fn or partial(checked_claims, db))(provider), ""
    except ImportError as exc:
        return [], f"claims unavailable: {exc}"


def gather(
    runs: Sequence[Run],
    db: ChipDB,
    *,
    include_cpu: bool,
    pairs: Sequence[tuple[str, str]],
    counts: model.CountsFn | None,
    layer: model.LayerConfig | None,
    claims_fn: ClaimsFn | None,
    published: Sequence[PublishedEntry] = (),
) -> ReportInputs:
    """Analyse ``runs`` against ``db`` and compute what more than one section needs (the headline's
    numbers per pair from :func:`gpucompare.report.headline.pair_figures`)."""
    chips = list(db)
    index = model.chip_index(chips)
    layer = layer or model.LayerConfig()
    records = [dict(x) for r in runs for x in r.records]
    all_analysis = model.analyse(records, index)
    analysis = model.analyse([r for r in records if not is_pipeline_check(r)], index)  # CPU: never
    notes: dict[str, str] = {}
    cpu = _cpu_note(all_analysis, include_cpu)
    if cpu:
        notes["cpu"] = cpu
    chip_pairs, skipped = _resolve_pairs(db, pairs)
    if skipped:
        notes["pairs"] = skipped
    steps: list[model.StepResult] = []
    notes["model"] = ""
    if analysis.measured:
        try:
            steps = model.compose_steps(analysis, chips, layer, counts)
        except ImportError as exc:  # the workloads registry is the only cost model: no guessing without it
            notes["model"] = f"layer composition unavailable: {exc}"
    validation = model.validate(analysis, index)
    claims, claims_note = _claims(analysis, db, layer, counts, claims_fn)
    if claims_note:
        notes["claims"] = claims_note
    return ReportInputs(
        db=db,
        runs=runs,
        records=records,
        include_cpu=include_cpu,
        all_analysis=all_analysis,
        analysis=analysis,
        pairs=chip_pairs,
        spec_ratios=_pair_spec_ratios(chip_pairs),
        projections=model.project_all(analysis, chips),
        steps=steps,
        validation=validation,
        validation_summary=(
            model.validation_status(validation)
            if any(r.error is not None for r in validation)
            else LEDGER_VALIDATION
        ),
        layer=layer,
        counts=counts,
        claims_fn=claims_fn,
        status=_status(records, analysis),
        notes=notes,
        published=tuple(published),
        figures={(a.id, b.id): pair_figures(a, b, analysis, published) for a, b in chip_pairs},
        claims=claims,
    )
