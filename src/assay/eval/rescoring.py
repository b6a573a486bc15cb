"""Judge a stored eval run again with the current scorers; sends no request to the model."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from assay.errors import AssayError
from assay.eval.benchmarks import get_benchmark
from assay.eval.judging import judge_record, open_judges, sample_of, stored_record
from assay.eval.records import SampleJournal, SampleRecord
from assay.eval.report import EvalResult, write_reports
from assay.eval.scoring import MathChecker
from assay.store import EvalRun, read_run_info


def rescore(run_dir: str | Path, console: Console | None = None) -> EvalResult:
    """Re-judge every stored generation of ``run_dir``, rewrite its records and reports, and return them.

    An LLM judge configured for the run is asked again only for what its cache lacks.
    """
    from assay._aio import run as run_loop

    path = Path(run_dir)
    run = read_run_info(path)
    if not isinstance(run, EvalRun):
        raise AssayError(f"{path} is not an eval run directory")
    journal = SampleJournal(path)
    records = journal.read()
    config = run.config

    async def all_records(math: MathChecker) -> dict[str, SampleRecord]:
        out = {}
        async with open_judges(config.get("judge_model_args"), config.get("judge_strategy", "auto"), math,
                               path) as judges:
            for key, record in records.items():
                sample = sample_of(record)
                fresh = stored_record(record.benchmark, sample, record.repeat, record)
                out[key] = await judge_record(get_benchmark(record.benchmark), sample, fresh, judges)
        return out

    with MathChecker() as checker:
        rescored = run_loop(all_records(checker))
    journal.compact(rescored)
    return write_reports(path, console)
