"""The report's output folder: what ``gpucompare report`` may write, replace or delete there (issue 22 item 5).

The report keeps its own manifest, ``.gpucompare-report-manifest.json`` (a name a user will not pick), written
by the report only: ``{"written_by": "gpucompare report", "format": 1, "files": {relative path: sha256}}``,
the SHA-256 of the bytes the report wrote (``null`` while a file is being written). The rules:

* a file is written only where nothing exists yet, or where the manifest lists it (a path the report wrote
  before); any other existing file is refused, before anything is written, with one line naming it;
* every path is inside ``--out``: no component under ``--out`` may be a symlink (a symlinked ``tables/``
  is refused, never followed), a listed path that is absolute or holds ``..`` is ignored;
* a file is deleted only when the manifest lists it, the report no longer writes it, it is a regular file
  (not a symlink) and its bytes still hash to what the report wrote: a file changed since is kept;
* a manifest that is not the report's own (not JSON, no ``written_by`` tag) is refused, naming it.

The manifest is written before the first file (old and new paths) and again at the end (what was written), so
an interrupted generation leaves nothing the next one would not recognise.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from gpucompare.errors import GpucompareError
from gpucompare.files import atomic_write

MANIFEST = ".gpucompare-report-manifest.json"
WRITTEN_BY = "gpucompare report"
FORMAT = 1
#: Bytes a manifest may have: far above any report's (a few KiB), far below what would hurt to read.
MAX_MANIFEST_BYTES = 1 << 20


class ReportOutputError(GpucompareError):
    """The output folder holds a file the report would replace, follow or delete but did not write."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safe_rel(name: object) -> str | None:
    """``name`` as a plain relative POSIX path inside the folder, or None (absolute, ``..``, empty, odd)."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", ".", "") for part in path.parts):
        return None
    return path.as_posix()


def read_manifest(out: Path) -> dict[str, str | None]:
    """``{relative path: sha256 or None}`` of what the previous generation wrote (empty with no manifest)."""
    path = out / MANIFEST
    try:
        info = path.lstat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ReportOutputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
        raise ReportOutputError(f"{path}: not a manifest written by `{WRITTEN_BY}`; move it away")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        data = None
    if (
        not isinstance(data, dict)
        or data.get("written_by") != WRITTEN_BY
        or not isinstance(data.get("files"), dict)
    ):
        raise ReportOutputError(f"{path}: not a manifest written by `{WRITTEN_BY}`; move it away")
    listed: dict[str, str | None] = {}
    for name, digest in data["files"].items():
        rel = _safe_rel(name)
        if rel is not None:  # a path outside --out is never followed: the report then touches less, not more
            listed[rel] = digest if isinstance(digest, str) else None
    return listed


def write_manifest(out: Path, files: dict[str, str | None]) -> None:
    body = {"written_by": WRITTEN_BY, "format": FORMAT, "files": dict(sorted(files.items()))}
    atomic_write(out / MANIFEST, json.dumps(body, indent=1) + "\n")


def _inside(out: Path, rel: str) -> tuple[Path, os.stat_result | None]:
    """``out/rel`` and its lstat (None when absent); refuses a symlink or a non-folder on the way."""
    path = out
    parts = PurePosixPath(rel).parts
    for i, part in enumerate(parts):
        path = path / part
        try:
            info = path.lstat()
        except FileNotFoundError:
            return out / rel, None
        except OSError as exc:
            raise ReportOutputError(f"{path}: cannot inspect: {exc.strerror or exc}") from None
        if stat.S_ISLNK(info.st_mode):
            raise ReportOutputError(
                f"{path}: a symlink; `{WRITTEN_BY}` writes only inside --out and never follows one"
            )
        last = i == len(parts) - 1
        if not last and not stat.S_ISDIR(info.st_mode):
            raise ReportOutputError(f"{path}: not a folder; move it away or choose another --out")
        if last:
            return path, info
    return path, None  # pragma: no cover - rel is never empty


def check_targets(out: Path, targets: Iterable[str], previous: dict[str, str | None]) -> None:
    """Refuse, before anything is written, a target that exists but was not written by the report."""
    for rel in sorted(targets):
        path, info = _inside(out, rel)
        if info is None:
            continue
        if not stat.S_ISREG(info.st_mode):
            raise ReportOutputError(f"{path}: not a regular file; move it away or choose another --out")
        if rel not in previous:
            raise ReportOutputError(
                f"{path}: exists and was not written by `{WRITTEN_BY}` (not listed in {out / MANIFEST}); "
                "move it away or choose another --out"
            )


def remove_stale(out: Path, previous: dict[str, str | None], keep: set[str]) -> None:
    """Delete what the previous generation wrote and this one did not, when unchanged since (a file changed
    since, or not a plain file, is kept: it is the user's now, and leaves the manifest)."""
    for rel in sorted(set(previous) - keep):
        try:
            path, info = _inside(out, rel)
        except ReportOutputError:
            continue  # a symlink on the way: never followed, never deleted
        if info is None or not stat.S_ISREG(info.st_mode) or previous[rel] is None:
            continue
        if _sha256(path) == previous[rel]:
            path.unlink()


def digests(out: Path, written: Iterable[Path]) -> dict[str, str]:
    """``{relative path: sha256}`` of the files just written."""
    return {p.relative_to(out).as_posix(): _sha256(p) for p in written}
