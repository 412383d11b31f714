"""The communication model: link bandwidths, the fit, leave-one-chip-out validation, projection of records."""

from __future__ import annotations

import pytest
from support import make_chip

from gpucompare.model import comm
from gpucompare.specs import load_chips


def _chips():
    return {c.id: c for c in load_chips().chips}


def test_link_is_per_direction_and_pcie_by_generation():
    chips = _chips()
    assert comm.link_gbps(chips["h200-sxm"])[0] == 450 and comm.link_gbps(chips["a800-sxm4"])[0] == 200
    assert comm.link_gbps(chips["l20"]) == (31.5, "PCIe Gen4 x16 per direction")
    assert comm.link_gbps(chips["mlu590"])[0] is None
    assert comm.comm_class(chips["h20"], "all_reduce") == ("nvls", "switch")
    assert comm.comm_class(chips["h20"], "all_gather") == ("ring", "switch")
    assert comm.comm_class(chips["a800-sxm4"], "all_reduce") == ("ring", "switch")
    assert comm.comm_class(chips["ascend-910c"], "all_reduce") == ("ring", "hccs")


def _synthetic(chip: str, link: float, eta: float, alpha: float, sizes=(32768, 1 << 20, 1 << 32)):
    from gpucompare.workloads.collective import bus_factor

    f = bus_factor("all_reduce", 8)
    pts = []
    for s in sizes:
        t = alpha + s * f / (eta * link * 1e9)
        pts.append(comm.Point(chip, "all_reduce", 8, "nvls", s, s * f / t / 1e9, f"synthetic: {chip}-{s}"))
    return pts


def test_fit_recovers_eta_and_alpha_and_predicts_another_chip():
    chips = _chips()
    # a model-made H100 run (η 1.05, α 20 µs): the fit gives back η at the largest size, α from the small ones
    pts = _synthetic("h100-sxm", 450, 1.05, 20e-6)
    eta, alpha = comm.fit(pts, chips, "all_reduce", 8)
    assert eta == pytest.approx(1.05, rel=2e-3) and alpha == pytest.approx(20e-6, rel=1e-2)
    f = comm.class_fit(pts, chips, chips["b200"], "all_reduce", 8)
    t, how = comm.predict("all_reduce", 1 << 32, 8, chips["b200"], f)
    assert t == pytest.approx(20e-6 + (1 << 32) * 1.75 / (f.eta * 900e9)) and "nvls/switch" in how


def test_validation_leaves_the_chip_out():
    chips = _chips()
    pts = _synthetic("h100-sxm", 450, 1.05, 20e-6) + _synthetic("h200-sxm", 450, 1.05, 20e-6)
    checks = comm.validate_published(pts, chips)
    assert all(abs(c.error) < 0.01 for c in checks)  # both follow the same model
    lonely = [p for p in pts if p.chip == "h100-sxm"]
    assert all(c.error is None and "unvalidated" in c.how for c in comm.validate_published(lonely, chips))
    # changing H200's own figures moves only the H100 predictions
    skewed = _synthetic("h100-sxm", 450, 1.05, 20e-6) + _synthetic("h200-sxm", 450, 0.5, 20e-6)
    by = {c.evidence: c for c in comm.validate_published(skewed, chips)}
    s, f = 1 << 32, 1.75
    h100_model = s * f / (20e-6 + s * f / (1.05 * 450e9)) / 1e9  # H200 predicted from H100's η and α
    assert by["synthetic: h200-sxm-4294967296"].predicted_gbps == pytest.approx(h100_model, rel=2e-3)
    assert by["synthetic: h100-sxm-4294967296"].predicted_gbps < 0.6 * 450  # from H200's skewed η


def test_published_ledger_validates_within_reason():
    from gpucompare.specs.published import load_published

    checks = comm.validate_published(comm.published_points(load_published()), _chips())
    assert len(checks) >= 20
    big = [
        c for c in checks if c.size is not None and c.size >= 1 << 30 and c.chip in ("h100-sxm", "h200-sxm")
    ]
    assert big and all(abs(c.error) < 0.05 for c in big)  # NVLS asymptote predicted across H100 / H200


def test_measured_records_project_onto_every_chip():
    chip = make_chip("gpu-x", {"bf16": 1000.0}, 4.0, interconnect_gbps=900.0, link_kind="nvlink4")
    recs = [
        {
            "status": "ok",
            "mode": "gpu",
            "chip_id": "gpu-x",
            "workload": "all_gather",
            "run_id": "r",
            "collective": {"world_size": 8, "size_bytes": s, "busbw_gbps": bw, "algorithm": "chosen by NCCL"},
        }
        for s, bw in ((1 << 20, 40.0), (1 << 30, 360.0))
    ]
    rows = comm.project_records(recs, {"gpu-x": chip, "l20": _chips()["l20"]})
    own = [r for r in rows if r["chip_id"] == "gpu-x" and r["size"] == 1 << 30]
    assert own[0]["busbw_gbps"] == pytest.approx(360.0, rel=0.01) and own[0]["label"] == "projected"
    l20 = next(r for r in rows if r["chip_id"] == "l20" and r["size"] == 1 << 30)
    assert l20["busbw_gbps"] < 31.5 and "PCIe Gen4" in l20["how"]
