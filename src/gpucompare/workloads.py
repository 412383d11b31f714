"""The workload registry: what is measured, at which sizes, and how much work each size is.

A :class:`Workload` is a frozen record: a name, a family (``gemm``, ``attention``, ``bandwidth``), an intent
(``compute`` or ``memory`` bound by design), the dtypes it supports, shape tiers (``cpu``: tiny, odd sizes that
run in seconds in Triton's interpreter; ``gpu``: real model sizes), its implementations (zero-argument
closures built from prepared inputs, so setup is never timed; exactly one PyTorch/vendor ``baseline``), a
seeded input builder and a reference from :mod:`gpucompare.reference`.

The cost model is defined here and nowhere else (``ARCHITECTURE.md``, "cost model"); ``elt`` is the storage
size of one element of the dtype (tf32 is stored as fp32: 4 B; fp8: 1 B):

- GEMM ``M×N×K`` (A ``M×K`` @ B ``K×N``): ``F = 2·M·N·K``; ``B = (M·K + K·N)·elt_in + M·N·elt_out``
  (``elt_out = elt_in`` except fp8: inputs 1 B, bf16 output 2 B).
- attention forward (batch ``b``, query heads ``hq``, KV heads ``hkv``, lengths ``sq``, ``sk``, head dim ``d``):
  ``F = 4·b·hq·d·P`` where ``P`` is the number of (query, key) pairs computed: ``sq·sk`` without a mask,
  exactly counted with the causal mask aligned bottom-right as in :func:`gpucompare.reference.attention_ref`
  (query ``i`` sees keys ``j <= i + sk - sq``; ``P = sq(sq+1)/2`` when ``sq = sk``). Two matmuls of
  ``2·d`` FLOP per pair: ``S = Q Kᵀ`` and ``O = P V``. ``B = (2·b·hq·sq·d + 2·b·hkv·sk·d)·elt`` (Q, O; K, V).
- attention backward: ``F = 2.5 × forward = 10·b·hq·d·P`` (five matmuls against the forward's two: S is
  recomputed, then dV, dP, dQ, dK; flash-attention's convention and torch's ``sdpa_backward_flop_count``).
  ``B = (4·b·hq·sq·d + 4·b·hkv·sk·d)·elt``: Q, O, dO read and dQ written; K, V read and dK, dV written
  (the fp32 log-sum-exp, ``4·b·hq·sq`` bytes, is left out).
- decode attention (one query token per sequence over a KV cache of length ``L``): ``F = 4·b·hq·L·d``;
  ``B = (2·b·hkv·L·d + 2·b·hq·d)·elt``: the K and V caches plus q and the output (both tiny, included).
- copy of ``N`` elements: ``F = 0``, ``B = 2·N·elt``; STREAM triad ``a + s·b``: ``F = 2·N``, ``B = 3·N·elt``.

Implementations import their kernel module lazily (inside ``available`` and ``build``), so this registry
imports, lists and counts even while a kernel module is missing or broken; ``available`` then says why.
``Impl.available`` is called as ``available(dtype, device)`` or, better, ``available(dtype, device, shape)``:
with the shape it also refuses sizes that cannot fit (``sdpa-math`` materialises the full score matrix).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Literal

import torch

from gpucompare import hw, reference
from gpucompare.dtypes import torch_dtype

FAMILIES = ("gemm", "attention", "bandwidth")
INTENTS = ("compute", "memory")
TIERS = ("cpu", "gpu")
KNOWN_DTYPES = ("fp32", "tf32", "fp16", "bf16", "fp8")

FP8_OUT_DTYPE = "bf16"  # the output dtype of the fp8 GEMM (per-tensor scaled e4m3 inputs)
E4M3_MAX = 448.0  # largest finite float8_e4m3fn value
TRIAD_SCALAR = 3.0  # STREAM's scalar; exact in every dtype here

# References at GPU sizes: attention_ref materialises the (sq, sk) scores in float64. Above this many score
# bytes the reference is computed one (batch, query head) at a time (same function, same math).
REF_CHUNK_BYTES = 1 << 28
# sdpa-math materialises the scores too: refuse it when its estimate exceeds this share of device memory.
MATH_MEMORY_FRACTION = 0.5
CPU_MATH_MEMORY_BYTES = 2 << 30

Params = Mapping[str, "int | bool | str"]


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Shape:
    """One problem size: a stable label (unique within its workload) and its parameters."""

    label: str
    params: Mapping[str, int | bool | str]

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label or any(c.isspace() for c in self.label):
            raise ValueError(f"shape label must be a non-empty string without spaces, got {self.label!r}")
        if not isinstance(self.params, Mapping):
            raise ValueError(
                f"shape {self.label!r}: params must be a mapping, got {type(self.params).__name__}"
            )
        params = dict(self.params)
        for key, value in params.items():
            if not isinstance(key, str) or not isinstance(value, (int, bool, str)):
                raise ValueError(
                    f"shape {self.label!r}: parameter {key!r}={value!r} must be str -> int|bool|str"
                )
        object.__setattr__(self, "params", MappingProxyType(params))

    def __hash__(self) -> int:
        return hash((self.label, tuple(sorted(self.params.items()))))

    def __reduce__(self):  # MappingProxyType does not pickle; rebuild from a plain dict
        return (Shape, (self.label, dict(self.params)))

    def __getitem__(self, key: str) -> int | bool | str:
        return self.params[key]


@dataclass(frozen=True)
class Impl:
    """One implementation of a workload.

    ``available(dtype, device, shape=None) -> (ok, reason)``: honest, never raises; ``reason`` says why not.
    ``build(inputs, dtype) -> fn``: does all setup (imports, graph for the backward, ...) and returns a
    zero-argument closure whose call is what gets timed.
    """

    name: str
    baseline: bool
    available: Callable[..., tuple[bool, str]]
    build: Callable[[dict, str], Callable[[], Any]]


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A registered workload; see the module docstring for the cost model.

    Beyond the contract fields: ``params`` (the parameter names every shape must have), ``cpu_dtypes`` /
    ``gpu_dtypes`` (what is measured on each kind of device), and the private functions behind
    :meth:`flops`, :meth:`bytes`, :meth:`make_inputs` and :meth:`reference`.
    """

    name: str
    family: str
    intent: Literal["compute", "memory"]
    dtypes: tuple[str, ...]
    tiers: Mapping[str, tuple[Shape, ...]]
    impls: tuple[Impl, ...]
    params: tuple[str, ...]
    description: str = ""
    cpu_dtypes: tuple[str, ...] = ("fp32", "fp16")
    gpu_dtypes: tuple[str, ...] | None = None  # None: all of ``dtypes``
    flops_fn: Callable[[Params], int] = field(repr=False)
    bytes_fn: Callable[[Params, str], int] = field(repr=False)
    inputs_fn: Callable[[Params, str, torch.device, torch.Generator], dict] = field(repr=False)
    reference_fn: Callable[[dict], Any] = field(repr=False)
    validate_fn: Callable[[Params], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        w = f"workload {self.name!r}"
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"workload name must be a non-empty string, got {self.name!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"{w}: family {self.family!r} is not one of {', '.join(FAMILIES)}")
        if self.intent not in INTENTS:
            raise ValueError(f"{w}: intent {self.intent!r} is not one of {', '.join(INTENTS)}")
        for attr in ("dtypes", "cpu_dtypes", "params"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if self.gpu_dtypes is not None:
            object.__setattr__(self, "gpu_dtypes", tuple(self.gpu_dtypes))
        if not self.dtypes or len(set(self.dtypes)) != len(self.dtypes):
            raise ValueError(f"{w}: dtypes must be non-empty and unique, got {self.dtypes}")
        unknown = [d for d in self.dtypes if d not in KNOWN_DTYPES]
        if unknown:
            raise ValueError(f"{w}: unknown dtypes {unknown}; known: {', '.join(KNOWN_DTYPES)}")
        for attr in ("cpu_dtypes", "gpu_dtypes"):
            extra = [d for d in (getattr(self, attr) or ()) if d not in self.dtypes]
            if extra:
                raise ValueError(f"{w}: {attr} {extra} are not in dtypes {self.dtypes}")
        bad_cpu = [d for d in self.cpu_dtypes if d in ("tf32", "fp8")]
        if bad_cpu:
            raise ValueError(f"{w}: {bad_cpu} cannot run on the CPU")
        # impls: unique names, exactly one baseline
        names = [i.name for i in self.impls]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"{w}: implementation names must be non-empty and unique, got {names}")
        baselines = [i.name for i in self.impls if i.baseline]
        if len(baselines) != 1:
            raise ValueError(f"{w}: needs exactly one baseline implementation, got {baselines or 'none'}")
        # tiers: known names, tuples of Shape with the right parameters, labels unique across tiers
        tiers: dict[str, tuple[Shape, ...]] = {}
        seen: set[str] = set()
        for tier, shapes in self.tiers.items():
            if tier not in TIERS:
                raise ValueError(f"{w}: unknown tier {tier!r}; known: {', '.join(TIERS)}")
            shapes = tuple(shapes)
            for s in shapes:
                if not isinstance(s, Shape):
                    raise ValueError(f"{w}: tier {tier!r} holds {s!r}, not a Shape")
                if s.label in seen:
                    raise ValueError(f"{w}: duplicate shape label {s.label!r}")
                seen.add(s.label)
                self._check_params(s)
            tiers[tier] = shapes
        object.__setattr__(self, "tiers", MappingProxyType(tiers))

    # ----------------------------------------------------------------------------- lookups

    @property
    def baseline(self) -> Impl:
        """The one baseline implementation (the PyTorch / vendor path)."""
        return next(i for i in self.impls if i.baseline)

    def impl(self, name: str) -> Impl:
        for i in self.impls:
            if i.name == name:
                return i
        known = ", ".join(i.name for i in self.impls)
        raise ValueError(f"workload {self.name!r} has no implementation {name!r}; known: {known}")

    def shapes(self, tier: str) -> tuple[Shape, ...]:
        """The shapes of one tier (``cpu`` or ``gpu``)."""
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; known: {', '.join(TIERS)}")
        return self.tiers.get(tier, ())

    def shape(self, label: str) -> Shape:
        """The shape with this label, from any tier."""
        for shapes in self.tiers.values():
            for s in shapes:
                if s.label == label:
                    return s
        known = ", ".join(s.label for shapes in self.tiers.values() for s in shapes)
        raise ValueError(f"workload {self.name!r} has no shape {label!r}; known: {known}")

    # ----------------------------------------------------------------------------- counts

    def _check_params(self, shape: Shape) -> None:
        if not isinstance(shape, Shape):
            raise ValueError(f"workload {self.name!r}: expected a Shape, got {type(shape).__name__}")
        keys = set(shape.params)
        if keys != set(self.params):
            missing = sorted(set(self.params) - keys)
            extra = sorted(keys - set(self.params))
            raise ValueError(
                f"workload {self.name!r}: shape {shape.label!r} needs parameters {list(self.params)}"
                f" (missing {missing}, unexpected {extra})"
            )
        for k, v in shape.params.items():
            if isinstance(v, int) and not isinstance(v, bool) and v <= 0:
                raise ValueError(f"workload {self.name!r}: shape {shape.label!r}: {k}={v} must be positive")
        if self.validate_fn is not None:
            try:
                self.validate_fn(shape.params)
            except ValueError as exc:
                raise ValueError(f"workload {self.name!r}: shape {shape.label!r}: {exc}") from None

    def _check_dtype(self, dtype: str) -> None:
        if dtype not in self.dtypes:
            raise ValueError(
                f"workload {self.name!r} has no dtype {dtype!r}; supported: {', '.join(self.dtypes)}"
            )

    def flops(self, shape: Shape) -> int:
        """Floating-point operations of one call at ``shape`` (the cost model in the module docstring)."""
        self._check_params(shape)
        return int(self.flops_fn(shape.params))

    def bytes(self, shape: Shape, dtype: str) -> int:
        """Minimum bytes one call must move between DRAM and the chip at ``shape`` in ``dtype``."""
        self._check_params(shape)
        self._check_dtype(dtype)
        return int(self.bytes_fn(shape.params, dtype))

    def arithmetic_intensity(self, shape: Shape, dtype: str) -> float:
        """FLOP per minimum byte (0 for a copy)."""
        return self.flops(shape) / self.bytes(shape, dtype)

    # ----------------------------------------------------------------------------- inputs, reference

    def make_inputs(self, shape: Shape, dtype: str, device: torch.device | str, seed: int = 0) -> dict:
        """Seeded random inputs (standard normal, never zeros) on ``device`` in the storage dtype.

        Same (shape, dtype, device, seed) -> the same tensors. fp8: e4m3 tensors quantised from the same
        normal data with an amax-based per-tensor scale, plus ``scale_a`` / ``scale_b`` (dequantisation).
        """
        self._check_params(shape)
        self._check_dtype(dtype)
        dev = torch.device(device)
        gen = torch.Generator(device=dev)
        gen.manual_seed(int(seed))
        return self.inputs_fn(shape.params, dtype, dev, gen)

    def reference(self, inputs: dict) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The upcast reference output for ``inputs`` (from :mod:`gpucompare.reference`)."""
        return self.reference_fn(inputs)

    # ----------------------------------------------------------------------------- availability

    def dtypes_for(self, device: torch.device | str) -> tuple[str, ...]:
        """The dtypes measured on ``device``: ``cpu_dtypes`` on the CPU; on a GPU, ``gpu_dtypes`` that it
        supports (tf32 needs cc >= 8.0, bf16 cc >= 8.0, fp8 cc >= 8.9)."""
        dev = torch.device(device)
        if dev.type != "cuda":
            return self.cpu_dtypes
        wanted = self.gpu_dtypes if self.gpu_dtypes is not None else self.dtypes
        return tuple(d for d in wanted if dtype_supported(d, dev)[0])

    def availability(
        self, impl: Impl | str, dtype: str, device: torch.device | str, shape: Shape | None = None
    ) -> tuple[bool, str]:
        """Can ``impl`` run ``dtype`` (at ``shape``) on ``device``? ``(ok, reason when not)``; never raises
        for a known impl and dtype."""
        impl = self.impl(impl) if isinstance(impl, str) else impl
        self._check_dtype(dtype)
        dev = torch.device(device)
        ok, why = dtype_supported(dtype, dev)
        if not ok:
            return False, why
        if shape is not None:
            self._check_params(shape)
        return impl.available(dtype, dev, shape)


# ------------------------------------------------------------------------------------ helpers


def element_bytes(dtype: str) -> int:
    """Storage bytes per element: fp32/tf32 4, fp16/bf16 2, fp8 1."""
    if dtype == "fp8":
        return 1
    return torch_dtype(dtype).itemsize


def dtype_supported(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Whether ``device`` can compute in ``dtype`` at all (before any implementation is asked)."""
    dev = torch.device(device)
    if dtype in ("fp32", "fp16"):
        return True, ""
    if dtype == "bf16":
        return hw.supports_bf16(dev) if dev.type == "cuda" else (True, "")
    if dtype == "tf32":
        cc = hw.compute_capability(dev) if dev.type == "cuda" else None
        if cc is None:
            return (
                False,
                "tf32 is a tensor-core mode of NVIDIA GPUs with compute capability >= 8.0 (no GPU here)",
            )
        if cc < (8, 0):
            return False, f"tf32 needs compute capability >= 8.0, this GPU is {cc[0]}.{cc[1]}"
        return True, ""
    if dtype == "fp8":
        if dev.type != "cuda":
            return False, "fp8 e4m3 GEMM needs a CUDA GPU with compute capability >= 8.9 (CPU device)"
        return hw.supports_fp8(dev)
    return False, f"unknown dtype {dtype!r}; known: {', '.join(KNOWN_DTYPES)}"


def _randn(shape: tuple[int, ...], gen: torch.Generator, device: torch.device, dtype: str) -> torch.Tensor:
    """Standard normal in float32 from ``gen``, cast to the storage dtype (fp8 handled by the caller)."""
    x = torch.randn(shape, generator=gen, device=device, dtype=torch.float32)
    return x if dtype in ("fp32", "tf32", "fp8") else x.to(torch_dtype(dtype))


def quantize_fp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor e4m3 quantisation: ``scale = amax(|x|) / 448``, ``q = fp8(x / scale)``; ``x ≈ scale·q``.

    Returns ``(q, scale)`` with ``scale`` a 0-dim float32 tensor on ``x``'s device (the dequantisation
    factor that ``matmul_fp8`` and :func:`gpucompare.reference.gemm_ref` multiply by).
    """
    if not hasattr(torch, "float8_e4m3fn"):
        raise ValueError("this torch build has no float8_e4m3fn dtype")
    amax = x.detach().abs().max().to(torch.float32).clamp_min(1e-12)
    scale = amax / E4M3_MAX
    q = (x.to(torch.float32) / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
    return q, scale


def _kernel(module: str) -> ModuleType:
    return importlib.import_module(f"gpucompare.kernels.{module}")


def _kernel_status(module: str, *functions: str) -> tuple[ModuleType | None, str]:
    """Import ``gpucompare.kernels.<module>`` and check it has ``functions``; (module, "") or (None, why)."""
    try:
        mod = _kernel(module)
    except Exception as exc:  # a missing or broken kernel module makes the impl unavailable, with the reason
        return None, f"gpucompare.kernels.{module} cannot be imported ({type(exc).__name__}: {exc})"
    missing = [f for f in functions if not hasattr(mod, f)]
    if missing:
        return None, f"gpucompare.kernels.{module} has no {', '.join(missing)}"
    return mod, ""


def _ask(what: str, fn: Callable[..., tuple[bool, str]], *args: Any, **kwargs: Any) -> tuple[bool, str]:
    """Call an availability probe; a probe that raises makes the impl unavailable, with the reason."""
    try:
        ok, why = fn(*args, **kwargs)
    except Exception as exc:  # an availability probe must answer, not crash a listing or a run
        return False, f"{what} failed: {type(exc).__name__}: {exc}"
    return bool(ok), str(why or "")


def _triton_language_interpreted() -> bool:
    """True when triton.language's own jit helpers (tl.cdiv, ...) were built for the interpreter."""
    import triton.language as tl

    return type(tl.cdiv).__name__ == "InterpretedFunction"


