"""Kernels, one module per operator family, each with a Triton and a PyTorch implementation.

Shipped as ``gpucompare.kernels``. Importing this package puts Triton in interpreter mode when
no GPU is present, before any ``@triton.jit`` kernel is defined.
"""

from gpucompare.hw import configure_triton

INTERPRETING = configure_triton()
