"""What a healthy chip should reach: per workload (GEMM per dtype, attention, decode, copy, all-reduce bus
bandwidth per size) the calibrated model's figure, the band its validation gives, and the evidence behind
it; and a measured record set against that band ("below its band": check clocks, power, temperature).

The figures are projections (``gpucompare.model``: :func:`~gpucompare.model.predict.predict_target` over the
ledger and the given GPU records, expected error from the leave-one-chip-out validation; collectives from
:mod:`gpucompare.model.comm`, band from its leave-one-chip-out check). Nothing here is measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpucompare import fmt
from gpucompare.specs import Chip, ChipDB, load_chips

#: (workload, dtypes tried in order): the single-GPU expectations, each at the workload's first GPU shape.
KERNELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gemm", ("fp8", "bf16", "fp16", "tf32", "fp32")),
    ("attention_fwd", ("bf16",)),
    ("decode_attention", ("bf16",)),
    ("copy", ("bf16",)),
)
ALL_REDUCE_SIZES = (1 << 20, 64 << 20, 1 << 30)  # nccl-tests sizes (bytes): latency, middle, bandwidth
RANKS = 8


@dataclass(frozen=True)
class Expectation:
    """One figure a healthy ``chip`` should reach: ``value`` in ``unit`` (a rate: more is better), the band
    ``[low, high]`` (None: no validated error), what the band and the value rest on."""

    chip: str
    workload: str
    shape: str
    dtype: str
    unit: str
    value: float | None
    low: float | None = None
    high: float | None = None
    band: str = ""
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def verdict(self, measured: float) -> str:
        """A measured rate against the band: "below its band", "within", "above" or "no band"."""
        if self.low is None or self.high is None:
            return "no band"
        if measured < self.low:
            return "below its band"
        return "above its band" if measured > self.high else "within its band"


def _shape_text(shape: Mapping[str, Any]) -> str:
    if set(shape) == {"M", "N", "K"}:
        return f"{shape['M']}×{shape['N']}×{shape['K']}"
    return ", ".join(f"{k}={v}" for k, v in shape.items())


def _band(value: float, err: float | None) -> tuple[float | None, float | None]:
    if err is None or not math.isfinite(err):
        return None, None
    return value * max(1 - err, 0.0), value * (1 + err)


class Model:
    """The calibrated model fitted once (ledger and the given GPU records) for several expectations."""

    def __init__(self, db: ChipDB | None = None, measured: Sequence[Any] = (), exclude: str | None = None):
        from gpucompare.model.calibration import fit
        from gpucompare.model.predict import evidence_pool

        self.db = db or load_chips()
        self.pool = evidence_pool(self.db, measured, exclude)
        self.cal = fit(self.pool, self.db)

    def kernel(self, chip: Chip, workload: str, shape: Mapping[str, Any], dtype: str) -> Expectation:
        """The expectation of one kernel (its rate: TFLOP/s when compute-bound, GB/s when memory-bound); the
        band is the model's p90 error of the prediction's class and level (leave one chip out)."""
        from gpucompare.model.predict import Target, predict_target, with_error

        p = predict_target(Target(chip.id, workload, dict(shape), dtype), self.pool, self.cal, self.db)
        text = _shape_text(shape)
        if p.status != "ok" or p.time_s is None:
            return Expectation(chip.id, workload, text, dtype, "", None, band=f"{p.status}: {p.reason}")
        p = with_error(p)
        memory = p.bound == "memory" or not p.tflops
        unit, value = ("GB/s", p.gbps) if memory else ("TFLOP/s", p.tflops)
        low, high = _band(value, p.expected_p90)
        if p.expected_p90 is not None:
            band = f"±{fmt.percent(p.expected_p90, 2)} (p90 error; median {fmt.percent(p.expected_rel_error, 2)}, n={p.expected_n})"
        else:
            band = f"no band: {p.expected_error_basis}"
        if p.indicative:
            band += f"; indicative only: {p.indicative_why}"
        first = p.evidence[0].split("; published:", 1)[0] if p.evidence else "no evidence line"
        evidence = f"{fmt.percent(p.efficiency)} of roofline from '{p.level}' ({p.evidence_kind}); {first}"
        return Expectation(chip.id, workload, text, dtype, unit, value, low, high, band, evidence)


def kernel_expectations(chip: Chip, model: Model) -> list[Expectation]:
    """GEMM per dtype the chip supports, attention, decode and copy, at each workload's first GPU shape."""
    from gpucompare.model.predict import parse_shape

    out = []
    for workload, dtypes in KERNELS:
        shape = parse_shape(workload, None)
        for dtype in dtypes:
            if chip.peak_status(dtype) == "unsupported" or chip.peak_tflops.get(dtype) is None:
                continue
            out.append(model.kernel(chip, workload, shape, dtype))
    return out


def all_reduce_expectations(chip: Chip, db: ChipDB | None = None) -> list[Expectation]:
    """All-reduce bus bandwidth on 8 ranks per size, from the communication model fitted on the published
    collective results, with the band of its leave-one-chip-out check (median |error| of all-reduce)."""
    from gpucompare.model import comm
    from gpucompare.specs.published import load_published
    from gpucompare.workloads.collective import bus_factor

    db = db or load_chips()
    chips = {c.id: c for c in db}
    points = comm.published_points(load_published())
    fit = comm.class_fit(points, chips, chip, "all_reduce", RANKS)
    checks = [c for c in comm.validate_published(points, chips) if c.op == "all_reduce"]
    err = comm.median_abs_error(checks)
    band = (
        f"±{fmt.percent(err, 2)} (median |error| of {len(checks)} published all-reduce figures, leave one chip out)"
        if err is not None
        else "no band: no published all-reduce figure validated"
    )
    out = []
    for size in ALL_REDUCE_SIZES:
        shape = f"{size >> 30} GiB" if size >= 1 << 30 else f"{size >> 20} MiB"
        shape += f" on {RANKS} ranks"
        if fit is None:
            out.append(
                Expectation(chip.id, "all_reduce busbw", shape, "bf16", "GB/s", None, band="no evidence")
            )
            continue
        t, how = comm.predict("all_reduce", size, RANKS, chip, fit)
        if t is None:
            out.append(Expectation(chip.id, "all_reduce busbw", shape, "bf16", "GB/s", None, band=how))
            continue
        busbw = size * bus_factor("all_reduce", RANKS) / t / 1e9
        low, high = _band(busbw, err)
        evidence = f"{how}; {len(fit.evidence)} published source(s)"
        out.append(
            Expectation(chip.id, "all_reduce busbw", shape, "bf16", "GB/s", busbw, low, high, band, evidence)
        )
    return out


def expectations(chip: str, db: ChipDB | None = None) -> list[Expectation]:
    """Everything a healthy ``chip`` (any name the database resolves) should reach."""
    db = db or load_chips()
    c = db.get(chip)
    return [*kernel_expectations(c, Model(db)), *all_reduce_expectations(c, db)]
