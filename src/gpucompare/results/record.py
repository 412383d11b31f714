"""The record: one (workload, shape, dtype, impl) measurement. :class:`Record` *is* the field list.

Each field carries its type tag in its metadata: ``str``, ``int``, ``float`` (an int is accepted),
``bool``, ``object``; a ``?`` suffix means it may be null. ``RECORD_FIELDS``, the CSV columns, the validator
and the runner's record all derive from the dataclass, so a field is added in one place.

Schema versions: 1 (the first), 2 adds ``method`` (how the time was measured: timer, flush, stop rule,
warm-up, with the method's own version, see ``gpucompare.measure.timing.method_description``), 3 adds
``collective`` (a collective's world size, backend and its version, algorithm, size moved, algbw and busbw,
see ``gpucompare.measure.distributed``; null for every other workload), the intent ``communication``,
``kernel_config`` (the autotune config each Triton kernel of the implementation chose, by kernel name),
``best_baseline`` (the implementation that is this case's baseline: where the workload has a pool of vendor
implementations, the SDPA backends, the fastest that passed its check, and only its record has ``baseline``
True) and ``notes`` (what the implementation does beyond the operation, e.g. a GQA expansion done in setup).
Version 3 records also carry ``telemetry.during`` (NVML SM clock, power and temperature min / median / max,
sampled while the case was timed). Records of an older version load with the newer fields absent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from gpucompare.dtypes import DTYPES
from gpucompare.errors import ResultsError
from gpucompare.values import is_number

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


def _f(tag: str, default: Any = None, *, since: int = 1) -> Any:
    if tag == "object" and default is None:
        return field(default_factory=dict, metadata={"type": tag, "since": since})
    return field(default=default, metadata={"type": tag, "since": since})


@dataclass
class Record:
    """One measurement. Defaults describe a case not yet measured (status ``failed`` until it succeeds)."""

    run_id: str = _f("str", "")
    workload: str = _f("str", "")
    family: str = _f("str", "")
    intent: str = _f("str", "compute")
    shape: dict = _f("object")  # noqa: RUF009 (_f returns a field)
    shape_label: str = _f("str", "")
    dtype: str = _f("str", "")
    impl: str = _f("str", "")
    baseline: bool = _f("bool", False)
    status: str = _f("str", "failed")
    reason: str | None = _f("str?")
    flops: int | None = _f("int?")
    bytes: int | None = _f("int?")
    median_s: float | None = _f("float?")
    p20_s: float | None = _f("float?")
    p80_s: float | None = _f("float?")
    min_s: float | None = _f("float?")
    count: int | None = _f("int?")
    cv: float | None = _f("float?")
    rel_iqr: float | None = _f("float?")
    noise_target_met: bool | None = _f("bool?")
    tflops: float | None = _f("float?")
    gbps: float | None = _f("float?")
    rel_error: float | None = _f("float?")
    error_bound: float | None = _f("float?")
    mode: str = _f("str", "gpu")
    chip_id: str | None = _f("str?")
    device_name: str | None = _f("str?")
    local_peak_tflops: float | None = _f("float?")
    local_peak_bw_tbps: float | None = _f("float?")
    local_peak_source: str | None = _f("str?")
    telemetry: dict = field(
        default_factory=lambda: {"before": None, "after": None}, metadata={"type": "object", "since": 1}
    )
    throttled: bool | None = _f("bool?")
    versions: dict = _f("object")  # noqa: RUF009
    command: str | None = _f("str?")
    git_commit: str | None = _f("str?")
    timestamp: str = _f("str", "")
    hostname: str = _f("str", "")
    method: dict | None = _f("object?", since=2)  # noqa: RUF009
    collective: dict | None = _f("object?", since=3)  # noqa: RUF009
    kernel_config: dict | None = _f("object?", since=3)  # noqa: RUF009
    best_baseline: str | None = _f("str?", since=3)
    notes: str | None = _f("str?", since=3)
    schema_version: int = _f("int", SCHEMA_VERSION)

    def to_dict(self) -> dict[str, Any]:
        """The record as the JSON object stored in ``records.jsonl`` (field order: :data:`RECORD_FIELDS`)."""
        d = asdict(self)
        return {name: d[name] for name in RECORD_FIELDS}


# The stored column order: schema_version first, then the fields in declaration order.
_FIELDS = {f.name: f for f in fields(Record)}
RECORD_FIELDS: dict[str, str] = {
    "schema_version": "int",
    **{n: f.metadata["type"] for n, f in _FIELDS.items() if n != "schema_version"},
}
ENUMS: dict[str, tuple[str, ...]] = {
    "intent": ("compute", "memory", "communication"),
    "status": ("ok", "failed", "skipped"),
    "mode": ("gpu", "cpu-fallback"),
    "local_peak_source": ("spec", "estimated-from-device", "measured-cpu"),
}
# Fields a record with status "ok" must carry as numbers.
OK_REQUIRED = ("median_s", "p20_s", "p80_s", "min_s", "count", "flops", "bytes")
NESTED = ("shape", "telemetry", "versions", "method", "collective", "kernel_config")
MACHINE_REQUIRED: dict[str, str] = {"run_id": "str", "mode": "str"}
# Optional run.json fields readers use, with their types. ``planned_cases`` (the cases the run set out to
# measure) and ``finished`` (false until the last case is written) tell a complete run from a killed one;
# runs written before they existed lack them.
MACHINE_OPTIONAL: dict[str, str] = {
    "planned_cases": "int?",
    "finished": "bool?",
    "versions": "object?",
    "local_peaks": "object?",
    "chip_id": "str?",
    "device_name": "str?",
    "hostname": "str?",
    "git_commit": "str?",
    "timestamp": "str?",
    "command": "str?",
    "tier": "str?",
}
# Plausible ranges (inclusive) of the numeric fields: outside them a number is a corrupt file, not a
# measurement (a 1e308 s median or a 10**400 FLOP count would overflow every later computation).
RANGES: dict[str, tuple[float, float]] = {
    "flops": (0, 1e24),
    "bytes": (0, 1e18),
    "count": (1, 1e9),
    **{name: (1e-12, 1e6) for name in ("median_s", "p20_s", "p80_s", "min_s")},
    **{
        name: (0, 1e6)
        for name in ("cv", "rel_iqr", "tflops", "gbps", "local_peak_tflops", "local_peak_bw_tbps")
    },
    **{name: (0, 1e30) for name in ("rel_error", "error_bound")},
}
# Shape parameters: integers in this range, booleans or short strings.
SHAPE_INT_MAX = 2**40
#: The fields of one telemetry sample (``telemetry.before`` / ``after``: NVML, see gpucompare.measure.telemetry).
TELEMETRY_FIELDS = (
    "sm_clock_mhz",
    "sm_clock_max_mhz",
    "mem_clock_mhz",
    "mem_clock_max_mhz",
    "power_w",
    "power_limit_w",
    "temperature_c",
    "clock_event_reasons",
    "power_violation_ns",
    "thermal_violation_ns",
)
# Numeric fields of a telemetry sample, null or in range.
TELEMETRY_NUMBERS = tuple(f for f in TELEMETRY_FIELDS if f != "clock_event_reasons")
TELEMETRY_MAX = 1e21


def fields_of_version(version: int) -> dict[str, str]:
    """The fields (and type tags) a record of schema ``version`` carries."""
    return {
        n: t
        for n, t in RECORD_FIELDS.items()
        if n == "schema_version" or _FIELDS[n].metadata["since"] <= version
    }


def type_ok(value: Any, tag: str) -> bool:
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
        return is_number(value)
    if base == "object":
        return isinstance(value, dict)
    raise AssertionError(f"unknown type tag {tag!r}")


def describe_type(tag: str) -> str:
    names = {
        "str": "a string",
        "int": "an integer",
        "float": "a finite number",
        "bool": "true/false",
        "object": "an object",
    }
    text = names[tag.rstrip("?")]
    return text + " or null" if tag.endswith("?") else text


def _check_fields(obj: dict, version: int, where: str) -> None:
    expected = fields_of_version(version)
    for name, tag in expected.items():
        if name not in obj:
            raise ResultsError(f"{where}: field {name!r} is missing")
        value = obj[name]
        if not type_ok(value, tag):
            raise ResultsError(
                f"{where}: field {name!r}: expected {describe_type(tag)}, got {type(value).__name__} {value!r:.60}"
            )
        if name in ENUMS and value is not None and value not in ENUMS[name]:
            raise ResultsError(f"{where}: field {name!r}: {value!r} is not one of {', '.join(ENUMS[name])}")
    unknown = sorted(set(obj) - set(expected))
    if unknown:
        raise ResultsError(f"{where}: field {unknown[0]!r} is not in schema version {version}")


def validate_record(obj: Any, where: str = "record") -> dict:
    """Check ``obj`` against its schema version (1, 2 or 3); return it unchanged or raise ``ResultsError``.

    ``where`` prefixes the message (e.g. ``"results/runs/x/records.jsonl:12"``), which then names the
    field that is wrong: missing, unknown, of the wrong type, or outside its enumeration.
    """
    if not isinstance(obj, dict):
        raise ResultsError(f"{where}: a record must be a JSON object, got {type(obj).__name__}")
    version = obj.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ResultsError(
            f"{where}: field 'schema_version': expected one of {', '.join(map(str, READABLE_VERSIONS))}, "
            f"got {version!r}" + (" (missing)" if "schema_version" not in obj else "")
        )
    _check_fields(obj, version, where)
    _check_values(obj, where)
    _check_telemetry(obj["telemetry"], where)
    if obj["status"] == "ok":
        for name in OK_REQUIRED:
            if obj[name] is None:
                raise ResultsError(f"{where}: field {name!r}: must be a number when status is 'ok'")
        if obj["bytes"] == 0:
            raise ResultsError(f"{where}: field 'bytes': a measured kernel moves data, got 0")
    elif not obj["reason"]:
        raise ResultsError(f"{where}: field 'reason': a {obj['status']} record must say why")
    return obj


def _check_values(obj: dict, where: str) -> None:
    """Ranges of the numbers, the dtype, the shape's parameters and the version strings."""
    for name, (low, high) in RANGES.items():
        value = obj[name]
        if value is not None and not low <= value <= high:
            raise ResultsError(f"{where}: field {name!r}: {value!r:.40} is outside [{low:g}, {high:g}]")
    if obj["dtype"] not in DTYPES:
        raise ResultsError(f"{where}: field 'dtype': {obj['dtype']!r:.40} is not one of {', '.join(DTYPES)}")
    for key, value in obj["shape"].items():
        ok = isinstance(value, (bool, str)) or (isinstance(value, int) and 0 <= value <= SHAPE_INT_MAX)
        if not ok:
            raise ResultsError(
                f"{where}: field 'shape.{key}': expected an integer in [0, 2**40], true/false or a string, "
                f"got {value!r:.40}"
            )
    _check_strings(obj["versions"], "versions", where)
    if obj.get("collective") is not None:
        _check_collective(obj["collective"], obj["status"], where)


