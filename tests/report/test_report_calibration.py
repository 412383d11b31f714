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
    tflops, gbps = fig.axes[:2]  # one panel per unit: TFLOP/s and GB/s never share an axis
    assert tflops.get_xscale() == "log" and tflops.get_yscale() == "log"
    assert "TFLOP/s" in tflops.get_xlabel() and "GB/s" in gbps.get_xlabel()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "predicted = published (grey: ±10 %)" in labels and "h20" in labels
    # a chip has one colour-marker pair of its own
    styles = [(h.get_color(), h.get_marker()) for h in fig.legends[0].legend_handles if h.get_marker() != "None"]
    assert len(styles) == len(set(styles))
    # the outliers are labelled with their chip and error (b200's FlashAttention-2 figure: far above)
    notes = [t.get_text() for t in tflops.texts]
    assert any(n.startswith("b200 +") for n in notes) and all(n.endswith("%") for n in notes)
