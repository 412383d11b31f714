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

import functools
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import zlib
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
#: Bounds on what a packed cache may hold (the whole GPU tier: 183 kernels, ~60 MB unpacked, largest cubin
#: under 1 MB): a member over these, or a total over them, refuses the whole file before anything is written.
MAX_MEMBER_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 1 * 2**30
MAX_MEMBERS = 20_000
MAX_MANIFEST_BYTES = 4 * 2**20
_HASH_DIR = re.compile(r"[A-Za-z0-9_-]{8,128}")  # Triton's cache folder names (base32 of a sha256)
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}")  # a bare file name: no '/', no leading '.'


class PackError(ValueError):
    """A packed cache that cannot be used as it is: the message names the file, the member and the problem."""


@dataclass(frozen=True)
class CacheStatus:
    """Whether a packed cache was installed, and the one line that says so (or why not)."""

    used: bool
    message: str
    manifest: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        m = self.manifest or {}
        keys = (
            "triton_version",
            "triton_hash",
            "python",
            "libtriton_sha256",
            "target",
            "kernels",
            "size_bytes",
        )
        return {"used": self.used, "message": self.message, **{k: m.get(k) for k in keys}}


def triton_build_hash() -> str:
    """sha256 of Triton's ``triton_key()`` (its version and the hash of its compiler sources and library): the
    part of every kernel's cache key that says which Triton build compiled it."""
    from triton.runtime.cache import triton_key

    return hashlib.sha256(triton_key().encode()).hexdigest()