#: ``collective``: field -> (types, low, high, required). Every consumer (model/comm.py, the report) reads
#: these; a record that passes here cannot make them raise.
COLLECTIVE_FIELDS: dict[str, tuple[tuple[type, ...], float, float, bool]] = {
    "world_size": ((int,), 1, 2**20, True),
    "size_bytes": ((int,), 0, 2**50, True),
    "backend": ((str,), 0, 0, True),
    "backend_version": ((str,), 0, 0, False),
    "algorithm": ((str,), 0, 0, False),
    "bus_factor": ((int, float), 0, 1e3, False),
    "algbw_gbps": ((int, float), 0, 1e7, False),
    "busbw_gbps": ((int, float), 0, 1e7, False),
}


def _check_collective(coll: dict, status: str, where: str) -> None:
    for key, (types, low, high, required) in COLLECTIVE_FIELDS.items():
        value = coll.get(key)
        name = f"collective.{key}"
        if value is None:
            if required or (status == "ok" and key.endswith("_gbps")):
                raise ResultsError(
                    f"{where}: field {name!r}: required" + (" when status is 'ok'" * (not required))
                )
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            kind = " or ".join(t.__name__ for t in types)
            raise ResultsError(f"{where}: field {name!r}: expected {kind}, got {value!r:.40}")
        if str in types:
            if len(value) > 200 or not value.isprintable():
                raise ResultsError(f"{where}: field {name!r}: expected one printable line, got {value!r:.40}")
        elif not low <= value <= high:
            raise ResultsError(f"{where}: field {name!r}: {value!r:.40} is outside [{low:g}, {high:g}]")


