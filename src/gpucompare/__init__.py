"""gpucompare: measure AI kernels on the local GPU (or CPU) and project them onto every chip of a sourced spec database."""

from pathlib import Path as _Path

__version__ = "0.1.0"

# Run from a source checkout with PYTHONPATH=src (no install, e.g. on a GPU machine that cannot reach a
# package index): kernels/ and seeds/ sit at the top level, where an install maps them to
# gpucompare.kernels and gpucompare.seeds. Let the import system find them there too.
_root = _Path(__file__).resolve().parents[2]
if _Path(__file__).resolve().parent.parent.name == "src" and (_root / "kernels" / "__init__.py").is_file():
    __path__.append(str(_root))
