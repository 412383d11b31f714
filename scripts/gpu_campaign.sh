#!/usr/bin/env bash
# The GPU campaign (issues 6, 13 and 18).
#
# ONE device call does it all (on an H100 or an H200; machine.json says which):
#   bash scripts/gpu_campaign.sh all     # machine -> precompile -> smoke -> tier -> pack, every file straight under $OUT
#
#   1. machine   $OUT/machine.json: kind (h100/h200), device, Python/torch/Triton/CUDA, libtriton.so hash, nvidia-smi -L
#   2. precompile  every Triton kernel the tier launches, for this GPU's own target, into its local Triton cache, in
#                $(nproc) processes (gpucompare cache build --target local --jobs N; ~20-30 s estimated on 16 cores,
#                kernels/NOTES.md); a carried .triton-cache/sm90.tgz is installed first when its Triton build,
#                Python and libtriton.so match (optional: it only saves the precompile's compiles)
#   3. smoke     every autotune config the tier will try, launched once under a watchdog (gpucompare.measure.smoke):
#                a hung or faulting config is recorded in $OUT/smoke.jsonl and pruned; the tier goes on without it
#   4. tier      one `gpucompare run` per workload, each under its own time limit (LIMITS below), records appended
#                as measured under $OUT/live/<run>/ (two folders deep), then collected into $OUT/records.jsonl and
#                $OUT/runs.jsonl as each workload ends: a kill returns every finished record
#   5. pack      $OUT/runs.tgz: the whole run folders (run.json, records.jsonl, records.csv) for results/runs/
#   Everything is logged to $OUT/campaign.log. At most 7 files come back (the device tool returns 8).
#   GPUCOMPARE_TIER=cpu runs the same steps on a CPU (the CI rehearsal, tests/test_campaign_rehearsal.py): the
#   precompile then builds a small case set for sm_90 here, the tier is the CPU tier.
#
# Older steps, one per call:
#   bash scripts/gpu_campaign.sh cache   # on the CPU machine: gpucompare cache build for sm_90, packed to
#                                        # .triton-cache/sm90.tgz (git-ignored; name ".triton-cache" in the call's carry)
#   bash scripts/gpu_campaign.sh tier    # the whole GPU tier in one process, with the cache when it matches
#   bash scripts/gpu_campaign.sh tests   # GPU-marked tests at real sizes (bf16, fp8 included) + sm_90 compile check
#   bash scripts/gpu_campaign.sh run --only gemm,gemm_decode   # a part of the tier
#   bash scripts/gpu_campaign.sh pack    # tar results/runs into $OUT
#
# Every step writes under ${OUT:-/tmp/gpucompare-out}. Nothing here edits a measured number.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpucompare-out}
mkdir -p "$OUT"
# No install needed (the device has no package index): from a source checkout, gpucompare finds kernels/ and
# seeds/ beside src/ by itself.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# the device's Python with torch is `python3` (no `python` there); a virtual environment's python3 here
PY=${PYTHON:-python3}

step=${1:-run}

# seconds per workload in the `all` step (a hung one is stopped there and the next goes on); override with
# GPUCOMPARE_LIMITS="gemm=120 attention_bwd=150 ..."; no workload starts past GPUCOMPARE_DEADLINE_S (560 s after
# the campaign's start: the device tool's 600 s command limit, less the pack and a margin).
# (about 1.5-2x each workload's estimated time at --budget 0.5 with the kernels precompiled, + a process start;
# kernels/NOTES.md "Issue 18"; the worst case of the whole call stays under the device tool's 600 s)
declare -A LIMIT=([gemm]=150 [gemm_decode]=45 [attention_fwd]=80 [attention_bwd]=100 [decode_attention]=30
                  [copy]=20 [triad]=20)