def _device_ok(device: torch.device, triton: bool) -> tuple[bool, str]:
    if device.type == "cuda":
        if not hw.has_gpu():
            return False, "no CUDA GPU here"
        if triton and hw.interpreting():
            return False, "Triton runs in the CPU interpreter here (TRITON_INTERPRET=1)"
        return True, ""
    if device.type != "cpu":
        return False, f"unsupported device type {device.type!r}"
    if triton and hw.interpreting() and not _triton_language_interpreted():
        return False, (
            "triton was imported before TRITON_INTERPRET=1 was set, so its language functions are compiled-mode "
            "and the interpreter fails; import gpucompare.kernels (or call gpucompare.hw.configure_triton()) "
            "before anything imports triton (torch.utils.flop_counter does)"
        )
    if triton and not hw.interpreting():
        return (
            False,
            "Triton on the CPU needs its interpreter (TRITON_INTERPRET=1), and this process compiles for a GPU",
        )
    return True, ""


def _module_impl(
    name: str,
    baseline: bool,
    module: str,
    functions: tuple[str, ...],
    build: Callable[[dict, str], Callable[[], Any]],
    triton: bool,
    extra: Callable[[ModuleType, str, torch.device, Shape | None], tuple[bool, str]] | None = None,
    probe: str | None = None,
) -> Impl:
    """An Impl whose ``available`` imports its kernel module lazily, checks the device and the dtype, asks
    the module's own ``probe(dtype, device)`` when it has one, then ``extra`` (shape-dependent limits)."""

    def available(dtype: str, device: torch.device | str, shape: Shape | None = None) -> tuple[bool, str]:
        dev = torch.device(device)
        if triton:  # importing the kernels package puts Triton in interpreter mode when there is no GPU
            importlib.import_module("gpucompare.kernels")
        ok, why = _device_ok(dev, triton)
        if not ok:
            return False, f"{name}: {why}"
        ok, why = dtype_supported(dtype, dev)
        if not ok:
            return False, why
        mod, why = _kernel_status(module, *functions)
        if mod is None:
            return False, why
        if probe is not None and hasattr(mod, probe):
            ok, why = _ask(f"gpucompare.kernels.{module}.{probe}", getattr(mod, probe), dtype, dev)
            if not ok:
                return False, why
        if extra is not None:
            return extra(mod, dtype, dev, shape)
        return True, ""

    return Impl(name=name, baseline=baseline, available=available, build=build)