@functools.cache
def libtriton_sha256() -> str | None:
    """sha256 of this Triton's ``libtriton.so`` (part of every kernel's cache key; two wheels of one Triton
    version built for different Pythons differ here), None when it cannot be read."""
    try:
        import sysconfig

        import triton

        ext = (sysconfig.get_config_var("EXT_SUFFIX") or ".so").split(".")[-1]
        digest = hashlib.sha256()
        with open(Path(triton.__file__).parent / "_C" / f"libtriton.{ext}", "rb") as f:
            for chunk in iter(lambda: f.read(2**20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except (OSError, ImportError):
        return None


def build_identity() -> dict[str, Any]:
    """What a cache built here depends on besides the Triton version: the Python version and the
    ``libtriton.so`` hash (recorded in the manifest, compared by :func:`check`)."""
    return {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "libtriton_sha256": libtriton_sha256(),
    }


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


def _member_problem(member: tarfile.TarInfo, total: int) -> str | None:
    """Why ``member`` may not be installed (None: it may): a name outside ``kernels/<hash>/<file>``, not a
    regular file, over :data:`MAX_MEMBER_BYTES`, or a total over :data:`MAX_TOTAL_BYTES`."""
    parts = member.name.split("/")
    if member.name == MANIFEST:
        return (
            None
            if member.isfile() and member.size <= MAX_MANIFEST_BYTES
            else "manifest too large or not a file"
        )
    if len(parts) != 3 or parts[0] != KERNELS or not _HASH_DIR.fullmatch(parts[1]):
        return "not kernels/<hash>/<file>"
    if not _FILE_NAME.fullmatch(parts[2]):
        return "not a plain file name"
    if not member.isfile():
        return "not a regular file"
    if member.size > MAX_MEMBER_BYTES:
        return f"{member.size} bytes, over the {MAX_MEMBER_BYTES} per member"
    if total + member.size > MAX_TOTAL_BYTES:
        return f"the members pass {MAX_TOTAL_BYTES} bytes in all"
    return None


def _group_children(data: bytes, where: str) -> list[str]:
    """The bare file names a packed group file lists; :class:`PackError` unless it is exactly
    ``{"child_paths": {name: name, ...}}`` with plain file names."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise PackError(f"{where}: not a JSON group file") from None
    children = doc.get("child_paths") if isinstance(doc, dict) else None
    if not isinstance(children, dict) or not children:
        raise PackError(f"{where}: child_paths must be an object of file names")
    for name, value in children.items():
        if not (isinstance(value, str) and value == name and _FILE_NAME.fullmatch(name)):
            raise PackError(f"{where}: child_paths entry {str(name)[:60]!r} is not a plain file name")
    return list(children)


def _parse_manifest(data: bytes, packed: Path) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: a manifest nested thousands deep
        raise PackError(f"{packed}: {MANIFEST} is not valid JSON (or nested too deep)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PackError(f"{packed}: {MANIFEST} is not a {FORMAT} manifest")
    for key in ("triton_hash", "target", "triton_version"):
        if not isinstance(doc.get(key), str):
            raise PackError(f"{packed}: {MANIFEST} field {key!r} must be a string")
    return doc


def scan(packed: Path, extract_to: Path | None = None) -> dict[str, Any]:
    """Read the whole packed cache, member by member (the manifest first), checking every bound above and
    every group file; with ``extract_to``, write each kernel there (group files rewritten to absolute paths
    under it) as it goes. Return the manifest; :class:`PackError` naming the file and the member otherwise
    (a truncated or corrupt file included)."""
    packed = Path(packed)
    manifest: dict[str, Any] | None = None
    total = count = 0
    try:
        with tarfile.open(packed, "r:gz") as tar:
            for member in tar:
                count += 1
                problem = "too many members" if count > MAX_MEMBERS else _member_problem(member, total)
                if problem:
                    raise PackError(f"{packed}: member {member.name[:80]!r}: {problem}")
                total += member.size
                data = tar.extractfile(member).read()
                if member.name == MANIFEST:
                    manifest = _parse_manifest(data, packed)
                    continue
                if manifest is None:
                    raise PackError(f"{packed}: {MANIFEST} must be the first member")
                _, folder_name, name = member.name.split("/")
                if name.startswith("__grp__"):
                    children = _group_children(data, f"{packed}: {member.name}")
                if extract_to is not None:
                    _write_member(
                        extract_to, folder_name, name, data, children if name.startswith("__grp__") else None
                    )
    except PackError:
        raise
    except FileNotFoundError:
        raise PackError(f"no prebuilt Triton cache at {packed}") from None
    except (OSError, EOFError, zlib.error, tarfile.TarError, UnicodeError) as exc:
        raise PackError(
            f"{packed}: not a readable packed cache ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None
    if manifest is None:
        raise PackError(f"{packed}: no {MANIFEST}")
    return manifest


def _write_member(dest: Path, folder_name: str, name: str, data: bytes, children: list[str] | None) -> None:
    """Write one kernel file under ``dest/<hash>/``; a group file is rewritten to absolute paths in that
    folder, every one checked to resolve inside it (never ``..``, a link or another folder)."""
    folder = (dest / folder_name).resolve()
    if folder.parent != dest.resolve():
        raise PackError(f"{folder_name}: resolves outside {dest}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.is_symlink() or target.resolve().parent != folder:
        raise PackError(f"{folder_name}/{name}: resolves outside {folder}")
    if children is not None:
        paths = {n: str(folder / n) for n in children}
        if any(Path(p).resolve().parent != folder for p in paths.values()):
            raise PackError(f"{folder_name}/{name}: a child path resolves outside {folder}")
        data = json.dumps({"child_paths": paths}).encode()
    target.write_bytes(data)


def packed_kernel_names(packed: Path) -> set[str]:
    """Names of the kernels whose cubin the packed cache holds (``<name>.cubin`` members)."""
    try:
        with tarfile.open(packed, "r:gz") as tar:
            return {Path(n).stem for n in tar.getnames() if n.endswith(".cubin")}
    except (OSError, EOFError, zlib.error, tarfile.TarError):
        return set()


def read_manifest(packed: Path) -> dict[str, Any] | None:
    """The manifest of the packed cache ``packed`` (None: no such file, or not a whole, valid packed cache)."""
    try:
        return scan(packed)
    except PackError:
        return None


def check(packed: Path, target: str | None) -> CacheStatus:
    """Can the packed cache at ``packed`` serve this process? Compares the Triton build hash, the ptxas version
    and the target (``cuda:90``; None: not checked). Never raises."""
    try:
        manifest = scan(packed)
    except PackError as exc:
        return CacheStatus(False, f"{exc} (kernels compile here)")
    try:
        here = triton_build_hash()
    except Exception as exc:  # Triton missing or broken: nothing to install into
        return CacheStatus(False, f"Triton cache at {packed} not used: {type(exc).__name__}: {exc}", manifest)
    mismatch = _identity_mismatch(manifest)
    if mismatch:
        return CacheStatus(
            False, f"Triton cache at {packed} not used: {mismatch}; kernels compile here", manifest
        )
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


def _identity_mismatch(manifest: Mapping[str, Any]) -> str | None:
    """'built with Python 3.11 / libtriton.so 1a2b…, this is Python 3.12 / 3c4d…' when either differs (a
    manifest from before they were recorded: None, the Triton hash still decides)."""
    here = build_identity()
    built_py, built_lib = manifest.get("python"), manifest.get("libtriton_sha256")
    if built_py is None and built_lib is None:
        return None
    if built_py == here["python"] and (built_lib is None or here["libtriton_sha256"] in (None, built_lib)):
        return None
    return (
        f"built with Python {built_py} / libtriton.so {str(built_lib)[:12]}, "
        f"this is Python {here['python']} / libtriton.so {str(here['libtriton_sha256'])[:12]}"
    )


def install(packed: Path, dest: Path, target: str | None) -> CacheStatus:
    """Unpack the packed cache into the Triton cache folder ``dest`` with each group file rewritten to the
    absolute paths there, when :func:`check` allows it; then this process should compile into ``dest``
    (``TRITON_CACHE_DIR``). Never raises."""
    status = check(packed, target)
    if not status.used:
        return status
    dest = Path(dest).resolve()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        scan(packed, extract_to=dest)
    except PackError as exc:
        return CacheStatus(False, f"Triton cache at {packed} could not be installed: {exc}", status.manifest)
    except OSError as exc:
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
