"""Synthetic chips, records and a stand-in cost model shared by the model tests (``from model_helpers import``).

No dependency on the spec database or a measured run: the chips are built with ``make_chip``.
"""

from __future__ import annotations

from support import make_chip, make_db

from gpucompare.model import analyse, efficiencies

H20 = make_chip("h20", {"bf16": 148.0, "fp8": 296.0, "fp32": 44.0}, 4.0)
H200 = make_chip("h200-sxm", {"bf16": 989.0, "fp8": 1979.0, "fp32": 67.0}, 4.8, boost_clock_mhz=1830.0)
H100 = make_chip("h100-sxm", {"bf16": 989.0, "fp8": 1979.0, "fp32": 67.0}, 3.35, boost_clock_mhz=1830.0)
A100 = make_chip("a100", {"bf16": 312.0, "fp32": 19.5}, 2.04, boost_clock_mhz=1410.0, unsupported={"fp8"})
NOBW = make_chip("nobw", {"bf16": 100.0}, None)
CHIPS = make_db(H20, H200, H100, A100, NOBW)


def rec(
    workload,
    label,
    flops,
    nbytes,
    t,
    chip=H200,
    dtype="bf16",
    run="run-h200",
    impl="torch",
    sm_clock=None,
    shape=None,
    mode="gpu",
):
    """A schema-v1 record (only the fields the model reads), with the local peaks of ``chip``."""
    tel = {"before": {"sm_clock_mhz": 345}, "after": {"sm_clock_mhz": sm_clock, "sm_clock_max_mhz": 1980}}
    return {
        "schema_version": 1,
        "run_id": run,
        "workload": workload,
        "shape_label": label,
        "shape": shape or {},
        "dtype": dtype,
        "impl": impl,
        "status": "ok",
        "reason": None,
        "flops": flops,
        "bytes": nbytes,
        "median_s": t,
        "mode": mode,
        "chip_id": chip.id if mode == "gpu" else None,
        "device_name": chip.id,
        "local_peak_tflops": chip.peak_tflops.get(dtype),
        "local_peak_bw_tbps": chip.bandwidth_tbps,
        "local_peak_source": "spec",
        "telemetry": tel if sm_clock else {},
    }


# e = 0.5 compute-bound GEMM on H200: F = 989e12 · 1e-3, t = 2 ms (t* = 1 ms)
GEMM = rec("gemm", "big", 989e12 * 1e-3, 1e8, 2e-3)
# e = 0.8 memory-bound copy on H200: B = 4.8e9, t = 1.25 ms (t* = 1 ms)
COPY = rec("copy", "big", 0.0, 4.8e9, 1.25e-3)


def one(records, key):
    """(analysis, the record of workload ``key``, its efficiencies)."""
    a = analyse(records, CHIPS)
    m = next(m for m in a.measured if m.workload == key)
    return a, m, efficiencies(m, a.of_run(m.run_id))


def counts(workload, dims, dtype, label):
    """Stand-in cost model for the composition tests (the real one lives in gpucompare.workloads)."""
    if workload == "gemm":
        m, n, k = dims["M"], dims["N"], dims["K"]
        return 2.0 * m * n * k, 2.0 * (m * k + k * n + m * n)
    b, hq, d = dims["batch"], dims["hq"], dims["d"]
    if workload in ("attention_fwd", "attention_bwd"):
        f = 2.0 * b * hq * dims["sq"] * dims["sk"] * d
        return (f * 2.5 if workload == "attention_bwd" else f), 8.0 * b * hq * dims["sq"] * d
    if workload == "decode_attention":
        return 4.0 * b * hq * dims["L"] * d, 4.0 * b * dims["hkv"] * dims["L"] * d
    raise AssertionError(workload)
