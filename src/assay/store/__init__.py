"""Run directories: layout, durable record files, reading old runs back."""

from assay.store.rundir import (
    RECORDS_FILE,
    REPORT_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    RecordWriter,
    new_run_path,
    read_records,
    read_run,
    write_json_atomic,
    write_json_last_resort,
)

__all__ = [
    "RECORDS_FILE", "REPORT_FILE", "RUN_FILE", "SUMMARY_FILE", "RecordWriter",
    "new_run_path", "read_records", "read_run", "write_json_atomic", "write_json_last_resort",
]
