"""The communication model: a collective's time on any chip from its link, fitted on measured or published
collective results.

For collective ``op`` of ``S`` bytes (nccl-tests' size) on ``n`` ranks of chip X::

    t_X = α + S · f(op, n) / (η · B_X)        so that busbw_X = S · f / t_X → η · B_X for large S

- ``B_X``: X's link bandwidth **per direction** (GB/s): ``Chip.interconnect_per_direction_gbps`` for an
  NVLink-class link, else the PCIe x16 rate of ``Chip.pcie_gen`` (:data:`PCIE_X16_GBPS`);
- ``f``: nccl-tests' bus factor (:func:`gpucompare.workloads.collective.bus_factor`);
- ``η``: bus efficiency, ``busbw / B`` at the largest size of the evidence; ``α``: latency, the time of
  the evidence's smallest sizes (≤ 1 MiB) left over after the bandwidth term (median), per op and ``n``.

Evidence is pooled per *class* (:func:`comm_class`): the algorithm (``nvls``: NVLink SHARP all-reduce on a
Hopper/Blackwell NVSwitch board, whose busbw may exceed the wire, η > 1; ``ring``: everything else, bound
by the wire) and the topology (``switch``: SXM boards through NVSwitch; ``bridge``, ``pcie``, ``hccs``,
``infinity-fabric``). A chip with no evidence of its class borrows the ``switch`` class of the same
algorithm, and the result says so. Evidence is measured here (GPU run records of the collective family) or
published (the ledger's ``collective`` entries); :func:`validate_published` predicts each chip's published
figures from the *other* chips' (leave-one-chip-out) and reports the error.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gpucompare.specs import Chip

#: PCIe x16 bandwidth per direction (GB/s): lanes × transfer rate × encoding (8/16/32 GT/s with
#: 128b/130b for Gen 3/4/5; 64 GT/s with 242/256-byte FLITs for Gen 6), from the PCI-SIG base
#: specifications' transfer rates.
PCIE_X16_GBPS: Mapping[int, float] = {3: 15.75, 4: 31.5, 5: 63.0, 6: 121.0}
SMALL_BYTES = 1 << 20  # sizes up to this inform the latency
_SWITCHED = ("nvlink3", "nvlink4", "nvlink5")


@dataclass(frozen=True)
class Point:
    """One collective result: busbw (GB/s) of ``op`` on ``ranks`` ranks of ``chip`` at ``size`` bytes (None
    where the source states no size: it then informs η only)."""

    chip: str
    op: str
    ranks: int
    algorithm: str  # "nvls" | "ring"
    size: int | None
    busbw_gbps: float
    evidence: str  # "measured-here: <run>" | "published: <ledger id>"


@dataclass(frozen=True)
class Fit:
    """η and α of one class, and where they come from."""

    op: str
    ranks: int
    algorithm: str
    topology: str
    eta: float
    alpha_s: float | None  # None: no small-size evidence (the latency term is left out, and said so)
    evidence: tuple[str, ...]
    borrowed: bool = False
    alpha_from: str | None = None  # the class α was borrowed from, when this class has no small sizes


def link_gbps(chip: Chip) -> tuple[float | None, str]:
    """(per-direction link GB/s, what it is) of ``chip``; None with the reason when unknown."""
    if chip.interconnect_gbps is not None:
        kind = chip.link_kind or "link"
        return chip.interconnect_per_direction_gbps, f"{kind} {chip.interconnect_gbps:g} GB/s aggregate / 2"
    if chip.interconnect == "none" and chip.pcie_gen in PCIE_X16_GBPS:
        return PCIE_X16_GBPS[chip.pcie_gen], f"PCIe Gen{chip.pcie_gen} x16 per direction"
    return None, f"no known link bandwidth for {chip.id}"


def topology(chip: Chip) -> str:
    if chip.link_kind in _SWITCHED:
        return "switch"
    return chip.link_kind or ("pcie" if chip.interconnect == "none" else "unknown")


def comm_class(chip: Chip, op: str, algorithm: str = "default") -> tuple[str, str]:
    """(algorithm, topology): NCCL's default all-reduce on an NVLink 4/5 switch board is NVLS."""
    if algorithm in ("nvls", "ring"):
        return algorithm, topology(chip)
    nvls = op == "all_reduce" and chip.link_kind in ("nvlink4", "nvlink5") and topology(chip) == "switch"
    return ("nvls" if nvls else "ring"), topology(chip)


