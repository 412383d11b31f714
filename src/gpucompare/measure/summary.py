"""The run's summary, shared by ``gpucompare run`` and ``pytest bench/``: the table, % of the local peak, and
the one-line progress detail of a record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gpucompare import console, fmt
from gpucompare.console import format_seconds
from gpucompare.results.store import is_pipeline_check


def percent_of_peak(record: Mapping[str, Any]) -> float | None:
    """Achieved / local peak, in %: TFLOP/s for compute-intent work, GB/s for memory-intent work; None for
    a collective (its roof is the link, see gpucompare.model.comm)."""
    if record.get("status") != "ok" or record.get("intent") == "communication":
        return None
    if record.get("intent") == "memory":
        bw = record.get("local_peak_bw_tbps")
        return 100.0 * record["gbps"] / (bw * 1e3) if bw and record.get("gbps") is not None else None
    peak = record.get("local_peak_tflops")
    return 100.0 * record["tflops"] / peak if peak and record.get("tflops") is not None else None


def format_throughput(record: Mapping[str, Any]) -> str:
    if record.get("status") != "ok":
        return "-"
    coll = record.get("collective") or {}
    if record.get("intent") == "communication" and coll.get("busbw_gbps") is not None:
        return fmt.rate(coll["busbw_gbps"], "GB/s bus")
    if record.get("intent") in ("memory", "communication"):
        return fmt.rate(record["gbps"], "GB/s")
    return fmt.rate(record["tflops"], "TFLOP/s")


def _grouped_skips(records: list[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], dict[str, list[str]]]:
    """The records to list one by one, and the skipped ones sharing a reason with another, by reason (one
    line per reason: 24 collectives skipped for want of a launcher are one line, not 24)."""
    by_reason: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        if r.get("status") == "skipped":
            by_reason.setdefault(r.get("reason") or "", []).append(r)
    shared = {reason: rs for reason, rs in by_reason.items() if len(rs) > 1}
    kept = [r for r in records if not (r.get("status") == "skipped" and (r.get("reason") or "") in shared)]
    return kept, {reason: [str(r.get("workload")) for r in rs] for reason, rs in shared.items()}


def summary(records: Iterable[Mapping[str, Any]], reason_width: int = 60) -> list[console.Block]:
    """The run's table (workload, impl, shape, dtype, median, throughput, % of local peak, status) and counts."""
    records = list(records)
    if not records:
        return ["no measurements"]
    table = console.Table(
        "workload",
        "impl",
        "shape",
        "dtype",
        console.Column("median", "right"),
        console.Column("throughput", "right"),
        console.Column("% peak", "right", fmt=".1f"),
        console.Column("status", wrap=True, colored=True),
    )
    kept, skips = _grouped_skips(records)
    for r in kept:
        status = r.get("status", "?")
        if status != "ok" and r.get("reason"):
            reason = r["reason"]
            status += ": " + (reason if len(reason) <= reason_width else reason[: reason_width - 3] + "...")
        table.add_row(
            *(str(r.get(k)) for k in ("workload", "impl", "shape_label", "dtype")),
            format_seconds(r.get("median_s")),
            format_throughput(r),
            None if is_pipeline_check(r) else percent_of_peak(r),  # a CPU's peak is no roof to judge by
            status,
        )
    for reason, workloads in skips.items():
        names = ", ".join(dict.fromkeys(workloads))
        table.add_row(
            f"{len(workloads)} cases", "-", "-", "-", None, "-", None, f"skipped: {reason} ({names})"
        )
    statuses = (r.get("status", "?") for r in records)
    blocks: list[console.Block] = [table, console.counts_line(statuses, "cases", ("ok", "failed", "skipped"))]
    if any(is_pipeline_check(r) for r in records):
        blocks.append(
            console.Wrapped(
                "cpu-fallback: a pipeline check (the kernels ran and matched the reference); CPU times say "
                "nothing about any GPU and feed no projection, ratio or verdict"
            )
        )
    return blocks


def format_summary(records: Iterable[Mapping[str, Any]], reason_width: int = 60) -> str:
    """:func:`summary` as plain text."""
    return console.render(*summary(records, reason_width))


def _progress_detail(record: Mapping[str, Any]) -> str:
    if record["status"] == "ok":
        return f"{format_seconds(record['median_s'])}, {format_throughput(record)}"
    return record.get("reason") or ""
