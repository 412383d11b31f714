"""What one serving step asks of one GPU: weights and KV cache in memory, and per step the FLOPs, bytes and
collectives of each piece of the model (from the dimensions of :mod:`gpucompare.dims`).

A server is ``gpus`` GPUs of one chip: attention runs in ``dp`` replicas of ``tp = gpus / dp`` GPUs each
(tensor parallel: heads split; data parallel attention when ``dp > 1``); a mixture-of-experts layer spreads
its experts over every GPU of the server (expert parallel when ``ep > 1``, else each expert's width split by
``tp``). The pieces of one layer, per GPU:

- ``attn-proj``: the attention projections (QKV and out; for MLA the compressed query and KV projections,
  which engines replicate, and their per-head up-projections);
- ``attn-core``: attention itself: decode reads every sequence's KV cache (``context`` tokens; grouped-query
  KV heads split by ``tp``, replicated where there are fewer KV heads than GPUs; MLA's compressed KV is
  kept whole on every tensor-parallel GPU and attended in its absorbed form); prefill is causal attention
  over the prompt (half the square);
- ``mlp`` (dense layers and shared experts) and ``experts``: a step of ``T`` tokens on the server sends
  ``T · k`` tokens to ``E`` experts; the weights read are the experts touched, ``E · (1 - (1 - k/E)^T)``;
- ``lm-head`` once per step (per token: the vocabulary projection).

Collectives per layer: two all-reduces of the activations (``tokens × hidden × 2`` bytes, bf16) over the
tensor-parallel GPUs, and with expert parallelism an all-to-all dispatch and combine of ``tokens × k ×
hidden × 2`` bytes. Byte sizes: weights in the serving precision (fp8 1 byte, bf16 2, fp4 0.5; embeddings
and the LM head in bf16), the KV cache in its own dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpucompare.dims import TransformerDims
from gpucompare.dtypes import get as dtype_info
from gpucompare.errors import GpucompareError

ACT_BYTES = 2  # activations travel in bf16
EMBED_BYTES = 2  # embeddings and the LM head stay in bf16


class ServingConfigError(GpucompareError, ValueError):
    """A server that cannot run the model as asked (parallelism that does not divide, dtype, memory)."""


@dataclass(frozen=True)
class Parallel:
    gpus: int
    tp: int
    ep: int
    dp: int

    @classmethod
    def make(
        cls, dims: TransformerDims, gpus: int, tp: int | None, ep: int | None, dp: int | None
    ) -> Parallel:
        dp = dp or 1
        if gpus < 1 or dp < 1:
            raise ServingConfigError(f"gpus ({gpus}) and dp ({dp}) must be at least 1")
        tp = tp or gpus // dp
        ep = ep or 1
        if tp < 1 or tp * dp != gpus:
            raise ServingConfigError(f"tp ({tp}) x dp ({dp}) must equal the server's GPUs ({gpus})")
        if ep > 1 and not dims.moe:
            raise ServingConfigError(
                f"{dims.name} has no experts: expert parallelism (ep={ep}) does not apply"
            )
        if ep > 1 and (gpus % ep or dims.experts % ep):
            raise ServingConfigError(
                f"ep={ep} must divide the GPUs ({gpus}) and {dims.name}'s {dims.experts} experts"
            )
        if dims.q_heads % tp:
            raise ServingConfigError(
                f"{dims.name}'s {dims.q_heads} attention heads do not split {tp} ways (tp)"
            )
        return cls(gpus, tp, ep, dp)


def _weight_bytes(precision: str) -> float:
    return dtype_info(precision).bytes


def attn_params(d: TransformerDims, tp: int) -> tuple[float, float]:
    """(split, replicated) attention projection weights per GPU (elements)."""
    h = d.hidden
    if d.mla:
        rep = h * d.q_lora_rank + h * (d.kv_lora_rank + d.rope_dim)
        split = (
            d.q_lora_rank * d.q_heads * (d.head_dim + d.rope_dim)
            + d.kv_lora_rank * d.q_heads * (d.head_dim + d.v_head_dim)
            + d.q_heads * d.v_head_dim * h
        )
        return split / tp, rep
    return (h * (d.q_heads + 2 * d.kv_heads) * d.head_dim + d.q_heads * d.head_dim * h) / tp, 0.0


def dense_mlp_params(d: TransformerDims, layer_dense: bool) -> float:
    """Dense MLP (or shared experts) weights of one layer, whole (elements)."""
    if layer_dense:
        return 3 * d.hidden * d.mlp
    return 3 * d.hidden * d.expert_mlp * d.shared_experts


def layer_kinds(d: TransformerDims) -> list[tuple[bool, int]]:
    """(dense MLP?, how many layers) of the model."""
    if not d.moe:
        return [(True, d.layers)]
    return [(True, d.dense_layers), (False, d.layers - d.dense_layers)]


def weights_per_gpu(d: TransformerDims, par: Parallel, precision: str) -> float:
    """Bytes of weights one GPU holds."""
    wb = _weight_bytes(precision)
    split, rep = attn_params(d, par.tp)
    total = 0.0
    for dense, n in layer_kinds(d):
        per_layer = split + rep + dense_mlp_params(d, dense) / par.tp
        if not dense:
            per_layer += d.experts * 3 * d.hidden * d.expert_mlp / par.gpus
        total += n * per_layer * wb
    return total + 2 * d.vocab * d.hidden / par.tp * EMBED_BYTES


def kv_bytes_per_token(d: TransformerDims, par: Parallel, kv_dtype: str) -> float:
    """KV cache bytes one token of one sequence takes on one GPU of its attention replica, all layers."""
    kb = dtype_info(kv_dtype).bytes
    if d.mla:
        per_layer = (d.kv_lora_rank + d.rope_dim) * kb  # kept whole on every tensor-parallel GPU
    else:
        per_layer = 2 * max(1, d.kv_heads // par.tp) * d.head_dim * kb
    return per_layer * d.layers


@dataclass(frozen=True)
class Piece:
    """One piece of one step on one GPU: FLOPs and bytes, whether compute on it is GEMM (``gemm``) or
    attention (``attn``), and the layers it repeats over."""

    name: str
    kind: str  # gemm | attn
    flops: float
    bytes: float
    layers: int


@dataclass(frozen=True)
class Collective:
    name: str
    op: str
    size: int  # bytes per rank (nccl-tests' size)
    ranks: int
    layers: int


def _distinct_experts(d: TransformerDims, tokens: float) -> float:
    return d.experts * (1 - (1 - d.active_experts / d.experts) ** tokens)


def _attn_core(
    d: TransformerDims, par: Parallel, q_tokens: float, context: float, kv_dtype: str, decode: bool
):
    heads = d.q_heads / par.tp
    if d.mla:
        width = d.kv_lora_rank + d.rope_dim
        if decode:  # absorbed: scores over the compressed KV, values in it
            flops = 2 * q_tokens * heads * context * (width + d.kv_lora_rank)
        else:
            flops = 2 * q_tokens * heads * context * (d.head_dim + d.rope_dim + d.v_head_dim)
    else:
        flops = 4 * q_tokens * heads * context * d.head_dim
    seqs = q_tokens if decode else 1
    kv = kv_bytes_per_token(d, par, kv_dtype) / d.layers
    nbytes = seqs * context * kv if decode else q_tokens * kv * 2  # prefill: writes and reads its own KV
    return flops, nbytes


def step_pieces(
    d: TransformerDims,
    par: Parallel,
    precision: str,
    kv_dtype: str,
    seqs: float,
    context: float,
    decode: bool,
) -> tuple[list[Piece], list[Collective]]:
    """The pieces and collectives of one step on one GPU. Decode: ``seqs`` sequences per attention replica,
    one token each, attending ``context`` tokens; prefill: ``seqs`` prompt tokens per replica, causal over
    ``context`` (the prompt length; each token attends half of it on average)."""
    wb = _weight_bytes(precision)
    tokens = seqs  # query tokens per attention replica in this step
    server_tokens = tokens * par.dp
    split, rep = attn_params(d, par.tp)
    pieces: list[Piece] = []
    af, ab = _attn_core(d, par, tokens, context if decode else context / 2, kv_dtype, decode)
    for dense, n in layer_kinds(d):
        if n == 0:
            continue
        tag = "dense" if dense else "moe"
        pieces.append(
            Piece(f"attn-proj ({tag} layers)", "gemm", 2 * tokens * (split + rep), (split + rep) * wb, n)
        )
        pieces.append(Piece(f"attn-core ({tag} layers)", "attn", af, ab, n))
        mlp = dense_mlp_params(d, dense) / par.tp
        if mlp:
            pieces.append(
                Piece(f"{'mlp' if dense else 'shared experts'}", "gemm", 2 * tokens * mlp, mlp * wb, n)
            )
        if not dense:
            per_expert = 3 * d.hidden * d.expert_mlp
            flops = 2 * server_tokens * d.active_experts * per_expert / par.gpus
            touched = _distinct_experts(d, server_tokens) * per_expert * wb / par.gpus
            pieces.append(Piece("experts", "gemm", flops, touched, n))
    head = d.vocab * d.hidden / par.tp
    head_tokens = tokens if decode else 1  # prefill: logits of the last prompt token only
    pieces.append(Piece("lm-head", "gemm", 2 * head_tokens * head, head * EMBED_BYTES, 1))
    comms: list[Collective] = []
    act = int(tokens * d.hidden * ACT_BYTES)
    if par.tp > 1:
        comms.append(
            Collective("tensor-parallel all-reduces (2 per layer)", "all_reduce", act, par.tp, 2 * d.layers)
        )
    if d.moe and par.ep > 1:
        size = int(server_tokens / par.gpus * d.active_experts * d.hidden * ACT_BYTES)
        n_moe = d.layers - d.dense_layers
        comms.append(
            Collective("expert all-to-all (dispatch and combine)", "all_to_all", size, par.ep, 2 * n_moe)
        )
    return pieces, comms
