"""What a section builder returns (:class:`Section`, with its :class:`Plot` s) and what the report is made of
(:class:`ReportData`: the headline answer, the status block and the sections, in document order)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gpucompare.report.card import VerdictCard


@dataclass(frozen=True, eq=False)
class Plot:
    """One figure: ``plots/<stem>.<format>`` for each of ``formats``; ``draw`` makes it (matplotlib is
    imported only then). ``inline``: the HTML shows it in its section (else the documents link the SVG);
    ``caption``: one Markdown sentence under it saying what it shows."""

    stem: str
    draw: Callable[[], Figure]
    inline: bool = True
    formats: tuple[str, ...] = ("svg", "png")
    caption: str = ""


@dataclass(frozen=True, eq=False)
class Section:
    """One section of the report: a heading, its prose, its table and the CSV files behind it.

    ``table`` is written to ``tables/<name>.csv``; the documents show ``shown`` (a condensed view) when
    given, else ``table``. ``name`` is also the HTML anchor. ``more_csvs`` are tables published as CSV
    only. ``readme_note`` is a Markdown-only paragraph under the intro; with ``readme_table`` False (a
    long table) both documents name the CSV and its row count instead of printing the table.
    ``notes`` are sentences for the status block at the top, by key. A section whose table is empty and
    that has no inline plot is left out of the documents; ``empty_hint`` (one sentence: what would fill
    it) is listed instead. Prose (``intro``, ``readme_note``) is Markdown.
    """

    name: str
    title: str
    intro: str
    table: pd.DataFrame
    shown: pd.DataFrame | None = None
    more_csvs: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    readme_note: str = ""
    readme_table: bool = True
    notes: Mapping[str, str] = field(default_factory=dict)
    plots: Sequence[Plot] = ()
    empty_hint: str = ""
    boxed: bool = True  # HTML: the table in a box of limited height (False: every row shown, no inner scroll)

    @property
    def shows(self) -> bool:
        """Whether the documents show this section (a table with rows, or a figure)."""
        return not self.table.empty or any(p.inline for p in self.plots)

    @property
    def display(self) -> pd.DataFrame:
        """The table the documents show."""
        return self.table if self.shown is None else self.shown

    def csvs(self) -> dict[str, pd.DataFrame]:
        """Every table of this section by CSV name (``tables/<name>.csv``)."""
        return {self.name: self.table, **self.more_csvs}


@dataclass(frozen=True, eq=False)
class PairAnswer:
    """The answer for one chip pair: a title ("H200 vs H20"), Markdown sentences and its ratio chart."""

    title: str
    sentences: Sequence[str]
    plot: Plot | None = None


@dataclass(frozen=True, eq=False)
class Headline:
    """What the report opens with: the first pair's answer beside ``overlay`` (the roofline of the articles'
    chips), then the other pairs' answers; ``lead`` is one Markdown sentence above them."""

    lead: str
    pairs: Sequence[PairAnswer]
    overlay: Plot | None = None
    card: VerdictCard | None = None

    @property
    def plots(self) -> list[Plot]:
        return [p for p in (self.overlay, *(a.plot for a in self.pairs)) if p is not None]


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything the report shows: the headline, the status block (status, notes, validation summary) and
    the sections."""

    status: str
    notes: Mapping[str, str]
    validation: str
    sections: Sequence[Section]
    headline: Headline | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by CSV name."""
        out: dict[str, pd.DataFrame] = {}
        for section in self.sections:
            for name, df in section.csvs().items():
                if name in out:
                    raise ValueError(f"two sections publish tables/{name}.csv")
                out[name] = df
        return out

    @property
    def plots(self) -> list[Plot]:
        """Every figure to write: the headline's, then the sections'."""
        first = self.headline.plots if self.headline else []
        return [*first, *(p for s in self.sections for p in s.plots)]
