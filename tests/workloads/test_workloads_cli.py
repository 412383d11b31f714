"""``gpucompare workloads``: JSON, the table of both tiers, a bad tier, the roofline floor."""

from __future__ import annotations

import json

import pytest
from workloads_support import REQUIRED

from gpucompare import cli
from gpucompare.workloads import WORKLOADS


def test_cli_json(capsys):
    assert cli.main(["workloads", "--json", "--tier", "cpu"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {w["name"]: w for w in data["workloads"]}
    assert set(REQUIRED) <= set(by_name)
    for name, entry in by_name.items():
        w = WORKLOADS[name]
        assert (
            entry["family"] == w.family and entry["intent"] == w.intent and entry["dtypes"] == list(w.dtypes)
        )
        assert [i["name"] for i in entry["impls"]] == [i.name for i in w.impls]
        assert sum(i["baseline"] for i in entry["impls"]) == 1
        assert list(entry["tiers"]) == ["cpu"]
        assert [s["label"] for s in entry["tiers"]["cpu"]] == [s.label for s in w.shapes("cpu")]
        for s in entry["tiers"]["cpu"]:
            shape = w.shape(s["label"])
            assert s["params"] == dict(shape.params) and s["flops"] == w.flops(shape)
            assert s["bytes"] == s["bytes_by_dtype"][w.dtypes[0]] == w.bytes(shape, w.dtypes[0])
            assert set(s["bytes_by_dtype"]) == set(w.dtypes)
    assert by_name["gemm"]["tiers"]["cpu"][0]["bytes_by_dtype"]["fp8"] == 20_478


def test_cli_table_lists_both_tiers(capsys):
    assert cli.main(["workloads"]) == 0
    out = capsys.readouterr().out
    for label in (
        "67x45x129",
        "llama3-70b-mlp-up-4096tok",
        "b4-h32-s8192-d128-causal",
        "llama3-70b-b8-ctx32k",
    ):
        assert label in out
    assert "sdpa-flash (baseline)" in out


def test_cli_bad_tier_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["workloads", "--tier", "tpu"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_floor_is_the_roofline_at_efficiency_one(capsys):
    """`gpucompare workloads --floor`: GEMM 8192³ bf16 on an H100 SXM floors at 2·8192³ / 989.4 TFLOP/s."""
    assert cli.main(["workloads", "--tier", "gpu", "--floor", "h100", "--dtype", "bf16", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["floor"]["chip"] == "h100-sxm"
    rows = {(r["workload"], r["shape"]): r for r in out["floor"]["rows"]}
    g = rows[("gemm", "8192x8192x8192")]
    assert g["floor_s"] == pytest.approx(2 * 8192**3 / 989.4e12, rel=1e-3) and g["bound"] == "compute"
    assert g["memory_s"] == pytest.approx(3 * 8192 * 8192 * 2 / 3.35e12, rel=1e-3)
    d = rows[("decode_attention", "llama3-70b-b8-ctx32k")]
    assert d["bound"] == "memory" and d["floor_s"] == pytest.approx(d["memory_s"])
    # fp8 on an A100 is unsupported: a status, never a number
    assert cli.main(["workloads", "--tier", "gpu", "--floor", "a100", "--dtype", "fp8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["floor"]["rows"]
    assert rows and all(r["status"] == "unsupported" and r["floor_s"] is None for r in rows)