# ------------------------------------------------------------------------------------ GEMM


def _gemm_flops(p: Params) -> int:
    return 2 * p["M"] * p["N"] * p["K"]


def _gemm_bytes(p: Params, dtype: str) -> int:
    e_in = element_bytes(dtype)
    e_out = element_bytes(FP8_OUT_DTYPE) if dtype == "fp8" else e_in
    return (p["M"] * p["K"] + p["K"] * p["N"]) * e_in + p["M"] * p["N"] * e_out


def _gemm_inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    """A (M, K) and B (K, N), row-major; fp8: quantised e4m3 with B column-major (the K-major 'TN' layout
    cuBLASLt's fp8 GEMM requires), plus the per-tensor dequantisation scales."""
    a = _randn((p["M"], p["K"]), gen, device, dtype)
    b = _randn((p["K"], p["N"]), gen, device, dtype)
    if dtype != "fp8":
        return {"a": a, "b": b}
    qa, sa = quantize_fp8(a)
    qb, sb = quantize_fp8(b)
    return {"a": qa, "b": qb.t().contiguous().t(), "scale_a": sa, "scale_b": sb}


def _gemm_reference(inputs: dict) -> torch.Tensor:
    return reference.gemm_ref(inputs["a"], inputs["b"], inputs.get("scale_a"), inputs.get("scale_b"))


