"""Small helpers shared by the kernel modules: input checks and the interpreter-aware config choice.

Kept small and stable; ``gemm``, ``bandwidth``, ``attention`` and ``decode`` import from here.

- ``check_tensor`` validates one argument (type, rank, dtype, device) *before* any launch and raises
  ``ValueError`` whose message names the operation and the argument.
- ``check_same`` checks that several tensors share a dtype / a device.
- ``check_triton_device`` refuses CPU tensors when Triton is compiling for a GPU (and GPU tensors
  when it interprets on the CPU), instead of a deep Triton traceback.
- ``pick_configs`` returns the autotune configs for the GPU, or the single big-tile config the
  interpreter needs (it costs ~3-4 ms per program x loop iteration, and autotune with two or more
  configs fails on the CPU).
- ``autotune_bench`` is the autotuner's shorter timer (5 ms warm-up, 25 ms of repetitions per config).
- ``max_shared_memory`` is the per-block shared-memory limit autotune pruning checks tiles against.
- ``upcast_bf16`` says whether a kernel must upcast bf16 tiles to fp32 (the interpreter computes
  bf16 arithmetic on raw bits, so it is wrong there; the GPU uses native bf16).
- ``round_bf16_in_kernel`` / ``rne_to_bf16``: the interpreter's fp32 -> bf16 cast truncates; a kernel
  that stores bf16 rounds with ``rne_to_bf16`` first (constexpr-guarded) to match the GPU's rounding.
- ``use_hopper_path`` is the ONE place that chooses between the Hopper kernels (``gemm_sm90``,
  ``attention_sm90``: TMA descriptors, persistent grid, wgmma, warp specialisation) and the portable ones
  (pre-Hopper GPUs, the interpreter); ``tma_compatible`` says whether a tensor can back a TMA descriptor,
  ``sm_count`` how many SMs a persistent grid fills.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence

import torch
import triton
import triton.language as tl

from gpucompare.dtypes import STORAGE_FLOATS, torch_dtype
from gpucompare.hw import compile_target, compute_capability, has_gpu, interpreting, on_gpu

FLOAT_DTYPES: tuple[torch.dtype, ...] = tuple(torch_dtype(n) for n in STORAGE_FLOATS)
"""The storage dtypes every elementwise / GEMM kernel accepts (fp8 is handled by its own entry points)."""


def dtype_name(dtype: torch.dtype) -> str:
    """'float16' for torch.float16 (short, readable in error messages)."""
    return str(dtype).removeprefix("torch.")


def _prefix(op: str) -> str:
    return f"{op}: " if op else ""


def check_tensor(
    name: str,
    t: object,
    dims: int | Sequence[int] | None = None,
    dtypes: Iterable[torch.dtype] | None = None,
    device: torch.device | str | None = None,
    op: str = "",
) -> torch.Tensor:
    """Validate one tensor argument and return it; raise ValueError naming ``op`` and ``name``.

    dims: the allowed rank (an int) or ranks (a sequence). dtypes: the allowed dtypes.
    device: the device the tensor must be on (compared by type and index, e.g. 'cuda:0').
    """
    p = _prefix(op)
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{p}{name} must be a torch.Tensor, got {type(t).__name__}")
    if dims is not None:
        allowed = (dims,) if isinstance(dims, int) else tuple(dims)
        if t.dim() not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{p}{name} must have {want} dimensions, got {t.dim()} (shape {tuple(t.shape)})")
    if dtypes is not None:
        allowed_dt = tuple(dtypes)
        if t.dtype not in allowed_dt:
            names = ", ".join(dtype_name(d) for d in allowed_dt)
            raise ValueError(f"{p}{name} has dtype {dtype_name(t.dtype)}; supported: {names}")
    if device is not None:
        want_dev = torch.device(device)
        if not _same_device(t.device, want_dev):
            raise ValueError(f"{p}{name} is on {t.device}, expected {want_dev}")
    return t


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        return True
    return a.index == b.index


def check_same(op: str, what: str = "dtype", **tensors: torch.Tensor) -> None:
    """All ``tensors`` share the same ``what`` ('dtype' or 'device'); ValueError naming them otherwise."""
    if what not in ("dtype", "device"):
        raise ValueError(f"check_same: what must be 'dtype' or 'device', got {what!r}")
    items = list(tensors.items())
    if not items:
        return
    first_name, first = items[0]
    for name, t in items[1:]:
        va, vb = getattr(first, what), getattr(t, what)
        same = _same_device(va, vb) if what == "device" else va == vb
        if not same:
            fa = dtype_name(va) if what == "dtype" else str(va)
            fb = dtype_name(vb) if what == "dtype" else str(vb)
            raise ValueError(
                f"{_prefix(op)}{name} has {what} {fb} but {first_name} has {what} {fa}; they must match"
            )


def check_triton_device(op: str, name: str, t: torch.Tensor) -> None:
    """A Triton launch needs CUDA tensors on a GPU, CPU tensors under the interpreter."""
    if interpreting():
        if t.device.type != "cpu":
            raise ValueError(
                f"{_prefix(op)}{name} is on {t.device}, but Triton runs in the CPU interpreter "
                "(TRITON_INTERPRET=1); pass CPU tensors"
            )
    elif not on_gpu(t):
        raise ValueError(f"{_prefix(op)}{name} is on {t.device}; the Triton kernel needs a CUDA tensor")


def check_out(
    op: str, out: object, shape: Sequence[int], dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Validate a caller-provided output buffer (shape, dtype, device); ValueError naming ``out``."""
    p = _prefix(op)
    t = check_tensor("out", out, dtypes=(dtype,), device=device, op=op)
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{p}out has shape {tuple(t.shape)}, expected {tuple(shape)}")
    return t


