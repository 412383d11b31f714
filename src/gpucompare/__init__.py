"""gpucompare: measure AI kernels on the local GPU (or CPU) and project them onto every chip of a sourced spec database."""

__version__ = "0.1.0"
