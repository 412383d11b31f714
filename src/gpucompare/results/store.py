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
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gpucompare.errors import ResultsError
from gpucompare.files import atomic_write, slug
from gpucompare.results.record import NESTED, RECORD_FIELDS, validate_machine, validate_record

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


class RunWriter:
    """Creates a run folder and appends records to it as they are measured.

    ``machine`` is the run.json content (device description, peaks, versions, command...). Its
    ``run_id`` is set to the folder's name, which is unique: an existing folder of the same name gets a
    ``-2``, ``-3``... suffix instead of being overwritten. Every appended record is validated first.
    """

    def __init__(self, out_dir: str | os.PathLike, machine: Mapping[str, Any]):
        root = Path(out_dir)
        root.mkdir(parents=True, exist_ok=True)
        base = run_dir_name(machine)
        for n in range(1, 10_000):
            name = base if n == 1 else f"{base}-{n}"
            try:
                (root / name).mkdir()
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - ten thousand runs of one day on one host
            raise ResultsError(f"{root}: too many runs named {base}-*")
        self.path = root / name
        self.run_id = name
        self.machine = {**_clean(machine), "run_id": name}
        validate_machine(self.machine, str(self.path / "run.json"))
        self.records: list[dict] = []
        atomic_write(
            self.path / "run.json", json.dumps(self.machine, indent=2, allow_nan=False, default=str) + "\n"
        )
        self.jsonl = self.path / "records.jsonl"
        self.jsonl.touch()
        atomic_write(self.path / "records.csv", records_csv([]))

    def append(self, record: Mapping[str, Any]) -> dict:
        """Validate ``record``, append it to records.jsonl (flush + fsync) and regenerate records.csv."""
        rec = _clean(record)
        if rec.get("run_id") != self.run_id:
            raise ValueError(f"record run_id {rec.get('run_id')!r} is not this run's {self.run_id!r}")
        validate_record(rec, f"record {len(self.records) + 1} for {self.jsonl}")
        line = _dumps(rec) + "\n"
        with open(self.jsonl, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self.records.append(rec)
        atomic_write(self.path / "records.csv", records_csv(self.records))
        return rec


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


def load_run(path: str | os.PathLike, *, allow_truncated_tail: bool = False) -> Run:
    """Load and validate one run folder.

    A last line without its newline that is not valid JSON is a record cut short by a killed run: by
    default that raises ``ResultsError`` naming the file and line; with ``allow_truncated_tail=True`` it
    warns (``UserWarning``) and the finished records are kept. Any other bad line is always an error.
    """
    folder = Path(path)
    run_json = folder / "run.json"
    if not run_json.is_file():
        raise ResultsError(f"{folder}: not a run folder (no run.json)")
    try:
        machine = json.loads(run_json.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{run_json}: not valid JSON ({exc})") from None
    validate_machine(machine, str(run_json))
    records: list[dict] = []
    jsonl = folder / "records.jsonl"
    if jsonl.exists():
        text = jsonl.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        complete = text.endswith("\n") or text == ""
        for i, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            is_tail = i == len(lines) and not complete
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                if is_tail:
                    msg = (
                        f"{jsonl}:{i}: truncated last line ({len(line)} characters, no newline): "
                        "the run was killed while writing it"
                    )
                    if not allow_truncated_tail:
                        raise ResultsError(
                            msg + "; load with allow_truncated_tail=True to keep the rest"
                        ) from None
                    warnings.warn(msg + "; ignoring it, keeping the finished records", stacklevel=2)
                    continue
                raise ResultsError(f"{jsonl}:{i}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            validate_record(obj, f"{jsonl}:{i}")
            if obj["run_id"] != machine["run_id"]:
                raise ResultsError(
                    f"{jsonl}:{i}: field 'run_id': {obj['run_id']!r} "
                    f"differs from run.json's {machine['run_id']!r}"
                )
            records.append(obj)
    return Run(path=folder, machine=machine, records=records)


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
