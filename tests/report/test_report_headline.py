"""The headline: per chip pair and workload class, every number with its basis (spec, projected, published,
measured here), equal to what the spec database, the roofline, the ledger and the runs give; the sentences
say what each number rests on; ``--pairs`` picks the pairs, a bad pair is one line and exit 2."""

from __future__ import annotations

import statistics

import pandas as pd
import pytest
from report_samples import DB, H20, H100, H200, KW, runs

from gpucompare import model
from gpucompare.report.headline import CLASSES, article_shape, pair_figures
from gpucompare.report.sections.answer import pair_sentences
from gpucompare.specs import load_chips
from gpucompare.specs.published import load_published


def _by(figures, wclass, basis):
    return [f for f in figures if f.wclass == wclass and f.basis == basis]


def test_h200_vs_h20_from_spec_roofline_and_ledger():
    db = load_chips()
    h200, h20 = db.get("H200"), db.get("H20")
    ledger = load_published()
    figs = pair_figures(h200, h20, None, ledger)
    bf16 = h200.peak_tflops["bf16"] / h20.peak_tflops["bf16"]
    bw = h200.bandwidth_tbps / h20.bandwidth_tbps
    assert _by(figs, "gemm", "spec")[0].ratio == pytest.approx(bf16)
    # projected: the calibrated model (issue 11) at the class's article shape on both chips
    for wc in CLASSES[:4]:
        params = article_shape(wc)[0]
        pa, pb = (model.predict(c, wc.workload, params, wc.dtype) for c in ("h200", "h20"))
        proj = _by(figs, wc.key, "projected")[0]
        assert (
            proj.ratio == pytest.approx(pb.time_s / pa.time_s)
            and proj.source == "model: calibrated projection"
        )
    assert _by(figs, "bandwidth", "spec")[0].ratio == pytest.approx(bw)
    assert _by(figs, "multi_gpu", "spec")[0].ratio == pytest.approx(
        h200.interconnect_gbps / h20.interconnect_gbps
    )

    # published: the same-group torch.mm bf16 entries of the ledger, a chip's repeats averaged
    def mean(chip):
        return statistics.fmean(
            e.value
            for e in ledger
            if e.chip == chip
            and e.group == "torch-mm-database"
            and e.dtype == "bf16"
            and e.workload == "gemm"
        )

    pub = _by(figs, "gemm", "published")[0]
    assert pub.ratio == pytest.approx(mean("h200-sxm") / mean("h20")) and pub.url.startswith("https://")
    assert not _by(figs, "gemm", "measured here")  # nothing measured on these chips here
    text = " ".join(pair_sentences(h200, h20, figs))
    assert f"**{bf16:#.3g}×** on spec" in text and f"**{pub.ratio:#.3g}×** in a published" in text
    assert f"**{bw:#.3g}×** on spec" in text and "nothing above is measured here" in text


def test_article_shapes_sit_where_the_articles_say():
    ai = {}
    for wc in CLASSES:
        shape = article_shape(wc)
        if shape is not None:
            ai[wc.key] = shape[1] / shape[2] if shape[1] else 0.0
    assert ai["gemm"] > 1000 and ai["attention"] > 1000  # right of every ridge: compute-bound
    assert 0 < ai["decode"] < 20 and ai["bandwidth"] == 0  # left of every ridge: bandwidth-bound


def test_measured_here_and_run_projections_never_from_pipeline_checks():
    records = [r for run in runs() for r in run.records]
    analysis = model.analyse(records, DB)
    figs = pair_figures(H200, H100, analysis)
    here = _by(figs, "bandwidth", "measured here")
    t = {r["run_id"]: r["median_s"] for r in records if r["workload"] == "copy"}
    assert len(here) == 1 and here[0].ratio == pytest.approx(t["r-h100"] / t["r-h200"])
    assert here[0].source == "runs r-h200, r-h100"
    proj = _by(figs, "gemm", "projected")[0]
    assert proj.source == "model: run r-h200" and proj.ratio == pytest.approx(1.0)  # same bf16 peak
    assert "measured here" in " ".join(pair_sentences(H200, H100, figs))
    cpu_only = model.analyse([r for r in records if r["mode"] == "cpu-fallback"], DB)
    assert not [f for f in pair_figures(H200, H20, cpu_only) if f.basis == "measured here"]
    assert {f.source for f in pair_figures(H200, H20, cpu_only) if f.basis == "projected"} == {
        "model: roofline at spec peaks"
    }


def test_report_opens_with_every_pair(tmp_path):
    from gpucompare import report

    data = report.build(runs(), **KW)
    assert [p.title for p in data.headline.pairs] == ["H200 vs H20", "H20 vs H100", "H200 vs A100"]
    report.generate(tmp_path, runs(), plots=False, **KW)
    answer = pd.read_csv(tmp_path / "tables" / "answer.csv")
    assert set(answer.basis) == {
        "spec",
        "projected",
    }  # no ledger with synthetic chips, no pair measured twice
    assert "model: run r-h200" in set(answer.source)  # projected at the GPU run's efficiencies, not the CPU's


def test_cli_pairs(tmp_path, capsys):
    from gpucompare import cli

    assert cli.main(["report", "--out", str(tmp_path), "--no-plots", "--pairs", "B200:H200"]) == 0
    answer = pd.read_csv(tmp_path / "tables" / "answer.csv")
    assert set(zip(answer.chip_a, answer.chip_b)) == {("b200", "h200-sxm")}
    assert "## The answer: B200 vs H200" in (tmp_path / "README.md").read_text()
    capsys.readouterr()
    for bad in ("H200", "H200:H20:H100", "H200:,B200:H200"):  # malformed: argparse, one line, exit 2
        with pytest.raises(SystemExit) as exc:
            cli.main(["report", "--out", str(tmp_path), "--no-plots", "--pairs", bad])
        assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1
    assert cli.main(["report", "--out", str(tmp_path), "--no-plots", "--pairs", "H200:H9000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown chip 'H9000'" in err
