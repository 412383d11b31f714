"""Results storage: the record schema (version 1), an append-only writer and a validating loader.

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
import re
import socket
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gpucompare.errors import ResultsError

SCHEMA_VERSION = 1

# Type tags: "str", "int", "float" (int accepted), "bool", "object"; "?" suffix = may be null.
RECORD_FIELDS: dict[str, str] = {
    "schema_version": "int",
    "run_id": "str",
    "workload": "str",
    "family": "str",
    "intent": "str",
    "shape": "object",
    "shape_label": "str",
    "dtype": "str",
    "impl": "str",
    "baseline": "bool",
    "status": "str",
    "reason": "str?",
    "flops": "int?",
    "bytes": "int?",
    "median_s": "float?",
    "p20_s": "float?",
    "p80_s": "float?",
    "min_s": "float?",
    "count": "int?",
    "cv": "float?",
    "rel_iqr": "float?",
    "noise_target_met": "bool?",
    "tflops": "float?",
    "gbps": "float?",
    "rel_error": "float?",
    "error_bound": "float?",
    "mode": "str",
    "chip_id": "str?",
    "device_name": "str?",
    "local_peak_tflops": "float?",
    "local_peak_bw_tbps": "float?",
    "local_peak_source": "str?",
    "telemetry": "object",
    "throttled": "bool?",
    "versions": "object",
    "command": "str?",
    "git_commit": "str?",
    "timestamp": "str",
    "hostname": "str",
}
ENUMS: dict[str, tuple[str, ...]] = {
    "intent": ("compute", "memory"),
    "status": ("ok", "failed", "skipped"),
    "mode": ("gpu", "cpu-fallback"),
    "local_peak_source": ("spec", "estimated-from-device", "measured-cpu"),
}
# Fields a record with status "ok" must carry as numbers.
OK_REQUIRED = ("median_s", "p20_s", "p80_s", "min_s", "count", "flops", "bytes")
NESTED = ("shape", "telemetry", "versions")
CSV_COLUMNS = tuple(RECORD_FIELDS)
MACHINE_REQUIRED: dict[str, str] = {"run_id": "str", "mode": "str"}


def _type_ok(value: Any, tag: str) -> bool:
    nullable = tag.endswith("?")
    base = tag.rstrip("?")
    if value is None:
        return nullable
    if base == "str":
        return isinstance(value, str)
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if base == "object":
        return isinstance(value, dict)
    raise AssertionError(f"unknown type tag {tag!r}")


def _describe_type(tag: str) -> str:
    names = {
        "str": "a string",
        "int": "an integer",
        "float": "a finite number",
        "bool": "true/false",
        "object": "an object",
    }
    text = names[tag.rstrip("?")]
    return text + " or null" if tag.endswith("?") else text


def validate_record(obj: Any, where: str = "record") -> dict:
    """Check ``obj`` against schema version 1; return it unchanged or raise ``ResultsError``.

    ``where`` prefixes the message (e.g. ``"results/runs/x/records.jsonl:12"``), which then names the
    field that is wrong: missing, unknown, of the wrong type, or outside its enumeration.
    """
    if not isinstance(obj, dict):
        raise ResultsError(f"{where}: a record must be a JSON object, got {type(obj).__name__}")
    version = obj.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"{where}: field 'schema_version': expected {SCHEMA_VERSION}, got {version!r}"
            + (" (missing)" if "schema_version" not in obj else "")
        )
    for name, tag in RECORD_FIELDS.items():
        if name not in obj:
            raise ResultsError(f"{where}: field {name!r} is missing")
        value = obj[name]
        if not _type_ok(value, tag):
            raise ResultsError(
                f"{where}: field {name!r}: expected {_describe_type(tag)}, "
                f"got {type(value).__name__} {value!r:.60}"
            )
        if name in ENUMS and value is not None and value not in ENUMS[name]:
            raise ResultsError(f"{where}: field {name!r}: {value!r} is not one of {', '.join(ENUMS[name])}")
    unknown = sorted(set(obj) - set(RECORD_FIELDS))
    if unknown:
        raise ResultsError(f"{where}: field {unknown[0]!r} is not in schema version {SCHEMA_VERSION}")
    telemetry = obj["telemetry"]
    for key in ("before", "after"):
        if key not in telemetry:
            raise ResultsError(f"{where}: field 'telemetry.{key}' is missing")
        snap = telemetry[key]
        if snap is not None and not isinstance(snap, dict):
            raise ResultsError(f"{where}: field 'telemetry.{key}': expected an object or null")
    if obj["status"] == "ok":
        for name in OK_REQUIRED:
            if obj[name] is None:
                raise ResultsError(f"{where}: field {name!r}: must be a number when status is 'ok'")
    elif not obj["reason"]:
        raise ResultsError(f"{where}: field 'reason': a {obj['status']} record must say why")
    return obj


def validate_machine(obj: Any, where: str = "run.json") -> dict:
    """Check the few fields of ``run.json`` that readers rely on (run_id, mode)."""
    if not isinstance(obj, dict):
        raise ResultsError(f"{where}: the machine description must be a JSON object")
    for name, tag in MACHINE_REQUIRED.items():
        if name not in obj:
            raise ResultsError(f"{where}: field {name!r} is missing")
        if not _type_ok(obj[name], tag):
            raise ResultsError(f"{where}: field {name!r}: expected {_describe_type(tag)}")
    if obj["mode"] not in ENUMS["mode"]:
        raise ResultsError(f"{where}: field 'mode': {obj['mode']!r} is not one of {', '.join(ENUMS['mode'])}")
    return obj


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


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower() or "unknown"


def run_dir_name(machine: Mapping[str, Any], when: datetime | None = None) -> str:
    """``<YYYY-MM-DD>-<host>-<chip>``; chip = chip id, ``cpu`` for the CPU fallback, else ``unknown-gpu``."""
    when = when or datetime.now(timezone.utc)
    host = _slug(str(machine.get("hostname") or socket.gethostname()).split(".")[0])
    if machine.get("chip_id"):
        chip = _slug(str(machine["chip_id"]))
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
        _atomic_write(
            self.path / "run.json", json.dumps(self.machine, indent=2, allow_nan=False, default=str) + "\n"
        )
        self.jsonl = self.path / "records.jsonl"
        self.jsonl.touch()
        _atomic_write(self.path / "records.csv", records_csv([]))

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
        _atomic_write(self.path / "records.csv", records_csv(self.records))
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
