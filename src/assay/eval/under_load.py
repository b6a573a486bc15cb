"""Accuracy under load: does the model answer the same samples as well with many requests in flight?

Engines are not batch-invariant: a request batched with others can get another answer than the same
request alone (other kernels, other reduction orders). :func:`run_under_load` runs the same samples
once per concurrency level (``TaskConfig.concurrency_levels``; ``eval_batch_size`` = the level), each
level a complete eval run of its own, ``<work_dir>/<YYYYMMDD_HHMMSS>/<model>/c<level>/``. The lowest
level is the reference: every other level is compared with it by :func:`assay.eval.compare.compare_runs`
(the flipped samples both ways, the exact McNemar test or the paired bootstrap, the verdict). Per
level and benchmark it also reports the mean latency and time to first token of the same requests.
The summary is printed and written as ``under_load.json`` in the parent folder.

Sampling noise must not pass for a load effect: temperature 0 and a fixed request seed are sent
unless the user set them (a non-zero temperature is warned about: the comparison then means little).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from assay.eval.compare import BenchmarkComparison, compare_runs
from assay.eval.config import TaskConfig
from assay.store import new_run_path, read_samples, write_json_atomic

UNDER_LOAD_FILE = "under_load.json"
DEFAULT_SEED = 42
"""The request seed sent when neither ``generation_config.seed`` nor ``seed`` is set."""
FLIPS_SHOWN = 20


@dataclass(frozen=True)
class BenchmarkAtLevel:
    """One benchmark at one concurrency level: its score, its requests' times, and the change from the reference."""

    benchmark: str
    score: float | None
    """The level's primary score (``AveragePass@1``, 0-1; None: nothing scored)."""
    answered: int
    """Generations whose request succeeded (their times are averaged)."""
    errors: int
    """Generations whose request failed (left out of score, times and comparison)."""
    mean_latency_s: float | None
    mean_ttft_s: float | None
    """None when no answer had a first-token time (a non-streamed request has one only if the client saw it)."""
    comparison: BenchmarkComparison | None
    """This level against the reference level (flips, p-value, verdict); None at the reference."""


@dataclass(frozen=True)
class LevelResult:
    concurrency: int
    run_dir: str
    duration_s: float
    """Wall time of the level's run, start to reports written."""
    benchmarks: list[BenchmarkAtLevel]

    def benchmark(self, name: str) -> BenchmarkAtLevel:
        return next(b for b in self.benchmarks if b.benchmark == name)


@dataclass(frozen=True)
class UnderLoadResult:
    """The levels of a run under load, the lowest first (the reference)."""

    run_dir: str
    """The parent folder: one ``c<level>`` run directory per level, and ``under_load.json``."""
    model: str
    reference_concurrency: int
    levels: list[LevelResult]

    def level(self, concurrency: int) -> LevelResult:
        return next(level for level in self.levels if level.concurrency == concurrency)


def run_under_load(config: TaskConfig, console: Console | None = None) -> UnderLoadResult:
    """Run ``config``'s samples once per ``config.concurrency_levels`` and compare each level with the lowest.

    Starts a local engine once if the config names one (its parallel slots sized for the highest
    level, at most 8 as for ``run_eval``). Raises what :func:`assay.eval.run_eval` raises for a level.
    """
    from assay.console import report_console
    from assay.eval.runner import EvalSession, start_engine

    console = console or report_console()
    if not config.concurrency_levels:
        from assay.errors import ConfigError

        raise ConfigError("concurrency_levels: give the levels to compare, e.g. [1, 32, 128]")
    config.check_judges()
    levels = sorted(config.concurrency_levels)
    config = _fixed_sampling(config, console)
    endpoint = f"{config.engine} serving {config.engine_model}" if config.engine is not None else None
    results: list[LevelResult] = []
    with contextlib.ExitStack() as stack:
        if config.engine is not None:
            config = start_engine(dataclasses.replace(config, eval_batch_size=max(levels)), stack, console)
        parent = new_run_path(config.work_dir, str(config.model or "eval"))
        reference: Path | None = None
        for level in levels:
            run_dir = parent / f"c{level}"
            run_dir.mkdir()
            if not config.quiet:
                console.print(f"[bold]Concurrency {level}[/bold]: {run_dir}")
            started = time.monotonic()
            scores = EvalSession(dataclasses.replace(config, eval_batch_size=level), console, endpoint=endpoint,
                              run_dir=run_dir).execute().scores
            duration_s = time.monotonic() - started
            results.append(_level(level, run_dir, scores, reference, duration_s))
            reference = reference or run_dir
    result = UnderLoadResult(run_dir=str(parent), model=str(config.model), reference_concurrency=levels[0],
                             levels=results)
    write_json_atomic(parent / UNDER_LOAD_FILE, to_json(result))
    print_under_load(result, console)
    return result


