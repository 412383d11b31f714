"""Strings from records (``shape_label``, ``device_name``, ``reason``, a chip id...) made safe where they go
(issue 22 item 6), in one place:

* :func:`terminal`: control characters (C0 but the newline, DEL, C1) and the bidirectional overrides escaped
  as ``\\x1b``/``\\u202e``: an escape sequence in a record never reaches a terminal raw. Every table and line
  the CLI prints goes through it (``gpucompare.console``).
* :func:`csv_cell` / :func:`csv_uncell`: a cell a spreadsheet would run as a formula (starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return, OWASP's list) gets a leading ``'``; a cell that already
  starts with ``'`` gets one more, so :func:`csv_uncell` gives back the exact string. Plain numbers
  (``-1.5``) and a lone ``-`` are left as they are.
"""

from __future__ import annotations

import re

#: C0 controls but the newline, DEL, C1 controls, and the Unicode bidirectional embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """``text`` with every control character but the newline escaped (``\\x1b[2J`` prints as those 7 chars)."""
    return _UNSAFE.sub(_escape, text)


def _formula(text: str) -> bool:
    return text.startswith(_FORMULA_START) and text != "-" and not _NUMBER.fullmatch(text)


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text, never runs; anything but a string is returned as it is."""
    if isinstance(value, str) and (_formula(value) or value.startswith("'")):
        return "'" + value
    return value


def csv_uncell(text: str) -> str:
    """The string :func:`csv_cell` was given."""
    if text.startswith("'") and (_formula(text[1:]) or text[1:].startswith("'")):
        return text[1:]
    return text
