"""The run's summary: one line per skip reason shared by several cases (24 collectives skipped for want of a
distributed launch are one line), CPU runs labelled pipeline checks with no % of a peak, no scientific
notation in a throughput."""

from __future__ import annotations

from gpucompare.measure.summary import format_summary, format_throughput

REASON = "collectives need a distributed launch: torchrun ..."


def _rec(workload, status="skipped", reason=REASON, mode="gpu", **over):
    return {"workload": workload, "impl": "torch", "shape_label": "4KiB", "dtype": "bf16", "status": status,
            "reason": reason, "median_s": None, "mode": mode, **over}  # fmt: skip


def test_one_line_per_skip_reason():
    records = [_rec(w) for w in ("all_reduce", "all_gather", "broadcast") for _ in range(8)]
    records.append(_rec("gemm", reason="fp8 needs sm_89"))
    text = format_summary(records, reason_width=200)
    assert text.count(REASON) == 1 and "24 cases" in text and "all_reduce, all_gather, broadcast" in text
    assert text.count("fp8 needs sm_89") == 1  # a reason of one case stays on its own row
    assert "25 cases: 0 ok, 0 failed, 25 skipped" in text


def test_cpu_cases_are_pipeline_checks_without_percent_of_peak():
    cpu = _rec("copy", status="ok", reason=None, mode="cpu-fallback", median_s=1e-3, intent="memory",
               gbps=100.0, local_peak_bw_tbps=0.02)  # fmt: skip
    text = format_summary([cpu])
    assert "500.0" not in text and "pipeline check" in text
    tiny = {"status": "ok", "intent": "compute", "tflops": 1.159e-05}
    assert format_throughput(tiny) == "0.00001159 TFLOP/s"
