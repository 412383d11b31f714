"""The published report: tables (Markdown, CSV, HTML) and plots under ``results/``, from stored runs.

Data flow: :mod:`~gpucompare.report.inputs` analyses the runs once (``gpucompare.model``) against a
``ChipDB`` and takes the headline's numbers per chip pair from :mod:`~gpucompare.report.headline`
(spec, projected, published, measured here); :mod:`~gpucompare.report.sections.answer` words them (the
answer the report opens with) and :mod:`~gpucompare.report.charts` draws them; each builder of :mod:`~gpucompare.report.sections` turns that into one :class:`Section`
(title, prose, table, CSVs, plots); :mod:`~gpucompare.report.build` runs them in document order;
:mod:`~gpucompare.report.format` renders Markdown and HTML in one loop; :mod:`~gpucompare.report.plots`
draws the figures; :mod:`~gpucompare.report.generate` writes the files.

Every number comes from ``gpucompare.model`` (projections, ratios, the layer composition, validation),
``gpucompare.specs`` (chip figures, spec ratios, export-control tiers) and ``gpucompare.claims``
(verdicts); nothing is computed here.

cpu-fallback runs (``results.is_pipeline_check``): excluded from the chip tables (projections, ratios,
layer steps), with a sentence saying so, unless ``include_cpu`` is set; then every row derived from them is
labelled ``pipeline_check`` and the report says in bold that they are pipeline checks.
"""

from __future__ import annotations

from gpucompare.report.build import DEFAULT_PAIRS, build
from gpucompare.report.format import csv_text, html_table, md_table, render_html, render_markdown
from gpucompare.report.generate import generate
from gpucompare.report.section import Headline, PairAnswer, Plot, ReportData, Section
from gpucompare.report.sections import BUILDERS

__all__ = [
    "BUILDERS",
    "DEFAULT_PAIRS",
    "Headline",
    "PairAnswer",
    "Plot",
    "ReportData",
    "Section",
    "build",
    "csv_text",
    "generate",
    "html_table",
    "md_table",
    "render_html",
    "render_markdown",
]
