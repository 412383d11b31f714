"""The prebuilt Triton cache: built here for sm_90 from the GPU tier's own cases, complete (a second pass in a
fresh process compiles nothing), pruned, relocatable, and refused with a reason when the Triton build differs.

The build runs ``python -m gpucompare.measure.cache_build`` in subprocesses (the interpreter is on in this one)
over a small part of the tier: two copy shapes and one decode-attention shape. The GEMM decode
shapes, which go through the autotuner, are opt-in (``GPUCOMPARE_COMPILE_ALL=1``: about a minute on 2 cores).
Skipped, with the reason, when this Triton build cannot compile for CUDA here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from gpucompare.measure import triton_cache

REPO = Path(__file__).resolve().parents[2]
SMALL = ("--only", "copy,decode_attention", "--shapes", "n2^26,n2^30,llama3-70b-b8-ctx32k")


def _builder(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    env.pop("TRITON_INTERPRET", None)
    env.pop("TRITON_CACHE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "gpucompare.measure.cache_build", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def _summary(proc: subprocess.CompletedProcess) -> dict:
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from kernels._sm90_compile import ptxas_problem  # the sm_90 compile tool's own check

    why = ptxas_problem()
    if why:
        pytest.skip(f"cannot compile for sm_90 here: {why}")
    out = tmp_path_factory.mktemp("cache") / "sm90.tgz"
    proc = _builder("--out", str(out), *SMALL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, _summary(proc)


def test_the_build_compiles_the_tier_cases_and_packs_cubin_and_metadata_only(built):
    out, summary = built
    # copy: one kernel per dtype (fp32, bf16), the same for both sizes; decode: partial and reduce per dtype
    assert summary["compiles"] == summary["kernels"] == 6 and summary["hits"] == 0
    manifest = triton_cache.read_manifest(out)
    assert manifest["target"] == "cuda:90" and manifest["triton_hash"] == triton_cache.triton_build_hash()
    assert manifest["kernels"] == 6 and 0 < manifest["size_bytes"] <= 20 * 2**20
    assert sorted(c["case"] for c in manifest["cases"]) == sorted(
        f"{w}-{dt}-triton"
        for w in ("copy-n2^26", "copy-n2^30", "decode_attention-llama3-70b-b8-ctx32k")
        for dt in ("fp32" if w.startswith("copy") else "fp16", "bf16")
    )
    assert out.stat().st_size <= 20 * 2**20 and summary["packed_bytes"] == out.stat().st_size
    with tarfile.open(out) as tar:
        names = tar.getnames()
        assert names[0] == triton_cache.MANIFEST
        assert {Path(n).suffix for n in names[1:]} == {
            ".cubin",
            ".json",
        }  # no .ttir/.ttgir/.llir/.ptx/.source
        groups = [n for n in names if Path(n).name.startswith("__grp__")]
        assert len(groups) == 6
        for name in groups:
            children = json.loads(tar.extractfile(name).read())["child_paths"]
            assert all(n == path and "/" not in path for n, path in children.items())  # relocatable


def test_a_second_pass_in_a_fresh_process_compiles_nothing(built):
    out, _ = built
    proc = _builder("--out", str(out), "--verify", *SMALL)
    summary = _summary(proc)
    assert proc.returncode == 0 and summary == {"compiles": 0, "hits": 6, "missed": []}


def test_a_case_outside_the_cache_is_compiled_and_named(built):
    out, _ = built
    proc = _builder("--out", str(out), "--verify", "--only", "triad", "--shapes", "n2^26")
    summary = _summary(proc)
    assert proc.returncode == 1 and summary["compiles"] == 2
    assert summary["missed"] == ["triad-n2^26-bf16-triton", "triad-n2^26-fp32-triton"]


def test_install_rewrites_the_paths_and_refuses_another_triton_build(built, tmp_path):
    out, _ = built
    status = triton_cache.install(out, tmp_path / "cache", "cuda:90")
    assert status.used and "6 kernels" in status.message
    for grp in (tmp_path / "cache").rglob("__grp__*.json"):
        for path in json.loads(grp.read_text())["child_paths"].values():
            assert Path(path).is_absolute() and Path(path).is_file()
    assert not triton_cache.check(out, "cuda:100").used  # another GPU
    moved = tmp_path / "moved.tgz"
    manifest = {**triton_cache.read_manifest(out), "triton_hash": "0" * 64, "triton_version": "3.5.0"}
    with tarfile.open(moved, "w:gz") as tar:
        triton_cache._add(tar, triton_cache.MANIFEST, json.dumps(manifest).encode())
    status = triton_cache.check(moved, "cuda:90")
    assert not status.used and "built with Triton 3.5.0 build 000000000000" in status.message
    assert "kernels compile here" in status.message
    assert not triton_cache.check(tmp_path / "nothing.tgz", "cuda:90").used


@pytest.mark.skipif(not os.environ.get("GPUCOMPARE_COMPILE_ALL"), reason="slow: set GPUCOMPARE_COMPILE_ALL=1")
def test_autotuned_gemm_configs_are_all_cached(tmp_path):
    out = tmp_path / "sm90.tgz"
    args = ("--only", "gemm_decode", "--shapes", "llama3-70b-out-m8")
    build = _summary(_builder("--out", str(out), *args))
    assert build["compiles"] >= 2  # every config the autotuner keeps after pruning
    proc = _builder("--out", str(out), "--verify", *args)
    assert proc.returncode == 0 and _summary(proc)["compiles"] == 0


def test_the_runner_installs_a_matching_cache_and_says_why_not_otherwise(
    built, tmp_path, monkeypatch, capsys
):
    import io

    import torch

    from gpucompare import cli
    from gpucompare.measure import runner

    out, _ = built
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    monkeypatch.setattr(runner.hw, "compute_capability", lambda device=None: (9, 0))
    said = io.StringIO()
    status = runner.use_triton_cache(torch.device("cuda"), out, said)
    assert (
        status["used"]
        and status["kernels"] == 6
        and status["triton_hash"] == triton_cache.triton_build_hash()
    )
    assert said.getvalue().startswith(f"gpucompare: Triton cache at {out}: 6 kernels, installed into")
    assert len(list((tmp_path / "triton").rglob("*.cubin"))) == 6
    monkeypatch.setattr(runner.hw, "compute_capability", lambda device=None: (8, 0))
    status = runner.use_triton_cache(torch.device("cuda"), out, said)
    assert not status["used"] and "built for cuda:90, this GPU is cuda:80" in said.getvalue()
    assert not runner.use_triton_cache(torch.device("cpu"), out)["used"]
    assert cli.main(["cache", "check", "--out", str(out)]) == 0
    assert cli.main(["cache", "check", "--out", str(tmp_path / "none.tgz")]) == 1
    assert "no prebuilt Triton cache" in capsys.readouterr().out


# The kernels an H100/H200 launches for each tier case (the Hopper path, kernels/_common.use_hopper_path):
# (workload, dtypes) -> kernel names. The builder's meta tensors must take this path, or the cache holds the
# portable kernels and the GPU compiles everything itself (issue 18 item 1).
HOPPER_KERNELS = {
    ("gemm", ("fp16", "bf16", "fp8")): {"_gemm_persistent"},
    ("gemm_decode", ("fp16", "bf16", "fp8")): {"_gemm_skinny", "_splitk_reduce"},
    ("attention_fwd", ("fp16", "bf16")): {"_attn_fwd_sm90"},
    ("attention_bwd", ("fp16", "bf16")): {"_attn_fwd_sm90", "_attn_bwd_sm90"},
}
PORTABLE_16BIT = {"_matmul_kernel", "_attn_fwd", "_attn_bwd_dkdv", "_attn_bwd_dq"}


def test_the_builder_takes_the_hopper_path_and_compiles_every_kernel_it_launches():
    """Over the whole GPU tier in count mode (every compile declined: seconds, no ptxas): each case of the
    families above launches its Hopper kernels, never the portable ones, and the builder asked to compile
    every one of them."""
    code = (
        "import json, os; os.environ['TRITON_INTERPRET'] = '0'\n"
        "from gpucompare.measure import cache_build\n"
        "print(json.dumps(cache_build.compile_tier(count_only=True)))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    env.pop("TRITON_INTERPRET", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    compiled = set(report["compiled_names"])
    seen = set()
    for case in report["cases"]:
        workload, dtype = case["case"].split("-")[0], case["case"].split("-")[-2]
        for (w, dtypes), names in HOPPER_KERNELS.items():
            if w == workload and dtype in dtypes:
                seen.add((w, dtype))
                assert names <= set(case["kernels"]), case
                assert not PORTABLE_16BIT & set(case["kernels"]), case
    assert seen == {(w, d) for (w, dtypes) in HOPPER_KERNELS for d in dtypes}  # every family in the tier
    # the backward's autotune key holds the dtype: bf16 is tuned (and its configs compiled) like fp16, not
    # served the fp16 winner
    bench = {c["case"]: c["benchmarks"] for c in report["cases"]}
    for case, n in bench.items():
        if case.startswith("attention_bwd-") and "-fp16-" in case:
            assert bench[case.replace("-fp16-", "-bf16-")] == n > 0, case
    assert set().union(*HOPPER_KERNELS.values()) <= compiled


def test_verify_names_a_kernel_missing_from_the_packed_cache(built, tmp_path):
    out, _ = built
    holed = tmp_path / "holed.tgz"
    with tarfile.open(out) as src, tarfile.open(holed, "w:gz") as dst:
        dropped = {Path(n).parent.name for n in src.getnames() if n.endswith("_decode_reduce.cubin")}
        assert dropped
        for member in src:
            if Path(member.name).parent.name not in dropped:
                dst.addfile(member, src.extractfile(member))
    proc = _builder("--out", str(holed), "--verify", *SMALL)
    assert proc.returncode == 1
    assert (
        "decode_attention-llama3-70b-b8-ctx32k-bf16-triton: _decode_reduce not in the packed cache"
        in proc.stdout
    )
    assert _summary(proc)["compiles"] >= 1


def test_jobs_split_the_cases_over_processes_and_merge_them_back_in_the_tiers_order():
    """``--jobs 2`` (count mode: no ptxas) gives the cases, compiles and benchmarks of ``--jobs 1``."""
    args = ("--count", "--only", "gemm_decode", "--shapes", "llama3-70b-out-m8", "--dtypes", "bf16,fp16")
    one, two = _builder(*args), _builder(*args, "--jobs", "2")
    assert one.returncode == two.returncode == 0, two.stderr[-2000:]
    assert one.stdout == two.stdout and _summary(one)["compiles"] > 0
