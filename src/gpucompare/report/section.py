"""What a section builder returns (:class:`Section`, with its :class:`Plot` s) and what the report is made of
(:class:`ReportData`: the status block and the sections, in document order)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, eq=False)
class Plot:
    """One figure: ``plots/<stem>.svg`` and ``.png``; ``draw`` makes it (matplotlib is imported only then)."""

    stem: str
    draw: Callable[[], Figure]


@dataclass(frozen=True, eq=False)
class Section:
    """One section of the report: a heading, its prose, its table and the CSV files behind it.

    ``table`` is written to ``tables/<name>.csv``; the documents show ``shown`` (a condensed view) when
    given, else ``table``. ``name`` is also the HTML anchor. ``more_csvs`` are tables published as CSV
    only. ``readme_note`` is a Markdown-only paragraph under the intro; with ``readme_table`` False the
    Markdown names the CSV and its row count instead of printing the table (the HTML always shows it).
    ``notes`` are sentences for the status block at the top, by key.
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

    @property
    def display(self) -> pd.DataFrame:
        """The table the documents show."""
        return self.table if self.shown is None else self.shown

    def csvs(self) -> dict[str, pd.DataFrame]:
        """Every table of this section by CSV name (``tables/<name>.csv``)."""
        return {self.name: self.table, **self.more_csvs}


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything the report shows: the status block (status, notes, validation summary) and the sections."""

    status: str
    notes: Mapping[str, str]
    validation: str
    sections: Sequence[Section]

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
        return [p for s in self.sections for p in s.plots]