def _gemm_builder(fn: str, fp8_fn: str) -> Callable[[dict, str], Callable[[], Any]]:
    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        mod = _kernel("gemm")
        a, b = inputs["a"], inputs["b"]
        if dtype == "fp8":
            f8 = getattr(mod, fp8_fn)
            sa, sb, out_dtype = inputs["scale_a"], inputs["scale_b"], torch_dtype(FP8_OUT_DTYPE)
            return lambda: f8(a, b, sa, sb, out_dtype=out_dtype)
        f = getattr(mod, fn)
        tf32 = dtype == "tf32"
        return lambda: f(a, b, allow_tf32=tf32)

    return build


def _scaled_mm_fits(
    mod: ModuleType, dtype: str, device: torch.device, shape: Shape | None
) -> tuple[bool, str]:
    """torch._scaled_mm (the fp8 baseline) needs K and N multiples of 16."""
    if dtype == "fp8" and shape is not None and (shape["K"] % 16 or shape["N"] % 16):
        return False, f"torch._scaled_mm needs K and N divisible by 16, got K={shape['K']}, N={shape['N']}"
    return True, ""


def _gemm_impls() -> tuple[Impl, ...]:
    return (
        _module_impl(
            "triton",
            False,
            "gemm",
            ("matmul", "matmul_fp8"),
            _gemm_builder("matmul", "matmul_fp8"),
            True,
            probe="triton_available",
        ),
        _module_impl(
            "torch",
            True,
            "gemm",
            ("torch_matmul", "torch_matmul_fp8"),
            _gemm_builder("torch_matmul", "torch_matmul_fp8"),
            False,
            extra=_scaled_mm_fits,
            probe="torch_available",
        ),
    )


