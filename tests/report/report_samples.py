"""Synthetic chips, runs, claims and cost model shared by the report tests (``from report_samples import ...``).

Real ``Chip`` objects in a ``ChipDB`` (``support.make_chip`` / ``make_db``) and real ``results.Run`` objects,
so the report is tested through the types it takes; claims and FLOP/byte counts are stand-ins, so most tests
do not depend on the packaged claims or the workloads registry.
"""

from __future__ import annotations

from pathlib import Path

from support import make_chip, make_db

from gpucompare.results import Run

H20 = make_chip(
    "h20",
    # every dtype known or unsupported, so its export tier is decided (no unknown peak could lift the TPP)
    {"fp64": 1.0, "fp32": 44.0, "tf32": 74.0, "bf16": 148.0, "fp16": 148.0, "fp8": 296.0, "int8": 296.0},
    4.0,
    unsupported=("fp4",),
    name="H20",
    die_area_mm2=814.0,  # TPP 2368 / 814 mm² = PD 2.91: no 3A090 tier
    sources={"bandwidth_tbps": {"source": "press-h20", "confidence": "reported"}},
    aliases=("H20",),
)
H200 = make_chip(
    "h200-sxm",
    {"bf16": 989.0, "fp8": 1979.0},
    4.8,
    boost_clock_mhz=1830.0,
    name="H200 SXM",
    aliases=("H200",),
)
H100 = make_chip(
    "h100-sxm",
    {"bf16": 989.0, "fp8": 1979.0},
    3.35,
    boost_clock_mhz=1830.0,
    name="H100 SXM",
    aliases=("H100",),
)
A100 = make_chip(
    "a100", {"bf16": 312.0}, 2.04, boost_clock_mhz=1410.0, unsupported={"fp8"}, name="A100", aliases=("A100",)
)
CPU = make_chip("cpu", {"bf16": 0.2, "fp32": 0.19}, 0.02, name="CPU")
CHIPS = [A100, H100, H20, H200]
DB = make_db(*CHIPS)
PAIRS = (("H200", "H20"), ("H20", "H100"), ("H200", "A100"))


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


def runs() -> list[Run]:
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
        Run(
            Path(r[0]["run_id"]),
            {"run_id": r[0]["run_id"], "mode": r[0]["mode"], "chip_id": r[0]["chip_id"]},
            r,
        )
        for r in (h200, h100, cpu)
    ]


KW = dict(db=DB, pairs=PAIRS, claims_fn=fake_claims, counts=counts)
