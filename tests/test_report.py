"""The published report: files present and parseable, numbers equal to the model's, cpu runs kept apart,
the no-run report, determinism, and the ``report`` / ``project`` commands.

Synthetic chips, spec ratios, claims and records, so most tests do not depend on the spec database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from gpucompare import model, report


@dataclass(frozen=True)
class FakeChip:
    id: str
    name: str
    peak_tflops: dict
    bandwidth_tbps: float | None
    boost_clock_mhz: float | None = None
    unsupported: frozenset = field(default_factory=frozenset)
    tpp: float | None = None
    performance_density: float | None = None
    eccn_3a090: str | None = None
    sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    def peak_status(self, dtype: str) -> str:
        if dtype in self.unsupported:
            return "unsupported"
        return "known" if self.peak_tflops.get(dtype) is not None else "unknown"


H20 = FakeChip(
    "h20",
    "H20",
    {"bf16": 148.0, "fp8": 296.0},
    4.0,
    None,
    tpp=2368.0,
    performance_density=2.91,
    eccn_3a090="none",
    sources={"bandwidth_tbps": {"source": "press-h20", "confidence": "reported"}},
    aliases=("H20",),
)
H200 = FakeChip(
    "h200-sxm",
    "H200 SXM",
    {"bf16": 989.0, "fp8": 1979.0},
    4.8,
    1830.0,
    tpp=15832.0,
    eccn_3a090="3A090.a",
    aliases=("H200",),
)
H100 = FakeChip("h100-sxm", "H100 SXM", {"bf16": 989.0, "fp8": 1979.0}, 3.35, 1830.0, aliases=("H100",))
A100 = FakeChip(
    "a100", "A100", {"bf16": 312.0, "fp8": None}, 2.04, 1410.0, frozenset({"fp8"}), aliases=("A100",)
)
CHIPS = [A100, H100, H20, H200]
PAIRS = (("H200", "H20"), ("H20", "H100"), ("H200", "A100"))


def fake_spec_ratios(a, b):
    out = []
    for basis in ("bf16", "bandwidth"):
        va = a.peak_tflops.get("bf16") if basis == "bf16" else a.bandwidth_tbps
        vb = b.peak_tflops.get("bf16") if basis == "bf16" else b.bandwidth_tbps
        out.append(SimpleNamespace(basis=basis, a_value=va, b_value=vb, ratio=va / vb, reason=None))
    return out


def fake_claims(provider):
    """One claim "H200 ~6x H20", with the workload verdicts when a provider is given."""
    verdicts = [{"basis": "bf16", "ratio": 989 / 148, "verdict": "reproduced", "detail": "spec"}]
    if provider is not None:
        for r in provider("h200-sxm", "h20"):
            verdicts.append(
                {"basis": r["basis"], "ratio": r["ratio"], "verdict": "n/a", "detail": r["detail"]}
            )
    return [
        {
            "id": "six-times",
            "quote_en": "almost six times",
            "chips": ["h200-sxm", "h20"],
            "relation": {"kind": "ratio"},
            "status": "mixed",
            "verdict": "depends",
            "verdicts": verdicts,
            "source": {"publication": "Reuters", "date": "2025-12"},
        }
    ]


def counts(workload, dims, dtype, label):
    if workload == "gemm":
        m, n, k = dims["M"], dims["N"], dims["K"]
        return 2.0 * m * n * k, 2.0 * (m * k + k * n + m * n)
    b, hq, d = dims["batch"], dims["hq"], dims["d"]
    if workload == "decode_attention":
        return 4.0 * b * hq * dims["L"] * d, 4.0 * b * dims["hkv"] * dims["L"] * d
    f = 2.0 * b * hq * dims["sq"] * dims["sk"] * d
    return (2.5 * f if workload == "attention_bwd" else f), 8.0 * b * hq * dims["sq"] * d


def rec(run, chip, workload, label, flops, nbytes, t, dtype="bf16", impl="torch", mode="gpu", status="ok"):
    return {
        "run_id": run,
        "workload": workload,
        "shape_label": label,
        "shape": {},
        "dtype": dtype,
        "impl": impl,
        "status": status,
        "reason": None if status == "ok" else "wrong result",
        "flops": flops,
        "bytes": nbytes,
        "median_s": t,
        "mode": mode,
        "chip_id": chip.id if mode == "gpu" else None,
        "device_name": chip.name,
        "local_peak_tflops": chip.peak_tflops.get(dtype),
        "local_peak_bw_tbps": chip.bandwidth_tbps,
        "local_peak_source": "spec" if mode == "gpu" else "measured-cpu",
        "telemetry": {"after": {"sm_clock_mhz": 1700, "sm_clock_max_mhz": 1980}},
    }


CPU = FakeChip("cpu", "CPU", {"bf16": 0.2, "fp32": 0.19}, 0.02)


def runs():
    h200 = [
        rec("r-h200", H200, "gemm", "big", 989e12 * 1e-3, 1e8, 2e-3),  # e = 0.5 compute
        rec("r-h200", H200, "gemm", "big", 989e12 * 1e-3, 1e8, 4e-3, impl="triton"),  # slower impl
        rec("r-h200", H200, "copy", "big", 0.0, 4.8e9, 1.25e-3),  # e = 0.8 memory
        rec("r-h200", H200, "gemm", "f8", 1979e12 * 1e-3, 1e8, 2e-3, dtype="fp8"),
        rec("r-h200", H200, "decode_attention", "d", 1e9, 1e9, 1e9 / 4.8e12 / 0.7),
        rec("r-h200", H200, "attention_fwd", "a", 1e12, 1e9, 2e-3, status="failed"),
    ]
    h100 = [rec("r-h100", H100, "copy", "big", 0.0, 4.8e9, 4.8e9 / 3.35e12 / 0.75)]
    cpu = [rec("r-cpu", CPU, "gemm", "tiny", 0.2e12 * 1e-3, 1e5, 2e-3, mode="cpu-fallback")]
    return [
        SimpleNamespace(
            machine={"run_id": r[0]["run_id"], "mode": r[0]["mode"], "chip_id": r[0]["chip_id"]}, records=r
        )
        for r in (h200, h100, cpu)
    ]


KW = dict(chips=CHIPS, pairs=PAIRS, spec_ratios_fn=fake_spec_ratios, claims_fn=fake_claims, counts=counts)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    report.generate(out, runs(), **KW)
    return out


TABLES = (
    "machines",
    "measured",
    "efficiency",
    "projections",
    "ratios",
    "spec_ratios",
    "spec_ratio_matrix",
    "model_steps",
    "validation",
    "export_control",
    "claims",
    "provenance",
    "skipped",
)


def test_files_present_and_parseable(generated):
    for name in TABLES:
        pd.read_csv(generated / "tables" / f"{name}.csv")
    readme = (generated / "README.md").read_text()
    for _, title, _ in report.SECTIONS:
        assert f"## {title}" in readme
    assert "## Plots" in readme and "plots/roofline_h20.svg" in readme
    html = (generated / "report.html").read_text()
    assert html.count("<table>") >= 8 and "Projected time and throughput per chip" in html
    assert "<svg" in html  # plots inline: nothing to fetch (xmlns URIs are names, not requests)
    for fetch in ('src="', 'href="http', "url(http", "<img", "<link", "<script", "@import"):
        assert fetch not in html, fetch
    for stem in ("roofline_h200-sxm", "ratios_h200-sxm_vs_h20", "validation"):
        assert (generated / "plots" / f"{stem}.svg").stat().st_size > 1000
        assert (generated / "plots" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(generated.rglob("*.tmp"))


def test_numbers_match_the_model(generated):
    proj = pd.read_csv(generated / "tables" / "projections.csv")
    row = proj[(proj.workload == "gemm") & (proj.shape_label == "big") & (proj.chip_id == "h20")]
    assert len(row) == 1 and row.impl.iloc[0] == "torch"  # best implementation only
    assert row.time_s.iloc[0] == pytest.approx(989e12 * 1e-3 / (0.5 * 148e12), rel=1e-5)
    a = model.analyse([r for run in runs() for r in run.records if r["mode"] == "gpu"], {})
    m = next(m for m in a.best() if m.workload == "copy" and m.run_id == "r-h200")
    expect = model.project(m, H20, model.efficiencies(m, a.of_run("r-h200")))
    row = proj[(proj.workload == "copy") & (proj.source_run_id == "r-h200") & (proj.chip_id == "h20")]
    assert row.time_s.iloc[0] == pytest.approx(expect.time_s, rel=1e-5)
    f8 = proj[(proj.shape_label == "f8") & (proj.chip_id == "a100")]
    assert f8.status.iloc[0] == "unsupported" and pd.isna(f8.time_s.iloc[0])
    rat = pd.read_csv(generated / "tables" / "ratios.csv")
    g = rat[(rat.chip_a == "h200-sxm") & (rat.chip_b == "h20") & (rat.basis == "workload:gemm/big/bf16")]
    assert g.ratio.iloc[0] == pytest.approx(989 / 148, rel=1e-5)
    eff = pd.read_csv(generated / "tables" / "efficiency.csv")
    e = eff[(eff.workload == "gemm") & (eff.impl == "torch") & (eff.shape_label == "big")]
    assert e.efficiency.iloc[0] == pytest.approx(0.5) and e.efficiency_clock_norm.iloc[0] == pytest.approx(
        0.5 * 1830 / 1700, rel=1e-5
    )
    val = pd.read_csv(generated / "tables" / "validation.csv")
    v = val[(val.from_chip == "h100-sxm") & (val.to_chip == "h200-sxm")]
    assert v.error.iloc[0] == pytest.approx((4.8e9 / (0.75 * 4.8e12)) / 1.25e-3 - 1, rel=1e-5)
    steps = pd.read_csv(generated / "tables" / "model_steps.csv")
    assert set(steps.step) == {"train", "prefill", "decode"}
    assert steps[(steps.chip_id == "h20") & (steps.step == "decode")].status.iloc[0] == "ok"
    assert steps[(steps.step == "train")].status.eq("unmeasured").all()  # no attention measurement
    claims = pd.read_csv(generated / "tables" / "claims.csv")
    assert "workload:gemm/big/bf16" in set(claims.basis)
    skipped = pd.read_csv(generated / "tables" / "skipped.csv")
    assert skipped.reason.str.contains("wrong result").any()


def test_cpu_runs_excluded_unless_asked(generated, tmp_path):
    proj = pd.read_csv(generated / "tables" / "projections.csv")
    assert "r-cpu" not in set(proj.source_run_id)
    assert "pipeline checks" in (generated / "README.md").read_text()
    report.generate(tmp_path, runs(), include_cpu=True, plots=False, **KW)
    proj2 = pd.read_csv(tmp_path / "tables" / "projections.csv")
    cpu_rows = proj2[proj2.source_run_id == "r-cpu"]
    assert len(cpu_rows) == len(CHIPS) and cpu_rows.pipeline_check.all()
    assert not proj2[proj2.source_run_id != "r-cpu"].pipeline_check.any()
    assert "PIPELINE CHECK" in (tmp_path / "README.md").read_text()


def test_no_runs_still_publishes_spec_tables(tmp_path):
    report.generate(tmp_path, [], plots=False, **KW)
    readme = (tmp_path / "README.md").read_text()
    assert "No measurement exists yet" in readme
    tiers = pd.read_csv(tmp_path / "tables" / "export_control.csv")
    assert tiers.set_index("chip_id").loc["h20", "eccn_3a090"] == "none"
    sr = pd.read_csv(tmp_path / "tables" / "spec_ratios.csv")
    assert sr[(sr.chip_a == "h200-sxm") & (sr.basis == "bf16")].ratio.iloc[0] == pytest.approx(
        989 / 148, rel=1e-5
    )
    claims = pd.read_csv(tmp_path / "tables" / "claims.csv")
    assert list(claims.basis) == ["bf16"]  # spec verdicts only
    assert pd.read_csv(tmp_path / "tables" / "projections.csv").empty
    assert "unvalidated" in readme


def test_deterministic_bytes(generated, tmp_path):
    report.generate(tmp_path, runs(), **KW)
    files = sorted(p.relative_to(generated) for p in generated.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix in (".csv", ".svg", ".md", ".html"):
            assert (generated / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_stale_generated_files_removed(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "old.csv").write_text("x\n")
    report.generate(tmp_path, [], plots=False, **KW)
    assert not (tmp_path / "tables" / "old.csv").exists()


def test_markdown_table_formatting():
    df = pd.DataFrame({"a": [1.234567, None], "b": ["x|y", True]})
    assert report.md_table(df).splitlines() == [
        "| a | b |",
        "| --- | --- |",
        "| 1.235 | x\\|y |",
        "|  | yes |",
    ]


# ------------------------------------------------------------------------------ the commands, real modules
def _write_run(root: Path) -> Path:
    results = pytest.importorskip("gpucompare.results")
    specs = pytest.importorskip("gpucompare.specs")
    chip = specs.get_chip("h200-sxm")
    folder = root / "runs" / "r1"
    folder.mkdir(parents=True)
    base = {k: None for k in results.RECORD_FIELDS}
    base.update(
        schema_version=results.SCHEMA_VERSION,
        run_id="r1",
        family="gemm",
        intent="compute",
        shape={"M": 8192, "N": 8192, "K": 8192},
        baseline=True,
        status="ok",
        mode="gpu",
        chip_id=chip.id,
        device_name=chip.name,
        local_peak_tflops=chip.peak_tflops["bf16"],
        local_peak_bw_tbps=chip.bandwidth_tbps,
        local_peak_source="spec",
        telemetry={"before": None, "after": None},
        versions={},
        timestamp="2026-11-23T00:00:00Z",
        hostname="h",
        p20_s=1e-3,
        p80_s=1e-3,
        min_s=1e-3,
        count=10,
    )
    f = 2 * 8192**3
    recs = [
        dict(
            base,
            workload="gemm",
            shape_label="8192",
            dtype="bf16",
            impl="torch",
            flops=f,
            bytes=3 * 8192 * 8192 * 2,
            median_s=f / (0.6 * chip.peak_tflops["bf16"] * 1e12),
        ),
        dict(
            base,
            workload="copy",
            family="bandwidth",
            intent="memory",
            shape={"N": 1 << 28},
            shape_label="n",
            dtype="bf16",
            impl="torch",
            flops=0,
            bytes=2 * 2 * (1 << 28),
            median_s=4 * (1 << 28) / (0.9 * chip.bandwidth_tbps * 1e12),
        ),
    ]
    for r in recs:
        results.validate_record(r)
    (folder / "run.json").write_text(json.dumps({"run_id": "r1", "mode": "gpu", "chip_id": chip.id}))
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return folder


def test_cli_report_and_project(tmp_path, capsys):
    from gpucompare import cli

    folder = _write_run(tmp_path)
    assert cli.main(["report", "--out", str(tmp_path), "--no-plots"]) == 0
    proj = pd.read_csv(tmp_path / "tables" / "projections.csv")
    row = proj[(proj.workload == "gemm") & (proj.chip_id == "h20")]
    assert row.tflops.iloc[0] == pytest.approx(0.6 * 148, rel=1e-3)  # compute-bound on H20 at e = 0.6
    capsys.readouterr()
    assert cli.main(["project", "--runs", str(folder), "--chips", "h20,H200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {(p["workload"], p["chip_id"]): p for p in out["projections"]}
    assert set(got) == {("gemm", "h20"), ("gemm", "h200-sxm"), ("copy", "h20"), ("copy", "h200-sxm")}
    assert got[("copy", "h20")]["gbps"] == pytest.approx(0.9 * 4000, rel=1e-3)
    assert cli.main(["project", "--runs", str(folder), "--chips", "H9000"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert cli.main(["project", "--runs", str(tmp_path / "nope")]) == 2


def test_cli_compare_and_claims_gain_workload_ratios(tmp_path, capsys):
    """`compare A B` and `claims` judge the projected per-workload ratios of stored GPU runs."""
    from gpucompare import cli

    folder = _write_run(tmp_path)
    assert cli.main(["compare", "h200", "h20", "--runs", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {w["basis"]: w for w in out["workloads"]}
    # GEMM at e_c = 0.6: compute-bound on both chips, so the ratio is the bf16 peak ratio 989.4 / 148
    assert got["workload:gemm/8192/bf16"]["ratio"] == pytest.approx(989.4 / 148, rel=1e-3)
    # copy at e_m = 0.9: memory-bound, the bandwidth ratio 4.8 / 4.0
    assert got["workload:copy/n/bf16"]["ratio"] == pytest.approx(4.8 / 4.0, rel=1e-3)
    assert {"spec", "workloads", "a", "b"} <= set(out)

    assert cli.main(["claims", "--id", "h200-almost-six-times-h20", "--results", str(folder), "--json"]) == 0
    claim = json.loads(capsys.readouterr().out)[0]
    verdicts = {v["basis"]: v["verdict"] for v in claim["verdicts"]}
    assert verdicts["workload:gemm/8192/bf16"] == "reproduced"  # ≈6.7×: inside the accepted 5–7
    assert verdicts["workload:copy/n/bf16"] == "refuted"  # 1.2×: memory-bound work does not see six times


def test_cpu_runs_never_feed_a_verdict(tmp_path, capsys):
    """Explicit runs that are all cpu-fallback give one clear error, not an empty or CPU-based verdict."""
    from gpucompare import cli

    folder = _write_run(tmp_path)
    (folder / "run.json").write_text(json.dumps({"run_id": "r1", "mode": "cpu-fallback", "chip_id": None}))
    assert cli.main(["compare", "h200", "h20", "--runs", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cpu-fallback runs never feed a verdict" in err[0]
