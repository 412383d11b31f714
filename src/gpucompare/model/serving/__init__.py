"""LLM serving on any chip: a server (chip, GPUs, TP/EP/DP, precision, KV dtype) under a load (input and
output lengths, concurrency or a TPOT target), built from the calibrated kernel projections and the
communication model, and validated against the ledger's published serving results.

- :mod:`~gpucompare.model.serving.work`: weights, KV cache and each step's FLOPs, bytes and collectives;
- :mod:`~gpucompare.model.serving.kernels`: the efficiencies (kernel projections) and a step's time;
- :mod:`~gpucompare.model.serving.server`: memory fit, TTFT, TPOT, tokens/s;
- :mod:`~gpucompare.model.serving.validate`: leave-one-chip-out against the ledger, with the engine factor.
"""

from gpucompare.model.serving.kernels import NoEvidenceError
from gpucompare.model.serving.server import Load, Server, ServeResult, get_model, serve
from gpucompare.model.serving.work import ServingConfigError

__all__ = ["Load", "NoEvidenceError", "ServeResult", "Server", "ServingConfigError", "get_model", "serve"]