def pick_configs(gpu: list[triton.Config], interp: triton.Config) -> list[triton.Config]:
    """Autotune configs: the GPU list, or the one big-tile config when interpreting."""
    return [interp] if interpreting() else gpu


H100_MAX_SHARED_BYTES = 232_448
"""Shared memory one block may use on an H100 (227 KiB, opt-in); the limit assumed without a GPU."""


def max_shared_memory(device: torch.device | str | None) -> int:
    """Largest shared memory (bytes) one block may use on ``device``: the CUDA device's opt-in limit,
    or ``H100_MAX_SHARED_BYTES`` when that is unknown (CPU, meta tensors, an older torch)."""
    dev = torch.device(device) if device is not None else None
    target = compile_target()
    if target is not None and dev is not None and dev.type == "meta":  # the cache builder's target GPU
        return target.shared_bytes
    if dev is not None and dev.type == "cuda" and has_gpu():
        props = torch.cuda.get_device_properties(dev)
        limit = getattr(props, "shared_memory_per_block_optin", None)
        if limit:
            return int(limit)
    return H100_MAX_SHARED_BYTES


def upcast_bf16(dtype: torch.dtype) -> bool:
    """True when bf16 tiles must be upcast to fp32 inside the kernel (bf16 under the interpreter)."""
    return dtype == torch.bfloat16 and interpreting()


def round_bf16_in_kernel(dtype: torch.dtype) -> bool:
    """True when fp32 -> bf16 stores need ``rne_to_bf16`` first: the interpreter's cast truncates
    (rounds toward zero, up to 1 ulp of error), the GPU rounds to nearest even."""
    return dtype == torch.bfloat16 and interpreting()


@triton.jit
def rne_to_bf16(x):
    """Round fp32 ``x`` to the nearest bf16 value, ties to even, still held in fp32 (so a later
    truncating cast is exact): add 0x7FFF plus the lowest kept bit, then clear the low 16 bits."""
    bits = x.to(tl.uint32, bitcast=True)
    bits = bits + 0x7FFF + ((bits >> 16) & 1)
    bits = bits & 0xFFFF0000
    return bits.to(tl.float32, bitcast=True)


# availability checks for the workloads registry: (dtype name, device) -> (ok, reason when not)


def check_dtype_name(op: str, dtype: str, known: Sequence[str]) -> None:
    """Raise ValueError when ``dtype`` (a name such as "bf16") is not one ``op`` knows."""
    if dtype not in known:
        raise ValueError(f"{_prefix(op)}unknown dtype {dtype!r}; known: {', '.join(known)}")


def triton_device_refusal(device: torch.device) -> str | None:
    """Why Triton cannot run on ``device`` in the current mode (interpreter: CPU only; else CUDA only), or None."""
    if interpreting():
        return None if device.type == "cpu" else "Triton runs in the CPU interpreter; it needs CPU tensors"
    return None if device.type == "cuda" else f"the Triton kernel needs a CUDA device, got {device}"


PRUNED_CONFIGS_ENV = "GPUCOMPARE_PRUNED_CONFIGS"
"""A smoke file (``gpucompare.measure.smoke``): the autotuners skip every config it records as error, hung or
fault (the campaign's tier runs with it set)."""


def config_label(kernel_name: str, config: triton.Config) -> str:
    """How the smoke step and the pruning name one autotune config: ``"<kernel> <triton.Config>"``."""
    return f"{kernel_name} {config}"


