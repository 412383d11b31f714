"""Compile every Triton kernel of gpucompare.kernels for Hopper (sm_90) without a GPU.

Triton's CPU interpreter, which the CPU tests use, never runs the GPU compiler, so it cannot catch
GPU-only errors (``tl.dot`` operand rules, fp8 dot rules, shared-memory limits, bad num_warps /
num_stages combinations). This tool runs the real pipeline (Triton IR -> TTGIR -> LLVM -> PTX ->
``ptxas`` cubin) for ``GPUTarget("cuda", 90, 32)`` with the arguments the wrappers launch with,
specialised exactly as the runtime would (``native_specialize_impl``: 16-byte-aligned pointers and
ints divisible by 16 get ``tt.divisibility = 16``, an int equal to 1 -- a unit stride -- becomes a
constant), over every autotune config a GPU would try.

For each case it reports: compiled or the error, the compile time, the static shared memory per
block (must be <= ``_common.H100_MAX_SHARED_BYTES`` = 227 KiB to launch on an H100), and the
registers per thread and spill bytes that ``ptxas -v`` prints.

Not imported by the package. Run it in a fresh process, interpreter off::

    TRITON_INTERPRET=0 python kernels/_sm90_compile.py [--all] [--json OUT.json] [--filter TEXT]

Run as a script, it stops ``gpucompare.kernels`` from switching the interpreter on (which it does
on a machine without a GPU) before importing the kernel modules, so ``@triton.jit`` yields real
``JITFunction`` objects. ``--all`` compiles every config (minutes); the default is the quick
subset: one config per kernel x the main dtypes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

SM90_SM_COUNT = 132
"""SM count of an H100 SXM (decode split choice)."""


@dataclass(frozen=True)
class Case:
    """One compile: a JIT function, its runtime arguments (meta tensors, ints, floats) and constexprs."""

    kernel: str
    label: str
    fn: Any  # triton.runtime.jit.JITFunction
    args: dict[str, Any]
    constexprs: dict[str, Any]
    num_warps: int = 4
    num_stages: int = 3


@dataclass
class Result:
    """What compiling one case gave."""

    kernel: str
    label: str
    ok: bool
    seconds: float
    error: str = ""
    shared_bytes: int | None = None
    registers: int | None = None
    spill_bytes: int | None = None
    fits_h100: bool | None = None
    ptx: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# environment


def disable_interpreter() -> None:
    """Make the next ``import gpucompare.kernels`` define real JITFunctions on a machine without a GPU.

    ``gpucompare.hw.configure_triton`` leaves an explicit ``TRITON_INTERPRET`` alone, so setting it to
    ``0`` before ``gpucompare.kernels`` is first imported is enough.
    """
    if "gpucompare.kernels" in sys.modules:
        raise RuntimeError("disable_interpreter() must run before gpucompare.kernels is imported")
    os.environ["TRITON_INTERPRET"] = "0"


def ptxas_problem() -> str | None:
    """Why this Triton build cannot compile for CUDA here (no ptxas, no NVIDIA backend), or None."""
    try:
        from triton import knobs
        from triton.backends import backends

        if "nvidia" not in backends:
            return "this Triton build has no NVIDIA backend"
        from triton._C.libtriton import native_specialize_impl  # noqa: F401 - the 3.6 API this tool uses
        from triton.backends.compiler import GPUTarget  # noqa: F401
        from triton.compiler import ASTSource  # noqa: F401

        path = knobs.nvidia.ptxas.path
    except Exception as e:
        return f"Triton's NVIDIA toolchain is unavailable: {type(e).__name__}: {e}"
    if not path or not os.access(path, os.X_OK):
        return f"ptxas not found or not executable ({path!r})"
    return None


# --------------------------------------------------------------------------------------------------
# compiling one case


_REGS = re.compile(r"Used (\d+) registers")
PTX_MARKERS = {
    "wgmma": r"\bwgmma\.mma_async",  # Hopper warp-group MMA
    "tma": r"\bcp\.async\.bulk\.tensor",  # TMA copies (loads and stores)
    "tma_reduce": r"\bcp\.reduce\.async\.bulk\.tensor",  # TMA reduce-add (dQ)
    "setmaxnreg": r"\bsetmaxnreg",  # warp specialisation: producer/consumer register split
    "mma_sync": r"\bmma\.sync",  # Ampere-style MMA
    "cp_async": r"\bcp\.async\.c[ag]\.",  # Ampere-style async copy (pointer loads)
    "atomic": r"\b(?:red|atom)\.global",  # pointer atomics
    "fadd": r"\badd\.(?:rn\.)?f32",  # fp32 adds (fp8 precise accumulation adds the partial sums)
}
"""PTX instructions counted per compile (``Result.ptx``, regular expressions): the compile-level
evidence of what a kernel runs on sm_90."""
_SPILL = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")


def _specialize(case: Case, backend) -> tuple[dict, dict, dict]:
    """(signature, constexprs, attrs) for ``ASTSource``, built as ``JITFunction.run`` builds them."""
    from triton._C.libtriton import native_specialize_impl
    from triton.backends.compiler import BaseBackend

    signature: dict[str, str] = {}
    constexprs: dict[tuple[int, ...], Any] = {}
    attrs: dict[tuple[int, ...], Any] = {}
    names = {p.name for p in case.fn.params}
    unknown = (set(case.args) | set(case.constexprs)) - names
    if unknown:
        raise ValueError(f"{case.kernel}: unknown arguments {sorted(unknown)}")
    for i, p in enumerate(case.fn.params):
        if p.is_constexpr:
            if p.name not in case.constexprs:
                raise ValueError(f"{case.kernel}: constexpr {p.name} not given")
            signature[p.name] = "constexpr"
            constexprs[(i,)] = case.constexprs[p.name]
            continue
        if p.name not in case.args:
            raise ValueError(f"{case.kernel}: argument {p.name} not given")
        value = case.args[p.name]
        specialize, align = not p.do_not_specialize, not p.do_not_specialize_on_alignment
        ty, attr = native_specialize_impl(BaseBackend, value, False, specialize, align)
        signature[p.name] = ty
        if ty == "constexpr":
            constexprs[(i,)] = attr
        elif isinstance(attr, str):
            attrs[(i,)] = backend.parse_attr(attr)
    return signature, constexprs, attrs


def compile_case(case: Case, arch: int = 90) -> Result:
    """Compile ``case`` for ``GPUTarget("cuda", arch, 32)``; never raises for a kernel error."""
    import triton
    from triton import knobs
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import make_backend

    from gpucompare.kernels._common import H100_MAX_SHARED_BYTES as H100_MAX_SHARED

    target = GPUTarget("cuda", arch, 32)
    backend = make_backend(target)
    res = Result(case.kernel, case.label, ok=False, seconds=0.0)
    log = io.StringIO()
    t0 = time.perf_counter()
    try:
        signature, constexprs, attrs = _specialize(case, backend)
        src = triton.compiler.ASTSource(fn=case.fn, signature=signature, constexprs=constexprs, attrs=attrs)
        with knobs.nvidia.scope(), contextlib.redirect_stdout(log):
            knobs.nvidia.dump_ptxas_log = True
            compiled = triton.compile(
                src, target=target, options={"num_warps": case.num_warps, "num_stages": case.num_stages}
            )
    except Exception as e:
        res.seconds = time.perf_counter() - t0
        lines = [x.strip() for x in str(e).strip().splitlines() if x.strip()]
        cause = f" (from {type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
        res.error = f"{type(e).__name__}: {' | '.join(lines[-4:])}{cause}"[:1500]
        return res
    res.seconds = time.perf_counter() - t0
    res.ok = True
    ptx = compiled.asm.get("ptx", "")
    res.ptx = {name: len(re.findall(marker, ptx)) for name, marker in PTX_MARKERS.items()}
    res.shared_bytes = int(compiled.metadata.shared)
    res.fits_h100 = res.shared_bytes <= H100_MAX_SHARED
    text = log.getvalue()
    regs = [int(x) for x in _REGS.findall(text)]
    if regs:
        res.registers = max(regs)
    spills = [int(a) + int(b) for a, b in _SPILL.findall(text)]
    if spills:
        res.spill_bytes = max(spills)
    if not res.fits_h100:
        res.notes.append(f"shared {res.shared_bytes} B > H100 limit {H100_MAX_SHARED} B")
    if res.spill_bytes:
        res.notes.append(f"ptxas spills {res.spill_bytes} B")
    return res


# --------------------------------------------------------------------------------------------------
# cases, mirroring the wrappers' launches


def _t(*shape: int, dtype) -> Any:
    """A contiguous tensor on the meta device: right dtype and strides, aligned, no memory."""
    import torch

    return torch.empty(shape, dtype=dtype, device="meta")


def _cfg_label(cfg) -> str:
    kw = " ".join(f"{k}={v}" for k, v in cfg.kwargs.items())
    return f"{kw} w{cfg.num_warps} s{cfg.num_stages}"


def _tried_configs(tuner, args: dict[str, Any], meta: dict[str, Any]) -> list:
    """The configs the autotuner would benchmark for this call: its list after ``early_config_prune``."""
    prune = getattr(tuner, "early_config_prune", None)
    return list(prune(tuner.configs, args, **meta)) if prune else list(tuner.configs)


def _biggest(configs: list) -> list:
    """The quick subset's one config: the largest tile (product of the BLOCK_* sizes), then most stages."""

    def size(c) -> tuple[int, int, int]:
        area = 1
        for k, v in c.kwargs.items():
            if k.startswith("BLOCK_"):
                area *= v
        return area, c.num_stages, c.num_warps

    return [max(configs, key=size)] if configs else []


