"""The published report: files present and parseable, numbers equal to the model's, cpu runs kept apart,
the no-run report, determinism (which files it deletes: test_report_manifest.py).

Synthetic chips (a ``ChipDB`` of real chips), claims and records (``report_samples``), so these tests do not
depend on the packaged spec database.
"""

from __future__ import annotations

import pandas as pd
import pytest
from report_samples import CHIPS, H20, KW, runs

from gpucompare import model, report
from gpucompare.results import is_pipeline_check


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
    data = report.build(runs(), **KW)
    for section in data.sections:  # shown, or listed with what would fill it
        assert f"## {section.title}" in readme if section.shows else f"- **{section.title}**: " in readme
    assert readme.index("## The answer: H200 vs H20") < readme.index("## Contents")
    assert "(plots/roofline_h20.svg)" in readme and "(no rows)" not in readme
    html = (generated / "report.html").read_text()
    assert html.count("<table>") >= 8 and "Projected time and throughput per chip" in html
    assert "<svg" in html  # plots inline: nothing to fetch (xmlns URIs are names, not requests)
    for fetch in ('src="', "url(http", "<img", "<link", "<script", "@import"):
        assert fetch not in html, fetch
    for stem in ("roofline_overlay", "ratios_h200-sxm_vs_h20", "validation"):
        assert (generated / "plots" / f"{stem}.svg").stat().st_size > 1000
        assert (generated / "plots" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert f'id="fig-{stem}"' in html  # inline in the page
    # per-chip rooflines: SVG files linked, not a gallery in the page
    assert (generated / "plots" / "roofline_h20.svg").exists() and not (
        generated / "plots" / "roofline_h20.png"
    ).exists()
    assert 'id="fig-roofline_h20"' not in html and 'href="plots/roofline_h20.svg"' in html
    assert not list(generated.rglob("*.tmp"))


def test_numbers_match_the_model(generated):
    proj = pd.read_csv(generated / "tables" / "projections.csv")
    row = proj[(proj.workload == "gemm") & (proj.shape_label == "big") & (proj.chip_id == "h20")]
    assert len(row) == 1 and row.impl.iloc[0] == "torch"  # best implementation only
    assert row.time_s.iloc[0] == pytest.approx(989e12 * 1e-3 / (0.5 * 148e12), rel=1e-5)
    a = model.analyse([r for run in runs() for r in run.records if not is_pipeline_check(r)], {})
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
    # the report judges claims with the provider the CLI uses: measured, then published, then projected
    assert any(b.startswith("workload:gemm/") for b in claims.basis) and "model:decode" in set(claims.basis)
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
    # spec verdicts, and workload verdicts from the published ledger / calibrated projection; no run, no step
    assert claims.basis.iloc[0] == "bf16" and all(b.startswith("workload:") for b in claims.basis.iloc[1:])
    assert pd.read_csv(tmp_path / "tables" / "projections.csv").empty
    assert "unvalidated" in readme


def test_deterministic_bytes(generated, tmp_path):
    report.generate(tmp_path, runs(), **KW)
    files = sorted(p.relative_to(generated) for p in generated.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert {p.suffix for p in files} == {
        ".csv",
        ".svg",
        ".png",
        ".md",
        ".html",
        ".json",
    }  # .json: the manifest
    for rel in files:  # every file, images included
        assert (generated / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel
