"""Transformer model dimensions: the one table the workload shapes, the layer model and the report's labels
derive from. A model the report composes, or whose projections the GEMM workloads use, is added here only.

Sources: Llama-3 70B and 8B, Meta's model cards / ``config.json`` (hidden_size, num_attention_heads,
num_key_value_heads, intermediate_size, num_hidden_layers); DeepSeek-V3, its ``config.json`` (hidden_size
7168, dense-layer intermediate_size 18432; its attention is MLA, so only its dense GEMM shapes are used).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerDims:
    """One decoder model's dimensions (SwiGLU MLP: gate, up and down projections)."""

    key: str  # short id used in shape labels ("llama3-70b")
    name: str  # human-readable ("Llama-3-70B")
    hidden: int
    q_heads: int
    kv_heads: int
    head_dim: int
    mlp: int  # MLP intermediate size
    layers: int

    @property
    def qkv_out(self) -> int:
        """Output width of the fused QKV projection: (q_heads + 2·kv_heads)·head_dim."""
        return (self.q_heads + 2 * self.kv_heads) * self.head_dim

    @property
    def attn_out(self) -> int:
        """Input width of the attention output projection: q_heads·head_dim."""
        return self.q_heads * self.head_dim

    def gemms(self, m: int) -> list[tuple[str, int, int, int]]:
        """(name, M, N, K) of one layer's GEMMs for ``m`` tokens: QKV, out, gate, up, down."""
        h = self.hidden
        return [
            ("qkv", m, self.qkv_out, h),
            ("out", m, h, self.attn_out),
            ("gate", m, self.mlp, h),
            ("up", m, self.mlp, h),
            ("down", m, h, self.mlp),
        ]

    def describe(self) -> str:
        """One line for the report: hidden, heads, MLP."""
        return (
            f"hidden {self.hidden}, {self.q_heads} query / {self.kv_heads} KV heads of {self.head_dim}, "
            f"SwiGLU MLP {self.mlp}"
        )


LLAMA3_70B = TransformerDims("llama3-70b", "Llama-3-70B", 8192, 64, 8, 128, 28672, 80)
LLAMA3_8B = TransformerDims("llama3-8b", "Llama-3-8B", 4096, 32, 8, 128, 14336, 32)
# DeepSeek-V3: only its dense-layer GEMM shapes are used (MLA attention is not modelled); heads left as 0.
DEEPSEEK_V3 = TransformerDims("deepseek-v3", "DeepSeek-V3", 7168, 0, 0, 0, 18432, 61)

MODELS: dict[str, TransformerDims] = {m.key: m for m in (LLAMA3_70B, LLAMA3_8B, DEEPSEEK_V3)}
