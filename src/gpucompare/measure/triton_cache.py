"""A prebuilt Triton kernel cache for the GPU tier: packing it (on the CPU machine that built it) and
installing it (on the GPU machine, before anything compiles).

Triton's on-disk cache (``TRITON_CACHE_DIR``) holds one folder per compiled kernel, named by a hash of the
Triton build (``triton_key()``), the kernel source, its specialisation, the compile options, the ptxas
version, the target arch and the cache-invalidating environment variables: no GPU or driver identity. So
kernels compiled here for ``cuda:90`` are found by the runtime of an H100/H200 with the same Triton build.

Each folder has a group file ``__grp__<kernel>.json`` listing its files by absolute path; the runtime ignores
a listed file that does not exist, and a group without its ``.json`` metadata is a miss. A *packed* cache is:

- ``manifest.json``: :data:`FORMAT`, the Triton version and build hash (:func:`triton_build_hash`), the ptxas
  version, the target, the kernel count and what was built (workloads, shapes);
- ``kernels/<hash>/``: only the ``.cubin`` and the ``.json`` metadata of each kernel (the IR stages are
  dropped: the runtime loads the cubin), its group file listing those two by *bare file name*.

:func:`install` copies it into a writable cache folder and rewrites each group file to the absolute paths
there; it refuses (and says why) when the Triton build hash or the target differs from this machine's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "gpucompare-triton-cache-1"
MANIFEST = "manifest.json"
KERNELS = "kernels"
KEEP_SUFFIXES = (
    ".cubin",
    ".json",
)  # the binary and its metadata; .source/.ttir/.ttgir/.llir/.ptx are dropped
#: Where ``gpucompare cache build`` writes and ``gpucompare run`` looks by default (ignored by git; carried
#: to the GPU machine with the device tool's ``carry``).
DEFAULT_DIR = Path(".triton-cache") / "sm90"


@dataclass(frozen=True)
class CacheStatus:
    """Whether a packed cache was installed, and the one line that says so (or why not)."""

    used: bool
    message: str
    manifest: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        m = self.manifest or {}
        keys = ("triton_version", "triton_hash", "target", "kernels", "size_bytes")
        return {"used": self.used, "message": self.message, **{k: m.get(k) for k in keys}}


def triton_build_hash() -> str:
    """sha256 of Triton's ``triton_key()`` (its version and the hash of its compiler sources and library): the
    part of every kernel's cache key that says which Triton build compiled it."""
    from triton.runtime.cache import triton_key

    return hashlib.sha256(triton_key().encode()).hexdigest()


def ptxas_version(arch: int = 90) -> str | None:
    """The ``ptxas --version`` line Triton's CUDA backend hashes into each key (None when unavailable)."""
    try:
        from triton.backends.nvidia.compiler import get_ptxas_version

        lines = str(get_ptxas_version(arch)).strip().splitlines()
        return next((x.strip() for x in lines if "release" in x), lines[-1].strip())
    except Exception:  # no NVIDIA backend or no ptxas: reported as unknown
        return None


def _group_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("__grp__*.json"))


