"""An 8-GPU training server: the data-parallel step of the transformer layer (:mod:`gpucompare.model.layer`)
with its communication (:mod:`gpucompare.model.comm`), tokens/s per server, and the training fleet
equivalence. Serving (prefill and decode, tensor and expert parallel, memory fit, TPOT) is modelled by
:mod:`gpucompare.model.serving`, from the calibrated kernel projections and validated against published
serving results; this module no longer projects inference.

``train-dp``, for one layer of ``dims`` (Llama-3-70B by default) on ``gpus`` GPUs: each GPU runs the full
layer's forward and backward on its own tokens, then a reduce-scatter of the bf16 gradients and an
all-gather of the parameters (``P × element`` each, ``P`` the layer's GEMM weights), as ZeRO/FSDP does.

Compute time from the pieces of :func:`gpucompare.model.layer.step_pieces` (FLOPs and bytes from the
workloads), at the **spec roofline** (efficiency 1: a lower bound on time); communication time from the comm
model fitted on the evidence given (measured or published); the two are added (no overlap: an upper bound on
what overlap would hide). The **bound** is the largest of the compute-bound, memory-bound and link times.
tokens/s is for the whole ``dims.layers`` stack and the whole server (``gpus ×`` the per-GPU tokens).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gpucompare.dims import TransformerDims
from gpucompare.dtypes import get as dtype_info
from gpucompare.model import comm
from gpucompare.model.layer import CountsFn, LayerConfig, default_counts, step_pieces, step_tokens
from gpucompare.model.projection import project_work
from gpucompare.specs import Chip

SERVER_STEPS = ("train-dp",)
#: The chips of the report's 8-GPU server table.
SERVER_CHIPS = ("h200-sxm", "h20", "h100-sxm", "h800-sxm", "a800-sxm4", "b200", "ascend-910c")


@dataclass(frozen=True)
class ServerConfig:
    gpus: int = 8
    layer: LayerConfig = field(default_factory=LayerConfig)


def layer_params(dims: TransformerDims) -> int:
    """Weights of one layer's GEMMs (QKV, out, gate, up, down): Σ N·K."""
    return sum(n * k for _, _, n, k in dims.gemms(1))


def comm_ops(step: str, cfg: ServerConfig) -> list[tuple[str, str, int]]:
    """(name, collective, bytes) of one layer's communication in ``step`` (``train-dp``)."""
    if step not in SERVER_STEPS:
        raise ValueError(
            f"unknown server step {step!r}; known: {', '.join(SERVER_STEPS)} (serving: model.serving)"
        )
    grads = layer_params(cfg.layer.dims) * dtype_info(cfg.layer.dtype).bytes
    return [
        ("gradient reduce-scatter", "reduce_scatter", grads),
        ("parameter all-gather", "all_gather", grads),
    ]


@dataclass(frozen=True)
class ServerRow:
    chip_id: str
    step: str
    status: str  # ok | unknown
    reason: str
    compute_s: float | None  # one layer: compute-bound pieces
    memory_s: float | None  # one layer: memory-bound pieces
    comm_s: float | None  # one layer: the collectives
    tokens_per_s: float | None  # whole model, whole server
    comm_share: float | None
    bound: str | None  # compute | memory | link
    compute_basis: str
    comm_basis: str


def _compute(chip: Chip, step: str, cfg: ServerConfig, counts: CountsFn) -> tuple[float, float, str]:
    """(compute-bound s, memory-bound s, problem) of one GPU's pieces at the spec roofline."""
    layer = cfg.layer
    t = {"compute": 0.0, "memory": 0.0}
    for piece in step_pieces(step.split("-")[0], layer):
        F, B = counts(piece.workload, piece.dims, layer.dtype, f"{step}-{piece.name}")
        status, reason, time_s, bound = project_work(F, B, layer.dtype, chip, 1.0, 1.0)
        if status != "ok":
            return 0.0, 0.0, f"{piece.name}: {reason}"
        t[bound] += time_s * piece.multiplier
    return t["compute"], t["memory"], ""


def _comm(
    chip: Chip, step: str, cfg: ServerConfig, points: Sequence[comm.Point], chips
) -> tuple[float | None, str]:
    total, hows = 0.0, []
    for name, op, size in comm_ops(step, cfg):
        f = comm.class_fit(points, chips, chip, op, cfg.gpus)
        if f is None:
            return None, f"{name}: no collective evidence"
        t, how = comm.predict(op, size, cfg.gpus, chip, f)
        if t is None:
            return None, f"{name}: {how}"
        total += t
        hows.append(f"{op} {size / 2**20:.3g} MiB: {how}")
    return total, "; ".join(dict.fromkeys(hows))


def server_row(
    chip: Chip,
    step: str,
    points: Sequence[comm.Point],
    chips: Mapping[str, Chip],
    cfg: ServerConfig,
    counts: CountsFn = default_counts,
) -> ServerRow:
    """One chip's server on one step (see the module docstring)."""
    c, m, problem = _compute(chip, step, cfg, counts)
    t_comm, how = _comm(chip, step, cfg, points, chips)
    basis = "spec roofline (efficiency 1: a lower bound on time)"
    if problem or t_comm is None:
        return ServerRow(
            chip.id, step, "unknown", problem or how, None, None, None, None, None, None, basis, how
        )
    per_layer = c + m + t_comm
    tokens = step_tokens(step.split("-")[0], cfg.layer) * cfg.gpus
    tps = tokens / (per_layer * cfg.layer.dims.layers)
    bound = max((("compute", c), ("memory", m), ("link", t_comm)), key=lambda kv: kv[1])[0]
    return ServerRow(chip.id, step, "ok", "", c, m, t_comm, tps, t_comm / per_layer, bound, basis, how)


def server_rows(
    chips: Iterable[Chip], points: Sequence[comm.Point], cfg: ServerConfig | None = None
) -> list[ServerRow]:
    """Every chip × every step of :data:`SERVER_STEPS`."""
    chips = list(chips)
    index = {c.id: c for c in chips}
    cfg = cfg or ServerConfig()
    return [server_row(c, step, points, index, cfg) for c in chips for step in SERVER_STEPS]


def fleet_equivalence(rows: Iterable[ServerRow], a: str, b: str) -> dict[str, float | None]:
    """Per step, how many servers of chip ``b`` match one server of chip ``a`` (tokens/s ratio a / b), link
    included; None where either is unknown. For the claims about fleets ("30,000 H20", "400,000 H200"):
    training here, serving in :func:`gpucompare.model.serving.fleet.equivalence`."""
    by = {(r.chip_id, r.step): r for r in rows}
    out: dict[str, float | None] = {}
    for step in SERVER_STEPS:
        ra, rb = by.get((a, step)), by.get((b, step))
        ok = ra is not None and rb is not None and ra.tokens_per_s and rb.tokens_per_s
        out[step] = ra.tokens_per_s / rb.tokens_per_s if ok else None
    return out
