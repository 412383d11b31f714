"""The ledger of published measurements: ``published.toml``, what others measured on the chips, with sources.

Every entry is one figure exactly as published (TFLOP/s, GB/s, seconds, tokens/s) on one chip of the spec
database, mapped onto a registered workload (its name, shape parameters and dtype), with what the figure
counts, the method and its *group* (entries produced by one script or harness share a group: ratios are
taken within a group, apples to apples), software and conditions, the source (title, URL, date and the exact
place in it) and a confidence. A figure derived from a published one (TFLOP/s from a published time, say)
says so in ``derived``. A figure that is the best over a sweep of shapes says so in ``sweep``; ``shape`` is
then the shape the source names as the best, or the sweep's largest where it names none (``sweep`` says
which).

These are **published** figures, never runs made here: every caller shows them labelled as such.

File layout (validated on load; a malformed entry fails with ONE message naming the entry id and field)::

    [sources.<id>]   title, url, date (the source's date or the date it was read), publisher (optional)
    [[entries]]      id, chip, workload, shape, dtype, metric, value, counts, group, method, source (an id
                     of [sources]), where (the exact place in the source), confidence, implementation
                     (:data:`IMPLEMENTATIONS`), implementation_version ("unstated" where the source gives
                     none), source_kind (:data:`SOURCE_KINDS`), representative (bool), representative_why
                     (one sentence, always); optional: derived, software, conditions, sweep

``representative`` is false when the source itself reports the figure as a regression, a bug, "low",
misconfigured, or an old kernel not using the chip's tensor cores: such an entry stays in the ledger and is
listed (labelled), but :func:`evidence_entries` leaves it out of every efficiency the model takes unless
asked to include it.

``chip`` is any name :meth:`gpucompare.specs.ChipDB.get` resolves (stored as the chip id); ``workload`` a
name of :data:`gpucompare.workloads.WORKLOADS` (``"collective"`` and ``"serving"`` are accepted before
they are registered);
``shape`` must be a valid shape of that workload (same parameter names; its own validation), ``dtype`` one
the workload supports, or for a memory-bound workload any dtype of the table (STREAM-style benchmarks run in
fp64; :attr:`PublishedEntry.registered` is then False and the entry's GB/s is what it gives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gpucompare.dtypes import DTYPES
from gpucompare.errors import SpecError, UnknownChipError
from gpucompare.files import read_toml
from gpucompare.specs.db import ChipDB, load_chips
from gpucompare.values import is_number

DEFAULT_PATH = Path(__file__).with_name("published.toml")
SCHEMA_VERSION = 1

METRICS = ("tflops", "gbps", "time_s", "tokens_per_s")
CONFIDENCES = ("measured-published", "reported", "estimated")
#: Workload names accepted before the registry has them (nccl-tests results; serving benchmarks' tokens/s).
PENDING_WORKLOADS = ("collective", "serving")
#: The library or kernel family that produced a figure (``implementation``).
IMPLEMENTATIONS = (
    "cublas", "cublaslt", "cutlass", "deepgemm", "cudnn", "flashattention-2", "flashattention-3",
    "flashattention-4", "flashinfer", "flashmla", "triton", "thunderkittens", "torch-sdpa-flash",
    "torch-sdpa-efficient", "torch-sdpa-cudnn", "torch-sdpa-math", "tensorrt-llm", "vllm", "sglang",
    "lmdeploy", "nccl", "hccl", "rccl", "babelstream", "stream", "nvbandwidth", "cuda-memcpy", "rocblas",
    "hipblaslt", "ck", "aiter", "other",
)  # fmt: skip
#: What kind of publication the source is (``source_kind``).
SOURCE_KINDS = (
    "vendor-results", "paper-table", "project-readme", "benchmark-folder", "pull-request", "issue", "blog",
)  # fmt: skip

REQUIRED = (
    "id",
    "chip",
    "workload",
    "shape",
    "dtype",
    "metric",
    "value",
    "counts",
    "group",
    "method",
    "source",
    "where",
    "confidence",
    "implementation",
    "implementation_version",
    "source_kind",
    "representative",
    "representative_why",
)
OPTIONAL = ("derived", "software", "conditions", "sweep")
SOURCE_FIELDS = ("title", "url", "date")


class LedgerError(SpecError):
    """The ledger of published measurements is malformed (the message names the entry and the field)."""


@dataclass(frozen=True)
class PublishedEntry:
    """One published figure; see the module docstring. ``source`` holds ``title``, ``url``, ``date``,
    ``where`` (and ``publisher`` where the ledger names one)."""

    id: str
    chip: str
    workload: str
    shape: dict[str, int | bool | str]
    dtype: str
    metric: str
    value: float
    derived: str | None
    counts: str
    group: str
    method: str
    software: str | None
    conditions: str | None
    source: dict[str, str]
    confidence: str
    sweep: str | None = None
    implementation: str = "other"
    implementation_version: str = "unstated"
    source_kind: str = "issue"
    representative: bool = True
    representative_why: str = ""

    @property
    def registered(self) -> bool:
        """The workload is registered and measures this dtype: its ``flops``/``bytes`` apply to the entry.

        False for a ``collective`` entry before that workload is registered, and for a memory-bound entry in
        a dtype the suite does not measure (BabelStream's fp64 copy): GB/s is what such an entry gives.
        """
        wl = _registry().get(self.workload)
        return wl is not None and self.dtype in wl.dtypes

    @property
    def evidence(self) -> str:
        """How the entry is labelled wherever it is shown: published, with its source and place."""
        s = self.source
        flag = "" if self.representative else f" [UNREPRESENTATIVE: {self.representative_why}]"
        return f"published: {s['title']} ({s['date']}), {s['where']} <{s['url']}>{flag}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``kind: "published"`` first, so no row is mistaken for a run made here)."""
        return {"kind": "published", **asdict(self)}


class _EntryReader:
    """Reads one ``[[entries]]`` table into a :class:`PublishedEntry`; every failure names entry and field."""

    def __init__(self, raw: Mapping[str, Any], index: int, where: str, db: ChipDB, sources: Mapping):
        self.raw = raw
        self.where = where
        self.db = db
        self.sources = sources
        eid = raw.get("id")
        self.eid = eid if isinstance(eid, str) and eid else f"#{index + 1}"

    def fail(self, field: str, problem: str) -> LedgerError:
        return LedgerError(f"{self.where}, entry {self.eid!r}, field {field!r}: {problem}")

    def text(self, field: str, optional: bool = False) -> str | None:
        value = self.raw.get(field)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"must be a non-empty string, got {value!r}")
        return value

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self.text(field)
        if value not in allowed:
            raise self.fail(field, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def read(self) -> PublishedEntry:
        missing = [f for f in REQUIRED if f not in self.raw]
        if missing:
            raise self.fail(missing[0], "missing (required: " + ", ".join(REQUIRED) + ")")
        unknown = sorted(set(self.raw) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise self.fail(unknown[0], f"unknown field (known: {', '.join(REQUIRED + OPTIONAL)})")
        workload, shape, dtype = self.workload()
        return PublishedEntry(
            id=self.text("id"),
            chip=self.chip(),
            workload=workload,
            shape=shape,
            dtype=dtype,
            metric=self.metric(workload, shape),
            value=self.value(),
            derived=self.text("derived", optional=True),
            counts=self.text("counts"),
            group=self.text("group"),
            method=self.text("method"),
            software=self.text("software", optional=True),
            conditions=self.text("conditions", optional=True),
            source=self.source(),
            confidence=self.choice("confidence", CONFIDENCES),
            sweep=self.text("sweep", optional=True),
            implementation=self.choice("implementation", IMPLEMENTATIONS),
            implementation_version=self.text("implementation_version"),
            source_kind=self.choice("source_kind", SOURCE_KINDS),
            representative=self.flag("representative"),
            representative_why=self.text("representative_why"),
        )

    def flag(self, field: str) -> bool:
        value = self.raw.get(field)
        if not isinstance(value, bool):
            raise self.fail(field, f"must be true or false, got {value!r}")
        return value

    def chip(self) -> str:
        name = self.text("chip")
        try:
            return self.db.get(name).id
        except UnknownChipError as exc:
            raise self.fail("chip", str(exc)) from None

    def value(self) -> float:
        v = self.raw["value"]
        if not is_number(v) or v <= 0:
            raise self.fail("value", f"must be a positive number, got {v!r}")
        return float(v)

    def source(self) -> dict[str, str]:
        sid = self.text("source")
        if sid not in self.sources:
            raise self.fail("source", f"{sid!r} is not a source of [sources]")
        return {**self.sources[sid], "where": self.text("where")}

    def workload(self) -> tuple[str, dict[str, int | bool | str], str]:
        name = self.text("workload")
        shape = self.raw["shape"]
        if not isinstance(shape, Mapping) or not shape:
            raise self.fail("shape", f"must be a non-empty table of parameters, got {shape!r}")
        bad = [k for k, v in shape.items() if not isinstance(v, (int, bool, str))]
        if bad:
            raise self.fail("shape", f"parameter {bad[0]!r} must be an integer, boolean or string")
        dtype = self.choice("dtype", DTYPES)
        registered = _registry()
        if name not in registered:
            if name in PENDING_WORKLOADS:
                return name, dict(shape), dtype
            raise self.fail("workload", f"unknown workload {name!r}; known: {', '.join(registered)}")
        self._check_shape(registered[name], shape, dtype)
        return name, dict(shape), dtype

    def _check_shape(self, wl: Any, shape: Mapping[str, Any], dtype: str) -> None:
        from gpucompare.workloads import Shape

        try:
            wl.flops(Shape(f"published:{self.eid}", dict(shape)))
        except ValueError as exc:
            raise self.fail("shape", str(exc)) from None
        if dtype not in wl.dtypes and wl.intent != "memory":
            raise self.fail("dtype", f"workload {wl.name!r} has no dtype {dtype!r}; supported: {wl.dtypes}")

    def metric(self, workload: str, shape: Mapping[str, Any]) -> str:
        metric = self.choice("metric", METRICS)
        wl = _registry().get(workload)
        if wl is not None and self.raw["dtype"] not in wl.dtypes and metric != "gbps":
            raise self.fail(
                "metric",
                f"{workload!r} does not measure {self.raw['dtype']!r}: only its GB/s figure is usable",
            )
        if metric == "tflops" and workload in _registry():
            from gpucompare.workloads import Shape

            if _registry()[workload].flops(Shape("published", dict(shape))) == 0:
                raise self.fail("metric", f"workload {workload!r} does no floating-point work: no TFLOP/s")
        return metric


def _registry() -> Mapping[str, Any]:
    from gpucompare.workloads import WORKLOADS  # lazy: torch is imported only when a ledger is loaded

    return WORKLOADS


def _read_sources(data: Mapping[str, Any], where: str) -> dict[str, dict[str, str]]:
    raw = data.get("sources")
    if not isinstance(raw, Mapping) or not raw:
        raise LedgerError(f"{where}: needs a [sources] table with at least one source")
    sources: dict[str, dict[str, str]] = {}
    for sid, src in raw.items():
        if not isinstance(src, Mapping):
            raise LedgerError(f"{where}, source {sid!r}: must be a table")
        for field in SOURCE_FIELDS:
            if not isinstance(src.get(field), str) or not src[field].strip():
                raise LedgerError(f"{where}, source {sid!r}, field {field!r}: must be a non-empty string")
        if not src["url"].startswith(("https://", "http://")):
            raise LedgerError(f"{where}, source {sid!r}, field 'url': not a URL: {src['url']!r}")
        extra = sorted(set(src) - set(SOURCE_FIELDS) - {"publisher"})
        if extra:
            raise LedgerError(f"{where}, source {sid!r}, field {extra[0]!r}: unknown field")
        sources[sid] = {k: src[k] for k in (*SOURCE_FIELDS, "publisher") if k in src}
    return sources


def parse_published(data: Mapping[str, Any], where: str, db: ChipDB) -> list[PublishedEntry]:
    """Validate parsed ledger data into entries (file order); :class:`LedgerError` on the first problem."""
    meta = data.get("meta")
    version = meta.get("schema_version") if isinstance(meta, Mapping) else None
    if version != SCHEMA_VERSION:
        raise LedgerError(f"{where}, field 'meta.schema_version': expected {SCHEMA_VERSION}, got {version!r}")
    sources = _read_sources(data, where)
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise LedgerError(f"{where}: needs [[entries]]")
    entries: list[PublishedEntry] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_entries):
        if not isinstance(raw, Mapping):
            raise LedgerError(f"{where}, entry #{i + 1}: must be a table")
        entry = _EntryReader(raw, i, where, db, sources).read()
        if entry.id in seen:
            raise LedgerError(f"{where}, entry {entry.id!r}, field 'id': duplicate id")
        seen.add(entry.id)
        entries.append(entry)
    return entries


def _read(path: Path, db: ChipDB | None) -> tuple[PublishedEntry, ...]:
    data, where = read_toml(path, LedgerError, "ledger of published measurements", where=path.name)
    return tuple(parse_published(data, where, db or load_chips()))


@lru_cache(maxsize=1)
def _default() -> tuple[PublishedEntry, ...]:
    return _read(DEFAULT_PATH, None)


def load_published(path: str | Path | None = None, db: ChipDB | None = None) -> list[PublishedEntry]:
    """Every entry of a ledger, validated; the packaged ``published.toml`` (cached) when ``path`` is None.

    ``db`` resolves the chips (the packaged chip database by default).
    """
    if path is None and db is None:
        return list(_default())
    return list(_read(Path(path) if path is not None else DEFAULT_PATH, db))


def entries_for(
    chip: str | None = None, workload: str | None = None, group: str | None = None
) -> list[PublishedEntry]:
    """The packaged ledger's entries matching every filter given; ``chip`` is any name the chip database
    resolves (:class:`~gpucompare.errors.UnknownChipError` otherwise)."""
    chip_id = load_chips().get(chip).id if chip is not None else None
    return [
        e
        for e in load_published()
        if (chip_id is None or e.chip == chip_id)
        and (workload is None or e.workload == workload)
        and (group is None or e.group == group)
    ]


def evidence_entries(
    entries: Sequence[PublishedEntry] | None = None, include_unrepresentative: bool = False
) -> list[PublishedEntry]:
    """The entries that may serve as efficiency evidence: the representative ones (all of them with
    ``include_unrepresentative``); ``entries`` defaults to the packaged ledger."""
    entries = load_published() if entries is None else entries
    return [e for e in entries if e.representative or include_unrepresentative]