def _torch_dtypes() -> dict[str, Any]:
    from gpucompare.dtypes import STORAGE_FLOATS, torch_dtype

    return {n: torch_dtype(n) for n in STORAGE_FLOATS}


def gemm_cases(full: bool) -> Iterator[Case]:
    """``gemm._matmul_kernel``: fp32 ieee/tf32, fp16, bf16 and fp8 e4m3 (column-major B), 4096^3."""
    import torch

    from gpucompare.kernels import gemm

    tuner = gemm._matmul_kernel
    m = n = k = 4096
    dts = _torch_dtypes()
    variants = [("fp32-ieee", "fp32", "ieee"), ("fp32-tf32", "fp32", "tf32"), ("fp16", "fp16", "tf32"),
                ("bf16", "bf16", "tf32"), ("fp8", "fp8", "tf32")]  # fmt: skip
    for name, dt, prec in variants:
        if dt == "fp8":
            a, b = _t(m, k, dtype=gemm.FP8), _t(n, k, dtype=gemm.FP8).t()  # b = w.t(), column-major
            c = _t(m, n, dtype=torch.bfloat16)
            sa = sb = _t(1, dtype=torch.float32)
        else:
            a, b, c = _t(m, k, dtype=dts[dt]), _t(k, n, dtype=dts[dt]), _t(m, n, dtype=dts[dt])
            sa = sb = c
        args = {
            "a_ptr": a, "b_ptr": b, "c_ptr": c, "scale_a_ptr": sa, "scale_b_ptr": sb, "M": m, "N": n, "K": k,
            "stride_am": a.stride(0), "stride_ak": a.stride(1), "stride_bk": b.stride(0),
            "stride_bn": b.stride(1), "stride_cm": c.stride(0), "stride_cn": c.stride(1),
        }  # fmt: skip
        int64s = (False, True) if full and name in ("fp16", "fp8") else (False,)
        meta = {"PRECISION": prec, "UPCAST": False, "HAS_SCALE": dt == "fp8", "RNE_BF16": False}
        configs = _tried_configs(tuner, args, {**meta, "INT64": False})
        configs = configs if full else _biggest(configs)
        for cfg in configs:
            for int64 in int64s:
                const = {**cfg.kwargs, **meta, "INT64": int64}
                label = f"{name} {_cfg_label(cfg)}" + (" INT64" if int64 else "")
                yield Case("gemm._matmul_kernel", label, tuner.fn, args, const, cfg.num_warps, cfg.num_stages)


