#!/usr/bin/env bash
# The GPU campaign (issues 6 and 13), one step per device call, so each stays under the 10-minute command limit.
#
# On the CPU machine first (no GPU needed; ~10 minutes on 2 cores, do it while preparing the call):
#   bash scripts/gpu_campaign.sh cache   # gpucompare cache build: every Triton kernel the tier compiles, for sm_90,
#                                        # packed (cubin + metadata, 14 MB gzipped) in .triton-cache/sm90.tgz (git-ignored):
#                                        # name ".triton-cache" in the device call's carry
# Then on the GPU machine, from the repository root (torch/Triton already installed there):
#   bash scripts/gpu_campaign.sh tier    # the whole GPU tier in ONE call with the cache (estimate: 2.5-5 min,
#                                        # kernels/NOTES.md); the log says whether the cache was used, and why not
#   bash scripts/gpu_campaign.sh tests   # GPU-marked tests at real sizes (bf16, fp8 included) + sm_90 compile check
#   bash scripts/gpu_campaign.sh run --only gemm,gemm_decode        # without a usable cache: the tier in three
#   bash scripts/gpu_campaign.sh run --only attention_fwd,decode_attention,copy,triad   # parts, each under
#   bash scripts/gpu_campaign.sh run --only attention_bwd               # 10 minutes (compile + autotune there)
#                                        # -> results/runs/<date>-<host>-<chip>[-N]/
#   bash scripts/gpu_campaign.sh pack    # tar results/runs into $OUT (the device tool brings back <= 8 files)
#
# Every step writes its log under ${OUT:-/tmp/gpucompare-out}. Nothing here edits a measured number.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpucompare-out}
mkdir -p "$OUT"
# No install needed (the device has no package index): from a source checkout, gpucompare finds kernels/ and
# seeds/ beside src/ by itself.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

step=${1:-run}
case "$step" in
  tests)
    { nvidia-smi; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; } >"$OUT/machine.txt" 2>&1
    python -m pytest -q -m gpu tests/ -p no:cacheprovider 2>&1 | tail -60 >"$OUT/gpu-tests.txt"
    ;;
  cache)
    python -m gpucompare cache build --target sm90 --out .triton-cache/sm90.tgz 2>&1 | tail -5
    python -m gpucompare cache check --out .triton-cache/sm90.tgz
    ;;
  tier)
    shift || true
    # 0.5 s of timing budget per implementation (a stable median stops after 10 samples anyway): the tier fits
    # one call even if every implementation were noisy (kernels/NOTES.md, "Device time of the GPU tier").
    python -m gpucompare run --tier gpu --no-progress --budget 0.5 --triton-cache .triton-cache/sm90.tgz "$@" 2>&1 \
      | tee "$OUT/tier-$(date -u +%H%M%S).log" | tail -80
    ;;
  run)
    shift || true
    python -m gpucompare run --tier gpu --no-progress "$@" 2>&1 | tee "$OUT/run-$(date -u +%H%M%S).log" | tail -80
    ;;
  pack)
    tar czf "$OUT/runs.tgz" results/runs
    ls -la "$OUT"
    ;;
  *)
    echo "usage: $0 cache|tier|tests|run|pack" >&2
    exit 2
    ;;
esac