for kv in ${GPUCOMPARE_LIMITS:-}; do LIMIT[${kv%%=*}]=${kv#*=}; done

say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/campaign.log"; }

campaign() {
  local tier=${GPUCOMPARE_TIER:-gpu} only=${GPUCOMPARE_ONLY:-} jobs=${GPUCOMPARE_JOBS:-$(nproc)}
  local work=${GPUCOMPARE_WORK:-/tmp/gpucompare-campaign} t0=$SECONDS
  local budget=${GPUCOMPARE_DEADLINE_S:-560}  # from the campaign's start: the device call's 600 s, less a margin
  mkdir -p "$work"
  say "campaign: tier $tier${only:+, only $only}, $jobs jobs, OUT=$OUT"
  "$PY" -m gpucompare.measure.campaign machine "$OUT/machine.json" 2>&1 | tee -a "$OUT/campaign.log"
  nvidia-smi >>"$OUT/campaign.log" 2>&1 || true

  say "precompile"
  export TRITON_CACHE_DIR=${TRITON_CACHE_DIR:-$work/triton}
  if [ "$tier" = gpu ]; then
    if [ -f .triton-cache/sm90.tgz ]; then
      "$PY" -c "import sys; from gpucompare.measure import triton_cache as t; s = t.install(sys.argv[1], sys.argv[2], None); print(s.message)" \
        .triton-cache/sm90.tgz "$TRITON_CACHE_DIR" 2>&1 | tee -a "$OUT/campaign.log"
    fi
    "$PY" -m gpucompare cache build --target local --jobs "$jobs" ${only:+--only "$only"} 2>&1 | tail -1 | tee -a "$OUT/campaign.log"
  else  # the rehearsal: the same builder, for sm_90 here, on a one-kernel case set
    "$PY" -m gpucompare cache build --target sm90 --jobs "$jobs" --only copy --shapes 'n2^26' --dtypes bf16 \
      --out "$work/sm90-small.tgz" 2>&1 | tail -1 | tee -a "$OUT/campaign.log"
  fi

  say "smoke"
  "$PY" -m gpucompare.measure.smoke --tier "$tier" ${only:+--only "$only"} --out "$OUT/smoke.jsonl" \
    --total-timeout "${GPUCOMPARE_SMOKE_S:-120}" 2>&1 | tail -1 | tee -a "$OUT/campaign.log"
  export GPUCOMPARE_PRUNED_CONFIGS="$OUT/smoke.jsonl"

  local w limit left
  for w in $("$PY" -m gpucompare.measure.campaign workloads ${only:+--only "$only"}); do
    left=$(( budget - (SECONDS - t0) ))
    limit=${LIMIT[$w]:-60}
    (( limit > left )) && limit=$left
    if (( limit < 5 )); then say "tier: $w not run: the tier's time is spent"; continue; fi
    say "tier: $w (limit ${limit} s)"
    timeout -k 10 "$limit" "$PY" -m gpucompare run --tier "$tier" --only "$w" --out "$OUT/live" --budget 0.5 \
      --no-progress >>"$OUT/campaign.log" 2>&1
    local rc=$?
    (( rc == 124 || rc == 137 )) && say "tier: $w stopped at its limit (${limit} s); its finished records are kept"
    "$PY" -m gpucompare.measure.campaign collect "$OUT/live" "$OUT" "$work/done" 2>&1 | tee -a "$OUT/campaign.log"
  done
  rmdir "$OUT/live" 2>/dev/null || true
  tar czf "$OUT/runs.tgz" -C "$work/done" . && say "pack: $OUT/runs.tgz"
  say "campaign done in $(( SECONDS - t0 )) s"
}

case "$step" in
  all)
    campaign
    ;;
  tests)
    { nvidia-smi; "$PY" -c "import torch, triton; print(torch.__version__, triton.__version__)"; } >"$OUT/machine.txt" 2>&1
    "$PY" -m pytest -q -m gpu tests/ -p no:cacheprovider 2>&1 | tail -60 >"$OUT/gpu-tests.txt"
    ;;
  cache)
    "$PY" -m gpucompare cache build --target sm90 --out .triton-cache/sm90.tgz 2>&1 | tail -5
    "$PY" -m gpucompare cache check --out .triton-cache/sm90.tgz
    ;;
  tier)
    shift || true
    # 0.5 s of timing budget per implementation (a stable median stops after 10 samples anyway): the tier fits
    # one call even if every implementation were noisy (kernels/NOTES.md, "Device time of the GPU tier").
    cache_arg=()  # an explicit --triton-cache that does not exist is an error: name it only when carried
    [ -f .triton-cache/sm90.tgz ] && cache_arg=(--triton-cache .triton-cache/sm90.tgz)
    "$PY" -m gpucompare run --tier gpu --no-progress --budget 0.5 "${cache_arg[@]}" "$@" 2>&1 \
      | tee "$OUT/tier-$(date -u +%H%M%S).log" | tail -80
    ;;
  run)
    shift || true
    "$PY" -m gpucompare run --tier gpu --no-progress "$@" 2>&1 | tee "$OUT/run-$(date -u +%H%M%S).log" | tail -80
    ;;
  pack)
    tar czf "$OUT/runs.tgz" results/runs
    ls -la "$OUT"
    ;;
  *)
    echo "usage: $0 all|cache|tier|tests|run|pack" >&2
    exit 2
    ;;
esac