def skip_pruned_configs(pruned: set[str]) -> None:
    """Make every autotuner of this process drop the configs in ``pruned`` (:func:`config_label` names)
    after its own pruning; a key left with no config raises, naming the kernel. Idempotent."""
    from triton.runtime import autotuner

    real = getattr(autotuner.Autotuner.prune_configs, "_gpucompare_real", autotuner.Autotuner.prune_configs)

    def prune_configs(self, kwargs, *args, **more):
        kept = [
            c
            for c in real(self, kwargs, *args, **more)
            if config_label(self.base_fn.__name__, c) not in pruned
        ]
        if not kept:
            raise RuntimeError(
                f"every autotune config of {self.base_fn.__name__} was pruned by the smoke step"
            )
        return kept

    prune_configs._gpucompare_real = real
    autotuner.Autotuner.prune_configs = prune_configs


def autotune_bench(kernel_call, quantiles=None):
    """The autotuner's timer: Triton's ``do_bench`` with 5 ms of warm-up and 25 ms of repetitions per
    config (Triton's defaults are 25 and 100 ms). Enough to rank configs of kernels >= 10 µs, and it
    cuts the GPU tier's autotuning (~80 GEMM keys x ~10 configs) from minutes to about one."""
    return triton.testing.do_bench(kernel_call, warmup=5, rep=25, quantiles=quantiles)


# ---------------------------------------------------------------------------------------------------------
# kernel path: Hopper (sm_90) or portable, decided here and nowhere else

KERNEL_PATH_ENV = "GPUCOMPARE_KERNEL_PATH"
"""Environment override of :func:`use_hopper_path`: ``portable`` forces the portable kernels everywhere
(to compare both paths on one H100/H200); ``auto`` or unset lets the capability decide."""

H100_SM_COUNT = 132
"""SMs of an H100/H200 SXM: the persistent grid's size when no GPU can be asked (compile checks)."""


@functools.cache
def triton_has_tma_api() -> bool:
    """True when this Triton has tensor descriptors (``tl.make_tensor_descriptor`` and the host
    ``triton.tools.tensor_descriptor.TensorDescriptor``) and ``tl.range(flatten=, warp_specialize=)``
    (Triton 3.6 has all three); the Hopper kernels need them."""
    import inspect

    try:
        from triton.tools.tensor_descriptor import TensorDescriptor  # noqa: F401
    except ImportError:
        return False
    if not hasattr(tl, "make_tensor_descriptor") or not hasattr(tl, "range"):
        return False
    return {"flatten", "warp_specialize"} <= set(inspect.signature(tl.range.__init__).parameters)


def use_hopper_path(device: torch.device | str | None) -> bool:
    """Run the Hopper kernels on ``device``? True only when Triton compiles (not the interpreter) for a
    CUDA device of compute capability 9.x (or a ``meta`` device while :func:`gpucompare.hw.compile_only`
    targets one: the cache builder), Triton has tensor descriptors, and ``GPUCOMPARE_KERNEL_PATH``
    is not ``portable``. Everything else (Ampere/Ada, Blackwell until tuned there, the CPU interpreter)
    takes the portable kernels. The Hopper wrappers still fall back, per call, on inputs TMA cannot
    address (see :func:`tma_compatible`)."""
    choice = os.environ.get(KERNEL_PATH_ENV, "auto").strip().lower()
    if choice not in ("auto", "portable", ""):
        raise ValueError(f"{KERNEL_PATH_ENV} must be 'auto' or 'portable', got {choice!r}")
    if choice == "portable" or interpreting() or not triton_has_tma_api():
        return False
    dev = torch.device(device) if device is not None else None
    # meta tensors stand for the compile target's tensors while the cache builder compiles (compile_only):
    # without this the cache would hold the portable kernels, not the ones an H100/H200 launches
    if dev is None or not (dev.type == "cuda" or (dev.type == "meta" and compile_target() is not None)):
        return False
    cc = compute_capability(dev)
    return cc is not None and cc[0] == 9


def tma_compatible(t: torch.Tensor) -> bool:
    """Can ``t`` back a TMA descriptor? Last dimension contiguous (stride 1), every other stride and the
    base address 16-byte aligned (the tensor-map rules; a meta tensor's address counts as aligned)."""
    if t.dim() == 0 or t.stride(-1) != 1:
        return False
    size = t.element_size()
    if t.device.type != "meta" and t.data_ptr() % 16:
        return False
    return all((st * size) % 16 == 0 for st in t.stride()[:-1])


@functools.cache
def _device_sm_count(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


def sm_count(device: torch.device | str | None) -> int:
    """SMs of a CUDA ``device`` (the persistent grid's size), ``H100_SM_COUNT`` when it cannot be asked."""
    dev = torch.device(device) if device is not None else None
    if dev is not None and dev.type == "cuda" and has_gpu():
        return _device_sm_count(dev.index if dev.index is not None else torch.cuda.current_device())
    return H100_SM_COUNT
