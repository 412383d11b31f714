"""Sections from the spec database alone (``gpucompare.specs``): export-control tiers and spec ratios."""

from __future__ import annotations

import pandas as pd

from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section
from gpucompare.specs import Chip
from gpucompare.specs import spec_ratios as chip_spec_ratios

EXPORT_COLUMNS = [
    "chip_id",
    "name",
    "tpp",
    "tpp_is_lower_bound",
    "die_area_mm2",
    "performance_density",
    "eccn_3a090",
    "bandwidth_tbps",
]
MATRIX_BASES = ("bf16", "bandwidth")


def export_control(inp: ReportInputs) -> Section:
    rows = [
        {
            "chip_id": c.id,
            "name": c.name,
            "tpp": c.tpp,
            "tpp_is_lower_bound": c.tpp_is_lower_bound,
            "die_area_mm2": c.die_area_mm2,
            "performance_density": c.performance_density,
            "eccn_3a090": c.eccn_3a090 or "undecided (unknown figure)",
            "bandwidth_tbps": c.bandwidth_tbps,
        }
        for c in inp.chips
    ]
    return Section(
        "export_control",
        "Export-control tiers (ECCN 3A090, October 2023 rule)",
        "TPP = max over dtypes of dense TOPS × bit length; PD = TPP / die area; derived in "
        "`gpucompare.specs`.",
        pd.DataFrame(rows, columns=EXPORT_COLUMNS),
    )


def spec_ratio_matrix(chips: list[Chip]) -> pd.DataFrame:
    """bf16 and bandwidth ratios of every chip over every chip: one row per (basis, chip A), a column per B."""
    rows = [
        {"basis": br.basis, "chip_a": a.id, "chip_b": b.id, "ratio": br.ratio}
        for a in chips
        for b in chips
        for br in chip_spec_ratios(a, b, MATRIX_BASES)
    ]
    mat = pd.DataFrame(rows, columns=["basis", "chip_a", "chip_b", "ratio"])
    if mat.empty:
        return mat
    order = [c.id for c in chips]
    mat = mat.pivot_table(
        index=["basis", "chip_a"], columns="chip_b", values="ratio", aggfunc="first", sort=False
    )
    mat = mat.reindex(columns=order).reset_index()
    mat["chip_a"] = pd.Categorical(mat["chip_a"], categories=order, ordered=True)
    mat = mat.sort_values(["basis", "chip_a"], kind="stable").reset_index(drop=True)
    mat["chip_a"] = mat["chip_a"].astype(str)
    return mat


def spec_ratios(inp: ReportInputs) -> Section:
    """The chosen pairs' spec ratios; the full bf16 and bandwidth matrices as CSV."""
    return Section(
        "spec_ratios",
        "Spec ratios for chosen pairs",
        "From `gpucompare.specs.spec_ratios`; full bf16 and bandwidth matrices in "
        "`tables/spec_ratio_matrix.csv`.",
        inp.spec_ratios,
        more_csvs={"spec_ratio_matrix": spec_ratio_matrix(inp.chips)},
    )
