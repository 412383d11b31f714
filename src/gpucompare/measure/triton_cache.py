"""A prebuilt Triton kernel cache for the GPU tier: packing it (on the CPU machine that built it) and
installing it (on the GPU machine, before anything compiles).

Triton's on-disk cache (``TRITON_CACHE_DIR``) holds one folder per compiled kernel, named by a hash of the
Triton build (``triton_key()``), the kernel source, its specialisation, the compile options, the ptxas
version, the target arch and the cache-invalidating environment variables: no GPU or driver identity. So
kernels compiled here for ``cuda:90`` are found by the runtime of an H100/H200 with the same Triton build.

Each folder has a group file ``__grp__<kernel>.json`` listing its files by absolute path; the runtime ignores
a listed file that does not exist, and a group without its ``.json`` metadata is a miss. A *packed* cache is
one gzipped tar file (the whole GPU tier: ~14 MB, small enough to travel with the device call) holding:

- ``manifest.json``: :data:`FORMAT`, the Triton version and build hash (:func:`triton_build_hash`), the ptxas
  version, the target, the kernel count and what was built (workloads, shapes, compiles per case);
- ``kernels/<hash>/``: only the ``.cubin`` and the ``.json`` metadata of each kernel (the IR stages are
  dropped: the runtime loads the cubin), its group file listing those two by *bare file name*.

:func:`install` unpacks it into a writable cache folder and rewrites each group file to the absolute paths
there; it refuses (and says why) when the Triton build hash, the ptxas version or the target differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
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
DEFAULT_PATH = Path(".triton-cache") / "sm90.tgz"


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


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def pack(cache_dir: Path, out: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Pack the kernels of the Triton cache ``cache_dir`` into the gzipped tar ``out`` (replaced); return the
    manifest written (``manifest`` plus format, kernel count and unpacked size)."""
    cache_dir, out = Path(cache_dir), Path(out)
    members: list[tuple[str, bytes]] = []
    size = 0
    for folder in sorted(p for p in cache_dir.iterdir() if p.is_dir()):
        for grp in _group_files(folder):
            children = json.loads(grp.read_text()).get("child_paths") or {}
            kept = sorted(name for name in children if name.endswith(KEEP_SUFFIXES))
            if not any(n.endswith(".cubin") for n in kept):
                continue  # an autotune result or an incomplete entry: not a kernel
            for name in kept:
                data = (folder / name).read_bytes()
                members.append((f"{KERNELS}/{folder.name}/{name}", data))
                size += len(data)
            listing = json.dumps({"child_paths": {n: n for n in kept}}).encode()
            members.append((f"{KERNELS}/{folder.name}/{grp.name}", listing))
    count = sum(1 for name, _ in members if name.split("/")[-1].startswith("__grp__"))
    full = {**manifest, "format": FORMAT, "kernels": count, "size_bytes": size}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz", compresslevel=9) as tar:
        _add(tar, MANIFEST, (json.dumps(full, indent=1, sort_keys=True) + "\n").encode())
        for name, data in members:
            _add(tar, name, data)
    return full


def read_manifest(packed: Path) -> dict[str, Any] | None:
    """The manifest of the packed cache ``packed`` (None: no such file, or not a packed cache)."""
    try:
        with tarfile.open(packed, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            data = json.loads(member.read()) if member is not None else None
    except (OSError, KeyError, ValueError, tarfile.TarError):
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
    """Unpack the packed cache into the Triton cache folder ``dest`` with each group file rewritten to the
    absolute paths there, when :func:`check` allows it; then this process should compile into ``dest``
    (``TRITON_CACHE_DIR``). Never raises."""
    status = check(packed, target)
    if not status.used:
        return status
    dest = Path(dest).resolve()
    try:
        with tarfile.open(packed, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if not member.isfile() or len(parts) != 3 or parts[0] != KERNELS or ".." in parts:
                    continue  # the manifest, or anything that is not kernels/<hash>/<file>
                data = tar.extractfile(member).read()
                folder = dest / parts[1]
                folder.mkdir(parents=True, exist_ok=True)
                if parts[2].startswith("__grp__"):
                    names = json.loads(data)["child_paths"]
                    data = json.dumps({"child_paths": {n: str(folder / n) for n in names}}).encode()
                (folder / parts[2]).write_bytes(data)
    except (OSError, ValueError, KeyError, tarfile.TarError) as exc:
        return CacheStatus(False, f"Triton cache at {packed} could not be installed: {exc}", status.manifest)
    return CacheStatus(True, f"{status.message}, installed into {dest}", status.manifest)


def use_for_run(packed: Path | None, target: str | None) -> CacheStatus:
    """The runner's step: install ``packed`` (default :data:`DEFAULT_PATH`) into the process's Triton cache
    folder (``TRITON_CACHE_DIR``, set to ``~/.triton/cache`` when unset) before any kernel compiles."""
    packed = Path(packed) if packed is not None else DEFAULT_PATH
    dest = os.environ.get("TRITON_CACHE_DIR") or str(Path.home() / ".triton" / "cache")
    status = install(packed, Path(dest), target)
    if status.used:
        os.environ["TRITON_CACHE_DIR"] = dest
    return status
