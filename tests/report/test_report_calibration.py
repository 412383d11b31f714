"""The calibrated projection's report sections: the answer per pair, the ledger, the leave-one-chip-out
validation with its plot, the achieved efficiency per chip."""

from __future__ import annotations

import pytest

from gpucompare import report
from gpucompare.report.sections import calibration


@pytest.fixture(scope="module")
def sections():
    data = report.build([], builders=(calibration.answer, calibration.ledger, calibration.validation_loco,
                                      calibration.achieved_efficiency))  # fmt: skip
    return {s.name: s for s in data.sections}


def test_answer_states_h200_over_h20_with_its_basis(sections):
    s = sections["answer"]
    row = s.table[(s.table.chip_a == "h200-sxm") & (s.table["class"] == "compute-bound GEMM")].iloc[0]
    assert row.basis == "published" and "torch-mm-database" in row.evidence
    assert f"compute-bound GEMM {row.ratio:.2f}× (published measurement, same script)" in s.intro


def test_ledger_lists_every_entry_with_its_source(sections):
    from gpucompare.specs.published import load_published

    df = sections["published_ledger"].table
    assert len(df) == len(load_published())
    assert df.url.str.startswith("http").all() and df.source.str.len().gt(0).all()


def test_validation_section_and_plot(sections):
    s = sections["validation_loco"]
    assert set(s.display.klass) >= {"compute-bound GEMM", "overall"}
    assert "10 % goal" in s.readme_note
    fig = s.plots[0].draw()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "±10 %" in labels and "h20" in labels


def test_achieved_efficiency_h20_near_peak(sections):
    df = sections["achieved_efficiency"].table.set_index("chip")
    assert df.loc["h20", "compute-bound GEMM"] > df.loc["h200-sxm", "compute-bound GEMM"]
    assert sections["achieved_efficiency"].plots[0].draw() is not None
