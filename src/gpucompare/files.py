"""File helpers used everywhere something is written or read: one atomic write, one TOML reader, one slug.

* ``atomic_write``: a temporary file in the same folder, flushed and fsynced, then ``os.replace``; the file
  gets the mode the process umask gives a new file (``mkstemp`` alone would leave 0600).
* ``read_toml``: a TOML file or text into a dict; unreadable, non-UTF-8 and invalid TOML all become the
  caller's own error class with the file named (never a ``UnicodeDecodeError`` from deep inside).
* ``slug``: a string made safe for a file or folder name.
"""

from __future__ import annotations

import os
import re
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
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{where}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    where = where or "<text>"
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc}") from None


def slug(text: str) -> str:
    """Letters, digits, ``.``, ``_`` and ``-`` only, lower case; ``unknown`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower() or "unknown"
