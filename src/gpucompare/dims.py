"""Transformer model dimensions: the one table the workload shapes, the layer model and the report's labels
derive from. A model the report composes, or whose projections the GEMM workloads use, is added here only.

Sources (each model's ``config.json`` on Hugging Face: hidden_size, num_attention_heads, num_key_value_heads,
head_dim, intermediate_size, num_hidden_layers, vocab_size; for mixture-of-experts models n_routed_experts /
num_experts, num_experts_per_tok, n_shared_experts, moe_intermediate_size, first_k_dense_replace; for MLA
q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim): meta-llama/Meta-Llama-3-8B and
-70B (Llama 3.1 8B and 3.3 70B share these dimensions), Qwen/Qwen2.5-32B, Qwen/Qwen3-8B,
Qwen/Qwen3-30B-A3B, deepseek-ai/DeepSeek-V3 (DeepSeek-R1 has the same architecture; its multi-token
prediction layer is left out). The workloads' GEMM shapes use DeepSeek-V3's dense-layer shapes only; the
serving model (:mod:`gpucompare.model.serving`) uses the MoE and MLA fields.
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
    mlp: int  # MLP intermediate size (of the dense layers, for a mixture-of-experts model)
    layers: int
    vocab: int = 0
    experts: int = 0  # routed experts per MoE layer (0: a dense model)
    active_experts: int = 0  # routed experts per token
    shared_experts: int = 0
    expert_mlp: int = 0  # intermediate size of one expert
    dense_layers: int = 0  # leading layers with a dense MLP in a MoE model (DeepSeek's first_k_dense_replace)
    kv_lora_rank: int = 0  # MLA: width of the compressed KV (0: grouped-query attention)
    q_lora_rank: int = 0  # MLA: width of the compressed query
    rope_dim: int = 0  # MLA: decoupled RoPE key width (qk_rope_head_dim); head_dim is qk_nope_head_dim
    v_head_dim: int = 0  # MLA: value head width

    @property
    def mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def moe(self) -> bool:
        return self.experts > 0

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


LLAMA3_70B = TransformerDims("llama3-70b", "Llama-3-70B", 8192, 64, 8, 128, 28672, 80, vocab=128256)
LLAMA3_8B = TransformerDims("llama3-8b", "Llama-3-8B", 4096, 32, 8, 128, 14336, 32, vocab=128256)
QWEN25_32B = TransformerDims("qwen2.5-32b", "Qwen2.5-32B", 5120, 40, 8, 128, 27648, 64, vocab=152064)
QWEN3_8B = TransformerDims("qwen3-8b", "Qwen3-8B", 4096, 32, 8, 128, 12288, 36, vocab=151936)
QWEN3_30B_A3B = TransformerDims(
    "qwen3-30b-a3b", "Qwen3-30B-A3B", 2048, 32, 4, 128, 6144, 48, vocab=151936,
    experts=128, active_experts=8, expert_mlp=768,
)  # fmt: skip
# DeepSeek-V3: MLA attention (128 heads; head_dim is the no-RoPE query/key width), 256 routed experts.
_DEEPSEEK = dict(
    hidden=7168, q_heads=128, kv_heads=128, head_dim=128, mlp=18432, layers=61, vocab=129280,
    experts=256, active_experts=8, shared_experts=1, expert_mlp=2048, dense_layers=3,
    kv_lora_rank=512, q_lora_rank=1536, rope_dim=64, v_head_dim=128,
)  # fmt: skip
DEEPSEEK_V3 = TransformerDims("deepseek-v3", "DeepSeek-V3", **_DEEPSEEK)
DEEPSEEK_R1 = TransformerDims("deepseek-r1", "DeepSeek-R1", **_DEEPSEEK)

MODELS: dict[str, TransformerDims] = {
    m.key: m for m in (LLAMA3_70B, LLAMA3_8B, QWEN25_32B, QWEN3_8B, QWEN3_30B_A3B, DEEPSEEK_V3, DEEPSEEK_R1)
}
