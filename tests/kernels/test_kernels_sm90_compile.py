"""Every Triton kernel compiles for Hopper (sm_90) with the real GPU compiler, without a GPU.

The CPU tests run the kernels in Triton's interpreter, which never runs the GPU compiler (``tl.dot``
shape/dtype rules, fp8 dots, shared memory, num_warps / num_stages). ``kernels/_sm90_compile.py``
compiles them for ``GPUTarget("cuda", 90, 32)`` down to a ptxas cubin, in a subprocess with the
interpreter off (this pytest process has it on). Each compile reports its shared memory, which must
fit the H100's 227 KiB per block.

- the quick subset (default): one config per kernel x the GPU dtypes (fp16, bf16, fp32 ieee/tf32 and
  fp8 for the GEMM), head dim 128, causal; plus a known-bad kernel (an 8x8 ``tl.dot``, which the
  interpreter runs) that must fail, so the check can fail.
- every autotune config, head dims 64 and 128, causal and not, fp32 attention: opt-in with
  ``GPUCOMPARE_COMPILE_ALL=1`` (several minutes on 2 cores).

Skipped, with the reason, when this Triton build cannot compile for CUDA here (no NVIDIA backend,
no ptxas).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpucompare.kernels._common import H100_MAX_SHARED_BYTES as H100_MAX_SHARED

TOOL = Path(__file__).resolve().parents[2] / "kernels" / "_sm90_compile.py"
SKIP_EXIT = 3  # the tool's exit status when it cannot compile for CUDA here

KERNELS = {
    "gemm._matmul_kernel",
    "attention._attn_fwd",
    "attention._attn_bwd_preprocess",
    "attention._attn_bwd_dkdv",
    "attention._attn_bwd_dq",
    "decode._decode_partial",
    "decode._decode_reduce",
    "bandwidth._copy_kernel",
    "bandwidth._triad_kernel",
}


def _compile(tmp_path: Path, *args: str, timeout: float) -> list[dict]:
    """Run the tool with the interpreter off; its JSON results, or skip when it cannot compile here."""
    out = tmp_path / "results.json"
    env = {**os.environ, "TRITON_INTERPRET": "0", "TRITON_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--json", str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode == SKIP_EXIT:
        pytest.skip(f"cannot compile for sm_90 here: {proc.stdout.strip()}")
    if not out.exists():
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        pytest.fail(f"compile tool crashed (exit {proc.returncode}):\n{tail}")
    return json.loads(out.read_text())


def _check_all_compiled(results: list[dict]) -> None:
    failed = [f"{r['kernel']} [{r['label']}]: {r['error']}" for r in results if not r["ok"]]
    assert not failed, "kernels that do not compile for sm_90:\n" + "\n".join(failed)
    too_big = [f"{r['kernel']} [{r['label']}]: {r['shared_bytes']} B" for r in results
               if r["shared_bytes"] > H100_MAX_SHARED]  # fmt: skip
    assert not too_big, "configs over the H100's 227 KiB of shared memory per block:\n" + "\n".join(too_big)


def test_quick_subset_compiles_for_sm90(tmp_path):
    results = _compile(tmp_path, "--families", "gemm,attention,decode,bandwidth,selftest", timeout=300)
    bad = [r for r in results if r["kernel"] == "selftest.bad_dot"]
    kernels = [r for r in results if r["kernel"] != "selftest.bad_dot"]
    # the check can fail: an 8x8 tl.dot runs in the interpreter but sm_90 refuses it
    assert len(bad) == 1 and not bad[0]["ok"] and bad[0]["error"], bad
    assert {r["kernel"] for r in kernels} == KERNELS
    gemm_dtypes = {r["label"].split()[0] for r in kernels if r["kernel"] == "gemm._matmul_kernel"}
    assert gemm_dtypes == {"fp32-ieee", "fp32-tf32", "fp16", "bf16", "fp8"}
    attn_dtypes = {r["label"].split()[0] for r in kernels if r["kernel"] == "attention._attn_fwd"}
    assert attn_dtypes == {"fp16", "bf16"}
    _check_all_compiled(kernels)
    assert all(r["registers"] for r in kernels), "ptxas -v register counts were not read"


@pytest.mark.skipif(
    os.environ.get("GPUCOMPARE_COMPILE_ALL") != "1",
    reason="every autotune config takes minutes to compile; opt in with GPUCOMPARE_COMPILE_ALL=1",
)
def test_every_config_compiles_for_sm90(tmp_path):
    results = _compile(tmp_path, "--all", timeout=7200)
    assert {r["kernel"] for r in results} == KERNELS
    _check_all_compiled(results)


# ------------------------------------------------------------------- autotune pruning (in process, CPU)


def _gemm_cfg_names(cfgs) -> set[tuple[int, int, int, int, int]]:
    kw = [c.kwargs for c in cfgs]
    return {(k["BLOCK_M"], k["BLOCK_N"], k["BLOCK_K"], c.num_stages, c.num_warps) for k, c in zip(kw, cfgs)}


def test_gemm_prune_drops_configs_over_h100_shared_memory():
    import torch

    from gpucompare.kernels import gemm

    cfgs = gemm._GPU_CONFIGS

    def kept(dtype):
        a = torch.empty(4, 4, dtype=dtype, device="meta")
        return gemm._prune_gemm_configs(cfgs, {"a_ptr": a})

    # the sizes sm_90 compiles report (tensor-core pipelines): stages x (BM + BN) x BK x element size
    assert gemm._smem_estimate(gemm._cfg(128, 256, 128, 8, 3), 2) == 294_912
    assert gemm._smem_estimate(gemm._cfg(128, 128, 64, 8, 4), 4) == 262_144
    fp16 = _gemm_cfg_names(kept(torch.float16))
    assert (128, 256, 128, 3, 8) not in fp16 and (128, 128, 128, 4, 8) not in fp16
    assert len(fp16) == len(cfgs) - 2
    fp8 = _gemm_cfg_names(kept(gemm.FP8))
    assert fp8 == _gemm_cfg_names(cfgs)  # every config fits with 1-byte elements
    fp32 = kept(torch.float32)
    assert fp32 and all(gemm._smem_estimate(c, 4) <= H100_MAX_SHARED for c in fp32)
    assert (128, 128, 64, 4, 8) not in _gemm_cfg_names(fp32)


def test_attention_prune_gives_fp32_only_small_tiles():
    from gpucompare.kernels import attention as at

    for cfgs in (at._FWD_CONFIGS, at._DKDV_CONFIGS, at._DQ_CONFIGS):
        ieee = at._prune_by_precision(cfgs, {}, DOT_PREC="ieee")
        tc = at._prune_by_precision(cfgs, {}, DOT_PREC="tf32")
        assert ieee and tc and len(ieee) + len(tc) == len(cfgs)
        assert all(c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] <= at._FP32_MAX_TILE for c in ieee)
        assert all(c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] > at._FP32_MAX_TILE for c in tc)


def test_attention_fwd_prune_drops_configs_over_h100_shared_memory():
    import torch

    from gpucompare.kernels import attention as at

    q = torch.empty(1, 1, 16, 128, dtype=torch.float16, device="meta")
    # matches the sm_90 compile: 128x128 tiles, 4 stages, D=128, fp16 -> 294 912 B (> 232 448 B)
    cfg = at._cfgs(((128, 128),), (4,), (4,))[0]
    assert at._fwd_smem_estimate(cfg, 128, 2) == 294_912
    d128 = at._prune_fwd(at._FWD_CONFIGS, {"Q": q}, HEAD_DIM=128, DOT_PREC="tf32")
    d64 = at._prune_fwd(at._FWD_CONFIGS, {"Q": q}, HEAD_DIM=64, DOT_PREC="tf32")
    big = [c for c in d128 if c.kwargs["BLOCK_N"] == 128 and c.num_stages == 4]
    assert not big and len(d128) == len(d64) - 2 == 10
    assert all(at._fwd_smem_estimate(c, 128, 2) <= H100_MAX_SHARED for c in d128)
