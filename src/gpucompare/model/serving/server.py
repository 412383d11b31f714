"""A serving server under a load: memory fit, prefill and decode steps, TTFT, TPOT and tokens/s.

Memory: each GPU holds its weights (:func:`~gpucompare.model.serving.work.weights_per_gpu`); of
``MEM_UTIL`` of its memory, what is left after them and ``RESERVE_GB`` (activations, CUDA graphs) holds
KV cache; the largest concurrency is the sequences of ``input + output`` tokens that fit, summed over the
attention replicas. An offline run ("max" concurrency) is also capped at ``MAX_BATCH`` sequences (the
engines' default largest batch: TensorRT-LLM's max_batch_size 2048).

Steady state with ``C`` sequences in flight (continuous batching; each decode step carries one token of
every sequence, whose context averages ``input + output / 2``; prompts are prefilled in chunks of
``PREFILL_CHUNK`` tokens interleaved with the decode steps)::

    cycle  = C · t_prefill_per_request + output · t_decode(C)
    output tokens/s = C · output / cycle          total tokens/s = (input + output) / output × that
    TPOT   = cycle / output                       TTFT = one request's prefill alone + one decode step

An engine factor (``overhead``: measured time over modelled time, fitted per engine on the ledger's serving
results of other chips, :mod:`gpucompare.model.serving.validate`) multiplies every step time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gpucompare.dims import MODELS, TransformerDims
from gpucompare.dtypes import DTYPES
from gpucompare.model.serving.kernels import Efficiency, StepTime, efficiencies, step_time
from gpucompare.model.serving.work import (
    Parallel,
    ServingConfigError,
    kv_bytes_per_token,
    step_pieces,
    weights_per_gpu,
)
from gpucompare.specs import Chip

MEM_UTIL = 0.9
RESERVE_GB = 4.0
MAX_BATCH = 2048
BOARD_GPUS = 8  # one NVLink board; beyond it the links between nodes are not modelled
PREFILL_CHUNK = 8192
SERVING_PRECISIONS = ("bf16", "fp16", "fp8", "fp4")


def get_model(name: str) -> TransformerDims:
    key = name.lower()
    if key not in MODELS:
        raise ServingConfigError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[key]


@dataclass(frozen=True)
class Server:
    chip: Chip
    model: TransformerDims
    par: Parallel
    precision: str = "fp8"
    kv_dtype: str = "bf16"
    overhead: float = 1.0  # the engine factor (1: the kernels' own efficiencies, no engine overhead)
    exclude: str | None = None  # a chip whose kernel and collective evidence is left out (validation)

    @classmethod
    def make(cls, chip: Chip, model: str | TransformerDims, gpus: int = 8, tp: int | None = None,
             ep: int | None = None, dp: int | None = None, precision: str = "fp8", kv_dtype: str | None = None,
             overhead: float = 1.0, exclude: str | None = None) -> Server:  # fmt: skip
        dims = get_model(model) if isinstance(model, str) else model
        missing = [f for f in ("memory_gb", "bandwidth_tbps") if not getattr(chip, f)]
        if missing:
            raise ServingConfigError(
                f"{chip.id}: {' and '.join(missing)} unknown in the chip database: no serving projection"
            )
        if precision not in SERVING_PRECISIONS:
            raise ServingConfigError(f"precision {precision!r}: one of {', '.join(SERVING_PRECISIONS)}")
        kv = kv_dtype or "bf16"
        if kv not in DTYPES:
            raise ServingConfigError(f"KV dtype {kv!r}: one of {', '.join(DTYPES)}")
        return cls(chip, dims, Parallel.make(dims, gpus, tp, ep, dp), precision, kv, overhead, exclude)

    def kv_budget_bytes(self) -> float:
        """KV cache bytes per GPU (negative when the weights do not fit)."""
        mem = self.chip.memory_gb * 1e9 * MEM_UTIL - RESERVE_GB * 1e9
        return mem - weights_per_gpu(self.model, self.par, self.precision)

    def max_concurrency(self, input_len: int, output_len: int) -> int:
        """Sequences of ``input + output`` tokens whose KV cache fits, over the whole server."""
        budget = self.kv_budget_bytes()
        if budget <= 0:
            return 0
        per_seq = kv_bytes_per_token(self.model, self.par, self.kv_dtype) * (input_len + output_len)
        return int(budget // per_seq) * self.par.dp

    def efficiency(self) -> Efficiency:
        return efficiencies(self.chip.id, self.precision, self.exclude)

    def decode_step(self, concurrency: float, context: float) -> StepTime:
        seqs = max(concurrency / self.par.dp, 1e-9)
        pieces, comms = step_pieces(self.model, self.par, self.precision, self.kv_dtype, seqs, context, True)
        return step_time(self.chip, pieces, comms, self.efficiency(), self.exclude).scaled(self.overhead)

    def prefill_step(self, tokens: float, prompt: int) -> StepTime:
        """A prefill chunk of ``tokens`` prompt tokens per attention replica, prompts of ``prompt`` tokens."""
        pieces, comms = step_pieces(
            self.model, self.par, self.precision, self.kv_dtype, tokens, prompt, False
        )
        return step_time(self.chip, pieces, comms, self.efficiency(), self.exclude).scaled(self.overhead)


@dataclass(frozen=True)
class Load:
    input_len: int = 1024
    output_len: int = 1024
    concurrency: int | None = None  # None: the largest that fits (capped at MAX_BATCH), or the TPOT target's
    tpot_ms: float | None = None

    def __post_init__(self) -> None:
        if self.input_len < 1 or self.output_len < 1:
            raise ServingConfigError("input and output lengths must be at least 1 token")
        if self.concurrency is not None and self.concurrency < 1:
            raise ServingConfigError("concurrency must be at least 1")
        if self.tpot_ms is not None and self.tpot_ms <= 0:
            raise ServingConfigError("the TPOT target must be positive")


@dataclass(frozen=True)
class ServeResult:
    chip: str
    model: str
    gpus: int
    tp: int
    ep: int
    dp: int
    precision: str
    kv_dtype: str
    input_len: int
    output_len: int
    concurrency: int
    max_concurrency: int
    concurrency_limit: str  # given | memory | engine batch cap | TPOT target
    weights_gb_per_gpu: float
    prefill_s_per_step: float
    prefill_bound: str
    decode_s_per_step: float
    decode_bound: str
    ttft_s: float
    tpot_s: float
    output_tokens_per_s: float
    total_tokens_per_s: float
    overhead: float
    efficiency_basis: tuple[str, ...]
    link_basis: str
    notes: tuple[str, ...] = ()

    @property
    def per_gpu_output(self) -> float:
        return self.output_tokens_per_s / self.gpus

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "projected", **asdict(self), "output_tokens_per_s_per_gpu": self.per_gpu_output}


def _cycle(server: Server, load: Load, c: int) -> tuple[float, StepTime, StepTime, float]:
    """(cycle seconds, decode step, prefill chunk step, prefill seconds per request) at concurrency ``c``."""
    context = load.input_len + load.output_len / 2
    decode = server.decode_step(c, context)
    chunk = min(PREFILL_CHUNK, max(load.input_len, 1))
    prefill = server.prefill_step(chunk, load.input_len)
    per_request = load.input_len / chunk * prefill.total_s / server.par.dp
    return c * per_request + load.output_len * decode.total_s, decode, prefill, per_request


def _tpot_concurrency(server: Server, load: Load, cap: int) -> int:
    """The largest concurrency ≤ ``cap`` whose TPOT meets the target (0 when even one does not)."""
    target = load.tpot_ms / 1e3
    ok = lambda c: _cycle(server, load, c)[0] / load.output_len <= target  # noqa: E731
    if not ok(1):
        return 0
    lo, hi = 1, cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _concurrency(server: Server, load: Load, fit: int) -> tuple[int, str]:
    if fit < 1:
        need = weights_per_gpu(server.model, server.par, server.precision) / 1e9
        raise ServingConfigError(
            f"{server.model.name} ({server.precision}) does not fit {server.par.gpus}x {server.chip.id}: "
            f"{need:.1f} GB of weights per GPU, {server.chip.memory_gb:g} GB each, no room for one "
            f"{load.input_len + load.output_len}-token sequence's KV cache"
        )
    if load.concurrency is not None:
        if load.concurrency > fit:
            raise ServingConfigError(
                f"concurrency {load.concurrency} does not fit: the KV cache holds {fit} sequences of "
                f"{load.input_len + load.output_len} tokens on {server.par.gpus}x {server.chip.id}"
            )
        return load.concurrency, "given"
    cap = min(fit, MAX_BATCH)
    if load.tpot_ms is not None:
        c = _tpot_concurrency(server, load, cap)
        if c == 0:
            raise ServingConfigError(f"no concurrency meets TPOT <= {load.tpot_ms:g} ms on this server")
        return c, "TPOT target"
    return cap, ("memory" if fit < MAX_BATCH else "engine batch cap")


def serve(server: Server, load: Load) -> ServeResult:
    """The server under the load (see the module docstring); ServingConfigError when it cannot run it."""
    fit = server.max_concurrency(load.input_len, load.output_len)
    c, limit = _concurrency(server, load, fit)
    cycle, decode, prefill, _ = _cycle(server, load, c)
    out_tps = c * load.output_len / cycle
    one = server.prefill_step(load.input_len, load.input_len).total_s
    par = server.par
    return ServeResult(
        chip=server.chip.id, model=server.model.key, gpus=par.gpus, tp=par.tp, ep=par.ep, dp=par.dp,
        precision=server.precision, kv_dtype=server.kv_dtype, input_len=load.input_len,
        output_len=load.output_len, concurrency=c, max_concurrency=fit, concurrency_limit=limit,
        weights_gb_per_gpu=weights_per_gpu(server.model, par, server.precision) / 1e9,
        prefill_s_per_step=prefill.total_s, prefill_bound=prefill.bound,
        decode_s_per_step=decode.total_s, decode_bound="capacity" if limit == "memory" else decode.bound,
        ttft_s=one + decode.total_s, tpot_s=cycle / load.output_len, output_tokens_per_s=out_tps,
        total_tokens_per_s=out_tps * (load.input_len + load.output_len) / load.output_len,
        overhead=server.overhead, efficiency_basis=server.efficiency().basis,
        link_basis=decode.link_basis, notes=_notes(server),
    )  # fmt: skip


def _notes(server: Server) -> tuple[str, ...]:
    if server.par.gpus > BOARD_GPUS:
        return (
            f"{server.par.gpus} GPUs span more than one {BOARD_GPUS}-GPU board: the links between nodes are "
            "modelled as the board's own (optimistic); indicative only",
        )
    return ()
