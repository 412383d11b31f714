"""The chip spec database: ``chips.toml`` (the one source of chip facts) plus loading, validation, lookup,
export-control metrics (TPP, performance density, ECCN 3A090) and spec ratios.

>>> from gpucompare.specs import get_chip, spec_ratios
>>> get_chip("NVIDIA H100 80GB HBM3").id
'h100-sxm'
>>> get_chip("h20").tpp     # 296 dense fp8 TFLOP/s x 8 bits
2368.0
"""

from __future__ import annotations

from gpucompare.specs.chip import (
    BITS,
    CONFIDENCES,
    DTYPES,
    MARKETS,
    Chip,
    FieldSource,
    eccn_3a090,
    eccn_3a090_between,
    tpp_from_peaks,
)
from gpucompare.specs.db import (
    DEFAULT_PATH,
    MEMORY_TOLERANCE,
    ChipDB,
    DeviceMatch,
    all_chips,
    get_chip,
    load_chips,
    match_device,
    normalize,
)
from gpucompare.specs.ratios import BASES, BasisRatio, spec_ratios

__all__ = [
    "BASES",
    "BITS",
    "CONFIDENCES",
    "DEFAULT_PATH",
    "DTYPES",
    "MARKETS",
    "MEMORY_TOLERANCE",
    "BasisRatio",
    "Chip",
    "ChipDB",
    "DeviceMatch",
    "FieldSource",
    "all_chips",
    "eccn_3a090",
    "eccn_3a090_between",
    "get_chip",
    "load_chips",
    "match_device",
    "normalize",
    "spec_ratios",
    "tpp_from_peaks",
]
