"""The torch baselines run the same arithmetic as the Triton side (issue 18): cuBLAS's reduced-precision
reductions off during ``torch_matmul`` and recorded in run.json; SDPA given GQA natively (``enable_gqa``)
wherever the backend takes it, K/V repeated only where it does not -- decided by asking torch, not a list."""

from __future__ import annotations

import pytest
import torch

from gpucompare.kernels import attention, gemm


def test_torch_matmul_runs_with_reduced_precision_reductions_off_and_restores_the_flags(monkeypatch):
    flags = torch.backends.cuda.matmul
    seen = {}
    real = torch.matmul

    def spy(a, b):
        seen.update({n: getattr(flags, n) for n in gemm._MATMUL_FLAGS})
        return real(a, b)

    before = {n: getattr(flags, n) for n in gemm._MATMUL_FLAGS}
    flags.allow_bf16_reduced_precision_reduction = True  # torch's default
    flags.allow_fp16_reduced_precision_reduction = True
    try:
        monkeypatch.setattr(torch, "matmul", spy)
        a, b = torch.randn(8, 8), torch.randn(8, 8)
        assert torch.equal(gemm.torch_matmul(a, b), real(a, b))
        assert seen == {
            "allow_tf32": False,
            "allow_fp16_reduced_precision_reduction": False,
            "allow_bf16_reduced_precision_reduction": False,
        }
        assert flags.allow_bf16_reduced_precision_reduction and flags.allow_fp16_reduced_precision_reduction
    finally:
        for n, v in before.items():
            setattr(flags, n, v)


def test_run_json_records_the_matmul_flags():
    from gpucompare.measure.machine import describe_machine

    machine, _ = describe_machine(torch.device("cpu"), "test", peaks=False)
    assert (
        machine["matmul_flags"]
        == gemm.matmul_flags()
        == {
            "allow_tf32": False,
            "allow_fp16_reduced_precision_reduction": False,
            "allow_bf16_reduced_precision_reduction": False,
        }
    )


def _fake_sdpa(monkeypatch, takes_gqa: bool) -> list[dict]:
    calls: list[dict] = []

    def fake(q, k, v, **kwargs):
        if kwargs.get("enable_gqa") and not takes_gqa:
            raise RuntimeError("this backend has no enable_gqa")
        calls.append({"k_heads": k.shape[1], **kwargs})
        return torch.zeros_like(q)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", fake)
    attention._gqa_probe.cache_clear()
    return calls


@pytest.mark.parametrize("backend", ["efficient", "cudnn", "math"])
def test_a_backend_that_takes_enable_gqa_gets_the_kv_heads_as_they_are(monkeypatch, backend):
    """Was: efficient and cuDNN always got K/V repeated (and their backward timed that copy's gradient)."""
    if not attention._torch_has_enable_gqa():
        pytest.skip("torch < 2.5 has no enable_gqa")
    calls = _fake_sdpa(monkeypatch, takes_gqa=True)
    q, k = torch.randn(1, 8, 16, 64), torch.randn(1, 2, 16, 64)
    attention.sdpa(q, k, k, backend=backend)
    assert calls[-1]["k_heads"] == 2 and calls[-1]["enable_gqa"] is True
    attention._gqa_probe.cache_clear()


def test_a_backend_that_refuses_enable_gqa_gets_kv_repeated(monkeypatch):
    calls = _fake_sdpa(monkeypatch, takes_gqa=False)
    q, k = torch.randn(1, 8, 16, 64), torch.randn(1, 2, 16, 64)
    attention.sdpa(q, k, k, backend="efficient")
    assert calls[-1]["k_heads"] == 8 and "enable_gqa" not in calls[-1]
    attention._gqa_probe.cache_clear()


def test_the_workload_expands_kv_in_setup_only_where_sdpa_would():
    from gpucompare.workloads import attention as wa

    math_native = attention.gqa_native("math", torch.float32, "cpu", 64)
    assert math_native == attention._torch_has_enable_gqa()  # the CPU's math backend takes it (torch >= 2.5)
    assert wa._expands_gqa("sdpa-math", 8, 2, torch.float32, torch.device("cpu"), 64) is not math_native
    assert not wa._expands_gqa("triton", 8, 2, torch.float32, torch.device("cpu"), 64)
    assert not wa._expands_gqa("sdpa-efficient", 8, 8, torch.float32, torch.device("cpu"), 64)
