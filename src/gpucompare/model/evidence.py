"""Evidence for the calibrated projection: published ledger entries and runs made here, as observations.

An :class:`Observation` is one achieved figure on one chip, placed on that chip's roofline:

    t = F / value (TFLOP/s), B / value (GB/s) or value (seconds); t* = max(F / P(d), B / BW)
    e = t* / t, bound = the larger term ("compute" or "memory")

A memory-bound entry in a dtype the suite does not measure (BabelStream's fp64 copy: ``registered`` False)
gives its GB/s directly: ``e = GB/s / BW``. An entry whose chip lacks the dtype's peak (Ascend 910B bf16),
a tokens/s figure or a collective gives no observation; :func:`observations` lists it with the reason.

Every observation keeps its ``kind``: ``published`` (a ledger entry, with its source) or ``measured-here``
(a GPU run of this project; cpu-fallback runs never feed it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpucompare.model.roofline import TERA, Measured
from gpucompare.specs import Chip, ChipDB
from gpucompare.specs.published import PublishedEntry

#: Workload classes the projection is validated on (and the headline compares), in display order.
CLASSES = ("compute-bound GEMM", "attention", "memory-bound decode", "bandwidth")
_CLASS_OF = {
    "gemm": "compute-bound GEMM",
    "attention_fwd": "attention",
    "attention_bwd": "attention",
    "decode_attention": "memory-bound decode",
    "gemm_decode": "memory-bound decode",
    "copy": "bandwidth",
    "triad": "bandwidth",
}


#: Classes ``gpucompare validate`` reports (attention split into its forward and backward passes).
VALIDATION_CLASSES = (
    "GEMM",
    "attention fwd",
    "attention bwd",
    "decode",
    "decode, latency-bound",
    "bandwidth",
)
#: A decode call is latency-bound, not memory-bound, when its memory roofline time B / BW on its chip is under
#: this: a fixed cost of at least ~5 us a call (launch, pipeline fill, the tail of one wave; the ledger's small
#: calls run 1-20 us above their family's large-call rate) caps it below 80 % of the bandwidth. The rule,
#: stated once: such a figure is validated in its own class (:func:`decode_regime`), not with memory-bound decode.
LATENCY_BOUND_S = 20e-6
_VCLASS_OF = {
    "gemm": "GEMM",
    "attention_fwd": "attention fwd",
    "attention_bwd": "attention bwd",
    "decode_attention": "decode",
    "gemm_decode": "decode",
    "copy": "bandwidth",
    "triad": "bandwidth",
}


def validation_class(workload: str) -> str | None:
    """The class of a workload in validation (:data:`VALIDATION_CLASSES`), None when not modelled."""
    return _VCLASS_OF.get(workload)


def decode_regime(klass: str | None, nbytes: float, bandwidth_tbps: float | None) -> str | None:
    """The validation class of a figure: ``klass``, except a decode call whose B / BW is under
    :data:`LATENCY_BOUND_S` (``decode, latency-bound``). Without a byte count or bandwidth it stays decode."""
    if klass != "decode" or not nbytes or not bandwidth_tbps:
        return klass
    return "decode, latency-bound" if nbytes / (bandwidth_tbps * TERA) < LATENCY_BOUND_S else klass


def workload_class(workload: str) -> str | None:
    """The class of a workload (:data:`CLASSES`), None for one the projection does not model."""
    return _CLASS_OF.get(workload)


def shape_text(shape: Mapping[str, Any]) -> str:
    """``M=4096,N=4096,K=4096``: a shape's parameters in their order."""
    return ",".join(f"{k}={v}" for k, v in shape.items())


@dataclass(frozen=True)
class Observation:
    """One achieved figure on one chip, on its roofline (see the module docstring)."""

    id: str
    kind: str  # "published" | "measured-here"
    chip: str
    workload: str
    shape: Mapping[str, Any]
    dtype: str
    group: str  # one script or harness: efficiencies compare within a group
    efficiency: float
    bound: str  # "compute" | "memory" on this chip
    flops: float
    bytes: float
    label: str  # where the figure comes from (source and place, or run id)
    implementation: str = "other"  # the library or kernel family (ledger ``implementation``; impl of a run)
    source: str = ""  # the publication (ledger source URL) or the run: "rests on one source" counts these

    @property
    def klass(self) -> str | None:
        return workload_class(self.workload)


def work(workload: str, shape: Mapping[str, Any], dtype: str) -> tuple[float, float]:
    """(FLOPs, bytes) of a registered workload at a shape, from the workload registry (the one cost model)."""
    from gpucompare.workloads import Shape, get_workload

    wl = get_workload(workload)
    s = Shape("given", dict(shape))
    return float(wl.flops(s)), float(wl.bytes(s, dtype))


def roofline_terms(chip: Chip, flops: float, nbytes: float, dtype: str) -> tuple[float, float] | str:
    """(F / P(dtype), B / BW) in seconds on ``chip``, or why not (a missing peak or bandwidth)."""
    t_c = t_m = 0.0
    if flops > 0:
        status = chip.peak_status(dtype)
        if status != "known":
            return f"{chip.id}: {dtype} peak is {status}"
        t_c = flops / (chip.peak_tflops[dtype] * TERA)
    if nbytes > 0:
        if not chip.bandwidth_tbps:
            return f"{chip.id}: memory bandwidth is not known"
        t_m = nbytes / (chip.bandwidth_tbps * TERA)
    return t_c, t_m


def _bytes_or_zero(e: PublishedEntry) -> float:
    return decode_bytes(e.workload, e.shape, e.dtype)