def _check_strings(mapping: dict, name: str, where: str) -> None:
    for key, value in mapping.items():
        if value is not None and not isinstance(value, str):
            raise ResultsError(f"{where}: field '{name}.{key}': expected a string or null, got {value!r:.40}")


def _check_telemetry(telemetry: dict, where: str) -> None:
    for key in ("before", "after"):
        if key not in telemetry:
            raise ResultsError(f"{where}: field 'telemetry.{key}' is missing")
        snap = telemetry[key]
        if snap is None:
            continue
        if not isinstance(snap, dict):
            raise ResultsError(f"{where}: field 'telemetry.{key}': expected an object or null")
        for name in TELEMETRY_NUMBERS:
            value = snap.get(name)
            ok = value is None or (type_ok(value, "float") and 0 <= value <= TELEMETRY_MAX)
            if not ok:
                raise ResultsError(
                    f"{where}: field 'telemetry.{key}.{name}': expected a number in [0, {TELEMETRY_MAX:g}] "
                    f"or null, got {value!r:.40}"
                )
        reasons = snap.get("clock_event_reasons")
        if reasons is not None and not (
            isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)
        ):
            raise ResultsError(
                f"{where}: field 'telemetry.{key}.clock_event_reasons': expected a list of strings"
            )


def validate_machine(obj: Any, where: str = "run.json") -> dict:
    """Check the fields of ``run.json`` that readers rely on: ``run_id`` and ``mode`` (required), and the
    types of the optional ones (:data:`MACHINE_OPTIONAL`), ``versions`` holding strings."""
    if not isinstance(obj, dict):
        raise ResultsError(f"{where}: the machine description must be a JSON object")
    for name in MACHINE_REQUIRED:
        if name not in obj:
            raise ResultsError(f"{where}: field {name!r} is missing")
    for name, tag in {**MACHINE_REQUIRED, **MACHINE_OPTIONAL}.items():
        if name in obj and not type_ok(obj[name], tag):
            raise ResultsError(
                f"{where}: field {name!r}: expected {describe_type(tag)}, got {obj[name]!r:.40}"
            )
    if obj["mode"] not in ENUMS["mode"]:
        raise ResultsError(f"{where}: field 'mode': {obj['mode']!r} is not one of {', '.join(ENUMS['mode'])}")
    planned = obj.get("planned_cases")
    if planned is not None and not 0 <= planned <= RANGES["count"][1]:
        raise ResultsError(f"{where}: field 'planned_cases': {planned!r:.40} is outside [0, 1e9]")
    _check_strings(obj.get("versions") or {}, "versions", where)
    return obj