def gemm_sm90_cases(full: bool) -> Iterator[Case]:
    """``gemm_sm90``: the persistent TMA kernel at 4096^3 (bf16, fp8 precise and fast accumulation;
    with ``full`` also fp16 and a column-major B) over every config the autotuner keeps (``full``: also
    the ones its pruning drops, labelled ``[pruned]``; quick: the biggest kept and, for bf16, a
    warp-specialised one), and the skinny split-K kernel at M = 16 against an 8192 x 8192 weight (M = 1
    and 8 compile to the same kernel)."""
    import torch
    from triton.tools.tensor_descriptor import TensorDescriptor

    from gpucompare.kernels import gemm_sm90 as g

    def desc(t):
        return TensorDescriptor.from_tensor(t, [16, 16])

    dts = _torch_dtypes()
    m = n = k = 4096
    # (label, input dtype, B column-major, output dtype, precision, fp8 precise accumulation)
    variants = [("bf16", dts["bf16"], False, dts["bf16"], "tf32", False),
                ("fp8-precise", g.FP8, True, torch.bfloat16, "tf32", True),
                ("fp8-fast", g.FP8, True, torch.bfloat16, "tf32", False)]  # fmt: skip
    if full:
        variants += [("fp16", dts["fp16"], False, dts["fp16"], "tf32", False),
                     ("bf16-Bcol", dts["bf16"], True, dts["bf16"], "tf32", False)]  # fmt: skip
    for name, dt, kmajor, out_dt, prec, precise in variants:
        a = _t(m, k, dtype=dt)
        b = _t(n, k, dtype=dt).t() if kmajor else _t(k, n, dtype=dt)
        c = _t(m, n, dtype=out_dt)
        scale = _t(1, dtype=torch.float32)
        meta = {"AB_DTYPE": str(dt).removeprefix("torch."), "B_KMAJOR": kmajor, "PRECISION": prec,
                "FP8_PRECISE": precise, "HAS_SCALE": dt == g.FP8, "UPCAST": False, "RNE_BF16": False}  # fmt: skip
        args = {"a_desc": desc(a), "b_desc": desc(b.t() if kmajor else b), "c_desc": desc(c), "c_ptr": c,
                "scale_a_ptr": scale, "scale_b_ptr": scale, "M": m, "N": n, "K": k,
                "stride_cm": c.stride(0), "stride_cn": c.stride(1)}  # fmt: skip
        kept = g._prune_persistent(g._PERSISTENT_CONFIGS, args, **meta)
        pruned = [
            c
            for c in g._PERSISTENT_CONFIGS
            if c not in kept and c.kwargs["BLOCK_K"] == kept[0].kwargs["BLOCK_K"]
        ]
        ws = [c for c in kept if c.kwargs["WARP_SPECIALIZE"]][:1] if name == "bf16" else []
        for cfg in [*kept, *pruned] if full else _biggest(kept) + ws:
            cargs = {key: (TensorDescriptor(v.base, v.shape, v.strides, list(v.block_shape))
                           if isinstance(v, TensorDescriptor) else v) for key, v in args.items()}  # fmt: skip
            g._set_block_shapes({**cargs, **meta, **cfg.kwargs})
            tag = " [pruned]" if cfg in pruned else ""
            yield Case("gemm_sm90._gemm_persistent", f"{name} {_cfg_label(cfg)}{tag}", g._gemm_persistent, cargs,
                       {**meta, **cfg.kwargs, "NUM_SMS": SM90_SM_COUNT}, cfg.num_warps, cfg.num_stages)  # fmt: skip
        # skinny (decode) kernel: M = 16 tokens against an (N, K) = (8192, 8192) weight, 5 K splits
        sm, sn, sk = 16, 8192, 8192
        a = _t(sm, sk, dtype=dt)
        b = _t(sn, sk, dtype=dt).t() if kmajor else _t(sk, sn, dtype=dt)
        c = _t(sm, sn, dtype=out_dt)
        part = _t(5, sm, sn, dtype=torch.float32)
        sargs = {"a_desc": desc(a), "b_desc": desc(b.t() if kmajor else b), "c_ptr": c, "part_ptr": part,
                 "scale_a_ptr": scale, "scale_b_ptr": scale, "M": sm, "N": sn, "K": sk,
                 "stride_cm": c.stride(0), "stride_cn": c.stride(1), "K_PER_SPLIT": 1792}  # fmt: skip
        cfgs = g._SKINNY_CONFIGS
        if name == "fp8-fast" and not full:
            continue
        for cfg in cfgs if full else cfgs[:1]:
            cargs = {key: (TensorDescriptor(v.base, v.shape, v.strides, list(v.block_shape))
                           if isinstance(v, TensorDescriptor) else v) for key, v in sargs.items()}  # fmt: skip
            g._set_block_shapes({**cargs, **meta, **cfg.kwargs, "BLOCK_M": g.SKINNY_MAX_M})
            yield Case("gemm_sm90._gemm_skinny", f"{name} M={sm} {_cfg_label(cfg)}", g._gemm_skinny, cargs,
                       {**meta, **cfg.kwargs, "BLOCK_M": g.SKINNY_MAX_M, "SPLIT": True},
                       cfg.num_warps, cfg.num_stages)  # fmt: skip
    red = {"part_ptr": _t(5, 16, 8192, dtype=torch.float32), "c_ptr": _t(16, 8192, dtype=torch.bfloat16),
           "scale_a_ptr": _t(1, dtype=torch.float32), "scale_b_ptr": _t(1, dtype=torch.float32),
           "M": 16, "N": 8192, "SPLITS": 5, "stride_cm": 8192, "stride_cn": 1}  # fmt: skip
    yield Case("gemm_sm90._splitk_reduce", "bf16 BLOCK=1024 w4", g._splitk_reduce, red,
               {"BLOCK": 1024, "HAS_SCALE": True, "RNE_BF16": False}, 4, 3)  # fmt: skip


