"""The peaks a measurement is compared with on *this* device (:func:`local_peaks`):

- a chip of the database: its dense spec peaks (source ``"spec"``);
- an NVIDIA GPU the database does not know: an estimate from the device's own properties (source
  ``"estimated-from-device"``)::

      peak_TFLOP/s(dtype) = SMs × f_clock × (FLOP / clock / SM)(arch, dtype) / 1e12
      bandwidth_TB/s      = 2 (DDR) × f_mem × bus_width_bits / 8 / 1e12

  with the FLOP/clock/SM table :data:`FLOP_PER_CLOCK_PER_SM` below;
- the CPU: an honest *measured* figure (best of several large ``torch.mm`` and a large ``copy_``;
  source ``"measured-cpu"``), cached per process.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

from gpucompare.dtypes import DTYPES, torch_dtype

#: Dense FLOP per clock per SM by compute capability (major, minor), as the datacenter/workstation parts
#: run them: tensor cores for tf32/bf16/fp16/fp8/fp4/int8 (fp32 accumulate), the vector units for fp32,
#: and fp64 as the spec database counts it (the tensor-core DMMA rate on sm80/sm90, the vector rate
#: elsewhere). None: the architecture has no such path. Derived from datasheet peaks, e.g.
#: A100 bf16 312e12 / (108 SMs × 1.41e9) = 2048; H100 SXM bf16 989.4e12 / (132 × 1.83e9) ≈ 4096;
#: L40S bf16 362e12 / (142 × 2.52e9) ≈ 1024; V100 fp16 125e12 / (80 × 1.53e9) ≈ 1024.
# fmt: off
FLOP_PER_CLOCK_PER_SM: dict[tuple[int, int], dict[str, int | None]] = {
    (7, 0): {"fp64": 64, "fp32": 128, "tf32": None, "bf16": None, "fp16": 1024, "fp8": None, "fp4": None, "int8": None},
    (7, 5): {"fp64": 4, "fp32": 128, "tf32": None, "bf16": None, "fp16": 1024, "fp8": None, "fp4": None, "int8": 2048},
    (8, 0): {"fp64": 128, "fp32": 128, "tf32": 1024, "bf16": 2048, "fp16": 2048, "fp8": None, "fp4": None, "int8": 4096},
    (8, 6): {"fp64": 4, "fp32": 256, "tf32": 512, "bf16": 1024, "fp16": 1024, "fp8": None, "fp4": None, "int8": 2048},
    (8, 9): {"fp64": 4, "fp32": 256, "tf32": 512, "bf16": 1024, "fp16": 1024, "fp8": 2048, "fp4": None, "int8": 2048},
    (9, 0): {"fp64": 256, "fp32": 256, "tf32": 2048, "bf16": 4096, "fp16": 4096, "fp8": 8192, "fp4": None, "int8": 8192},
    (10, 0): {"fp64": 128, "fp32": 256, "tf32": 4096, "bf16": 8192, "fp16": 8192, "fp8": 16384, "fp4": 32768, "int8": 16384},
    (12, 0): {"fp64": 4, "fp32": 256, "tf32": 512, "bf16": 1024, "fp16": 1024, "fp8": 2048, "fp4": 4096, "int8": 2048},
}
# fmt: on

#: GeForce parts of these architectures run tensor-core math with fp32 accumulation (what torch and
#: Triton use) at half the rate of their workstation siblings (RTX 4090: 165 dense fp16 TFLOP/s with fp32
#: accumulate vs 330 with fp16 accumulate); these dtypes are halved for a device named "GeForce".
GEFORCE_HALF_RATE_ARCHS = frozenset({(7, 5), (8, 6), (8, 9), (12, 0)})

GEFORCE_HALF_RATE_DTYPES = frozenset({"tf32", "bf16", "fp16", "fp8", "fp4"})

# CPU peak measurement: n×n fp32 matmuls (best of reps) and a copy of COPY_BYTES.
CPU_MM_SIZES = {"fp32": (2048, 5), "bf16": (1024, 3), "fp16": (256, 2)}

CPU_COPY_BYTES = 128 * 2**20

CPU_PEAK_BUDGET_S = 1.0  # per dtype: repetitions stop early once this is spent (the best so far counts)


def local_peaks(desc: Mapping[str, Any]) -> dict[str, Any]:
    """The peaks of the device ``desc`` (from :func:`describe`) describes.

    Returns ``{"source", "tflops": {dtype: TFLOP/s | None}, "bandwidth_tbps", "chip_id", "notes": [..]}``
    with ``source`` one of ``"spec"``, ``"estimated-from-device"``, ``"measured-cpu"``. Never raises for a
    GPU the database does not know, and never gives another chip's figures.
    """
    mode = desc.get("mode")
    if mode == "cpu-fallback":
        return measured_cpu_peaks()
    if mode != "gpu":
        raise ValueError(
            f"local_peaks needs a describe() dict with mode 'gpu' or 'cpu-fallback', got {mode!r}"
        )
    chip_id = desc.get("chip_id")
    if chip_id:
        from gpucompare.specs import get_chip

        chip = get_chip(chip_id)
        return {
            "source": "spec",
            "tflops": {d: chip.peak_tflops.get(d) for d in DTYPES},
            "bandwidth_tbps": chip.bandwidth_tbps,
            "chip_id": chip.id,
            "notes": [f"dense spec peaks of {chip.id} from the spec database"],
        }
    return estimated_gpu_peaks(desc)


def _parse_cc(cc: Any) -> tuple[int, int] | None:
    if isinstance(cc, (tuple, list)) and len(cc) == 2:
        return int(cc[0]), int(cc[1])
    if isinstance(cc, str) and "." in cc:
        major, minor = cc.split(".", 1)
        if major.isdigit() and minor.isdigit():
            return int(major), int(minor)
    return None


def estimated_gpu_peaks(desc: Mapping[str, Any]) -> dict[str, Any]:
    """Peaks of an NVIDIA GPU the database does not know, from its own properties (see the module doc).

    The clock is the one the device reports (its maximum boost clock): vendors quote tensor peaks at a
    lower sustained clock (H100 SXM: 1830 vs 1980 MHz), so these estimates run high by up to ~10 %.
    """
    notes: list[str] = []
    cc = _parse_cc(desc.get("compute_capability"))
    sms, clock = desc.get("sm_count"), desc.get("clock_rate_mhz")
    name = str(desc.get("device_name") or "")
    table = FLOP_PER_CLOCK_PER_SM.get(cc) if cc is not None else None
    tflops: dict[str, float | None] = dict.fromkeys(DTYPES)
    if table is None:
        notes.append(
            f"no FLOP/clock/SM table for compute capability {desc.get('compute_capability')}: "
            "compute peaks unknown"
        )
    elif not sms or not clock:
        notes.append("SM count or clock rate not reported: compute peaks unknown")
    else:
        geforce = "geforce" in name.lower() and cc in GEFORCE_HALF_RATE_ARCHS
        for dtype in tflops:
            per_clk = table.get(dtype)
            if per_clk is None:
                continue
            if geforce and dtype in GEFORCE_HALF_RATE_DTYPES:
                per_clk //= 2
            tflops[dtype] = sms * clock * 1e6 * per_clk / 1e12
        notes.append(
            f"{sms} SMs × {clock:g} MHz × FLOP/clock/SM of sm_{cc[0]}{cc[1]}, at the reported max clock"
        )
        if geforce:
            notes.append("GeForce: tensor-core rates with fp32 accumulation halved")
    bw = None
    mem_clock, bus = desc.get("memory_clock_mhz"), desc.get("memory_bus_width_bits")
    if mem_clock and bus:
        bw = 2 * mem_clock * 1e6 * bus / 8 / 1e12
        notes.append(f"bandwidth = 2 × {mem_clock:g} MHz × {bus} bits / 8")
    else:
        notes.append("memory clock or bus width not reported: bandwidth unknown")
    if desc.get("chip_match_reason"):
        notes.append(f"not a database chip: {desc['chip_match_reason']}")
    return {
        "source": "estimated-from-device",
        "tflops": tflops,
        "bandwidth_tbps": bw,
        "chip_id": None,
        "notes": notes,
    }


def _best_time(fn: Callable[[], Any], reps: int, budget_s: float = CPU_PEAK_BUDGET_S) -> float:
    """The shortest of up to ``reps`` timed calls; stops early once ``budget_s`` is spent (>= 1 call)."""
    best, start = math.inf, time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start >= budget_s:
            break
    return best


def measured_cpu_peaks() -> dict[str, Any]:
    """Attainable CPU peaks, measured once per process (about one second on two cores); a fresh copy.

    The rate of each dtype d is ``2 n³ / t_best / 1e12`` for an n×n ``torch.mm`` (sizes and repetitions in
    :data:`CPU_MM_SIZES`; fp16 is tiny because torch's CPU fp16 matmul runs at a few GFLOP/s); the roof
    ``tflops[d]`` of every measured dtype is the best of those rates (see the comment in the code), and
    ``bandwidth = 2 × bytes / t_best`` for ``dst.copy_(src)`` of :data:`CPU_COPY_BYTES` (read + write).
    Dtypes not measured are None.
    """
    return copy.deepcopy(_measure_cpu_peaks())


@functools.cache
def _measure_cpu_peaks() -> dict[str, Any]:
    gen = torch.Generator().manual_seed(0)
    tflops: dict[str, float | None] = dict.fromkeys(DTYPES)
    notes = []
    for dtype, (n, reps) in CPU_MM_SIZES.items():
        tdt = torch_dtype(dtype)
        a = torch.randn(n, n, generator=gen).to(tdt)
        b = torch.randn(n, n, generator=gen).to(tdt)
        torch.mm(a, b)  # warm-up
        tflops[dtype] = 2 * n**3 / _best_time(lambda a=a, b=b: torch.mm(a, b), reps) / 1e12
        notes.append(f"{dtype}: best of <= {reps} torch.mm {n}x{n}: {tflops[dtype] * 1e3:.3g} GFLOP/s")
    # The roof for every measured dtype is the best rate of any of them: a CPU kernel may compute a
    # low-precision op in fp32 (torch's CPU attention kernels upcast fp16), so the slow fp16 torch.mm
    # is not a ceiling for fp16 work, and a "% of peak" above 100 % would say the roof is wrong.
    roof = max(v for v in tflops.values() if v is not None)
    tflops = {d: (roof if v is not None else None) for d, v in tflops.items()}
    notes.append("roof per dtype: the best of the measured rates")
    src = torch.ones(CPU_COPY_BYTES // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    dst.copy_(src)
    bw = 2 * CPU_COPY_BYTES / _best_time(lambda: dst.copy_(src), 3) / 1e12
    notes.append(f"bandwidth: best of 3 copy_ of {CPU_COPY_BYTES // 2**20} MiB (read + write)")
    return {"source": "measured-cpu", "tflops": tflops, "bandwidth_tbps": bw, "chip_id": None, "notes": notes}
