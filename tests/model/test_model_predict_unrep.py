"""``predict --include-unrepresentative`` quotes the error band validated with the unrepresentative entries
as evidence too, not the band of the representative evidence only."""

from __future__ import annotations

from gpucompare.model.bands import default_projection_rows, expected_error
from gpucompare.model.predict import predict


def test_the_band_follows_the_evidence_asked_for():
    plain = predict("h200-sxm", "attention_fwd")
    wide = predict("h200-sxm", "attention_fwd", include_unrepresentative=True)
    band = expected_error(wide.workload, wide.level or "", wide.dtype, default_projection_rows(True))
    assert (wide.expected_rel_error, wide.expected_p90, wide.expected_n) == (band.median, band.p90, band.n)
    assert "unrepresentative entries included" in wide.expected_error_basis
    # the packaged ledger's unrepresentative attention entries add validated cells: the two bands differ
    assert wide.expected_n > plain.expected_n
    assert "unrepresentative" not in plain.expected_error_basis
