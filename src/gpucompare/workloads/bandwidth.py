"""Bandwidth workloads (kernels: ``gpucompare.kernels.bandwidth``): the STREAM ``copy`` and ``triad``,
memory bound by design.

Cost model (``N`` elements, ``elt`` the storage bytes of one element): copy ``F = 0``, ``B = 2·N·elt``;
triad ``a + s·b``: ``F = 2·N``, ``B = 3·N·elt``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpucompare import reference
from gpucompare.lazy import torch
from gpucompare.workloads.availability import kernel
from gpucompare.workloads.base import Builder, Params, Shape, Workload, element_bytes, kernel_impl, randn

TRIAD_SCALAR = 3.0  # STREAM's scalar; exact in every dtype here


def _copy_flops(p: Params) -> int:
    return 0


def _copy_bytes(p: Params, dtype: str) -> int:
    return 2 * p["N"] * element_bytes(dtype)


def _triad_flops(p: Params) -> int:
    return 2 * p["N"]


def _triad_bytes(p: Params, dtype: str) -> int:
    return 3 * p["N"] * element_bytes(dtype)


def _copy_inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    return {"x": randn((p["N"],), gen, device, dtype)}


def _triad_inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    return {
        "a": randn((p["N"],), gen, device, dtype),
        "b": randn((p["N"],), gen, device, dtype),
        "scalar": TRIAD_SCALAR,
    }


def _copy_reference(inputs: dict) -> torch.Tensor:
    return reference.copy_ref(inputs["x"], upcast="fp32")


def _triad_reference(inputs: dict) -> torch.Tensor:
    return reference.triad_ref(inputs["a"], inputs["b"], inputs["scalar"], upcast="fp32")


def _builder(fn: str, triad: bool) -> Builder:
    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        f = getattr(kernel("bandwidth"), fn)
        if triad:
            a, b, s = inputs["a"], inputs["b"], inputs["scalar"]
            return lambda: f(a, b, s)
        x = inputs["x"]
        return lambda: f(x)

    return build


def _impls(op: str) -> tuple:
    """The Triton kernel ``op`` and the torch baseline ``torch_<op>`` of the bandwidth kernel module."""
    triad = op == "triad"
    return (
        kernel_impl("triton", "bandwidth", (op,), _builder(op, triad), triton=True, probe="triton_available"),
        kernel_impl(
            "torch",
            "bandwidth",
            (f"torch_{op}",),
            _builder(f"torch_{op}", triad),
            triton=False,
            baseline=True,
            probe="torch_available",
        ),
    )


def _n(n: int) -> Shape:
    exp = n.bit_length() - 1
    return Shape(f"n2^{exp}" if n == 1 << exp else f"n{n}", {"N": n})


_GPU = (_n(1 << 26), _n(1 << 28), _n(1 << 30))
_CPU = (_n(4099), _n(1 << 16))


def _stream(
    op: str,
    description: str,
    flops: Callable[[Params], int],
    bytes_: Callable[[Params, str], int],
    inputs: Callable[[Params, str, torch.device, torch.Generator], dict],
    ref: Callable[[dict], torch.Tensor],
) -> Workload:
    """A STREAM kernel ``op``: its counts, inputs and reference; the shapes and dtypes all of them share."""
    return Workload(
        name=op,
        family="bandwidth",
        intent="memory",
        description=description,
        dtypes=("fp32", "bf16"),
        cpu_dtypes=("fp32",),
        params=("N",),
        tiers={"cpu": _CPU, "gpu": _GPU},
        impls=_impls(op),
        flops_fn=flops,
        bytes_fn=bytes_,
        inputs_fn=inputs,
        reference_fn=ref,
    )


WORKLOADS = (
    _stream("copy", "y = x (STREAM copy)", _copy_flops, _copy_bytes, _copy_inputs, _copy_reference),
    _stream(
        "triad", "y = a + s·b (STREAM triad)", _triad_flops, _triad_bytes, _triad_inputs, _triad_reference
    ),
)
