"""Every Triton kernel compiles for Hopper (sm_90) with the real GPU compiler, without a GPU.

The CPU tests run the kernels in Triton's interpreter, which never runs the GPU compiler (``tl.dot``
shape/dtype rules, fp8 dots, shared memory, num_warps / num_stages). ``kernels/_sm90_compile.py``
compiles them for ``GPUTarget("cuda", 90, 32)`` down to a ptxas cubin, in a subprocess with the
interpreter off (this pytest process has it on). Each compile reports its shared memory, which must
fit the H100's 227 KiB per block.

- the quick subset (default): one config per kernel x the GPU dtypes (fp16, bf16, fp32 ieee/tf32 and
  fp8 for the GEMM), head dim 128, causal; plus a known-bad kernel (an 8x8 ``tl.dot``, which the
  interpreter runs) that must fail, so the check can fail.
- the Hopper kernels (``gemm_sm90``, ``attention_sm90``): their PTX holds ``wgmma.mma_async`` and
  ``cp.async.bulk.tensor`` (TMA), the warp-specialised configs ``setmaxnreg``, the one-pass backward
  ``cp.reduce.async.bulk.tensor`` (dQ), fp8 precise accumulation its extra fp32 adds; no config spills
  more than the kernels' ``SPILL_BOUND_BYTES``; the full sweep also checks that what pruning drops is
  what spills or does not fit.
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

from gpucompare.kernels import attention_sm90, gemm_sm90
from gpucompare.kernels._common import H100_MAX_SHARED_BYTES as H100_MAX_SHARED

TOOL = Path(__file__).resolve().parents[2] / "kernels" / "_sm90_compile.py"
SKIP_EXIT = 3  # the tool's exit status when it cannot compile for CUDA here

HOPPER = {
    "gemm_sm90._gemm_persistent": gemm_sm90.SPILL_BOUND_BYTES,
    "gemm_sm90._gemm_skinny": gemm_sm90.SPILL_BOUND_BYTES,
    "gemm_sm90._splitk_reduce": gemm_sm90.SPILL_BOUND_BYTES,
    "attention_sm90._attn_fwd_sm90": attention_sm90.SPILL_BOUND_BYTES,
    "attention_sm90._attn_bwd_sm90": attention_sm90.SPILL_BOUND_BYTES,
}
"""The Hopper kernels and their spill bounds."""
FAMILIES = "gemm,gemm_sm90,attention,attention_sm90,decode,bandwidth"

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
    *HOPPER,
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


def _pruned(r: dict) -> bool:
    return r["label"].endswith("[pruned]")


def _check_all_compiled(results: list[dict]) -> None:
    results = [r for r in results if not _pruned(r)]
    failed = [f"{r['kernel']} [{r['label']}]: {r['error']}" for r in results if not r["ok"]]
    assert not failed, "kernels that do not compile for sm_90:\n" + "\n".join(failed)
    too_big = [f"{r['kernel']} [{r['label']}]: {r['shared_bytes']} B" for r in results
               if r["shared_bytes"] > H100_MAX_SHARED]  # fmt: skip
    assert not too_big, "configs over the H100's 227 KiB of shared memory per block:\n" + "\n".join(too_big)


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> list[dict]:
    """The quick subset, compiled once for the tests of this module."""
    return _compile(tmp_path_factory.mktemp("sm90"), "--families", f"{FAMILIES},selftest", timeout=300)


def test_quick_subset_compiles_for_sm90(quick):
    bad = [r for r in quick if r["kernel"] == "selftest.bad_dot"]
    kernels = [r for r in quick if r["kernel"] != "selftest.bad_dot"]
    # the check can fail: an 8x8 tl.dot runs in the interpreter but sm_90 refuses it
    assert len(bad) == 1 and not bad[0]["ok"] and bad[0]["error"], bad
    assert {r["kernel"] for r in kernels} == KERNELS
    gemm_dtypes = {r["label"].split()[0] for r in kernels if r["kernel"] == "gemm._matmul_kernel"}
    assert gemm_dtypes == {"fp32-ieee", "fp32-tf32", "fp16", "bf16", "fp8"}
    attn_dtypes = {r["label"].split()[0] for r in kernels if r["kernel"] == "attention._attn_fwd"}
    assert attn_dtypes == {"fp16", "bf16"}
    _check_all_compiled(kernels)
    assert all(r["registers"] for r in kernels), "ptxas -v register counts were not read"


def _check_hopper_evidence(results: list[dict]) -> None:
    """wgmma and TMA in every Hopper GEMM/attention kernel's PTX, setmaxnreg where warp-specialised,
    TMA reduce-add in the backward, spills within the kernels' bounds."""
    hopper = [r for r in results if r["kernel"] in HOPPER and r["ok"] and not _pruned(r)]
    assert hopper
    for r in hopper:
        where = f"{r['kernel']} [{r['label']}]"
        assert r["spill_bytes"] <= HOPPER[r["kernel"]], f"{where} spills {r['spill_bytes']} B"
        if r["kernel"].endswith("_splitk_reduce"):
            continue
        assert r["ptx"]["wgmma"] > 0, f"{where}: no wgmma.mma_async in the PTX"
        assert r["ptx"]["tma"] > 0, f"{where}: no cp.async.bulk.tensor (TMA) in the PTX"
        if "WARP_SPECIALIZE=True" in r["label"]:
            assert r["ptx"]["setmaxnreg"] > 0, f"{where}: warp-specialised but no setmaxnreg"
        if r["kernel"].endswith("_attn_bwd_sm90"):
            assert r["ptx"]["tma_reduce"] > 0, f"{where}: dQ is not summed by TMA reduce-add"