def attention_sm90_cases(full: bool) -> Iterator[Case]:
    """``attention_sm90``: forward (every config, warp-specialised or not) and the one-pass backward (TMA
    reduce-add of dQ); GQA 32/8 heads, S = 4096, D 128 (and 64 with ``full``), causal (and not)."""
    import torch
    from triton.tools.tensor_descriptor import TensorDescriptor

    from gpucompare.kernels import attention_sm90 as a9

    def desc(t):
        return TensorDescriptor.from_tensor(t, [1, 1, 16, t.shape[-1]])

    dts = _torch_dtypes()
    for dname in ("bf16", "fp16") if full else ("bf16",):
        dt = dts[dname]
        for d in (64, 128) if full else (128,):
            b, hq, hkv, s, q, kv = _attn_shapes(dt, d)
            lse = _t(b, hq, s, dtype=torch.float32)
            dq_acc = _t(b, hq, s, d, dtype=torch.float32)
            for causal in (False, True) if full else (True,):
                tag = f"{dname} D={d} {'causal' if causal else 'full'}"
                meta = {"HEAD_DIM": d, "CAUSAL": causal, "UPCAST": False}
                fwd = {"q_desc": a9._desc2d(q), "k_desc": a9._desc2d(kv), "v_desc": a9._desc2d(kv), "Out": q,
                       "LSE": lse, "qk_scale": 0.18, "Z": b, "Hq": hq, "GROUP": hq // hkv, "Sq": s, "Sk": s,
                       "stride_ob": q.stride(0), "stride_oh": q.stride(1), "stride_om": q.stride(2)}  # fmt: skip
                cfgs = a9._prune_fwd(a9._FWD_CONFIGS, fwd, **meta)
                for cfg in cfgs if full else [c for c in cfgs if c.kwargs["WARP_SPECIALIZE"]][:1]:
                    args = {k: a9._desc2d(v) if k.endswith("_desc") else v
                            for k, v in {**fwd, "q_desc": q, "k_desc": kv, "v_desc": kv}.items()}  # fmt: skip
                    a9._set_fwd_blocks({**args, **cfg.kwargs, "HEAD_DIM": d})
                    yield Case("attention_sm90._attn_fwd_sm90", f"{tag} {_cfg_label(cfg)}", a9._attn_fwd_sm90,
                               args, {**meta, **cfg.kwargs}, cfg.num_warps, cfg.num_stages)  # fmt: skip
                bwd = {"q_desc": q, "k_desc": kv, "v_desc": kv, "do_desc": q, "dk_desc": kv, "dv_desc": kv,
                       "dq_desc": dq_acc, "DQ": dq_acc, "LSE": lse, "DELTA": lse, "sm_scale": 0.125,
                       "qk_scale": 0.18, "Z": b, "Hq": hq, "Hkv": hkv, "GROUP": hq // hkv, "Sq": s, "Sk": s}  # fmt: skip
                cfgs = a9._prune_bwd(a9._BWD_CONFIGS, bwd, **meta)
                pruned = [c for c in a9._BWD_CONFIGS if c not in cfgs]
                for cfg in [*cfgs, *pruned] if full else cfgs[:1]:
                    args = {k: desc(v) if k.endswith("_desc") else v for k, v in bwd.items()}
                    a9._set_bwd_blocks({**args, **cfg.kwargs, "HEAD_DIM": d})
                    mark = " [pruned]" if cfg in pruned else ""
                    yield Case("attention_sm90._attn_bwd_sm90", f"{tag} {_cfg_label(cfg)}{mark}", a9._attn_bwd_sm90,
                               args, {**meta, **cfg.kwargs, "TMA_REDUCE": True,
                                      "IN_DTYPE": str(q.dtype).removeprefix("torch.")}, cfg.num_warps,
                               cfg.num_stages)  # fmt: skip


def _attn_shapes(dt, d: int):
    b, hq, hkv, s = 2, 32, 8, 4096
    return b, hq, hkv, s, _t(b, hq, s, d, dtype=dt), _t(b, hkv, s, d, dtype=dt)


def _strides4(prefix: str, t) -> dict[str, int]:
    return dict(zip((f"stride_{prefix}{x}" for x in ("b", "h", "m", "d")), t.stride()))


def attention_cases(full: bool) -> Iterator[Case]:
    """Forward, backward preprocess, dK/dV and dQ; GQA 32/8 heads, S = 4096, D 64 and 128, causal or not."""
    import torch

    from gpucompare.kernels import attention as at

    dts = _torch_dtypes()
    dtypes = ("fp16", "bf16", "fp32") if full else ("fp16", "bf16")  # the GPU workloads' dtypes
    dims = (64, 128) if full else (128,)
    causals = (False, True) if full else (True,)
    tuned = {"fwd": at._tuned_fwd(), "dkdv": at._tuned_dkdv(), "dq": at._tuned_dq()}
    for dname in dtypes:
        dt = dts[dname]
        prec = at._dot_precision(dt)
        for d in dims:
            b, hq, hkv, s, q, kv = _attn_shapes(dt, d)
            lse = _t(b, hq, s, dtype=torch.float32)

            def qkv_strides(q=q, kv=kv) -> dict[str, int]:
                st = {**_strides4("q", q)}
                st.update(zip(("stride_kb", "stride_kh", "stride_kn", "stride_kd"), kv.stride()))
                st.update(zip(("stride_vb", "stride_vh", "stride_vn", "stride_vd"), kv.stride()))
                return st

            for causal in causals:
                common = {"HEAD_DIM": d, "CAUSAL": causal, "UPCAST": False, "DOT_PREC": prec}
                tag = f"{dname} D={d} {'causal' if causal else 'full'}"
                fwd_args = {"Q": q, "K": kv, "V": kv, "Out": q, "LSE": lse, "qk_scale": 0.18,
                            **qkv_strides(), **_strides4("o", q), "Hq": hq, "GROUP": hq // hkv,
                            "Sq": s, "Sk": s}  # fmt: skip
                dkdv_args = {"Q": q, "K": kv, "V": kv, "DO": q, "LSE": lse, "DELTA": lse, "DK": kv, "DV": kv,
                             "sm_scale": 0.125, "qk_scale": 0.18, **qkv_strides(),
                             **dict(zip(("stride_db", "stride_dh", "stride_dm", "stride_dd"), q.stride())),
                             **dict(zip(("stride_dkb", "stride_dkh", "stride_dkn", "stride_dkd"),
                                        kv.stride())),
                             "Hq": hq, "Hkv": hkv, "GROUP": hq // hkv, "Sq": s, "Sk": s}  # fmt: skip
                dq_args = {k: v for k, v in dkdv_args.items() if not k.startswith(("DK", "DV", "stride_dk"))}
                dq_args.pop("Hkv")
                dq_args.update({"DQ": q, **dict(zip(("stride_dqb", "stride_dqh", "stride_dqm", "stride_dqd"),
                                                    q.stride()))})  # fmt: skip
                for part, args in (("fwd", fwd_args), ("dkdv", dkdv_args), ("dq", dq_args)):
                    tuner = tuned[part]
                    cfgs = _tried_configs(tuner, args, common)
                    cfgs = cfgs if full else _biggest(cfgs)
                    for cfg in cfgs:
                        yield Case(f"attention.{tuner.fn.__name__}", f"{tag} {_cfg_label(cfg)}", tuner.fn,
                                   args, {**common, **cfg.kwargs}, cfg.num_warps, cfg.num_stages)  # fmt: skip
            pre_args = {"Out": q, "DO": q, "DELTA": lse, **_strides4("o", q),
                        **dict(zip(("stride_db", "stride_dh", "stride_dm", "stride_dd"), q.stride())),
                        "Hq": hq, "Sq": s}  # fmt: skip
            yield Case("attention._attn_bwd_preprocess", f"{dname} D={d} BLOCK_M=64 w4 s3",
                       at._attn_bwd_preprocess, pre_args, {"HEAD_DIM": d, "BLOCK_M": 64})  # fmt: skip


def decode_cases(full: bool) -> Iterator[Case]:
    """Flash-decoding partial + reduce: B=8, 32 query / 8 KV heads, L = 8192, D 64 and 128 (H100 splits)."""
    import torch

    from gpucompare.kernels import attention as at
    from gpucompare.kernels import decode as dc

    dts = _torch_dtypes()
    b, hkv, length = 8, 8, 8192
    groups = (4, 32) if full else (4,)
    for dname in ("fp16", "bf16", "fp32") if full else ("fp16", "bf16"):
        dt = dts[dname]
        for d in (64, 128) if full else (128,):
            for group in groups:
                hq = hkv * group
                q = _t(b, hq, d, dtype=dt)
                kv = _t(b, hkv, length, d, dtype=dt)
                splits, split_len = dc.choose_splits(length, b * hkv, SM90_SM_COUNT, dc._GPU_BLOCK_N)
                m_part = _t(b, hq, splits, dtype=torch.float32)
                acc_part = _t(b, hq, splits, d, dtype=torch.float32)
                block_h = max(16, 1 << (group - 1).bit_length())
                args = {"Q": q, "K": kv, "V": kv, "M_OUT": m_part, "L_OUT": m_part, "ACC_OUT": acc_part,
                        "qk_scale": 0.18, **dict(zip(("stride_qb", "stride_qh", "stride_qd"), q.stride())),
                        **dict(zip(("stride_kb", "stride_kh", "stride_kn", "stride_kd"), kv.stride())),
                        **dict(zip(("stride_vb", "stride_vh", "stride_vn", "stride_vd"), kv.stride())),
                        "Hq": hq, "Hkv": hkv, "GROUP": group, "L": length, "SPLIT_LEN": split_len,
                        "NUM_SPLITS": splits}  # fmt: skip
                const = {"HEAD_DIM": d, "BLOCK_H": block_h, "BLOCK_N": dc._GPU_BLOCK_N, "UPCAST": False,
                         "DOT_PREC": at._dot_precision(dt)}  # fmt: skip
                tag = f"{dname} D={d} group={group}"
                label = f"{tag} BLOCK_H={block_h} BLOCK_N={dc._GPU_BLOCK_N} w4 s3"
                yield Case("decode._decode_partial", label, dc._decode_partial, args, const, 4, 3)
                block_s = min(dc._REDUCE_BLOCK_S, max(2, 1 << (splits - 1).bit_length()))
                red = {"M_IN": m_part, "L_IN": m_part, "ACC_IN": acc_part, "Out": q,
                       **dict(zip(("stride_ob", "stride_oh", "stride_od"), q.stride())),
                       "Hq": hq, "NUM_SPLITS": splits}  # fmt: skip
                yield Case("decode._decode_reduce", f"{tag} splits={splits} BLOCK_S={block_s} w4",
                           dc._decode_reduce, red, {"HEAD_DIM": d, "BLOCK_S": block_s}, 4, 3)  # fmt: skip


def bandwidth_cases(full: bool) -> Iterator[Case]:
    """copy and triad at the GPU block size; n = 2**28 (i32) and, with ``full``, 2**31 + 16 (i64)."""
    from gpucompare.kernels import bandwidth as bw

    block, warps = bw._GPU_BLOCK, bw._GPU_WARPS
    sizes = (2**28, 2**31 + 16) if full else (2**28,)
    for dname, dt in _torch_dtypes().items():
        x = _t(16, dtype=dt)  # only dtype and alignment matter for a pointer
        for n in sizes:
            tag = f"{dname} n={n} BLOCK={block} w{warps}"
            yield Case("bandwidth._copy_kernel", tag, bw._copy_kernel, {"x_ptr": x, "y_ptr": x, "n": n},
                       {"BLOCK": block}, warps, 3)  # fmt: skip
            yield Case("bandwidth._triad_kernel", tag, bw._triad_kernel,
                       {"a_ptr": x, "b_ptr": x, "y_ptr": x, "n": n, "scalar": 3.0},
                       {"BLOCK": block, "RNE_BF16": False}, warps, 3)  # fmt: skip


def selftest_cases(full: bool) -> Iterator[Case]:
    """A kernel the CPU interpreter runs correctly but sm_90 must refuse (an 8x8 ``tl.dot``; the GPU's
    minimum is 16): proves the check can fail. Not in the default families."""
    import torch
    import triton
    import triton.language as tl

    def bad_dot(a_ptr, c_ptr, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        a = tl.load(a_ptr + offs[:, None] * BLOCK + offs[None, :])
        tl.store(c_ptr + offs[:, None] * BLOCK + offs[None, :], tl.dot(a, a))

    fn = triton.jit(bad_dot)
    args = {"a_ptr": _t(8, 8, dtype=torch.float16), "c_ptr": _t(8, 8, dtype=torch.float32)}
    yield Case("selftest.bad_dot", "fp16 8x8 tl.dot (must fail)", fn, args, {"BLOCK": 8})


FAMILIES = {
    "gemm": gemm_cases,
    "gemm_sm90": gemm_sm90_cases,
    "attention_sm90": attention_sm90_cases,
    "attention": attention_cases,
    "decode": decode_cases,
    "bandwidth": bandwidth_cases,
    "selftest": selftest_cases,
}
DEFAULT_FAMILIES = ("gemm", "gemm_sm90", "attention", "attention_sm90", "decode", "bandwidth")


def all_cases(full: bool, families: tuple[str, ...] = DEFAULT_FAMILIES) -> list[Case]:
    """Every case of ``families``; ``full`` = every autotune config, else one config per kernel."""
    from gpucompare.hw import interpreting

    if interpreting():
        raise RuntimeError(
            "Triton is in interpreter mode (TRITON_INTERPRET=1): run this in a fresh process with "
            "TRITON_INTERPRET=0 after disable_interpreter()"
        )
    return [c for fam in families for c in FAMILIES[fam](full)]


def run(cases: list[Case], arch: int = 90) -> list[Result]:
    """Compile every case (each in its own fresh Triton cache, so the times are real compiles)."""
    previous = os.environ.get("TRITON_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="gpucompare-sm90-") as cache:
        os.environ["TRITON_CACHE_DIR"] = cache
        try:
            return [compile_case(c, arch) for c in cases]
        finally:
            if previous is None:
                os.environ.pop("TRITON_CACHE_DIR", None)
            else:
                os.environ["TRITON_CACHE_DIR"] = previous


def summary(results: list[Result]) -> str:
    """Per-kernel counts and total time, then every failure and every note."""
    lines = []
    kernels = sorted({r.kernel for r in results})
    for k in kernels:
        rs = [r for r in results if r.kernel == k]
        ok = sum(r.ok for r in rs)
        secs = sum(r.seconds for r in rs)
        shared = [r.shared_bytes for r in rs if r.shared_bytes is not None]
        regs = [r.registers for r in rs if r.registers is not None]
        lines.append(
            f"{k:34s} {ok:3d}/{len(rs):<3d} compiled  {secs:7.1f} s  "
            f"shared max {max(shared, default=0):6d} B  regs max {max(regs, default=0):3d}"
        )
    for r in results:
        if not r.ok:
            lines.append(f"FAIL  {r.kernel} [{r.label}]: {r.error}")
        elif r.notes:
            lines.append(f"NOTE  {r.kernel} [{r.label}]: {'; '.join(r.notes)}")
    return "\n".join(lines)


NOTES_BEGIN = "<!-- sm90-hopper-table: generated by kernels/_sm90_compile.py --notes; do not edit -->"
NOTES_END = "<!-- end sm90-hopper-table -->"
_SHORT = {"BLOCK_M=": "", "BLOCK_N=": "x", "BLOCK_K=": "x", "GROUP_M=8 ": "", "WARP_SPECIALIZE=True": "WS",
          "WARP_SPECIALIZE=False": "", "EPILOGUE_SUBTILE=True": "subtile", "EPILOGUE_SUBTILE=False": ""}  # fmt: skip


def notes_table(results: list[Result]) -> str:
    """Markdown table, one row per compile: kernel, case, registers, spills, shared memory, PTX counts."""
    rows = ["| kernel | case | regs | spill B | shared B | wgmma | TMA | TMA reduce | setmaxnreg | fp32 add |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in results:
        label = r.label
        for old, new in _SHORT.items():
            label = label.replace(old, new)
        label = " ".join(label.replace(" x", "x").split())
        if not r.ok:
            rows.append(f"| {r.kernel} | {label} | fails: {r.error[:80]} | | | | | | | |")
            continue
        p = r.ptx
        rows.append(
            f"| {r.kernel.split('.')[-1]} | {label} | {r.registers} | {r.spill_bytes} | {r.shared_bytes} | "
            f"{p.get('wgmma', 0)} | {p.get('tma', 0)} | {p.get('tma_reduce', 0)} | {p.get('setmaxnreg', 0)} | "
            f"{p.get('fadd', 0)} |"
        )
    return "\n".join(rows)


def write_notes(path: str, results: list[Result], command: str) -> None:
    """Replace the generated block of ``path`` (between ``NOTES_BEGIN`` and ``NOTES_END``) by the table."""
    with open(path) as f:
        text = f.read()
    if NOTES_BEGIN not in text or NOTES_END not in text:
        raise ValueError(f"{path} has no generated block ({NOTES_BEGIN!r} ... {NOTES_END!r})")
    head, rest = text.split(NOTES_BEGIN, 1)
    _, tail = rest.split(NOTES_END, 1)
    import triton

    block = (
        f"{NOTES_BEGIN}\n\n`{command}` (Triton {triton.__version__}, sm_90):\n\n{notes_table(results)}\n\n"
    )
    with open(path, "w") as f:
        f.write(head + block + NOTES_END + tail)


def main(argv: list[str] | None = None) -> int:
    """Command line: compile, print the summary, optionally write JSON; exit 1 on any failure."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--all", action="store_true", help="every autotune config (slow)")
    p.add_argument("--json", help="write every result to this JSON file")
    p.add_argument("--filter", default="", help="only cases whose 'kernel [label]' contains this text")
    p.add_argument(
        "--families", default=",".join(DEFAULT_FAMILIES), help="comma-separated: " + ", ".join(FAMILIES)
    )
    p.add_argument("--arch", type=int, default=90)
    p.add_argument("--notes", help="write the results as the generated table of this NOTES.md")
    ns = p.parse_args(argv)
    why = ptxas_problem()
    if why:
        print(f"SKIP: {why}")
        return 3
    fams = tuple(f for f in ns.families.split(",") if f)
    bad = [f for f in fams if f not in FAMILIES]
    if bad:
        p.error(f"unknown families {bad}; known: {', '.join(FAMILIES)}")
    cases = [c for c in all_cases(ns.all, fams) if ns.filter in f"{c.kernel} [{c.label}]"]
    t0 = time.perf_counter()
    results = run(cases, ns.arch)
    print(summary(results))
    took = time.perf_counter() - t0
    print(f"{sum(r.ok for r in results)}/{len(results)} compiled for sm_{ns.arch} in {took:.1f} s")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump([asdict(r) for r in results], f, indent=1)
    if ns.notes:
        args = " ".join(
            a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("--notes")
        )
        write_notes(ns.notes, results, f"python kernels/_sm90_compile.py {args}".strip())
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    disable_interpreter()
    sys.exit(main())
