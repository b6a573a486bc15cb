"""Run an eval: benchmarks → samples × repeats → model service → judged records → report.

Concurrency is ``eval_batch_size`` asyncio workers over one HTTP client. A retryable
failure (429, 5xx, connection, timeout) is retried with exponential backoff and jitter,
honouring ``Retry-After``; a request that still fails is recorded as an ``error``: left out
of the score and counted, never scored as wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from assay import __version__
from assay.client.openai import ChatOrCompletionRequest, Completion, OpenAIClient
from assay.console import LiveBar
from assay.errors import AssayError, ConfigError, ServerError, StorageError
from assay.eval.benchmarks import Benchmark, Sample, get_benchmark
from assay.eval.config import IDENTITY_FIELDS, TaskConfig, describe_value, first_difference, run_identity
from assay.eval.records import SAMPLE_SCHEMA_VERSION, SampleJournal, SampleRecord, record_key
from assay.store.rundir import RUN_FILE, read_run, write_json_atomic, write_json_last_resort, write_text_atomic

REPORT_JSON = "report.json"
REPORT_MD = "report.md"


@dataclass
class EvalResult:
    run_dir: Path
    reports: dict[str, dict[str, Any]]
    """Per benchmark: ``{"subsets": {...}, "overall": {...}}``."""


def run_task(task_cfg: TaskConfig | dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """EvalScope-compatible entry point: run the task and return its reports per benchmark."""
    if task_cfg is None:
        task_cfg = TaskConfig(**kwargs)
    elif isinstance(task_cfg, dict):
        task_cfg = TaskConfig(**task_cfg)
    elif not isinstance(task_cfg, TaskConfig):
        raise ConfigError(f"task_cfg: expected a TaskConfig or a dict, got {type(task_cfg).__name__}")
    return run_eval(task_cfg).reports


def run_eval(config: TaskConfig, console: Console | None = None) -> EvalResult:
    from assay.console import report_console

    console = console or report_console()
    # A local engine listens on a new port each time: the run is tied to the engine and model instead.
    endpoint = f"{config.engine} serving {config.engine_model}" if config.engine is not None else None
    with contextlib.ExitStack() as stack:
        if config.engine is not None:
            config = _start_engine(config, stack, console)
        return _EvalRun(config, console, endpoint=endpoint).execute()


def _start_engine(config: TaskConfig, stack: contextlib.ExitStack, console: Console) -> TaskConfig:
    import dataclasses

    from assay.engines import start_local_engine

    parallel = max(1, min(config.eval_batch_size, 8))
    server, alias = start_local_engine(stack, config.engine_model, parallel=parallel, context_size=parallel * 4096,
                                       say=console.print, engine=config.engine or "llama-server")
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    values.update(api_url=server.base_url, model=config.model or alias, engine=None)
    return TaskConfig(**values)


class _EvalRun:
    def __init__(self, config: TaskConfig, console: Console, *, endpoint: str | None = None) -> None:
        self.config = config
        self.console = console
        self.identity = run_identity(config.to_public_dict(), endpoint=endpoint)
        self.rng = random.Random(config.seed)

    # ---------------------------------------------------------------- samples
    def load_samples(self) -> dict[str, list[Sample]]:
        from assay.data.benchmark_data import find_local_file, load_from_hub, read_rows, resolve_local_folder

        config = self.config
        out: dict[str, list[Sample]] = {}
        for name in config.datasets:
            benchmark = get_benchmark(name)
            args = config.dataset_args.get(name, {})
            subsets = args.get("subset_list") or list(benchmark.subsets)
            dataset_id = args.get("dataset_id")
            local_path = args.get("local_path")
            if dataset_id and os.path.exists(os.path.expanduser(dataset_id)):
                local_path, dataset_id = dataset_id, None
            folder = resolve_local_folder(name, dataset_dir=config.dataset_dir, local_path=local_path)
            if folder is None and config.dataset_hub == "local":
                raise ConfigError(
                    f"dataset_hub='local' needs dataset_dir or dataset_args.{name}.local_path for {name}"
                )

            def rows_for(split: str, subset: str | None, *, benchmark: Benchmark = benchmark,
                         folder: Path | None = folder, dataset_id: str | None = dataset_id) -> list[dict[str, Any]]:
                config_name = subset if benchmark.subsets_are_configs else benchmark.hub_config
                if folder is not None:
                    path = folder if folder.is_file() else find_local_file(
                        folder, benchmark.local_files, subset=subset or benchmark.subsets[0], split=split,
                        config=config_name,
                    )
                    return read_rows(path)
                hub_id = dataset_id or (benchmark.ms_id if config.dataset_hub == "modelscope" else benchmark.hf_id)
                return load_from_hub(config.dataset_hub, hub_id, config=config_name, split=split)

            few_shot_num = int(args.get("few_shot_num", 0))
            pool: list[dict[str, Any]] = []
            if few_shot_num:
                if benchmark.few_shot_split is None:
                    raise ConfigError(f"dataset_args.{name}.few_shot_num: {name} has no few-shot split")
                pool = rows_for(benchmark.few_shot_split, None)
                if args.get("few_shot_random"):
                    pool = random.Random(config.seed).sample(pool, len(pool))
            samples: list[Sample] = []
            if benchmark.subsets_are_configs:
                by_subset = {subset: rows_for(benchmark.split, subset) for subset in subsets}
            else:
                all_rows = rows_for(benchmark.split, None)
                by_subset = {subset: [r for r in all_rows if benchmark.subset_of(r) == subset] for subset in subsets}
            for subset, rows in by_subset.items():
                rows = self._limit(rows)
                for index, row in enumerate(rows):
                    try:
                        few_shot = benchmark.few_shot_for(pool, subset, few_shot_num) if few_shot_num else []
                        samples.append(benchmark.to_sample(row, index, subset, args.get("prompt_template"), few_shot,
                                                           style=args.get("prompt_style") or config.prompt_style))
                    except KeyError as exc:
                        raise AssayError(f"{name}: a row of subset {subset!r} lacks the field {exc}") from None
            if not samples:
                raise AssayError(f"{name}: no samples loaded (subsets {subsets})")
            ids = [s.id for s in samples]
            if len(set(ids)) != len(ids):  # make ids unique within the benchmark
                samples = [Sample(f"{s.subset}/{i}", s.subset, s.messages, s.gold, s.question, s.meta) for i, s in enumerate(samples)]
            out[name] = samples
        return out

    def _limit(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = self.config.limit
        if limit is None:
            return rows
        if isinstance(limit, float) and limit <= 1:
            return rows[: max(1, int(len(rows) * limit))]
        return rows[: int(limit)]

    # ---------------------------------------------------------------- run
    def execute(self) -> EvalResult:
        config = self.config
        samples = self.load_samples()
        self.identity["limit"] = config.limit
        self.identity["samples"] = {name: {subset: sum(1 for s in items if s.subset == subset)
                                           for subset in self.identity["subsets"][name]}
                                    for name, items in samples.items()}
        run_dir = self._run_dir()
        journal = SampleJournal(run_dir)
        done = {k: r for k, r in journal.read().items() if r.verdict != "error"}
        if config.use_cache:
            self._check_resume(run_dir, read_run(run_dir), samples, done)
        journal.compact(done)  # drop torn lines, duplicates and failed tries: they run again
        run = self._run_json(run_dir)
        write_json_atomic(run_dir / RUN_FILE, run)
        todo = [
            (name, sample, repeat)
            for name, items in samples.items()
            for sample in items
            for repeat in range(config.repeats)
            if record_key(name, sample.subset, sample.id, repeat) not in done
        ]
        if done and not config.quiet:
            self.console.print(f"[dim]Resuming {run_dir}: {len(done)} finished, {len(todo)} to go.[/dim]")
        status = "failed"
        failure: StorageError | None = None
        from assay.eval.scoring import MathChecker

        checker = MathChecker()
        try:
            _run_loop(self._work(todo, journal, checker, done, run_dir))
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
        except StorageError as exc:  # a record that cannot be kept stops the run at once
            failure = exc
            run["error"] = str(exc)
            raise
        finally:
            checker.close()
            run["status"] = status
            run["finished_epoch_s"] = time.time()
            try:
                journal.close()
                write_json_atomic(run_dir / RUN_FILE, run)
            except StorageError as exc:  # mark the run failed as far as the disk still allows
                run["status"] = "failed"
                run.setdefault("error", str(exc))
                write_json_last_resort(run_dir / RUN_FILE, run)
                if failure is None:
                    raise
        if status == "interrupted":
            self.console.print(f"[yellow]Interrupted. Resume with use_cache={str(run_dir)!r}.[/yellow]")
            raise KeyboardInterrupt
        reports = write_reports(run_dir, console=self.console)
        _fail_if_nothing_scored(run_dir, reports)
        return EvalResult(run_dir=run_dir, reports=reports)

    def _run_dir(self) -> Path:
        if self.config.use_cache:
            path = Path(self.config.use_cache).expanduser()
            if not (path / RUN_FILE).exists():
                raise ConfigError(f"use_cache: {path} is not an assay eval run directory (no {RUN_FILE})")
            previous = read_run(path)
            if previous.get("kind") != "eval":
                raise ConfigError(f"use_cache: {path} is a {previous.get('kind')} run, not an eval run")
            if previous.get("status") == "running":  # its writer is alive: two writers would mix one journal
                raise ConfigError(f"use_cache: {path} is still being written by process {previous.get('pid')}; "
                                  f"resume it once that process has ended")
            return path
        stamp = time.strftime("%Y%m%d_%H%M%S")
        path = Path(self.config.work_dir).expanduser() / stamp
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(f"{stamp}-{n}")
        path.mkdir(parents=True)
        return path

    def _check_resume(self, run_dir: Path, previous: dict[str, Any], samples: dict[str, list[Sample]],
                      done: dict[str, SampleRecord]) -> None:
        """Continue a run only with the settings it was made with: else old and new answers would mix.

        Raises a one-line ConfigError naming the first field that differs. A larger ``limit`` may
        continue (the run's samples stay a prefix of the new set); every finished sample must have
        been asked exactly the prompt this run would send, with the same reference answer.
        """
        # A run made before run.json held an identity: derive it from the config it stored.
        old_config = previous.get("config") or {}
        stored = previous.get("identity") or {**run_identity(old_config), "limit": old_config.get("limit")}
        found = first_difference({k: stored.get(k) for k in IDENTITY_FIELDS},
                                 {k: self.identity[k] for k in IDENTITY_FIELDS})
        if found is not None:
            name, old, new = found
            raise ConfigError(f"use_cache: cannot resume {run_dir}: {name} differs (the run: {describe_value(old)}; "
                              f"now: {describe_value(new)}); use the run's settings, or leave out use_cache "
                              f"to start a new run")
        limits = f"(the run: limit {describe_value(stored.get('limit'))}; now: limit {describe_value(self.config.limit)})"
        for name, counts in (stored.get("samples") or {}).items():
            for subset, count in counts.items():
                have = self.identity["samples"].get(name, {}).get(subset, 0)
                if have < count:
                    raise ConfigError(f"use_cache: cannot resume {run_dir}: limit differs {limits}: {name}/{subset} "
                                      f"would have {have} of the run's {count} samples; a resume may only extend "
                                      f"the sample set")
        planned = {record_key(name, sample.subset, sample.id, repeat): (name, sample, repeat)
                   for name, items in samples.items() for sample in items for repeat in range(self.config.repeats)}
        for key, record in done.items():
            if key not in planned:
                raise ConfigError(f"use_cache: cannot resume {run_dir}: limit differs {limits}: the run has sample "
                                  f"{key}, which this run does not ask for; a resume may only extend the sample set")
            name, sample, repeat = planned[key]
            sent = get_benchmark(name).for_repeat(sample, repeat, self.config.seed)
            if record.messages != sent.messages or record.gold != sent.gold:
                field = "prompts" if record.messages != sent.messages else "gold"
                raise ConfigError(f"use_cache: cannot resume {run_dir}: {field} differs: sample {key} was asked "
                                  f"with another {'prompt' if field == 'prompts' else 'reference answer'} in the run "
                                  f"(the data or the benchmark changed); leave out use_cache to start a new run")

    def _run_json(self, run_dir: Path) -> dict[str, Any]:
        return {
            "kind": "eval",
            "schema_version": 1,
            "sample_schema_version": SAMPLE_SCHEMA_VERSION,
            "assay_version": __version__,
            "status": "running",
            "pid": os.getpid(),
            "started_epoch_s": time.time(),
            "config": self.config.to_public_dict(),
            "identity": self.identity,
            "benchmarks": {name: get_benchmark(name).describe() for name in self.config.datasets},
            "run_dir": str(run_dir),
        }

    def _request(self, sample: Sample, repeat: int) -> ChatOrCompletionRequest:
        generation = dict(self.config.generation_config)
        extra: dict[str, Any] = dict(generation.pop("extra_body", {}) or {})
        max_tokens = generation.pop("max_tokens", None)
        generation.pop("stream", None)
        generation.pop("timeout", None)
        if "seed" in generation and self.config.repeats > 1:
            generation["seed"] = int(generation["seed"]) + repeat  # repeats must be able to differ
        extra.update(generation)
        return ChatOrCompletionRequest(messages=sample.messages, max_tokens=max_tokens, extra=extra)

    async def _work(self, todo: list[tuple[str, Sample, int]], journal: SampleJournal, math: Any,
                    done: dict[str, SampleRecord], run_dir: Path) -> None:
        config = self.config
        stream = bool(config.generation_config.get("stream", False))
        assert config.model is not None
        client = OpenAIClient(
            config.chat_url, config.model, api_key=config.api_key, stream=stream, temperature=None,
            total_timeout_s=config.timeout, read_timeout_s=config.timeout or 3600.0,
        )
        progress = _Progress(self.console, len(todo) + len(done), len(done), done, config.quiet)
        queue = iter(todo)
        async with client, _judges(config.judge_model_args, config.judge_strategy, math, run_dir) as checker:
            await self._check_service(client)

            async def worker() -> None:
                for name, sample, repeat in queue:
                    benchmark = get_benchmark(name)
                    sample = benchmark.for_repeat(sample, repeat, config.seed)
                    completion, attempts = await self._complete(client, self._request(sample, repeat))
                    record = await judge(benchmark, name, sample, repeat, completion, attempts, checker)
                    journal.append(record)
                    progress.advance(record)

            with progress:
                await asyncio.gather(*(worker() for _ in range(min(config.eval_batch_size, max(1, len(todo))))))

    async def _check_service(self, client: OpenAIClient) -> None:
        """Fail fast on a wrong URL, model or key, before hundreds of samples fail one by one."""
        probe = ChatOrCompletionRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        completion = await client.complete(probe)
        if completion.error_kind == "connect":
            raise ServerError(f"cannot reach the service at {client.shown_url}: {completion.error}")
        status = completion.http_status or 0
        refused = completion.error_kind == "http" and 400 <= status < 500 and status != 429
        if refused or completion.error_kind == "protocol":  # a web page where the API should be?
            from assay.service_check import auth_headers, not_json_problem

            problem = await not_json_problem(client.url, client.shown_url, client.body(probe),
                                             auth_headers(self.config.api_key), http_status=status, refused=refused)
            if problem is not None:
                raise ServerError(problem)
        if refused:
            raise ServerError(f"the service at {client.shown_url} refused a test request: {completion.error}")
        # Anything else (5xx, 429, a timeout, a garbled reply) is for the per-sample retries to meet.

    async def _complete(self, client: OpenAIClient, request: ChatOrCompletionRequest) -> tuple[Completion, int]:
        attempts = 0
        while True:
            attempts += 1
            completion = await client.complete(request)
            if not completion.retryable or attempts > self.config.retries:
                return completion, attempts
            backoff = min(60.0, 0.5 * 2 ** (attempts - 1)) * (0.5 + self.rng.random())
            if completion.retry_after_s is not None:
                backoff = min(max(completion.retry_after_s, 0.0), 300.0)
            await asyncio.sleep(backoff)


def _fail_if_nothing_scored(run_dir: Path, reports: dict[str, dict[str, Any]]) -> None:
    """A benchmark without one scored sample has no score: say so with a non-zero exit, not "Score 0"."""
    empty = [name for name, report in reports.items() if not report["overall"].get("scored_samples")]
    if not empty:
        return
    unscored = [r for r in SampleJournal(run_dir).read().values() if r.benchmark in empty and r.verdict == "error"]
    if unscored and all(r.error for r in unscored):
        what, reason = "every request failed", unscored[0].error
    else:  # the answers came, but none could be judged (an LLM judge that failed or gave no verdict)
        first = next((r for r in unscored if not r.error), None)
        what = "no answer could be judged"
        reason = ((first.judge or {}).get("error") or first.method) if first is not None else None
    raise ServerError(
        f"nothing could be scored for {', '.join(empty)}: {what}"
        f"{f' (first reason: {reason})' if reason else ''}; records in {run_dir}"
    )


async def judge(
    benchmark: Benchmark, name: str, sample: Sample, repeat: int, completion: Completion | None,
    attempts: int, checker: Any, *, stored: SampleRecord | None = None,
) -> SampleRecord:
    """Score one generation (fresh, or ``stored`` for --rescore) into a record."""
    from assay.eval.scoring import split_reasoning

    record = SampleRecord(
        key=record_key(name, sample.subset, sample.id, repeat), benchmark=name, subset=sample.subset,
        sample_id=sample.id, repeat=repeat, messages=sample.messages, gold=sample.gold,
        meta={**sample.meta, "question": sample.question} if sample.question else sample.meta,
        finished_epoch_s=time.time(), attempts=attempts,
    )
    if stored is not None:
        for field in ("response", "reasoning_content", "finish_reason", "prompt_tokens", "completion_tokens",
                      "latency_s", "ttft_s", "http_status", "error", "error_kind", "finished_epoch_s", "attempts"):
            setattr(record, field, getattr(stored, field))
    else:
        assert completion is not None
        record.response = completion.answer
        record.reasoning_content = completion.reasoning
        record.finish_reason = completion.finish_reason
        record.prompt_tokens = completion.prompt_tokens
        record.completion_tokens = completion.completion_tokens
        record.latency_s = completion.latency_s
        record.ttft_s = completion.ttft_s
        record.http_status = completion.http_status
        record.error = completion.error
        record.error_kind = completion.error_kind
    if record.error is not None:
        record.verdict, record.score, record.method = "error", 0.0, "request-failed"
        return record
    record.reasoning, answer_text, unclosed = split_reasoning(record.response or "", record.reasoning_content)
    if benchmark.keeps_indentation:  # code: a bare function body must keep its first line's indentation
        from assay.eval.scoring.extract import restore_indentation

        answer_text = restore_indentation(record.response or "", answer_text)
    record.answer_text = answer_text
    # An unclosed <think> means the text is all reasoning: there is no answer to judge.
    judgement = await benchmark.judge(sample, "" if unclosed else answer_text,
                                      finish_reason=record.finish_reason, checker=checker)
    record.extracted = judgement.extracted
    record.verdict, record.score, record.scores = judgement.verdict, judgement.score, dict(judgement.scores)
    record.method = "unclosed-think" if unclosed and judgement.extracted is None else judgement.method
    record.judge = judgement.judge
    return record


@contextlib.asynccontextmanager
async def _judges(args: dict[str, Any] | None, strategy: str, math: Any, run_dir: Path):  # type: ignore[no-untyped-def]
    """The math checker plus, when configured, an LLM judge open for the run."""
    from assay.eval.judge import Judges, LLMJudge

    if not args or strategy == "rule":
        yield Judges(math, None, strategy)
        return
    async with LLMJudge(args, run_dir) as llm:
        yield Judges(math, llm, strategy)


def write_reports(run_dir: Path, console: Console | None = None, *, print_it: bool = True) -> dict[str, dict[str, Any]]:
    """Compute, save and print the reports of a run from its stored records only."""
    from assay.eval.metrics import benchmark_report
    from assay.eval.report import markdown_table, print_table

    run = read_run(run_dir)
    config = run["config"]
    records = list(SampleJournal(run_dir).read().values())
    reports: dict[str, dict[str, Any]] = {}
    for name in config["datasets"]:
        rows = [r for r in records if r.benchmark == name]
        subsets = (config.get("dataset_args", {}).get(name, {}) or {}).get("subset_list") or run["benchmarks"][name]["subsets"]
        reports[name] = benchmark_report(rows, subsets=subsets, repeats=int(config.get("repeats", 1)),
                                         extra_metrics=run["benchmarks"][name].get("metrics", [])[1:])
    model = str(config.get("model"))
    write_json_atomic(run_dir / REPORT_JSON, {"schema_version": 1, "model": model, "reports": reports})
    categories = {name: info.get("categories", {}) for name, info in run["benchmarks"].items()}
    write_text_atomic(run_dir / REPORT_MD, markdown_table(model, reports, categories))
    if print_it:
        print_table(model, reports, console, categories)
    return reports


def rescore(run_dir: str | Path, console: Console | None = None) -> dict[str, dict[str, Any]]:
    """Re-judge every stored generation with the current scorers; sends no request."""
    from assay.eval.scoring import MathChecker

    path = Path(run_dir)
    run = read_run(path)
    if run.get("kind") != "eval":
        raise AssayError(f"{path} is not an eval run directory")
    journal = SampleJournal(path)
    records = journal.read()

    config = run["config"]

    async def all_records(math: MathChecker) -> dict[str, SampleRecord]:
        out = {}
        async with _judges(config.get("judge_model_args"), config.get("judge_strategy", "auto"), math,
                           path) as checker:
            for key, record in records.items():
                benchmark = get_benchmark(record.benchmark)
                question = str(record.meta.get("question", ""))
                sample = Sample(record.sample_id, record.subset, record.messages, record.gold, question, record.meta)
                out[key] = await judge(benchmark, record.benchmark, sample, record.repeat, None, record.attempts,
                                       checker, stored=record)
        return out

    with MathChecker() as checker:
        rescored = asyncio.run(all_records(checker))
    journal.compact(rescored)
    return write_reports(path, console)


class _Progress(LiveBar):
    """done / errors / running accuracy / ETA."""

    def __init__(self, console: Console, total: int, completed: int, done: dict[str, SampleRecord], quiet: bool) -> None:
        self.correct = sum(r.score for r in done.values())
        self.judged = len(done)
        self.errors = 0
        super().__init__("eval", total, fields={"errors": "{task.fields[errors]} errors",
                                                "accuracy": "acc {task.fields[accuracy]}"},
                         quiet=quiet, completed=completed, errors=0, accuracy=self._accuracy())

    def _accuracy(self) -> str:
        return f"{self.correct / self.judged:.3f}" if self.judged else "-"

    def advance(self, record: SampleRecord) -> None:
        if record.verdict == "error":
            self.errors += 1
        else:
            self.judged += 1
            self.correct += record.score
        self.step(errors=self.errors, accuracy=self._accuracy())


def _run_loop(coroutine: Any) -> None:
    from assay.perf.runner import _run_event_loop

    _run_event_loop(coroutine)
