"""Availability: dtypes per device, and a missing kernel module named in the reason."""

from __future__ import annotations

import torch

from gpucompare.workloads import WORKLOADS, availability, dtype_supported


def test_dtypes_for_the_cpu_and_capabilities():
    assert WORKLOADS["gemm"].dtypes_for("cpu") == ("fp32", "fp16")
    assert WORKLOADS["attention_bwd"].dtypes_for(torch.device("cpu")) == ("fp32",)
    for dtype in ("tf32", "fp8"):
        ok, why = dtype_supported(dtype, "cpu")
        assert not ok and "GPU" in why
    ok, why = WORKLOADS["gemm"].availability("torch", "fp8", "cpu")
    assert not ok and "fp8" in why


def test_availability_names_a_missing_kernel_module(monkeypatch):
    real = availability.kernel

    def missing(module):
        if module == "decode":
            raise ModuleNotFoundError("No module named 'gpucompare.kernels.decode'")
        return real(module)

    monkeypatch.setattr(availability, "kernel", missing)
    w = WORKLOADS["decode_attention"]
    ok, why = w.availability("torch", "fp32", "cpu", w.shapes("cpu")[0])
    assert not ok and "gpucompare.kernels.decode" in why
