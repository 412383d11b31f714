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


def test_availability_and_base_do_not_import_each_other():
    """issue 21: workloads/availability.py <-> workloads/base.py was an import circle (a TYPE_CHECKING import
    of Shape). Shape lives in workloads/shape.py; availability imports it from there, never from base."""
    import ast
    from pathlib import Path

    import gpucompare.workloads as pkg

    root = Path(pkg.__file__).parent

    def imported(module: str) -> set[str]:
        tree = ast.parse((root / f"{module}.py").read_text(encoding="utf-8"))
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return {n.rsplit(".", 1)[-1] for n in names if n.startswith("gpucompare.workloads")}

    assert "base" not in imported("availability") and "base" not in imported("shape")
    assert "availability" in imported("base")
    from gpucompare.workloads.base import Shape as Reexported
    from gpucompare.workloads.shape import Shape

    assert Reexported is Shape
