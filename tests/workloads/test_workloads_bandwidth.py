"""Bandwidth workloads (copy, triad): the cost model by hand."""

from __future__ import annotations

from gpucompare.workloads import WORKLOADS


def test_bandwidth_counts_by_hand():
    c, t = WORKLOADS["copy"], WORKLOADS["triad"]
    s = c.shape("n4099")
    assert c.flops(s) == 0 and c.bytes(s, "fp32") == 2 * 4099 * 4 and c.bytes(s, "bf16") == 2 * 4099 * 2
    assert t.flops(t.shape("n4099")) == 2 * 4099 and t.bytes(t.shape("n4099"), "fp32") == 3 * 4099 * 4
    assert c.bytes(c.shape("n2^28"), "fp32") == 2 * 2**30  # 1 GiB read + 1 GiB written
