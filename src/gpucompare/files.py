"""File helpers used everywhere something is written or read: one atomic write, one TOML reader, one slug.

* ``atomic_write``: a temporary file in the same folder, flushed and fsynced, then ``os.replace``; the file
  gets the mode the process umask gives a new file (``mkstemp`` alone would leave 0600).
* ``read_input``: the bytes of an input file, refused (the caller's error class, the file named) when it is
  not a regular file (a FIFO would block, ``/dev/zero`` never ends) or larger than a cap.
* ``read_toml``: a TOML file or text into a dict; unreadable, non-UTF-8, too large, too deeply nested and
  invalid TOML all become the caller's own error class with the file named (never a ``UnicodeDecodeError``,
  ``RecursionError`` or ``MemoryError`` from deep inside).
* ``slug``: a string made safe for a file or folder name.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, data: bytes | str, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` whole or not at all (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


#: Largest TOML input (a chip database, ledger or claims file is a few hundred KiB).
MAX_TOML_BYTES = 16 << 20
#: Deepest nesting of tables and arrays a TOML input may have (the project's files use 4).
MAX_TOML_DEPTH = 32


def read_input(path: str | os.PathLike, error: type[Exception], what: str, max_bytes: int) -> bytes:
    """The bytes of ``path``; ``error`` (naming the file) when unreadable, not a regular file, or over
    ``max_bytes``. Checked on the open file, so a FIFO or a device never blocks or fills memory."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file (a {what} is read from a file)")
        if info.st_size > max_bytes:
            raise error(f"{path}: {info.st_size:,} bytes, more than the {max_bytes:,} a {what} may have")
        try:
            raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise error(f"{path}: more than the {max_bytes:,} bytes a {what} may have")
    return raw


def depth(value: Any, limit: int) -> int:
    """Nesting depth of dicts and lists in ``value`` (iterative: no recursion), counted up to ``limit + 1``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            level += 1
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((v, level) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_toml(
    path: str | os.PathLike | None,
    error: type[Exception],
    what: str,
    *,
    text: str | None = None,
    where: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Parse a TOML file (or ``text``) into ``(data, where)``; every failure raises ``error`` naming the file.

    ``what`` names the file's role in messages ("chip database", "claims file").
    """
    if text is None:
        if path is None:
            raise TypeError("read_toml needs a path or a text")
        where = where or str(path)
        raw = read_input(path, error, what, MAX_TOML_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{where}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    where = where or "<text>"
    if len(text) > MAX_TOML_BYTES:
        raise error(f"{where}: more than the {MAX_TOML_BYTES:,} characters a {what} may have")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise error(
            f"{where}: nested too deeply (at most {MAX_TOML_DEPTH} levels of tables and arrays)"
        ) from None
    if depth(data, MAX_TOML_DEPTH) > MAX_TOML_DEPTH:
        raise error(f"{where}: nested too deeply (at most {MAX_TOML_DEPTH} levels of tables and arrays)")
    return data, where


def slug(text: str) -> str:
    """Letters, digits, ``.``, ``_`` and ``-`` only, lower case; ``unknown`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower() or "unknown"