def bandwidth_time(op: str, size: int, ranks: int, link: float, eta: float) -> float:
    from gpucompare.workloads.collective import bus_factor  # torch: only when modelling

    return size * bus_factor(op, ranks) / (eta * link * 1e9)


def fit(
    points: Sequence[Point], chips: Mapping[str, Chip], op: str, ranks: int
) -> tuple[float, float | None]:
    """(η, α) from ``points`` (one class): η the median over chips of their largest-size busbw / B; α the
    median over sized points ≤ :data:`SMALL_BYTES` of (time − bandwidth term), at ``ranks``."""
    by_chip: dict[str, list[Point]] = {}
    for p in points:
        by_chip.setdefault(p.chip, []).append(p)
    etas = []
    for chip, pts in sorted(by_chip.items()):
        top = max(pts, key=lambda p: (p.size is None, p.size or 0))  # an unstated size is a peak figure
        etas.append(top.busbw_gbps / link_gbps(chips[chip])[0])
    eta = statistics.median(etas)
    alphas = []
    for p in points:
        if p.size is not None and p.size <= SMALL_BYTES and p.ranks == ranks and p.op == op:
            from gpucompare.workloads.collective import bus_factor

            t = p.size * bus_factor(p.op, p.ranks) / (p.busbw_gbps * 1e9)
            alphas.append(
                max(t - bandwidth_time(p.op, p.size, p.ranks, link_gbps(chips[p.chip])[0], eta), 0.0)
            )
    return eta, (statistics.median(alphas) if alphas else None)


def class_fit(
    points: Iterable[Point],
    chips: Mapping[str, Chip],
    chip: Chip,
    op: str,
    ranks: int,
    *,
    algorithm: str = "default",
    exclude: str | None = None,
) -> Fit | None:
    """The fit for ``chip``'s class from ``points`` (leaving out chip ``exclude``); the ``switch`` class of
    the same algorithm when the chip's own has no evidence (``borrowed``); None when neither has any."""
    algo, topo = comm_class(chip, op, algorithm)
    usable = [p for p in points if p.chip != exclude and p.chip in chips and link_gbps(chips[p.chip])[0]]
    for want, borrowed in ((topo, False), ("switch", topo != "switch")):
        same = [p for p in usable if p.algorithm == algo and topology(chips[p.chip]) == want]
        if same:
            eta, alpha = fit(same, chips, op, ranks)
            alpha_from = None
            if alpha is None:  # latency: any class's small sizes of this op and rank count
                others = [p for p in usable if p not in same and p.op == op and p.ranks == ranks]
                alpha = fit(others, chips, op, ranks)[1] if others else None
                alpha_from = "other classes" if alpha is not None else None
            evidence = tuple(sorted({p.evidence for p in same}))
            return Fit(op, ranks, algo, want, eta, alpha, evidence, borrowed, alpha_from)
    return None


def predict(op: str, size: int, ranks: int, chip: Chip, f: Fit) -> tuple[float | None, str]:
    """(time in seconds, how) of ``op`` at ``size`` on ``ranks`` ranks of ``chip`` under fit ``f``."""
    link, what = link_gbps(chip)
    if link is None:
        return None, what
    t = bandwidth_time(op, size, ranks, link, f.eta) + (f.alpha_s or 0.0)
    how = f"{f.algorithm}/{f.topology} η={f.eta:.3f} × {what}"
    if f.alpha_s is None:
        how += ", no latency evidence (α left out)"
    else:
        how += f", α={f.alpha_s * 1e6:.1f} µs" + (f" (from {f.alpha_from})" if f.alpha_from else "")
    return t, how + (" (borrowed from NVSwitch boards)" if f.borrowed else "")


# ------------------------------------------------------------------------------------------ evidence


def published_points(entries: Iterable) -> list[Point]:
    """The ledger's representative ``collective`` busbw entries as points (published evidence)."""
    from gpucompare.specs import load_chips

    db = load_chips()
    out = []
    for e in entries:
        if e.workload != "collective" or e.metric != "gbps" or not getattr(e, "representative", True):
            continue  # an entry its source reports as low or weird is listed, never evidence
        size = e.shape.get("bytes")
        op = str(e.shape.get("op"))
        algo = comm_class(db.get(e.chip), op, str(e.shape.get("algorithm", "default")))[0]
        out.append(
            Point(
                e.chip,
                op,
                int(e.shape["ranks"]),
                algo,
                size if isinstance(size, int) else None,
                e.value,
                f"published: {e.id}",
            )
        )
    return out


