"""Results storage: an append-only writer and a validating loader (the record itself: ``results.record``).

A run lives in ``results/runs/<date>-<host>-<chip>/``:

- ``run.json``: the machine description (see docs/architecture.md), written atomically (tmp + ``os.replace``).
- ``records.jsonl``: one record per line, appended with flush + fsync per record, so a run killed at any
  moment keeps every finished record; at worst the last line is cut short, and the loader reports it.
- ``records.csv``: the same records as flat columns, regenerated atomically after each record. Scalar fields
  are written as is (``None`` as an empty cell); the nested objects ``shape``, ``telemetry`` and ``versions``
  are JSON-encoded in their own column (``json.loads`` gives back the object), so CSV and JSONL hold the same
  information and the column set is fixed by the schema.

Non-finite floats (an ``inf`` error from a NaN output) are stored as ``null``: JSON has no Infinity.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gpucompare.errors import ResultsError, first_line
from gpucompare.files import atomic_write, slug
from gpucompare.results.record import (
    NESTED,
    READABLE_VERSIONS,
    RECORD_FIELDS,
    SCHEMA_VERSION,
    describe_type,
    fields_of_version,
    validate_machine,
    validate_record,
)
from gpucompare.sanitize import csv_cell, csv_uncell

CSV_COLUMNS = tuple(RECORD_FIELDS)


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, tuples become lists, Paths strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _dumps(obj: Any) -> str:
    return json.dumps(_clean(obj), allow_nan=False, separators=(",", ":"), default=str)


def csv_row(record: Mapping[str, Any]) -> dict[str, str]:
    """One flat CSV row: scalars as text (None → empty), nested objects JSON-encoded."""
    row = {}
    for name in CSV_COLUMNS:
        value = _clean(record.get(name))
        if name in NESTED:
            row[name] = json.dumps(value, separators=(",", ":"))
        elif value is None:
            row[name] = ""
        elif isinstance(value, str):
            row[name] = csv_cell(value)  # a spreadsheet shows it as text, never runs it as a formula
        else:
            row[name] = json.dumps(value) if isinstance(value, bool) else str(value)
    return row


def records_csv(records: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow(csv_row(rec))
    return buf.getvalue()


def run_dir_name(machine: Mapping[str, Any], when: datetime | None = None) -> str:
    """``<YYYY-MM-DD>-<host>-<chip>``; chip = chip id, ``cpu`` for the CPU fallback, else ``unknown-gpu``."""
    when = when or datetime.now(timezone.utc)
    host = slug(str(machine.get("hostname") or socket.gethostname()).split(".")[0])
    if machine.get("chip_id"):
        chip = slug(str(machine["chip_id"]))
    elif machine.get("mode") == "cpu-fallback":
        chip = "cpu"
    else:
        chip = "unknown-gpu"
    return f"{when:%Y-%m-%d}-{host}-{chip}"


def _write_error(path: Path, exc: OSError, what: str) -> ResultsError:
    return ResultsError(f"{path}: cannot {what}: {exc.strerror or first_line(exc)}")


def check_writable(root: str | os.PathLike) -> Path:
    """Create ``root`` (and its parents) and prove a file can be written there, before anything is measured.

    A missing parent is created; a read-only folder, a full disk or a file in the way is one
    :class:`ResultsError` naming the folder, instead of a traceback after minutes of measuring.
    """
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".gpucompare-write-test-") as fh:
            fh.write(b"gpucompare write test\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise _write_error(root, exc, "write results there") from None
    return root


class RunWriter:
    """Creates a run folder and appends records to it as they are measured.

    ``machine`` is the run.json content (device description, peaks, versions, command...). Its
    ``run_id`` is set to the folder's name, which is unique: an existing folder of the same name gets a
    ``-2``, ``-3``... suffix instead of being overwritten (``mkdir`` is atomic, so two runs started at once
    into the same ``out_dir`` get two folders and both keep whole records). Every appended record is
    validated first. ``planned_cases`` goes to run.json with ``finished: false``; :meth:`finish` sets it to
    true, so a killed run is told apart from a complete one.

    Each record is appended to records.jsonl (flush + fsync), then records.csv is rewritten atomically; when
    either write fails (a full disk), records.jsonl is cut back to its previous length, so both files keep
    the same records, and :class:`ResultsError` says which file failed.
    """

    def __init__(
        self, out_dir: str | os.PathLike, machine: Mapping[str, Any], *, planned_cases: int | None = None
    ):
        root = check_writable(out_dir)
        base = run_dir_name(machine)
        for n in range(1, 10_000):
            name = base if n == 1 else f"{base}-{n}"
            try:
                (root / name).mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise _write_error(root / name, exc, "create the run folder") from None
            break
        else:  # pragma: no cover - ten thousand runs of one day on one host
            raise ResultsError(f"{root}: too many runs named {base}-*")
        self.path = root / name
        self.run_id = name
        extra = {"planned_cases": planned_cases, "finished": False} if planned_cases is not None else {}
        self.machine = {**_clean(machine), **extra, "run_id": name}
        validate_machine(self.machine, str(self.path / "run.json"))
        self.records: list[dict] = []
        self.jsonl = self.path / "records.jsonl"
        try:
            self._write_machine()
            self.jsonl.touch()
            atomic_write(self.path / "records.csv", records_csv([]))
        except OSError as exc:
            raise _write_error(self.path, exc, "write the run folder") from None

    def _write_machine(self) -> None:
        atomic_write(
            self.path / "run.json", json.dumps(self.machine, indent=2, allow_nan=False, default=str) + "\n"
        )

    def append(self, record: Mapping[str, Any]) -> dict:
        """Validate ``record``, append it to records.jsonl (flush + fsync) and regenerate records.csv."""
        rec = _clean(record)
        if rec.get("run_id") != self.run_id:
            raise ValueError(f"record run_id {rec.get('run_id')!r} is not this run's {self.run_id!r}")
        n = len(self.records) + 1
        validate_record(rec, f"record {n} for {self.jsonl}")
        line = _dumps(rec) + "\n"
        size = self.jsonl.stat().st_size
        target = self.jsonl
        try:
            with open(self.jsonl, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            target = self.path / "records.csv"
            atomic_write(target, records_csv([*self.records, rec]))
        except OSError as exc:
            os.truncate(self.jsonl, size)  # frees space; records.jsonl and records.csv keep n - 1 records
            raise ResultsError(
                f"{target}: cannot write record {n}: {exc.strerror or first_line(exc)}; "
                f"the run keeps its first {n - 1} records in {self.path}"
            ) from None
        self.records.append(rec)
        return rec

    def finish(self) -> None:
        """Mark the run complete in run.json (``finished: true``)."""
        self.machine["finished"] = True
        try:
            self._write_machine()
        except OSError as exc:
            raise _write_error(self.path / "run.json", exc, "mark the run finished") from None


@dataclass
class Run:
    """One loaded run: its folder, the machine description (run.json) and the validated records."""

    path: Path
    machine: dict
    records: list[dict] = field(default_factory=list)

    def to_frame(self):
        """The records as a pandas DataFrame (one row per record, nested objects kept as dicts)."""
        import pandas as pd

        return pd.DataFrame(self.records, columns=list(RECORD_FIELDS))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read: {exc.strerror or first_line(exc)}") from None


def _parse_json(text: str) -> Any:
    """``json.loads``; a too-deep nesting (RecursionError) or a too-long integer is a ValueError too."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def load_run(path: str | os.PathLike, *, allow_truncated_tail: bool = False) -> Run:
    """Load and validate one run folder.

    A last line without its newline that is not valid JSON is a record cut short by a killed run: by
    default that raises ``ResultsError`` naming the file and line; with ``allow_truncated_tail=True`` it
    warns (``UserWarning``) and the finished records are kept. Any other bad line is always an error, as is
    an unreadable file (the message names the file, the line and the field).
    """
    folder = Path(path)
    run_json = folder / "run.json"
    if not run_json.is_file():
        raise ResultsError(f"{folder}: not a run folder (no run.json)")
    try:
        machine = _parse_json(_read_text(run_json))
    except ValueError as exc:
        raise ResultsError(f"{run_json}: not valid JSON ({first_line(exc)})") from None
    validate_machine(machine, str(run_json))
    jsonl = folder / "records.jsonl"
    records = _read_records(jsonl, machine["run_id"], allow_truncated_tail) if jsonl.exists() else []
    return Run(path=folder, machine=machine, records=records)


