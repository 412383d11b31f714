"""``gpucompare expect CHIP``: what a healthy chip should reach, on three chips: the figures are the
calibrated model's (checked against ``model.predict``), each with its band from validation and its evidence;
GEMM rows only for the dtypes the chip has; all-reduce bus bandwidth grows with the message size."""

from __future__ import annotations

import json

import pytest

from gpucompare.cli import main as cli
from gpucompare.expect import Expectation, expectations
from gpucompare.model import predict
from gpucompare.specs import load_chips

CHIPS = ("H200", "H20", "A100")


@pytest.fixture(scope="module")
def expected():
    db = load_chips()
    return {name: expectations(name, db) for name in CHIPS}


def _row(rows, workload, dtype="bf16"):
    return next(e for e in rows if e.workload == workload and e.dtype == dtype)


@pytest.mark.parametrize("name", CHIPS)
def test_every_workload_has_a_figure_with_its_band_and_evidence(expected, name):
    rows = expected[name]
    assert {e.workload for e in rows} == {
        "gemm",
        "attention_fwd",
        "decode_attention",
        "copy",
        "all_reduce busbw",
    }
    for e in rows:
        assert e.value is not None and e.value > 0 and e.evidence, e
        if e.low is not None:
            assert e.low < e.value < e.high and e.band.startswith("±")
        else:
            assert e.band.startswith("no band")  # said, not invented


@pytest.mark.parametrize("name", CHIPS)
def test_kernel_figures_are_the_calibrated_models(expected, name):
    gemm = _row(expected[name], "gemm")
    p = predict(name, "gemm", None, "bf16")
    assert gemm.unit == "TFLOP/s" and gemm.value == pytest.approx(p.tflops, rel=1e-9)
    assert gemm.high - gemm.value == pytest.approx(gemm.value * p.expected_p90, rel=1e-9)  # the p90 band
    copy = _row(expected[name], "copy")
    assert copy.unit == "GB/s" and copy.value == pytest.approx(
        predict(name, "copy", None, "bf16").gbps, rel=1e-9
    )
    # a healthy chip reaches at most its spec peak
    chip = load_chips().get(name)
    assert gemm.value <= chip.peak_tflops["bf16"] and copy.value <= chip.bandwidth_tbps * 1000


def test_gemm_rows_follow_the_chips_dtypes(expected):
    dtypes = {n: [e.dtype for e in expected[n] if e.workload == "gemm"] for n in CHIPS}
    assert "fp8" in dtypes["H200"] and "fp8" in dtypes["H20"] and "fp8" not in dtypes["A100"]
    assert dtypes["H200"][:2] == ["fp8", "bf16"]


@pytest.mark.parametrize("name", CHIPS)
def test_all_reduce_busbw_grows_with_size(expected, name):
    rows = [e for e in expected[name] if e.workload == "all_reduce busbw"]
    assert [e.shape for e in rows] == ["1 MiB on 8 ranks", "64 MiB on 8 ranks", "1 GiB on 8 ranks"]
    assert rows[0].value < rows[1].value < rows[2].value


def test_a_measured_rate_below_the_band_is_flagged():
    e = Expectation("h200-sxm", "gemm", "4096×4096×4096", "bf16", "TFLOP/s", 775.0, 756.0, 794.0, "±2.4%")
    assert e.verdict(700.0) == "below its band" and e.verdict(780.0) == "within its band"
    assert e.verdict(800.0) == "above its band"
    assert Expectation("x", "decode_attention", "", "bf16", "GB/s", 4000.0).verdict(1.0) == "no band"


def test_cli_fits_80_columns_and_json_says_projected(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert cli(["expect", "H20"]) == 0
    out = capsys.readouterr().out
    assert "PROJECTED" in out and "Band from:" in out and "Evidence:" in out
    assert max(map(len, out.splitlines())) <= 80
    assert cli(["expect", "H20", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chip"] == "h20" and data["kind"] == "projected" and len(data["rows"]) >= 9
    assert cli(["expect", "H2O"]) == 2 and "H2O" in capsys.readouterr().err
