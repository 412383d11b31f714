"""The calibrated projection's report sections: the ledger and the leave-one-chip-out validation with its
plot."""

from __future__ import annotations

import pytest

from gpucompare import report
from gpucompare.report.sections import calibration


@pytest.fixture(scope="module")
def sections():
    data = report.build([], builders=(calibration.ledger, calibration.validation_loco))
    return {s.name: s for s in data.sections}


def test_ledger_lists_every_entry_with_its_source(sections):
    from gpucompare.specs.published import load_published

    df = sections["published_ledger"].table
    assert len(df) == len(load_published())
    assert df.url.str.startswith("http").all() and df.source.str.len().gt(0).all()


def test_validation_section_and_plot(sections):
    s = sections["validation_loco"]
    assert set(s.display.klass) >= {"GEMM", "attention fwd", "attention bwd", "decode", "overall"}
    assert "10 % / 25 % goal" in s.readme_note and "p90" in s.readme_note
    fig = s.plots[0].draw()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "±10 %" in labels and "h20" in labels
