"""The report's sections, in document order: one builder per section, each ``ReportInputs -> Section``.

Adding a table: write its builder (in the module of its kind, or a new one) and add one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section
from gpucompare.report.sections import chips, claims, runs, server, specs

Builder = Callable[[ReportInputs], Section]

BUILDERS: tuple[Builder, ...] = (
    runs.machines,
    runs.efficiency,
    chips.projections,
    chips.ratios,
    chips.model_steps,
    chips.validation,
    server.comm_validation,
    server.server_table,
    runs.noise,
    specs.export_control,
    specs.spec_ratios,
    claims.claims,
    runs.skipped,
    runs.provenance,
)

__all__ = ["BUILDERS", "Builder"]
