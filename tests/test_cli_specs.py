"""The ``specs`` and ``compare`` CLI commands: JSON shape, table, --match exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gpucompare import cli

CHIP_KEYS = {
    "id",
    "name",
    "vendor",
    "peak_tflops",
    "memory_gb",
    "bandwidth_tbps",
    "tdp_w",
    "die_area_mm2",
    "tpp",
    "performance_density",
    "eccn_3a090",
    "sources",
    "unsupported",
    "peak_status",
    "confidence",
    "interconnect_gbps",
    "sm_count",
}


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_specs_json_shape(capsys):
    rc, out, err = _run(capsys, "specs", "--json")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert isinstance(data, list) and len(data) >= 20
    for obj in data:
        assert set(obj) >= CHIP_KEYS, obj["id"]
        assert set(obj["peak_tflops"]) == {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8"}
    by_id = {o["id"]: o for o in data}
    h100 = by_id["h100-sxm"]
    assert h100["peak_tflops"]["bf16"] == 989.4
    assert h100["sources"]["peaks.bf16"]["url"].startswith("https://")
    assert h100["sources"]["peaks.bf16"]["confidence"] == "official"
    a100 = by_id["a100-sxm4-80gb"]
    assert a100["peak_tflops"]["fp8"] is None and "fp8" in a100["unsupported"]
    assert a100["peak_status"]["fp8"] == "unsupported"
    h20 = by_id["h20"]
    assert h20["tpp"] == 2368.0 and h20["eccn_3a090"] == "none"
    assert h20["performance_density"] == pytest.approx(2.909, abs=1e-3)


def test_specs_filter_and_table(capsys):
    rc, out, _ = _run(capsys, "specs", "--json", "H200", "NVIDIA H20")
    assert rc == 0 and [o["id"] for o in json.loads(out)] == ["h200-sxm", "h20"]
    rc, out, _ = _run(capsys, "specs")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "vendor", "year"]
    h20_row = next(line for line in lines if line.startswith("h20 "))
    assert "2,368" in h20_row and "none" in h20_row and "148" in h20_row


@pytest.mark.parametrize(
    ("name", "chip_id"),
    [("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("H200 NVL", "h200-nvl")],
)
def test_match_prints_id(capsys, name, chip_id):
    rc, out, err = _run(capsys, "specs", "--match", name)
    assert (rc, out, err) == (0, chip_id + "\n", "")


def test_match_unknown_exits_2_with_candidates(capsys):
    rc, out, err = _run(capsys, "specs", "--match", "NVIDIA H100 NVL")
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpucompare: error: unknown chip 'NVIDIA H100 NVL'")
    assert "closest:" in lines[0] and "h100-pcie" in lines[0]


def test_match_device_cross_check(capsys):
    rc, out, _ = _run(
        capsys, "specs", "--match", "NVIDIA H100 80GB HBM3", "--sm-count", "132", "--memory-gb", "85"
    )
    assert (rc, out) == (0, "h100-sxm\n")
    rc, out, err = _run(capsys, "specs", "--match", "NVIDIA H100 80GB HBM3", "--sm-count", "114")
    assert rc == 2 and out == "" and "114 SMs" in err and len(err.strip().splitlines()) == 1
    rc, _, err = _run(capsys, "specs", "--sm-count", "114")
    assert rc == 2 and "--match" in err


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-85", "lots"])
def test_match_memory_must_be_a_finite_positive_number(capsys, value):
    """issue 12: NaN passed as --memory-gb (and matched any chip)."""
    with pytest.raises(SystemExit) as exit_:  # a usage error, from argparse
        cli.main(["specs", "--match", "NVIDIA H100 80GB HBM3", f"--memory-gb={value}"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--memory-gb: expected a" in err


def test_specs_bad_file_one_line(capsys, tmp_path):
    bad = tmp_path / "chips.toml"
    bad.write_text(
        "[meta]\nschema_version = 1\n"
        '[sources.s]\ntitle="t"\nurl="u"\npublisher="p"\ndate="d"\nconfidence="official"\n'
        '[[chips]]\nid="zz"\nname="Z"\nvendor="V"\nsource="s"\n'
    )
    rc, out, err = _run(capsys, "specs", "--file", str(bad))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "chip 'zz'" in err and "field 'launch_year'" in err


def test_compare_json(capsys):
    rc, out, err = _run(capsys, "compare", "H200", "H20", "--json")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert data["a"]["id"] == "h200-sxm" and data["b"]["id"] == "h20"
    spec = {r["basis"]: r for r in data["spec"]}
    assert list(spec) == ["bf16", "fp8", "tpp", "bandwidth", "memory", "interconnect"]
    assert spec["bf16"]["ratio"] == pytest.approx(989.4 / 148)
    assert spec["bandwidth"]["ratio"] == pytest.approx(1.2)
    assert set(spec["bf16"]) == {"basis", "a_value", "b_value", "ratio", "reason", "unit"}


def test_compare_reasons_and_text(capsys):
    rc, out, _ = _run(capsys, "compare", "a100", "h100", "--json")
    spec = {r["basis"]: r for r in json.loads(out)["spec"]}
    assert (
        rc == 0
        and spec["fp8"]["ratio"] is None
        and spec["fp8"]["reason"] == "fp8 unsupported on a100-sxm4-80gb"
    )
    rc, out, _ = _run(capsys, "compare", "h200-sxm", "h20")
    assert rc == 0 and "6.69x" in out and "1.20x" in out


def test_compare_bad_arguments(capsys):
    rc, out, err = _run(capsys, "compare", "H200", "H9000")
    assert rc == 2 and out == "" and err.startswith("gpucompare: error: unknown chip 'H9000'")
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "H200"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucompare: error:")


def test_python_dash_m_specs_json():
    proc = subprocess.run(
        [sys.executable, "-m", "gpucompare", "specs", "--json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {o["id"] for o in data} >= {"h100-sxm", "h20", "h200-sxm", "b200"}


def test_match_says_which_part_a_shared_name_picks_and_why(capsys):
    """issue 21: "NVIDIA H200" silently picked the SXM part."""
    rc, out, err = _run(capsys, "specs", "--match", "NVIDIA H200")
    assert (rc, out) == (0, "h200-sxm\n")
    assert err.startswith("gpucompare: note: 'NVIDIA H200' is the driver name of h200-sxm")
    assert "h200-nvl ('NVIDIA H200 NVL" in err and len(err.strip().splitlines()) == 1
    rc, out, err = _run(capsys, "specs", "--match", "NVIDIA H200 NVL")
    assert (rc, out, err) == (0, "h200-nvl\n", "")


def test_match_a_mig_instance_gives_the_mig_message(capsys):
    """issue 21: a MIG name answered "unknown chip"; it gets the runtime path's MIG message."""
    rc, out, err = _run(capsys, "specs", "--match", "NVIDIA H100 80GB HBM3 MIG 1g.10gb")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "is a MIG instance (1g.10gb) of h100-sxm" in err and "unknown chip" not in err
