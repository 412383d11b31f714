"""Kernels, one module per operator family, each with a Triton and a PyTorch implementation.

Shipped as ``gpucompare.kernels``. Importing this package puts Triton in interpreter mode when
no GPU is present, before any ``@triton.jit`` kernel is defined.
"""

from gpucompare.hw import configure_triton

INTERPRETING = configure_triton()

# The campaign's smoke step names the autotune configs that hung or faulted; the tier skips them.
import os as _os  # noqa: E402

if _os.environ.get("GPUCOMPARE_PRUNED_CONFIGS"):
    from gpucompare.measure.smoke import read_pruned as _read_pruned

    from ._common import skip_pruned_configs as _skip

    _skip(_read_pruned(_os.environ["GPUCOMPARE_PRUNED_CONFIGS"]))