def decode_bytes(workload: str, shape: Mapping[str, Any], dtype: str) -> float:
    """About the bytes a decode figure given as GB/s only moves: its workload's cost model in fp16 scaled to
    the dtype's element size (an fp8 KV cache: 1 byte an element); 0 otherwise (STREAM's GB/s is the benchmark's own count). Only
    the size comparison of memory-bound evidence uses it (a small decode call is latency-bound)."""
    from gpucompare.workloads import get_workload
    from gpucompare.workloads.base import Shape

    if validation_class(workload) != "decode":
        return 0.0
    from gpucompare.dtypes import get as dtype_info

    try:  # its cost model in fp16, scaled to the dtype's element size: the size to within the output's share
        fp16 = get_workload(workload).bytes(Shape("given", dict(shape)), "fp16")
        return float(fp16) * dtype_info(dtype).bytes / 2
    except (KeyError, ValueError):
        return 0.0


def _entry_time(e: PublishedEntry, flops: float, nbytes: float) -> float | str:
    if e.metric == "time_s":
        return e.value
    if e.metric == "tflops":
        return flops / (e.value * TERA)
    if e.metric == "gbps":
        return nbytes / (e.value * 1e9)
    return f"a {e.metric} figure has no roofline time"


#: Kernel libraries written for one architecture, with another code path elsewhere: FlashAttention-3 is built on
#: Hopper's wgmma and TMA (its Ampere build is a separate, older-style kernel), FlashAttention-4 on Blackwell's
#: tcgen05 (its Hopper path is another kernel). The rule, stated once: a figure of such a library on a chip of
#: another architecture is its own implementation family (:func:`family_key`), so efficiency never transfers
#: between the two code paths as if they were one kernel.
NATIVE_ARCHITECTURE = {"flashattention-3": "Hopper", "flashattention-4": "Blackwell"}


def family_key(implementation: str, architecture: str | None) -> str:
    """The implementation family of a figure: the ledger's ``implementation``, with `` (<arch> path)`` added
    when the library is native to another architecture than the chip's (:data:`NATIVE_ARCHITECTURE`; the
    architecture's first word: "Blackwell Ultra" is Blackwell). An unknown architecture keeps the name."""
    native = NATIVE_ARCHITECTURE.get(implementation)
    arch = (architecture or "").split(" ")[0]
    if native is None or not arch or arch == native:
        return implementation
    return f"{implementation} ({arch} path)"


def from_entry(e: PublishedEntry, db: ChipDB) -> Observation | str:
    """The entry as an observation, or the reason it gives none."""
    chip = db.find(e.chip)
    if chip is None:  # a ledger over the packaged chips, judged against another chip database
        return f"chip {e.chip!r} is not in this chip database"
    base = dict(id=e.id, kind="published", chip=chip.id, workload=e.workload, shape=e.shape, dtype=e.dtype)
    family = family_key(e.implementation, chip.architecture)
    base.update(group=e.group, label=e.evidence, implementation=family, source=e.source["url"])
    if workload_class(e.workload) is None:
        return f"workload {e.workload!r} is not modelled by the projection"
    if not e.registered:
        if e.metric != "gbps" or not chip.bandwidth_tbps:
            return f"{e.dtype} {e.workload}: only a GB/s figure on a chip with a known bandwidth is usable"
        eff = e.value / (chip.bandwidth_tbps * 1e3)
        return Observation(**base, efficiency=eff, bound="memory", flops=0.0, bytes=_bytes_or_zero(e))
    flops, nbytes = work(e.workload, e.shape, e.dtype)
    terms = roofline_terms(chip, flops, nbytes, e.dtype)
    t = _entry_time(e, flops, nbytes)
    if isinstance(terms, str) or isinstance(t, str):
        return terms if isinstance(terms, str) else str(t)
    bound = "compute" if terms[0] >= terms[1] else "memory"
    return Observation(**base, efficiency=max(terms) / t, bound=bound, flops=flops, bytes=nbytes)


def from_measured(m: Measured) -> Observation | None:
    """A GPU run record made here (best implementation) as an observation; None for a pipeline check."""
    if m.pipeline_check or not m.chip_id:
        return None
    return Observation(
        id=f"{m.run_id}:{m.workload}/{m.shape_label}/{m.dtype}/{m.impl}",
        kind="measured-here",
        chip=m.chip_id,
        workload=m.workload,
        shape=dict(m.shape),
        dtype=m.dtype,
        group=f"measured-here:{m.impl}",
        efficiency=m.efficiency,
        bound=m.bound,
        flops=m.flops,
        bytes=m.bytes,
        label=f"measured here: run {m.run_id} ({m.device_name}, impl {m.impl})",
        implementation=f"measured-here:{m.impl}",
        source=f"run {m.run_id}",
    )


def observations(
    entries: Iterable[PublishedEntry],
    db: ChipDB,
    measured: Sequence[Measured] = (),
    include_unrepresentative: bool = False,
) -> tuple[list[Observation], list[tuple[str, str]]]:
    """Every usable observation (ledger entries, then GPU runs made here) and the (entry id, reason) of
    the entries that give none. An unrepresentative entry (its source reports a regression, a bug or a
    low figure) gives none unless ``include_unrepresentative``."""
    out: list[Observation] = []
    skipped: list[tuple[str, str]] = []
    for e in entries:
        if not e.representative and not include_unrepresentative:
            skipped.append((e.id, f"unrepresentative: {e.representative_why}"))
            continue
        obs = from_entry(e, db)
        if isinstance(obs, str):
            skipped.append((e.id, obs))
        else:
            out.append(obs)
    out.extend(o for m in measured if (o := from_measured(m)) is not None)
    return out, skipped