def measured_points(records: Iterable[Mapping], chips: Mapping[str, Chip]) -> list[Point]:
    """GPU records of the collective family (ok, with a known chip) as points (measured evidence)."""
    out = []
    for r in records:
        coll = r.get("collective") or {}
        if r.get("status") != "ok" or r.get("mode") != "gpu" or r.get("chip_id") not in chips:
            continue
        if coll.get("busbw_gbps") is None:
            continue
        algo = comm_class(chips[r["chip_id"]], r["workload"], _algo_env(coll.get("algorithm")))[0]
        out.append(
            Point(
                r["chip_id"],
                r["workload"],
                int(coll["world_size"]),
                algo,
                int(coll["size_bytes"]),
                float(coll["busbw_gbps"]),
                f"measured-here: {r['run_id']}",
            )
        )
    return out


def _algo_env(text: str | None) -> str:
    text = (text or "").lower()
    return "ring" if "nccl_algo=ring" in text else "nvls" if "nccl_algo=nvls" in text else "default"


@dataclass(frozen=True)
class Check:
    """One published figure predicted from the other chips' evidence."""

    evidence: str
    chip: str
    op: str
    ranks: int
    size: int | None
    published_gbps: float
    predicted_gbps: float | None
    error: float | None  # predicted / published - 1
    how: str


def validate_published(points: Sequence[Point], chips: Mapping[str, Chip]) -> list[Check]:
    """Leave-one-chip-out: each point predicted by the fit of its class on the other chips' points (points of
    chips outside ``chips`` are left out)."""
    points = [p for p in points if p.chip in chips]
    out = []
    for p in points:
        chip = chips[p.chip]
        f = class_fit(points, chips, chip, p.op, p.ranks, algorithm=p.algorithm, exclude=p.chip)
        if f is None:
            out.append(
                Check(
                    p.evidence,
                    p.chip,
                    p.op,
                    p.ranks,
                    p.size,
                    p.busbw_gbps,
                    None,
                    None,
                    "no other chip's evidence of this class: unvalidated",
                )
            )
            continue
        if p.size is None:  # a peak figure: compare with the asymptote η·B
            pred, how = (
                f.eta * link_gbps(chip)[0],
                f"asymptote η·B ({f.algorithm}/{f.topology} η={f.eta:.3f})",
            )
        else:
            t, how = predict(p.op, p.size, p.ranks, chip, f)
            from gpucompare.workloads.collective import bus_factor

            pred = None if t is None else p.size * bus_factor(p.op, p.ranks) / t / 1e9
        err = None if pred is None else pred / p.busbw_gbps - 1
        out.append(Check(p.evidence, p.chip, p.op, p.ranks, p.size, p.busbw_gbps, pred, err, how))
    return out


def median_abs_error(checks: Iterable[Check]) -> float | None:
    errs = [abs(c.error) for c in checks if c.error is not None and math.isfinite(c.error)]
    return statistics.median(errs) if errs else None


def project_records(records: Iterable[Mapping], chips: Mapping[str, Chip]) -> list[dict]:
    """Each measured collective record (GPU, ok) projected onto every chip: η and α fitted on the record's
    own run and op (the run's sizes), X's link; rows of (record, chip, projected time and busbw, how)."""
    pts = measured_points(records, chips)
    rows = []
    for p in pts:
        if p.size is None:
            continue
        run = p.evidence
        same = [q for q in pts if q.evidence == run and q.op == p.op and q.ranks == p.ranks]
        eta, alpha = fit(same, chips, p.op, p.ranks)
        algo, topo = comm_class(chips[p.chip], p.op)
        f = Fit(p.op, p.ranks, algo, topo, eta, alpha, (run,))
        for chip in chips.values():
            t, how = predict(p.op, p.size, p.ranks, chip, f)
            from gpucompare.workloads.collective import bus_factor

            busbw = None if t is None else p.size * bus_factor(p.op, p.ranks) / t / 1e9
            rows.append(
                {
                    "evidence": run,
                    "op": p.op,
                    "ranks": p.ranks,
                    "size": p.size,
                    "chip_id": chip.id,
                    "time_s": t,
                    "busbw_gbps": busbw,
                    "how": how,
                    "label": "projected",
                }
            )
    return rows
