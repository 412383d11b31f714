"""Collect the report: gather the inputs once, run every section builder in document order."""

from __future__ import annotations

from collections.abc import Sequence

from gpucompare import model
from gpucompare.report.inputs import ClaimsFn, gather
from gpucompare.report.section import ReportData
from gpucompare.report.sections import BUILDERS, Builder
from gpucompare.results import Run
from gpucompare.specs import ChipDB, load_chips

#: Chip pairs the report compares (names as ``ChipDB.find`` resolves them); a pair not in the database is
#: skipped with a sentence in the status block.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("H200", "H20"),
    ("B200", "H200"),
    ("H20", "H100"),
    ("H200", "A100"),
)


def build(
    runs: Sequence[Run],
    db: ChipDB | None = None,
    *,
    include_cpu: bool = False,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
    claims_fn: ClaimsFn | None = None,
    counts: model.CountsFn | None = None,
    layer: model.LayerConfig | None = None,
    builders: Sequence[Builder] = BUILDERS,
) -> ReportData:
    """Compute every section of the report (no file is written).

    ``db``: the chips (default: the packaged database). ``claims_fn(workload_ratios)`` replaces the
    packaged claims (a list of ``ClaimResult.to_dict()`` dicts); ``counts`` and ``layer`` go to the
    layer composition (``gpucompare.model``).
    """
    inputs = gather(
        list(runs),
        load_chips() if db is None else db,
        include_cpu=include_cpu,
        pairs=pairs,
        counts=counts,
        layer=layer,
        claims_fn=claims_fn,
    )
    sections = [build_section(inputs) for build_section in builders]
    notes = dict(inputs.notes)
    for section in sections:
        notes.update(section.notes)
    return ReportData(inputs.status, notes, inputs.validation_summary, sections)