def _mnk(m: int, n: int, k: int, label: str | None = None) -> Shape:
    return Shape(label or f"{m}x{n}x{k}", {"M": m, "N": n, "K": k})


# Llama-3-70B: hidden 8192, 64 query heads + 8 KV heads of 128 (QKV out = 8192 + 2·1024 = 10240),
# MLP intermediate 28672. DeepSeek-V3: hidden 7168, dense-layer MLP intermediate 18432.
_GEMM_GPU = (
    _mnk(4096, 4096, 4096),
    _mnk(8192, 8192, 8192),
    _mnk(16384, 16384, 16384),
    _mnk(4096, 10240, 8192, "llama3-70b-qkv-4096tok"),
    _mnk(4096, 8192, 8192, "llama3-70b-out-4096tok"),
    _mnk(4096, 28672, 8192, "llama3-70b-mlp-up-4096tok"),  # up and gate projections: same shape
    _mnk(4096, 8192, 28672, "llama3-70b-mlp-down-4096tok"),
    _mnk(4096, 7168, 7168, "deepseek-v3-7168x7168-4096tok"),
    _mnk(4096, 18432, 7168, "deepseek-v3-mlp-up-4096tok"),
    _mnk(4096, 7168, 18432, "deepseek-v3-mlp-down-4096tok"),
)
_GEMM_CPU = (_mnk(67, 45, 129), _mnk(128, 128, 128))

_GEMM_DECODE_GPU = tuple(
    _mnk(m, n, 8192, f"llama3-70b-{what}-m{m}")
    for what, n in (("out", 8192), ("mlp-up", 28672))
    for m in (1, 8, 16)
)
_GEMM_DECODE_CPU = (_mnk(1, 67, 129, "m1-67x129"),)


# ------------------------------------------------------------------------------------ attention


def attention_pairs(sq: int, sk: int, causal: bool) -> int:
    """(query, key) pairs computed: ``sq·sk``, or with the bottom-right causal mask of
    :func:`gpucompare.reference.attention_ref` (query ``i`` sees keys ``0 <= j <= i + sk - sq``)
    ``Σ_i clamp(i + sk - sq + 1, 0, sk)``, which is ``sq(sq+1)/2 + sq·(sk - sq)`` when ``sq <= sk``."""
    if not causal:
        return sq * sk
    off = sk - sq
    if sq <= sk:
        return sq * (sq + 1) // 2 + sq * off
    return sum(min(max(i + off + 1, 0), sk) for i in range(sq))


def _attn_validate(p: Params) -> None:
    if p["hq"] % p["hkv"]:
        raise ValueError(f"hq={p['hq']} must be a multiple of hkv={p['hkv']} (grouped-query attention)")
    if p["causal"] and p["sq"] > p["sk"]:
        raise ValueError(
            f"causal attention needs sq <= sk (got sq={p['sq']}, sk={p['sk']}): rows with no key"
        )


def _attn_fwd_flops(p: Params) -> int:
    return 4 * p["batch"] * p["hq"] * p["d"] * attention_pairs(p["sq"], p["sk"], bool(p["causal"]))


def _attn_bwd_flops(p: Params) -> int:
    return (
        10 * p["batch"] * p["hq"] * p["d"] * attention_pairs(p["sq"], p["sk"], bool(p["causal"]))
    )  # 2.5 × fwd


def _attn_fwd_bytes(p: Params, dtype: str) -> int:
    return (
        2 * p["batch"] * p["hq"] * p["sq"] * p["d"] + 2 * p["batch"] * p["hkv"] * p["sk"] * p["d"]
    ) * element_bytes(dtype)


def _attn_bwd_bytes(p: Params, dtype: str) -> int:
    return 2 * _attn_fwd_bytes(p, dtype)  # each of Q, O, dO, dQ and K, V, dK, dV once


