"""Run directories: the typed run format, its one writer and reader of each kind, the run's life.

Measuring code writes runs only through this package, and presenting code (``assay perf
report``, ``perf compare``, ``eval --rescore``, the app) reads them only through it.
"""

from assay.store.atomic import write_bytes_atomic, write_json_atomic, write_json_last_resort, write_text_atomic
from assay.store.jsonl import JsonlWriter, read_jsonl, rewrite_jsonl, row_encoder
from assay.store.rundir import (
    EVAL_REPORT_FILE,
    EVAL_REPORT_MD_FILE,
    HTML_REPORT_FILE,
    PLOTS_DIR,
    POINTS_FILE,
    RECORDS_FILE,
    REPORT_FILE,
    RUN_FILE,
    RUN_FILES,
    SAMPLES_FILE,
    SUMMARY_FILE,
    RunFileError,
    RunLifecycle,
    new_run_path,
    pid_alive,
    read_eval_report,
    read_json_file,
    read_points,
    read_records,
    read_requests,
    read_run,
    read_run_info,
    read_samples,
    read_summary,
    run_file,
)
from assay.store.schema import (
    RECORD_SCHEMA_VERSION,
    REPORT_SCHEMA_VERSION,
    RUN_SCHEMA_VERSION,
    RUN_STATUSES,
    SAMPLE_SCHEMA_VERSION,
    SUMMARY_SCHEMA_VERSION,
    AnyRun,
    BenchmarkReport,
    EvalReport,
    EvalRun,
    PerfRun,
    PerfSummary,
    PointRecord,
    RequestRecord,
    RunInfo,
    SampleRecord,
    sample_key,
)

__all__ = [
    "EVAL_REPORT_FILE", "EVAL_REPORT_MD_FILE", "HTML_REPORT_FILE", "PLOTS_DIR", "POINTS_FILE", "RECORDS_FILE",
    "RECORD_SCHEMA_VERSION", "REPORT_FILE", "REPORT_SCHEMA_VERSION", "RUN_FILE", "RUN_FILES", "RUN_SCHEMA_VERSION",
    "RUN_STATUSES", "SAMPLES_FILE", "SAMPLE_SCHEMA_VERSION", "SUMMARY_FILE", "SUMMARY_SCHEMA_VERSION", "AnyRun",
    "BenchmarkReport", "EvalReport", "EvalRun", "JsonlWriter", "PerfRun", "PerfSummary",
    "PointRecord", "RequestRecord", "RunFileError", "RunInfo", "RunLifecycle", "SampleRecord", "new_run_path", "pid_alive",
    "read_eval_report", "read_json_file", "read_jsonl", "read_points", "read_records", "read_requests", "read_run",
    "read_run_info", "read_samples", "read_summary", "rewrite_jsonl", "row_encoder", "run_file", "sample_key",
    "write_bytes_atomic", "write_json_atomic", "write_json_last_resort", "write_text_atomic",
]