def _read_records(jsonl: Path, run_id: str, allow_truncated_tail: bool) -> list[dict]:
    text = _read_text(jsonl)
    lines = text.split("\n")
    complete = text.endswith("\n") or text == ""
    records: list[dict] = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = _parse_json(line)
        except ValueError as exc:
            if i == len(lines) and not complete:
                msg = (
                    f"{jsonl}:{i}: truncated last line ({len(line)} characters, no newline): "
                    "the run was killed while writing it"
                )
                if not allow_truncated_tail:
                    raise ResultsError(
                        msg + "; load with allow_truncated_tail=True to keep the rest"
                    ) from None
                warnings.warn(msg + "; skipped it, keeping the finished records", stacklevel=3)
                continue
            raise ResultsError(f"{jsonl}:{i}: not valid JSON ({_json_reason(exc)})") from None
        validate_record(obj, f"{jsonl}:{i}")
        if obj["run_id"] != run_id:
            raise ResultsError(
                f"{jsonl}:{i}: field 'run_id': {obj['run_id']!r} differs from run.json's {run_id!r}"
            )
        records.append(obj)
    return records


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return first_line(exc)


def read_records_csv(path: str | os.PathLike) -> list[dict]:
    """The records of a ``records.csv`` as record dicts (typed back by the schema), each validated.

    The inverse of :func:`records_csv` (``records_csv(read_records_csv(p))`` is the file's text). The
    header must be a readable schema's column list; every failure is a :class:`ResultsError` naming the file,
    the row and the column.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ResultsError(f"{path}: not valid CSV ({first_line(exc)})") from None
    if not rows:
        raise ResultsError(f"{path}: empty (no header row)")
    header = tuple(rows[0])
    readable = {tuple(fields_of_version(v)): v for v in READABLE_VERSIONS}
    if header not in readable:
        raise ResultsError(f"{path}: header is not the column list of schema version {SCHEMA_VERSION}")
    records = []
    for i, row in enumerate(rows[1:], start=2):
        where = f"{path}:{i}"
        if len(row) != len(header):
            raise ResultsError(f"{where}: {len(row)} cells, the header has {len(header)}")
        rec = {name: _csv_value(name, cell, where) for name, cell in zip(header, row)}
        records.append(validate_record(_of_its_version(rec), where))
    return records


def _of_its_version(rec: dict) -> dict:
    """A CSV row holds every column of the newest schema; an older record's newer columns are empty: drop them."""
    version = rec.get("schema_version")
    if version in READABLE_VERSIONS and not isinstance(version, bool):
        known = fields_of_version(version)
        return {k: v for k, v in rec.items() if k in known or v is not None}
    return rec