def pack(cache_dir: Path, out_dir: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Copy the kernels of the Triton cache ``cache_dir`` into the packed form at ``out_dir`` (replaced);
    return the manifest written (``manifest`` plus format, kernel count and size)."""
    cache_dir, out_dir = Path(cache_dir), Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / KERNELS).mkdir(parents=True)
    count = size = 0
    for folder in sorted(p for p in cache_dir.iterdir() if p.is_dir()):
        for grp in _group_files(folder):
            children = json.loads(grp.read_text()).get("child_paths") or {}
            kept = {name: name for name in children if name.endswith(KEEP_SUFFIXES)}
            if not any(n.endswith(".cubin") for n in kept):
                continue  # an autotune result or an incomplete entry: not a kernel
            dest = out_dir / KERNELS / folder.name
            dest.mkdir(exist_ok=True)
            for name in kept:
                shutil.copy2(folder / name, dest / name)
                size += (dest / name).stat().st_size
            (dest / grp.name).write_text(json.dumps({"child_paths": kept}))
            count += 1
    full = {**manifest, "format": FORMAT, "kernels": count, "size_bytes": size}
    (out_dir / MANIFEST).write_text(json.dumps(full, indent=1, sort_keys=True) + "\n")
    return full


def read_manifest(packed: Path) -> dict[str, Any] | None:
    path = Path(packed) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def check(packed: Path, target: str | None) -> CacheStatus:
    """Can the packed cache at ``packed`` serve this process? Compares the Triton build hash, the ptxas version
    and the target (``cuda:90``; None: not checked). Never raises."""
    manifest = read_manifest(packed)
    if manifest is None:
        return CacheStatus(False, f"no prebuilt Triton cache at {packed} (kernels compile here)")
    try:
        here = triton_build_hash()
    except Exception as exc:  # Triton missing or broken: nothing to install into
        return CacheStatus(False, f"Triton cache at {packed} not used: {type(exc).__name__}: {exc}", manifest)
    if manifest.get("triton_hash") != here:
        return CacheStatus(
            False,
            f"Triton cache at {packed} not used: built with Triton {manifest.get('triton_version')} build "
            f"{str(manifest.get('triton_hash'))[:12]}, this is build {here[:12]}; kernels compile here",
            manifest,
        )
    ptxas = ptxas_version(90)
    if ptxas is not None and manifest.get("ptxas") not in (
        None,
        ptxas,
    ):  # the backend hashes it into each key
        return CacheStatus(
            False,
            f"Triton cache at {packed} not used: built with {manifest.get('ptxas')}, this Triton uses {ptxas}; "
            "kernels compile here",
            manifest,
        )
    if target is not None and manifest.get("target") != target:
        return CacheStatus(
            False,
            f"Triton cache at {packed} not used: built for {manifest.get('target')}, this GPU is {target}; "
            "kernels compile here",
            manifest,
        )
    return CacheStatus(True, f"Triton cache at {packed}: {manifest.get('kernels')} kernels", manifest)


def install(packed: Path, dest: Path, target: str | None) -> CacheStatus:
    """Copy the packed cache into the Triton cache folder ``dest`` with each group file rewritten to the
    absolute paths there, when :func:`check` allows it; then this process should compile into ``dest``
    (``TRITON_CACHE_DIR``). Never raises."""
    status = check(packed, target)
    if not status.used:
        return status
    src, dest = Path(packed) / KERNELS, Path(dest).resolve()
    try:
        for folder in sorted(p for p in src.iterdir() if p.is_dir()):
            out = dest / folder.name
            out.mkdir(parents=True, exist_ok=True)
            for grp in _group_files(folder):
                children = json.loads(grp.read_text())["child_paths"]
                for name in children:
                    shutil.copy2(folder / name, out / name)
                absolute = {name: str(out / name) for name in children}
                (out / grp.name).write_text(json.dumps({"child_paths": absolute}))
    except (OSError, ValueError, KeyError) as exc:
        return CacheStatus(False, f"Triton cache at {packed} could not be installed: {exc}", status.manifest)
    return CacheStatus(True, f"{status.message}, installed into {dest}", status.manifest)


def use_for_run(packed: Path | None, target: str | None) -> CacheStatus:
    """The runner's step: install ``packed`` (default :data:`DEFAULT_DIR`) into the process's Triton cache
    folder (``TRITON_CACHE_DIR``, set to ``~/.triton/cache`` when unset) before any kernel compiles."""
    packed = Path(packed) if packed is not None else DEFAULT_DIR
    dest = os.environ.get("TRITON_CACHE_DIR") or str(Path.home() / ".triton" / "cache")
    status = install(packed, Path(dest), target)
    if status.used:
        os.environ["TRITON_CACHE_DIR"] = dest
    return status
