"""Collect the report: gather the inputs once, run every section builder in document order."""

from __future__ import annotations

from collections.abc import Sequence

from gpucompare import model
from gpucompare.report.inputs import ClaimsFn, gather
from gpucompare.report.section import ReportData
from gpucompare.report.sections import BUILDERS, Builder, answer
from gpucompare.results import Run
from gpucompare.specs import ChipDB, load_chips
from gpucompare.specs.published import PublishedEntry, load_published

#: Chip pairs the report answers for, in the articles' order (names as ``ChipDB.find`` resolves them); the
#: first is the headline. A pair not in the database is skipped with a sentence in the status block.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("H200", "H20"),
    ("H20", "H100"),
    ("B200", "H200"),
    ("H200", "Ascend 910C"),
    ("A100", "H200"),
    ("H100", "H200"),
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
    published: Sequence[PublishedEntry] | None = None,
) -> ReportData:
    """Compute the headline and every section of the report (no file is written).

    ``db``: the chips (default: the packaged database). ``claims_fn(workload_ratios)`` replaces the
    packaged claims (a list of ``ClaimResult.to_dict()`` dicts); ``counts`` and ``layer`` go to the
    layer composition (``gpucompare.model``). ``published``: the ledger's entries (default: the packaged
    ``specs/published.toml`` with the packaged database; none with another ``db``, whose chips the ledger
    does not name).
    """
    if published is None:
        published = load_published() if db is None else []
    inputs = gather(
        list(runs),
        load_chips() if db is None else db,
        include_cpu=include_cpu,
        pairs=pairs,
        counts=counts,
        layer=layer,
        claims_fn=claims_fn,
        published=published,
    )
    sections = [build_section(inputs) for build_section in builders]
    notes = dict(inputs.notes)
    for section in sections:
        notes.update(section.notes)
    return ReportData(inputs.status, notes, inputs.validation_summary, sections, answer.headline(inputs))