def _csv_value(name: str, cell: str, where: str) -> Any:
    """One CSV cell back to its typed value (see :func:`csv_row`)."""
    base = RECORD_FIELDS[name].rstrip("?")
    if name in NESTED or base == "bool":
        try:
            return _parse_json(cell) if cell else None
        except ValueError:
            raise ResultsError(f"{where}: column {name!r}: not JSON: {cell!r:.40}") from None
    if base == "str":
        return None if cell == "" and RECORD_FIELDS[name].endswith("?") else csv_uncell(cell)
    if cell == "":
        return None
    try:
        return int(cell) if base == "int" else _csv_number(cell)
    except ValueError:
        raise ResultsError(
            f"{where}: column {name!r}: expected {describe_type(base)}, got {cell!r:.40}"
        ) from None


def _csv_number(cell: str) -> int | float:
    try:
        return int(cell)
    except ValueError:
        return float(cell)


DEFAULT_ROOT = Path("results") / "runs"
PIPELINE_CHECK_MODE = "cpu-fallback"


def is_pipeline_check(item: Run | Mapping[str, Any]) -> bool:
    """The one rule: a run (or record, or run.json dict) not measured on a GPU is a pipeline check.

    Pipeline checks (Triton's interpreter and PyTorch on the CPU) test the suite; they are never published
    and never feed a verdict about a chip, unless a caller asks for them explicitly (``include_cpu``).
    """
    mode = item.machine.get("mode") if isinstance(item, Run) else item.get("mode")
    return mode != "gpu"


def load_runs(
    paths: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    *,
    allow_truncated_tail: bool = False,
    include_cpu: bool = True,
) -> list[Run]:
    """Load every run under ``paths`` (a run folder, a folder of runs, or a list of either).

    ``include_cpu=False`` leaves out the pipeline checks (:func:`is_pipeline_check`). Default: ``results/runs``. Folders are searched recursively for ``run.json``; the result is sorted by
    path, so it is deterministic. A path that does not exist is an error; an empty root gives ``[]``.
    """
    if paths is None:
        paths = [DEFAULT_ROOT]
    elif isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    folders: set[Path] = set()
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ResultsError(f"{p}: no such results folder")
        if (p / "run.json").is_file():
            folders.add(p)
        elif p.is_dir():
            folders.update(f.parent for f in p.rglob("run.json"))
        else:
            raise ResultsError(f"{p}: not a run folder (no run.json)")
    runs = [load_run(f, allow_truncated_tail=allow_truncated_tail) for f in sorted(folders, key=str)]
    return runs if include_cpu else [r for r in runs if not is_pipeline_check(r)]
