#!/usr/bin/env bash
# The GPU campaign (issue 6), one step per device call, so each stays under the 10-minute command limit.
# Run from the repository root on a machine with an NVIDIA GPU and torch/Triton already installed:
#
#   bash scripts/gpu_campaign.sh tests   # GPU-marked tests at real sizes (bf16, fp8 included) + sm_90 compile check
#   bash scripts/gpu_campaign.sh run --only gemm,gemm_decode        # the GPU tier in three parts, each under
#   bash scripts/gpu_campaign.sh run --only attention_fwd,decode_attention,copy,triad   # 10 minutes on a fresh
#   bash scripts/gpu_campaign.sh run --only attention_bwd               # machine (Triton compile + autotune)
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
  run)
    shift || true
    python -m gpucompare run --tier gpu --no-progress "$@" 2>&1 | tee "$OUT/run-$(date -u +%H%M%S).log" | tail -80
    ;;
  pack)
    tar czf "$OUT/runs.tgz" results/runs
    ls -la "$OUT"
    ;;
  *)
    echo "usage: $0 tests|run|pack" >&2
    exit 2
    ;;
esac