def test_hopper_kernels_use_wgmma_tma_and_warp_specialisation(quick):
    _check_hopper_evidence(quick)
    labels = {r["label"] for r in quick if r["kernel"] in HOPPER}
    assert any("WARP_SPECIALIZE=True" in lb for lb in labels)  # a warp-specialised GEMM and forward
    ws_fwd = [
        r
        for r in quick
        if r["kernel"] == "attention_sm90._attn_fwd_sm90" and "WARP_SPECIALIZE=True" in r["label"]
    ]
    assert ws_fwd and ws_fwd[0]["ptx"]["setmaxnreg"] > 0
    # fp8: precise accumulation (max_num_imprecise_acc = BLOCK_K) adds the wgmma partial sums into fp32
    fp8 = {r["label"].split()[0]: r for r in quick if r["kernel"] == "gemm_sm90._gemm_persistent"}
    assert fp8["fp8-precise"]["ptx"]["fadd"] > fp8["fp8-fast"]["ptx"]["fadd"]


@pytest.mark.skipif(
    os.environ.get("GPUCOMPARE_COMPILE_ALL") != "1",
    reason="every autotune config takes minutes to compile; opt in with GPUCOMPARE_COMPILE_ALL=1",
)
def test_every_config_compiles_for_sm90(tmp_path):
    results = _compile(tmp_path, "--all", "--families", FAMILIES, timeout=7200)
    assert {r["kernel"] for r in results} == KERNELS
    _check_all_compiled(results)
    _check_hopper_evidence(results)
    # what pruning drops is what does not fit or spills past the bound
    for r in filter(_pruned, results):
        assert not r["ok"] or r["shared_bytes"] > H100_MAX_SHARED or r["spill_bytes"] > HOPPER[r["kernel"]], r


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


def test_hopper_prunes_drop_the_configs_that_spill():
    import torch
    from triton.tools.tensor_descriptor import TensorDescriptor

    fp8 = torch.empty(256, 256, dtype=gemm_sm90.FP8, device="meta")
    c = torch.empty(256, 256, dtype=torch.bfloat16, device="meta")
    args = {"a_desc": TensorDescriptor.from_tensor(fp8, [16, 16]), "c_ptr": c}
    cfgs = gemm_sm90._PERSISTENT_CONFIGS

    def tiles(kept):
        return {(k.kwargs["BLOCK_M"], k.kwargs["BLOCK_N"], k.kwargs["BLOCK_K"]) for k in kept}

    assert (128, 256, 128) not in tiles(gemm_sm90._prune_persistent(cfgs, args, FP8_PRECISE=True))  # 236 B
    assert (128, 256, 128) in tiles(gemm_sm90._prune_persistent(cfgs, args, FP8_PRECISE=False))
    bf16 = gemm_sm90._prune_persistent(cfgs, {**args, "a_desc": TensorDescriptor.from_tensor(c, [16, 16])})
    assert {t[2] for t in tiles(bf16)} == {64}
    assert all(gemm_sm90.persistent_smem_estimate(k, 2, 2) <= H100_MAX_SHARED for k in bf16)
    d128 = attention_sm90._prune_bwd(attention_sm90._BWD_CONFIGS, {}, HEAD_DIM=128)
    d64 = attention_sm90._prune_bwd(attention_sm90._BWD_CONFIGS, {}, HEAD_DIM=64)
    assert len(d64) == len(attention_sm90._BWD_CONFIGS) and len(d128) == len(d64) - 1
    assert all(k.kwargs["BLOCK_M"] * k.kwargs["BLOCK_N"] <= 64 * 64 for k in d128)
