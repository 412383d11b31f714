"""Results: the record (:mod:`.record`, whose dataclass is the field list) and the run store (:mod:`.store`:
append-only writer, validating loader, and :func:`is_pipeline_check`, the one rule that keeps CPU-fallback
runs out of published tables and verdicts)."""

from gpucompare.results.record import (
    ENUMS,
    MACHINE_REQUIRED,
    NESTED,
    OK_REQUIRED,
    READABLE_VERSIONS,
    RECORD_FIELDS,
    SCHEMA_VERSION,
    Record,
    validate_machine,
    validate_record,
)
from gpucompare.results.store import (
    CSV_COLUMNS,
    DEFAULT_ROOT,
    PIPELINE_CHECK_MODE,
    Run,
    RunWriter,
    check_writable,
    csv_row,
    is_pipeline_check,
    load_run,
    load_runs,
    read_records_csv,
    records_csv,
    run_dir_name,
)

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_ROOT",
    "ENUMS",
    "MACHINE_REQUIRED",
    "NESTED",
    "OK_REQUIRED",
    "PIPELINE_CHECK_MODE",
    "READABLE_VERSIONS",
    "RECORD_FIELDS",
    "SCHEMA_VERSION",
    "Record",
    "Run",
    "RunWriter",
    "check_writable",
    "csv_row",
    "is_pipeline_check",
    "load_run",
    "load_runs",
    "read_records_csv",
    "records_csv",
    "run_dir_name",
    "validate_machine",
    "validate_record",
]
