"""Sections beyond one GPU (:mod:`gpucompare.model.comm`, :mod:`gpucompare.model.server`): the communication
model against published collective results, and the 8-GPU training server table."""

from __future__ import annotations

import dataclasses

import pandas as pd

from gpucompare.model import comm, server
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section
from gpucompare.results import is_pipeline_check
from gpucompare.specs.published import load_published

CHECK_COLUMNS = [f.name for f in dataclasses.fields(comm.Check)]


def _points(inp: ReportInputs) -> list[comm.Point]:
    chips = {c.id: c for c in inp.chips}
    measured = [r for r in inp.records if not is_pipeline_check(r)]
    return comm.measured_points(measured, chips) + comm.published_points(load_published())


def comm_validation(inp: ReportInputs) -> Section:
    """Each published collective figure predicted from the other chips' figures (leave-one-chip-out)."""
    chips = {c.id: c for c in inp.chips}
    checks = comm.validate_published(comm.published_points(load_published()), chips)
    table = pd.DataFrame([dataclasses.asdict(c) for c in checks], columns=CHECK_COLUMNS)
    err = comm.median_abs_error(checks)
    large = comm.median_abs_error(c for c in checks if c.size is None or c.size >= 1 << 30)
    n = sum(c.error is not None for c in checks)
    summary = (
        "unvalidated: no published collective figure of these chips"
        if err is None
        else (
            f"median |error| {err:.1%} over {n} published figures"
            + (f" ({large:.1%} at 1 GiB and above or at the stated peak)" if large is not None else "")
        )
    )
    intro = (
        "Communication model `t = α + S·f(op, n) / (η·B)`: `B` the chip's link bandwidth per direction "
        "(NVLink aggregate / 2, or PCIe x16 by generation), `f` nccl-tests' bus factor (all-reduce 2(n-1)/n; "
        "all-gather, reduce-scatter, all-to-all (n-1)/n; broadcast, send/recv 1), `η` the bus efficiency at "
        "large sizes, `α` the latency from sizes up to 1 MiB, pooled per class (NVLS all-reduce or ring; "
        "NVSwitch board, bridge, PCIe, HCCS). Each **published** busbw (nccl-tests, ledger "
        "`specs/published.toml`) is **projected** from the other chips' figures only. NVLS busbw exceeds the "
        "wire (η > 1): NVLink SHARP reduces in the switch."
    )
    return Section(
        "comm_validation",
        "Communication model vs published collective results",
        intro,
        table,
        readme_note=summary + ".",
        notes={"comm": f"Communication model: {summary}."},
    )


def server_table(inp: ReportInputs) -> Section:
    """The 8-GPU server table: tokens/s per server and step, the communication share and the bound."""
    chips = {c.id: c for c in inp.chips}
    wanted = [chips[c] for c in server.SERVER_CHIPS if c in chips]
    cfg = server.ServerConfig()
    rows = server.server_rows(wanted, _points(inp), cfg)
    table = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    shown = table[
        [
            "chip_id",
            "step",
            "tokens_per_s",
            "comm_share",
            "bound",
            "compute_s",
            "memory_s",
            "comm_s",
            "status",
        ]
    ].rename(
        columns={
            "tokens_per_s": "tokens_per_s_server",
            "compute_s": "compute_s_layer",
            "memory_s": "memory_s_layer",
            "comm_s": "comm_s_layer",
        }
    )
    layer, dims = cfg.layer, cfg.layer.dims
    intro = (
        f"**Projected**, one {dims.name} layer ({dims.describe()}) on {cfg.gpus} GPUs, {layer.dtype}, "
        f"training: `train-dp` is data parallel ({layer.train_batch * layer.train_seq} tokens per GPU, "
        "forward and backward, then a reduce-scatter of the gradients and an all-gather of the parameters). "
        "Compute at the spec roofline (efficiency 1, a lower bound on time), communication from the model "
        "above (collectives measured on GPUs where a run has them, else the published nccl-tests evidence; "
        "chips without evidence of their link borrow the NVSwitch boards' efficiency, said in `comm_basis` in "
        f"`tables/server.csv`); no overlap. tokens/s for {dims.layers} layers and the whole server; `bound`: "
        "the largest of compute, memory and link time. Serving (prefill and decode) is the serving model's: "
        "see the 8-GPU serving table."
    )
    return Section("server", "8-GPU training server (data-parallel step)", intro, table, shown=shown)
