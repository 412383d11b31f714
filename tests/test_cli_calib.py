"""``gpucompare validate`` and ``gpucompare predict``: JSON keys, bad input as one line with exit 2."""

from __future__ import annotations

import json

import pytest

from gpucompare import cli


def test_validate_json_rows_and_summary(capsys):
    assert cli.main(["validate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {
        "chip",
        "workload",
        "dtype",
        "group",
        "measured",
        "predicted",
        "naive",
        "rel_error",
        "naive_rel_error",
    }
    assert out["rows"] and all(keys <= set(r) for r in out["rows"])
    assert out["summary"][-1]["klass"] == "overall"


def test_validate_table_says_published_and_the_model(capsys):
    assert cli.main(["validate"]) == 0
    text = capsys.readouterr().out
    assert "PUBLISHED" in text and "five lines" in text
    for klass in ("GEMM", "attention fwd", "attention bwd", "decode", "bandwidth"):
        assert f"\n{klass} " in text, klass
    assert "p90 |err|" in text and "naive p90" in text


def test_predict_without_a_validated_band_prints_no_plus_minus(capsys):
    """The H20 has no fp8 GEMM figure: its band is not the own-chip bf16 one; the Ascend 910C's decode GEMM
    rests on a level no leave-one-chip-out cell covers: error not known, no ±, indicative."""
    assert cli.main(["predict", "H20", "gemm", "--dtype", "fp8", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["level"] != "own chip" and "expected_p90" in p and "indicative" in p
    assert cli.main(["predict", "H20", "gemm", "--dtype", "fp8"]) == 0
    text = capsys.readouterr().out
    assert "±2%" not in text.splitlines()[0]
    assert cli.main(["predict", "ascend-910c", "gemm_decode"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "not known" in first and "±" not in first and "INDICATIVE" in first


def test_predict_json(capsys):
    assert cli.main(["predict", "H20", "gemm", "--shape", "M=8192,N=8192,K=8192", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    keys = {
        "chip",
        "workload",
        "shape",
        "dtype",
        "time_s",
        "tflops",
        "gbps",
        "bound",
        "evidence",
        "expected_rel_error",
        "expected_p90",
        "expected_n",
        "indicative",
    }
    assert keys <= set(p) and p["kind"] == "projected"
    assert p["chip"] == "h20" and p["shape"] == {"M": 8192, "N": 8192, "K": 8192} and p["bound"] == "compute"
    assert p["tflops"] == pytest.approx(2 * 8192**3 / p["time_s"] / 1e12)


def test_predict_exclude_chip_changes_the_evidence(capsys):
    assert cli.main(["predict", "H20", "gemm", "--json"]) == 0
    own = json.loads(capsys.readouterr().out)
    assert cli.main(["predict", "H20", "gemm", "--exclude-chip", "h20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert own["level"] == "own chip" and out["level"] != "own chip"


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "H9000", "gemm"],
        ["predict", "H20", "nope"],
        ["predict", "H20", "gemm", "--shape", "Z=3"],
        ["predict", "H20", "gemm", "--shape", "M=big"],
        ["predict", "H20", "decode_attention", "--dtype", "fp8"],
        ["predict", "H20", "gemm", "--dtype", "fp99"],
        ["predict", "H20", "gemm", "--exclude-chip", "H9000"],
    ],
)
def test_predict_bad_input_is_one_line_exit_2(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucompare: error:")
