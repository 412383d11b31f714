"""Malformed inputs for the fuzz tests (``tests/test_fuzz_inputs.py``): seeded, structure-aware mutations.

A valid input (a parsed TOML file, a record, run.json) is mutated one to three times: a value anywhere in
it replaced by a hostile one (huge integers, NaN, ``1e308``, wrong types, ``"unknown"``, ``"fp99"``, the
edges of the plausible ranges), a key deleted, an unknown key added, a list item duplicated, a value wrapped
in a list. Byte-level mutations (cut short, bytes inserted, invalid UTF-8, a line duplicated) cover the
parsers. ``N_EXAMPLES`` is the number of inputs per loader: 1,000 in CI (deterministic), more with
``GPUCOMPARE_FUZZ_EXAMPLES=n`` (then random, a new sample each run).
"""

from __future__ import annotations

import copy
import datetime
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

_ENV = os.environ.get("GPUCOMPARE_FUZZ_EXAMPLES")
N_EXAMPLES = int(_ENV) if _ENV else 1000
#: ``gpucompare report`` builds every section (~0.3 s) for inputs the loader accepts: fewer in CI.
N_REPORT = int(_ENV) if _ENV else 60
#: The CLI fuzzers of issue 22 (a file or arguments per call, ~20-100 ms each): few in CI, ``_ENV`` each else.
N_CLI = int(_ENV) if _ENV else 40

HOSTILE: list[Any] = [
    10**400,
    -(10**400),
    2**63,
    2**40 + 1,
    -1,
    0,
    1,
    1e308,
    -1e308,
    1e-320,
    1e-12,
    1e6,
    1e24,
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    True,
    False,
    "",
    "unknown",
    "unsupported",
    "none",
    "fp99",
    "h100-sxm",
    "\x00",
    "é" * 3,
    "x" * 300,
    "1e308",
    [],
    {},
    [1, "a"],
    {"value": 1e308},
    {"value": "unknown", "source": 3},
]
TOML_ONLY = [datetime.date(2025, 1, 1), datetime.datetime(2025, 1, 1, 12, 0)]

_scalars = st.one_of(
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6), st.booleans()
)
TOML_VALUES = st.one_of(st.sampled_from(HOSTILE + TOML_ONLY), _scalars)
JSON_VALUES = st.one_of(st.sampled_from([*HOSTILE, None]), _scalars)


def fuzz_settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=_ENV is None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _at(obj: Any, path: tuple) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def mutate(data: Any, draw: Callable, values: st.SearchStrategy, *, keep_root: bool = True) -> Any:
    """A deep copy of ``data`` with 1-3 random structural mutations (``draw``: hypothesis' ``data.draw``)."""
    obj = copy.deepcopy(data)

    def value() -> Any:  # a copy: the hostile lists and tables are shared, never to be mutated
        return copy.deepcopy(draw(values))

    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)[1:] if keep_root else _paths(obj)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        if not path:
            return value()
        parent, key = _at(obj, path[:-1]), path[-1]
        op = draw(st.sampled_from(("replace", "replace", "delete", "add", "duplicate", "wrap")))
        if op == "replace":
            parent[key] = value()
        elif op == "delete":
            del parent[key]
        elif op == "wrap":
            parent[key] = [parent[key]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(("zz_unknown", "value", "source", "id", "dtype")))] = value()
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = value()
    return obj


def mutate_bytes(raw: bytes, draw: Callable) -> bytes:
    """``raw`` cut short, with bytes inserted or replaced, with invalid UTF-8, or with a line duplicated."""
    n = len(raw)
    i = draw(st.integers(0, max(n - 1, 0)))
    op = draw(st.sampled_from(("cut", "insert", "replace", "utf8", "line", "delete")))
    if op == "cut":
        return raw[:i]
    if op == "insert":
        return raw[:i] + draw(st.binary(min_size=1, max_size=8)) + raw[i:]
    if op == "replace":
        return raw[:i] + draw(st.binary(min_size=1, max_size=1)) + raw[i + 1 :]
    if op == "utf8":
        return raw[:i] + draw(st.sampled_from((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"))) + raw[i:]
    if op == "delete":
        return raw[:i] + raw[i + draw(st.integers(1, 40)) :]
    lines = raw.split(b"\n")
    j = draw(st.integers(0, len(lines) - 1))
    return b"\n".join([*lines[: j + 1], lines[j], *lines[j + 1 :]])


def cut_toml(text: str, header: str, n: int) -> str:
    """The TOML text up to its ``n+1``-th ``header`` table (a small valid file: mutations stay cheap)."""
    sep = f"\n{header}\n"
    return sep.join(text.split(sep)[: n + 1])


def outcome_line(what: str, counts: Counter) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    return f"fuzz {what}: {total} malformed inputs: {parts}; 0 uncaught exceptions"