def _fixed_sampling(config: TaskConfig, console: Console) -> TaskConfig:
    """Temperature 0 and a fixed request seed unless the user set them; the same samples at every level."""
    generation = dict(config.generation_config)
    temperature = generation.setdefault("temperature", 0)
    seed = config.seed if config.seed is not None else DEFAULT_SEED
    generation.setdefault("seed", seed)
    if temperature != 0:
        console.print(f"[yellow]warning: temperature {temperature}: answers then differ between levels by chance, "
                      f"so the flips and the test say little about load; use temperature 0[/yellow]",
                      soft_wrap=True)
    return dataclasses.replace(config, generation_config=generation, seed=seed, concurrency_levels=None)


def _level(level: int, run_dir: Path, scores: dict[str, float | None], reference: Path | None,
           duration_s: float) -> LevelResult:
    """A level's scores (its report's), its requests' times (its records') and its comparison with the reference."""
    comparison = compare_runs(reference, run_dir) if reference is not None else None
    records = list(read_samples(run_dir)[0].values())
    benchmarks = []
    for name, score in scores.items():
        answered = [r for r in records if r.benchmark == name and r.verdict != "error"]
        latencies = [r.latency_s for r in answered if r.latency_s is not None]
        ttfts = [r.ttft_s for r in answered if r.ttft_s is not None]
        benchmarks.append(BenchmarkAtLevel(
            benchmark=name, score=score, answered=len(answered),
            errors=sum(r.benchmark == name and r.verdict == "error" for r in records),
            mean_latency_s=sum(latencies) / len(latencies) if latencies else None,
            mean_ttft_s=sum(ttfts) / len(ttfts) if ttfts else None,
            comparison=comparison.benchmark(name) if comparison is not None else None,
        ))
    return LevelResult(concurrency=level, run_dir=str(run_dir), duration_s=duration_s, benchmarks=benchmarks)


def to_json(result: UnderLoadResult) -> dict[str, Any]:
    """The summary as plain JSON values (``under_load.json``)."""
    return asdict(result)


def print_under_load(result: UnderLoadResult, console: Console | None = None) -> None:
    """A table of levels × benchmarks (score, change from the reference, p, flips, times), then the flipped samples."""
    from rich import box
    from rich.table import Table

    from assay.console import report_console

    console = console or report_console()
    ref = result.reference_concurrency
    table = Table(box=box.MARKDOWN, title=f"Accuracy under load: {result.model} ({result.run_dir}); "
                                          f"reference: concurrency {ref}", title_justify="left")
    for header in ("Concurrency", "Dataset", "Score", f"Δ pt vs c{ref}", "p", "Worse", "Better", "Verdict",
                   "Mean latency s", "Mean TTFT s", "Errors"):
        table.add_column(header, justify="left" if header in ("Dataset", "Verdict") else "right")
    for level in result.levels:
        for item in level.benchmarks:
            change = item.comparison
            shown = change is not None and change.difference_pt is not None
            table.add_row(
                str(level.concurrency), item.benchmark, _number(item.score, 100, ".1f"),
                f"{change.difference_pt:+.1f}" if change is not None and change.difference_pt is not None else "-",
                f"{change.p_value:.3g}" if change is not None and change.p_value is not None else "-",
                str(len(change.worse)) if change is not None and shown else "-",
                str(len(change.better)) if change is not None and shown else "-",
                change.verdict if change is not None else "reference",
                _number(item.mean_latency_s, 1, ".3f"), _number(item.mean_ttft_s, 1, ".3f"), str(item.errors))
    console.print(table)
    for level in result.levels:
        for item in level.benchmarks:
            change = item.comparison
            if change is None:
                continue
            for label, ids in ((f"right at c{ref}, wrong at c{level.concurrency}", change.worse),
                               (f"wrong at c{ref}, right at c{level.concurrency}", change.better)):
                if ids:
                    more = f" … and {len(ids) - FLIPS_SHOWN} more ({UNDER_LOAD_FILE} lists all)" \
                        if len(ids) > FLIPS_SHOWN else ""
                    console.print(f"{item.benchmark}: {label}: {', '.join(ids[:FLIPS_SHOWN])}{more}",
                                  markup=False, highlight=False, soft_wrap=True)
    console.print(f"Summary: {Path(result.run_dir) / UNDER_LOAD_FILE}", markup=False, highlight=False, soft_wrap=True)


def _number(value: float | None, scale: float, spec: str) -> str:
    return "-" if value is None else format(value * scale, spec)