def _attn_inputs(backward: bool) -> Callable[[Params, str, torch.device, torch.Generator], dict]:
    def make(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
        b, hq, hkv, sq, sk, d = (p[k] for k in ("batch", "hq", "hkv", "sq", "sk", "d"))
        out = {
            "q": _randn((b, hq, sq, d), gen, device, dtype),
            "k": _randn((b, hkv, sk, d), gen, device, dtype),
            "v": _randn((b, hkv, sk, d), gen, device, dtype),
            "causal": bool(p["causal"]),
            "sm_scale": 1.0 / math.sqrt(d),
        }
        if backward:
            out["do"] = _randn((b, hq, sq, d), gen, device, dtype)
        return out

    return make


def _ref_chunked(q: torch.Tensor, k: torch.Tensor) -> bool:
    b, hq, sq, _ = q.shape
    return b * hq * sq * k.shape[2] * 8 > REF_CHUNK_BYTES


def _attn_fwd_reference(inputs: dict) -> torch.Tensor:
    """attention_ref in float64; one (batch, query head) at a time when the scores would be large."""
    q, k, v, causal, scale = (inputs[n] for n in ("q", "k", "v", "causal", "sm_scale"))
    if not _ref_chunked(q, k):
        return reference.attention_ref(q, k, v, causal=causal, sm_scale=scale)
    b, hq = q.shape[:2]
    group = hq // k.shape[1]
    out = torch.empty(q.shape, dtype=torch.float64, device=q.device)
    for i in range(b):
        for h in range(hq):
            g = h // group
            sl = (slice(i, i + 1), slice(g, g + 1))
            out[i, h] = reference.attention_ref(
                q[i : i + 1, h : h + 1], k[sl], v[sl], causal=causal, sm_scale=scale
            )[0, 0]
    return out


def _attn_bwd_reference(inputs: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """attention_bwd_ref (dq, dk, dv) in float64; chunked like the forward, dk/dv summed over each group."""
    q, k, v, do, causal, scale = (inputs[n] for n in ("q", "k", "v", "do", "causal", "sm_scale"))
    if not _ref_chunked(q, k):
        return tuple(reference.attention_bwd_ref(q, k, v, do, causal=causal, sm_scale=scale))
    b, hq = q.shape[:2]
    group = hq // k.shape[1]
    dq = torch.empty(q.shape, dtype=torch.float64, device=q.device)
    dk = torch.zeros(k.shape, dtype=torch.float64, device=q.device)
    dv = torch.zeros(v.shape, dtype=torch.float64, device=q.device)
    for i in range(b):
        for h in range(hq):
            g = h // group
            qs, ks = (slice(i, i + 1), slice(h, h + 1)), (slice(i, i + 1), slice(g, g + 1))
            gq, gk, gv = reference.attention_bwd_ref(
                q[qs], k[ks], v[ks], do[qs], causal=causal, sm_scale=scale
            )
            dq[i, h] = gq[0, 0]
            dk[i, g] += gk[0, 0]
            dv[i, g] += gv[0, 0]
    return dq, dk, dv


def _forward_fn(impl: str) -> Callable[[ModuleType, dict], Callable[..., torch.Tensor]]:
    """(kernel module, inputs) -> f(q, k, v) for the triton kernel or one sdpa backend."""

    def get(mod: ModuleType, inputs: dict) -> Callable[..., torch.Tensor]:
        causal, scale = inputs["causal"], inputs["sm_scale"]
        if impl == "triton":
            return lambda q, k, v: mod.attention(q, k, v, causal=causal, sm_scale=scale)
        backend = impl.removeprefix("sdpa-")
        return lambda q, k, v: mod.sdpa(q, k, v, causal=causal, sm_scale=scale, backend=backend)

    return get


def _attn_builder(impl: str, backward: bool) -> Callable[[dict, str], Callable[[], Any]]:
    get = _forward_fn(impl)

    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        mod = _kernel("attention")
        f = get(mod, inputs)
        if impl == "sdpa-math":
            ok, why = _math_fits(inputs["q"].shape, inputs["k"].shape[2], dtype, inputs["q"].device, backward)
            if not ok:
                raise ValueError(why)
        if not backward:
            q, k, v = inputs["q"], inputs["k"], inputs["v"]
            return lambda: f(q, k, v)
        # Forward once here (never timed); the closure runs only the backward over the stored graph.
        q, k, v = (inputs[n].detach().requires_grad_(True) for n in ("q", "k", "v"))
        do = inputs["do"]
        with torch.enable_grad():
            out = f(q, k, v)
        return lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True)

    return build


def _math_fits(
    q_shape: tuple[int, ...], sk: int, dtype: str, device: torch.device, backward: bool
) -> tuple[bool, str]:
    """sdpa-math materialises the (b, hq, sq, sk) scores and probabilities: estimate ``pairs·(2·elt + 4)``
    bytes forward (scores, probabilities, an fp32 softmax temporary), twice that with the backward."""
    b, hq, sq = q_shape[0], q_shape[1], q_shape[2]
    need = b * hq * sq * sk * (2 * element_bytes(dtype) + 4) * (2 if backward else 1)
    if device.type == "cuda" and hw.has_gpu():
        total = torch.cuda.get_device_properties(device).total_memory
        limit, what = (
            MATH_MEMORY_FRACTION * total,
            f"{MATH_MEMORY_FRACTION:.0%} of this GPU's {total / 2**30:.0f} GiB",
        )
    else:
        limit, what = CPU_MATH_MEMORY_BYTES, f"the CPU limit of {CPU_MATH_MEMORY_BYTES / 2**30:.0f} GiB"
    if need > limit:
        return False, (
            f"sdpa-math materialises the full b·hq·sq·sk = {b}·{hq}·{sq}·{sk} score matrix: "
            f"~{need / 2**30:.1f} GiB needed, more than {what}"
        )
    return True, ""


def _sdpa_extra(impl: str, backward: bool):
    backend = impl.removeprefix("sdpa-")

    def extra(mod: ModuleType, dtype: str, device: torch.device, shape: Shape | None) -> tuple[bool, str]:
        kwargs: dict[str, Any] = {}
        if shape is not None:
            p = shape.params
            # a tiny probe with this head dim, mask and GQA; sq != sk exercises the explicit-mask path
            kwargs = {"causal": bool(p["causal"]), "gqa": p["hq"] != p["hkv"], "seq_q": 16}
            kwargs["seq_k"] = 16 if p["sq"] == p["sk"] else 16 + min(int(p["sk"]) - int(p["sq"]), 16)
        head_dim = int(shape["d"]) if shape is not None else 128
        ok, why = _ask(
            f"sdpa_available({backend!r})", mod.sdpa_available, backend, dtype, device, head_dim, **kwargs
        )
        if not ok:
            return False, why
        if impl == "sdpa-math" and shape is not None:
            p = shape.params
            return _math_fits((p["batch"], p["hq"], p["sq"], p["d"]), int(p["sk"]), dtype, device, backward)
        return True, ""

    return extra


ATTENTION_IMPLS = ("triton", "sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math")
ATTENTION_BASELINE = "sdpa-flash"


def _head_dim_ok(mod: ModuleType, dtype: str, device: torch.device, shape: Shape | None) -> tuple[bool, str]:
    """The Triton attention kernels take the head dims in ``attention.SUPPORTED_HEAD_DIMS``."""
    dims = getattr(_kernel("attention"), "SUPPORTED_HEAD_DIMS", None)
    if shape is not None and dims is not None and shape["d"] not in dims:
        return False, f"the Triton attention kernels support head dims {dims}, not d={shape['d']}"
    return True, ""


def _attn_impls(backward: bool) -> tuple[Impl, ...]:
    impls = [
        _module_impl(
            "triton",
            False,
            "attention",
            ("attention",),
            _attn_builder("triton", backward),
            True,
            extra=_head_dim_ok,
        )
    ]
    for name in ATTENTION_IMPLS[1:]:
        impls.append(
            _module_impl(
                name,
                name == ATTENTION_BASELINE,
                "attention",
                ("sdpa", "sdpa_available"),
                _attn_builder(name, backward),
                False,
                extra=_sdpa_extra(name, backward),
            )
        )
    return tuple(impls)


def _attn(b: int, hq: int, hkv: int, s: int, d: int, causal: bool, prefix: str = "") -> Shape:
    kv = f"-kv{hkv}" if hkv != hq else ""
    label = prefix + f"b{b}-h{hq}{kv}-s{s}-d{d}" + ("-causal" if causal else "")
    return Shape(label, {"batch": b, "hq": hq, "hkv": hkv, "sq": s, "sk": s, "d": d, "causal": causal})


def _llama_attn(b: int, s: int, causal: bool = True) -> Shape:
    shape = _attn(b, 64, 8, s, 128, causal)
    return Shape(f"llama3-70b-{shape.label}", shape.params)


_ATTN_GPU = (
    _attn(4, 32, 32, 8192, 128, True),  # the tuning target
    _attn(4, 32, 32, 8192, 128, False),
    _attn(8, 32, 32, 4096, 64, True),
    _attn(8, 32, 32, 4096, 64, False),
    _attn(1, 32, 32, 16384, 128, True),
    _llama_attn(1, 4096),
    _llama_attn(1, 8192),
)
_ATTN_CPU = (_attn(1, 4, 2, 67, 64, False), _attn(1, 4, 2, 67, 64, True))
_ATTN_PARAMS = ("batch", "hq", "hkv", "sq", "sk", "d", "causal")


# ------------------------------------------------------------------------------------ decode attention


def _decode_validate(p: Params) -> None:
    if p["hq"] % p["hkv"]:
        raise ValueError(f"hq={p['hq']} must be a multiple of hkv={p['hkv']} (grouped-query attention)")


def _decode_flops(p: Params) -> int:
    return 4 * p["batch"] * p["hq"] * p["L"] * p["d"]


def _decode_bytes(p: Params, dtype: str) -> int:
    cache = 2 * p["batch"] * p["hkv"] * p["L"] * p["d"]
    q_and_out = 2 * p["batch"] * p["hq"] * p["d"]
    return (cache + q_and_out) * element_bytes(dtype)


def _decode_inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    b, hq, hkv, length, d = (p[k] for k in ("batch", "hq", "hkv", "L", "d"))
    return {
        "q": _randn((b, hq, d), gen, device, dtype),
        "k_cache": _randn((b, hkv, length, d), gen, device, dtype),
        "v_cache": _randn((b, hkv, length, d), gen, device, dtype),
        "sm_scale": 1.0 / math.sqrt(d),
    }


def _decode_reference(inputs: dict) -> torch.Tensor:
    """decode_attention_ref without repeating the KV heads: a KV head's ``group`` query heads attend,
    unmasked, to the same keys, so they are folded into the query-length axis of one attention_ref call
    (head ``h`` reads KV head ``h // group``, as in the reference). Same float64 math, ``group``× less memory."""
    q, k, v, scale = inputs["q"], inputs["k_cache"], inputs["v_cache"], inputs["sm_scale"]
    b, hq, d = q.shape
    hkv = k.shape[1]
    out = reference.attention_ref(q.reshape(b, hkv, hq // hkv, d), k, v, causal=False, sm_scale=scale)
    return out.reshape(b, hq, d)


def _decode_builder(fn: str) -> Callable[[dict, str], Callable[[], Any]]:
    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        f = getattr(_kernel("decode"), fn)
        q, k, v, scale = inputs["q"], inputs["k_cache"], inputs["v_cache"], inputs["sm_scale"]
        return lambda: f(q, k, v, sm_scale=scale)

    return build


def _decode(b: int, hq: int, hkv: int, length: int, d: int, label: str) -> Shape:
    return Shape(label, {"batch": b, "hq": hq, "hkv": hkv, "L": length, "d": d})


def _ctx(length: int) -> str:
    return f"{length // 1024}k" if length % 1024 == 0 else str(length)


_DECODE_GPU = (
    *(
        _decode(b, 64, 8, n, 128, f"llama3-70b-b{b}-ctx{_ctx(n)}")
        for b, n in ((8, 32768), (1, 131072), (64, 4096), (16, 16384))
    ),
    *(_decode(b, 32, 8, n, 128, f"h32-kv8-d128-b{b}-ctx{_ctx(n)}") for b, n in ((8, 32768), (1, 131072))),
)
_DECODE_CPU = (_decode(2, 4, 2, 131, 64, "b2-h4-kv2-ctx131-d64"),)


# ------------------------------------------------------------------------------------ bandwidth


def _copy_inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    return {"x": _randn((p["N"],), gen, device, dtype)}


def _triad_inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    return {
        "a": _randn((p["N"],), gen, device, dtype),
        "b": _randn((p["N"],), gen, device, dtype),
        "scalar": TRIAD_SCALAR,
    }


def _bw_builder(fn: str, triad: bool) -> Callable[[dict, str], Callable[[], Any]]:
    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        f = getattr(_kernel("bandwidth"), fn)
        if triad:
            a, b, s = inputs["a"], inputs["b"], inputs["scalar"]
            return lambda: f(a, b, s)
        x = inputs["x"]
        return lambda: f(x)

    return build


def _n(n: int) -> Shape:
    exp = n.bit_length() - 1
    return Shape(f"n2^{exp}" if n == 1 << exp else f"n{n}", {"N": n})


_BW_GPU = (_n(1 << 26), _n(1 << 28), _n(1 << 30))
_BW_CPU = (_n(4099), _n(1 << 16))


# ------------------------------------------------------------------------------------ the registry


def _build_registry() -> dict[str, Workload]:
    gemm_common = dict(
        family="gemm",
        dtypes=("fp32", "tf32", "fp16", "bf16", "fp8"),
        params=("M", "N", "K"),
        impls=_gemm_impls(),
        flops_fn=_gemm_flops,
        bytes_fn=_gemm_bytes,
        inputs_fn=_gemm_inputs,
        reference_fn=_gemm_reference,
    )
    attn_common = dict(
        family="attention",
        intent="compute",
        dtypes=("fp16", "bf16", "fp32"),
        gpu_dtypes=("fp16", "bf16"),
        params=_ATTN_PARAMS,
        tiers={"cpu": _ATTN_CPU, "gpu": _ATTN_GPU},
        validate_fn=_attn_validate,
    )
    bw_common = dict(
        family="bandwidth",
        intent="memory",
        dtypes=("fp32", "bf16"),
        cpu_dtypes=("fp32",),
        params=("N",),
        tiers={"cpu": _BW_CPU, "gpu": _BW_GPU},
    )
    workloads = (
        Workload(
            name="gemm",
            intent="compute",
            description="C = A @ B, training/prefill-sized (squares; Llama-3-70B and DeepSeek-V3 projections)",
            tiers={"cpu": _GEMM_CPU, "gpu": _GEMM_GPU},
            **gemm_common,
        ),
        Workload(
            name="gemm_decode",
            intent="memory",
            description="skinny decode GEMMs: M = 1, 8, 16 tokens against Llama-3-70B weights (weight-read bound)",
            tiers={"cpu": _GEMM_DECODE_CPU, "gpu": _GEMM_DECODE_GPU},
            cpu_dtypes=("fp16",),  # decode weights are half precision; keeps `pytest bench/` on the CPU short
            **gemm_common,
        ),
        Workload(
            name="attention_fwd",
            description="softmax(Q Kᵀ / √d) V forward, causal and not, GQA",
            impls=_attn_impls(backward=False),
            flops_fn=_attn_fwd_flops,
            bytes_fn=_attn_fwd_bytes,
            inputs_fn=_attn_inputs(backward=False),
            reference_fn=_attn_fwd_reference,
            **attn_common,
        ),
        Workload(
            name="attention_bwd",
            description="attention backward only (dQ, dK, dV); the forward runs in setup",
            impls=_attn_impls(backward=True),
            flops_fn=_attn_bwd_flops,
            bytes_fn=_attn_bwd_bytes,
            inputs_fn=_attn_inputs(backward=True),
            reference_fn=_attn_bwd_reference,
            cpu_dtypes=("fp32",),
            **attn_common,
        ),
        Workload(
            name="decode_attention",
            family="attention",
            intent="memory",
            description="one query token per sequence over a KV cache (GQA), the decode step",
            dtypes=("fp16", "bf16", "fp32"),
            gpu_dtypes=("fp16", "bf16"),
            params=("batch", "hq", "hkv", "L", "d"),
            tiers={"cpu": _DECODE_CPU, "gpu": _DECODE_GPU},
            impls=(
                _module_impl(
                    "triton",
                    False,
                    "decode",
                    ("decode_attention",),
                    _decode_builder("decode_attention"),
                    True,
                    extra=_head_dim_ok,
                ),
                _module_impl(
                    "torch",
                    True,
                    "decode",
                    ("torch_decode_attention",),
                    _decode_builder("torch_decode_attention"),
                    False,
                ),
            ),
            flops_fn=_decode_flops,
            bytes_fn=_decode_bytes,
            inputs_fn=_decode_inputs,
            reference_fn=_decode_reference,
            validate_fn=_decode_validate,
        ),
        Workload(
            name="copy",
            description="y = x (STREAM copy)",
            impls=(
                _module_impl(
                    "triton",
                    False,
                    "bandwidth",
                    ("copy",),
                    _bw_builder("copy", False),
                    True,
                    probe="triton_available",
                ),
                _module_impl(
                    "torch",
                    True,
                    "bandwidth",
                    ("torch_copy",),
                    _bw_builder("torch_copy", False),
                    False,
                    probe="torch_available",
                ),
            ),
            flops_fn=lambda p: 0,
            bytes_fn=lambda p, dtype: 2 * p["N"] * element_bytes(dtype),
            inputs_fn=_copy_inputs,
            reference_fn=lambda inputs: reference.copy_ref(inputs["x"], upcast="fp32"),
            **bw_common,
        ),
        Workload(
            name="triad",
            description="y = a + s·b (STREAM triad)",
            impls=(
                _module_impl(
                    "triton",
                    False,
                    "bandwidth",
                    ("triad",),
                    _bw_builder("triad", True),
                    True,
                    probe="triton_available",
                ),
                _module_impl(
                    "torch",
                    True,
                    "bandwidth",
                    ("torch_triad",),
                    _bw_builder("torch_triad", True),
                    False,
                    probe="torch_available",
                ),
            ),
            flops_fn=lambda p: 2 * p["N"],
            bytes_fn=lambda p, dtype: 3 * p["N"] * element_bytes(dtype),
            inputs_fn=_triad_inputs,
            reference_fn=lambda inputs: reference.triad_ref(
                inputs["a"], inputs["b"], inputs["scalar"], upcast="fp32"
            ),
            **bw_common,
        ),
    )
    return {w.name: w for w in workloads}


# Triton reads TRITON_INTERPRET when it is imported (triton.language's helpers are jitted then): set it now,
# before a caller imports something that imports triton (torch.utils.flop_counter does). No-op with a GPU.
hw.configure_triton()

WORKLOADS: dict[str, Workload] = _build_registry()


def get_workload(name: str) -> Workload:
    """The registered workload ``name``; ValueError naming it and the known ones otherwise."""
    try:
        return WORKLOADS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None


def select_workloads(names: Iterable[str]) -> list[Workload]:
    """Workloads named by ``names`` (registry order, no repeats). A name is a workload (``attention_fwd``) or,
    when no workload has it, an operator family (``attention``: attention_fwd, attention_bwd,
    decode_attention); a workload name wins, so ``gemm`` is the workload, not the family.
    ValueError naming the first name that is neither."""
    families = {w.family for w in WORKLOADS.values()}
    wanted: set[str] = set()
    for name in names:
        if name in WORKLOADS:
            wanted.add(name)
        elif name in families:
            wanted.update(w.name for w in WORKLOADS.values() if w.family == name)
        else:
            raise ValueError(
                f"unknown workload {name!r}; known: {', '.join(WORKLOADS)} "
                f"(or a family: {', '.join(sorted(families))})"
            )
    return [w for w in WORKLOADS.values() if w.name in wanted]
