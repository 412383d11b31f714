"""The report's sections, in document order: one builder per section, each ``ReportInputs -> Section``.

Adding a table: write its builder (in the module of its kind, or a new one) and add one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section
from gpucompare.report.sections import (
    answer,
    calibration,
    chips,
    claims,
    classes,
    runs,
    server,
    serving,
    specs,
)

Builder = Callable[[ReportInputs], Section]

#: The headline (``answer.headline``) comes before these; long tables (provenance) come last.
BUILDERS: tuple[Builder, ...] = (
    answer.evidence,
    classes.efficiency_by_class,
    claims.claims,
    specs.spec_ratios,
    specs.export_control,
    runs.machines,
    runs.efficiency,
    chips.projections,
    chips.ratios,
    chips.model_steps,
    chips.validation,
    calibration.validation_loco,
    calibration.ledger,
    server.comm_validation,
    server.server_table,
    serving.serving_validation,
    serving.serving_table,
    runs.noise,
    classes.rooflines,
    runs.skipped,
    runs.provenance,
)

__all__ = ["BUILDERS", "Builder"]
