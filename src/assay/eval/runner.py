"""Run an eval: benchmarks → samples × repeats → model service → judged records → report.

The parts live apart: samples come from :mod:`assay.eval.datasets`, each generation is judged
by :mod:`assay.eval.judging`, reports are written by :mod:`assay.eval.report`, and
:mod:`assay.eval.rescoring` judges a stored run again. This module runs the requests.

Concurrency is ``eval_batch_size`` asyncio workers over one HTTP client. A retryable
failure (429, 5xx, connection, timeout) is retried with exponential backoff and jitter,
honouring ``Retry-After``; a request that still fails is recorded as an ``error``: left out
of the score and counted, never scored as wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from assay import __version__
from assay.client import ChatOrCompletionRequest, OpenAIClient, Response
from assay.client.fleet import AnyClient, clients_of, open_client
from assay.console import LiveBar
from assay.errors import ConfigError, ServerError, StorageError
from assay.eval.benchmarks import Sample, get_benchmark
from assay.eval.config import IDENTITY_FIELDS, TaskConfig, describe_value, first_difference, run_identity
from assay.eval.datasets import load_samples
from assay.eval.judging import judge_record, new_record, open_judges
from assay.eval.records import SAMPLE_SCHEMA_VERSION, SampleJournal, SampleRecord, record_key
from assay.eval.report import EvalResult, write_reports
from assay.store import RUN_FILE, EvalRun, RunLifecycle, new_run_path, read_run_info

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from assay.eval.scoring.mathcheck import MathChecker

    Sender = Callable[[ChatOrCompletionRequest], Awaitable[tuple[Response, int, str | None]]]
    """Sends one request: (its response, the tries it took, the Ray actor that sent it or None)."""


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
    """Run the eval ``config`` describes (starting a local engine if it names one) and return its result.

    Prints progress and the score table on ``console``; raises a one-line AssayError subclass on a
    wrong setting, unreachable data or service, or a benchmark where nothing could be scored.
    """
    from assay.console import report_console

    console = console or report_console()
    if config.concurrency_levels is not None:  # several runs and their comparison: not one EvalResult
        raise ConfigError("concurrency_levels: run it with assay.eval.under_load.run_under_load (or `assay eval --concurrency`)")
    config.check_judges()
    if config.ray_address is not None:  # Ray missing or its cluster unreachable: one line before anything is made
        from assay.eval.ray_run import connect

        connect(config.ray_address)
    # A local engine listens on a new port each time: the run is tied to the engine and model instead.
    endpoint = f"{config.engine} serving {config.engine_model}" if config.engine is not None else None
    with contextlib.ExitStack() as stack:
        if config.engine is not None:
            config = start_engine(config, stack, console)
        return EvalSession(config, console, endpoint=endpoint).execute()


def start_engine(config: TaskConfig, stack: contextlib.ExitStack, console: Console) -> TaskConfig:
    import dataclasses

    from assay.engines import start_local_engine

    parallel = max(1, min(config.eval_batch_size, 8))
    server, alias = start_local_engine(stack, config.engine_model, parallel=parallel, context_size=parallel * 4096,
                                       say=console.print, engine=config.engine or "llama-server")
    return dataclasses.replace(config, api_url=server.base_url, model=config.model or alias, engine=None)


class EvalSession:
    """One run: its samples, folder and run.json, the workers sending requests, then the reports."""

    def __init__(self, config: TaskConfig, console: Console, *, endpoint: str | None = None,
                 run_dir: Path | None = None) -> None:
        """``run_dir``: an empty folder made for this run (a level of a run under load); default: a new one."""
        self.config = config
        self.console = console
        self.given_run_dir = run_dir
        self.identity = run_identity(config.to_public_dict(), endpoint=endpoint)
        self.rng = random.Random(config.seed)

    def execute(self) -> EvalResult:
        config = self.config
        samples = load_samples(config)
        self.identity["limit"] = config.limit
        self.identity["samples"] = {name: {subset: sum(1 for s in items if s.subset == subset)
                                           for subset in self.identity["subsets"][name]}
                                    for name, items in samples.items()}
        run_dir, previous = self._run_dir()
        journal = SampleJournal(run_dir)
        done = {k: r for k, r in journal.read().items() if r.verdict != "error"}
        if previous is not None:
            self._check_resume(run_dir, previous, samples, done)
        journal.compact(done)  # drop torn lines, duplicates and failed tries: they run again
        life = RunLifecycle.start(run_dir, self._run_info())
        todo = [
            (name, sample, repeat)
            for name, items in samples.items()
            for sample in items
            for repeat in range(config.repeats)
            if record_key(name, sample.subset, sample.id, repeat) not in done
        ]
        if done and not config.quiet:
            self.console.print(f"[dim]Resuming {run_dir}: {len(done)} finished, {len(todo)} to go.[/dim]")
        status = "failed"  # anything but the two endings below: a service refused, a bug
        failure: StorageError | None = None
        from assay._aio import run as run_loop
        from assay.eval.scoring import MathChecker

        checker = MathChecker()
        try:
            run_loop(self._work(todo, journal, checker, done, run_dir))
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
        except StorageError as exc:  # a record that cannot be kept stops the run at once
            failure = exc
            raise
        finally:
            checker.close()
            try:
                journal.close()
                if failure is not None:
                    life.fail(failure)
                else:
                    life.end(status)
            except StorageError as exc:  # mark the run failed as far as the disk still allows
                life.fail(exc)
                if failure is None:
                    raise
        if status == "interrupted":
            self.console.print(f"[yellow]Interrupted. Resume with use_cache={str(run_dir)!r}.[/yellow]")
            raise KeyboardInterrupt
        result = write_reports(run_dir, console=self.console)
        _fail_if_nothing_scored(run_dir, result.reports)
        return result

    def _run_dir(self) -> tuple[Path, EvalRun | None]:
        """(the run's folder, the run it resumes or None): a new folder in the one run layout, or ``use_cache``."""
        if self.given_run_dir is not None:
            return self.given_run_dir, None
        if not self.config.use_cache:
            # The one run layout, perf's too: <work_dir>/<YYYYMMDD_HHMMSS>/<model>/
            return new_run_path(self.config.work_dir, str(self.config.model or "eval")), None
        path = Path(self.config.use_cache).expanduser()
        if not (path / RUN_FILE).exists():
            raise ConfigError(f"use_cache: {path} is not an assay eval run directory (no {RUN_FILE})")
        previous = read_run_info(path)
        if not isinstance(previous, EvalRun):
            raise ConfigError(f"use_cache: {path} is a {previous.kind} run, not an eval run")
        if previous.status == "running":  # its writer is alive: two writers would mix one journal
            raise ConfigError(f"use_cache: {path} is still being written by process {previous.pid}; "
                              f"resume it once that process has ended")
        return path, previous

    def _check_resume(self, run_dir: Path, previous: EvalRun, samples: dict[str, list[Sample]],
                      done: dict[str, SampleRecord]) -> None:
        """Continue a run only with the settings it was made with: else old and new answers would mix.

        Raises a one-line ConfigError naming the first field that differs. A larger ``limit`` may
        continue (the run's samples stay a prefix of the new set); every finished sample must have
        been asked exactly the prompt this run would send, with the same reference answer.
        """
        # A run made before run.json held an identity: derive it from the config it stored.
        old_config = previous.config or {}
        stored = previous.identity or {**run_identity(old_config), "limit": old_config.get("limit")}
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

    def _run_info(self) -> EvalRun:
        """run.json of this run (status, pid, times and folder are the lifecycle's)."""
        return EvalRun(
            assay_version=__version__, sample_schema_version=SAMPLE_SCHEMA_VERSION,
            config=self.config.to_public_dict(), identity=self.identity,
            benchmarks={name: get_benchmark(name).describe() for name in self.config.datasets},
        )

    def _request(self, sample: Sample, repeat: int) -> ChatOrCompletionRequest:
        generation = dict(self.config.generation_config)
        extra: dict[str, Any] = dict(generation.pop("extra_body", {}) or {})
        max_tokens = generation.pop("max_tokens", None)
        generation.pop("stream", None)
        generation.pop("timeout", None)
        if "seed" in generation and self.config.repeats > 1:
            generation["seed"] = int(generation["seed"]) + repeat  # repeats must be able to differ
        extra.update(generation)
        extra.update(sample.meta.get("request") or {})  # the sample's own request fields: tools, tool_choice
        return ChatOrCompletionRequest(messages=sample.messages, max_tokens=max_tokens, extra=extra)

    async def _work(self, todo: list[tuple[str, Sample, int]], journal: SampleJournal, math: MathChecker,
                    done: dict[str, SampleRecord], run_dir: Path) -> None:
        config = self.config
        client = open_client(config.chat_urls, **service_client_args(config))
        progress = _Progress(self.console, len(todo) + len(done), len(done), done, config.quiet)
        queue = iter(todo)
        async with client, open_judges(config.judge_model_args, config.judge_strategy, math, run_dir) as judges, \
                self._sender(client) as send:

            async def worker() -> None:
                for name, sample, repeat in queue:
                    benchmark = get_benchmark(name)
                    sample = benchmark.for_repeat(sample, repeat, config.seed)
                    response, attempts, sent_by = await send(self._request(sample, repeat))
                    record = new_record(name, sample, repeat, response, attempts)
                    record.worker = sent_by
                    record = await judge_record(benchmark, sample, record, judges)
                    journal.append(record)
                    progress.advance(record)

            with progress:
                await asyncio.gather(*(worker() for _ in range(min(config.eval_batch_size, max(1, len(todo))))))

    @contextlib.asynccontextmanager
    async def _sender(self, client: AnyClient) -> AsyncIterator[Sender]:
        """How this run sends a request, the service checked first: through ``client`` in this process, or
        (``ray_address``) through the run's Ray actors (:mod:`assay.eval.ray_run`)."""
        config = self.config
        if config.ray_address is None:
            await self._check_service(client)

            async def send(request: ChatOrCompletionRequest) -> tuple[Response, int, str | None]:
                response, attempts = await self._send(client, request)
                return response, attempts, None

            yield send
            return
        from assay.eval.ray_run import ray_sender

        async with ray_sender(config.ray_address, config.ray_actors, config.chat_urls, service_client_args(config),
                              config.retries, config.seed, config.eval_batch_size) as actors:
            await actors.check(config.api_key)
            yield actors.send

    async def _check_service(self, client: AnyClient) -> None:
        """Fail fast on a wrong URL, model or key (of any endpoint), before hundreds of samples fail one by one."""
        for each in clients_of(client):
            await check_service(each, self.config.api_key)

    async def _send(self, client: AnyClient, request: ChatOrCompletionRequest) -> tuple[Response, int]:
        """The response, retried while retryable (``retries`` times at most), and how many tries it took."""
        return await send_with_retries(client, request, self.config.retries, self.rng)


def service_client_args(config: TaskConfig) -> dict[str, Any]:
    """:func:`~assay.client.fleet.open_client`'s arguments but the URLs, for ``config``'s service (picklable:
    Ray actors make their own client from them)."""
    assert config.model is not None
    return dict(model=config.model, url_strategy=config.url_strategy, api_key=config.api_key,
                stream=bool(config.generation_config.get("stream", False)), temperature=None,
                total_timeout_s=config.timeout, read_timeout_s=config.timeout or 3600.0)


async def check_service(client: OpenAIClient, api_key: str | None) -> None:
    """Fail fast on a wrong URL, model or key of one endpoint, before hundreds of samples fail one by one."""
    probe = ChatOrCompletionRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    response = await client.send(probe)
    if response.error_kind == "connect":
        raise ServerError(f"cannot reach the service at {client.shown_url}: {response.error}")
    status = response.http_status or 0
    refused = response.error_kind == "http" and 400 <= status < 500 and status != 429
    if refused or response.error_kind == "protocol":  # a web page where the API should be?
        from assay.service_check import auth_headers, not_json_problem

        problem = await not_json_problem(client.url, client.shown_url, client.body(probe),
                                         auth_headers(api_key), http_status=status, refused=refused)
        if problem is not None:
            raise ServerError(problem)
    if refused:
        raise ServerError(f"the service at {client.shown_url} refused a test request: {response.error}")
    # Anything else (5xx, 429, a timeout, a garbled reply) is for the per-sample retries to meet.


async def send_with_retries(client: AnyClient, request: ChatOrCompletionRequest, retries: int,
                            rng: random.Random) -> tuple[Response, int]:
    """The response, retried while retryable (``retries`` times at most), and how many tries it took."""
    attempts = 0
    while True:
        attempts += 1
        response = await client.send(request)
        if not response.retryable or attempts > retries:
            return response, attempts
        backoff = min(60.0, 0.5 * 2 ** (attempts - 1)) * (0.5 + rng.random())
        if response.retry_after_s is not None:
            backoff = min(max(response.retry_after_s, 0.0), 300.0)
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
