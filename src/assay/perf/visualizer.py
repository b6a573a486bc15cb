"""A perf run logged to Weights & Biases or SwanLab (EvalScope's ``--visualizer wandb|swanlab``).

Each sweep point's summary is logged as the point ends, as flat numbers (``rps``, ``ttft_s/p99``,
``server/draft_acceptance_rate``, ...) at step = the point's index; the run's configuration is logged
as it is saved with the run (:meth:`PerfConfig.to_public_dict`: API keys as ``***``, never the keys).
The run directory stays the record: the visualizer is a copy, so a logger that fails says so in one
line and the run goes on.

- **Packages.** Neither is a dependency: ``pip install 'assay[wandb]'`` / ``'assay[swanlab]'``. A run
  asking for one that is not installed stops before it starts (one line naming the extra, exit 2).
- **Keys.** ``--wandb-api-key`` / ``--swanlab-api-key`` are handed to the package for this process only:
  W&B through its run settings (not ``wandb.login``, which would write the key to ``~/.netrc``),
  SwanLab through ``login(save=False)``. Without a key each package uses its own login or its offline
  mode (``WANDB_MODE=offline``, ``SWANLAB_MODE=offline``: a local run to sync later). A key given
  without ``--visualizer`` chooses that visualizer, as EvalScope does.
- **Quiet and light.** Their console capture, system monitors and code/git snapshots are off: they
  would print into the report and load the machine the client measures from.
- **Where.** Their local files go in the run directory (``wandb/``, ``swanlog/``); the project is
  EvalScope's ``perf_benchmark``, the run's name is the run folder's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from assay.perf.config import PerfConfig

PROJECT = "perf_benchmark"
"""EvalScope's project name for perf runs, so that runs of both land together."""
TITLES = {"wandb": "W&B", "swanlab": "SwanLab"}
NOT_LOGGED = ("point", "errors", "prompt_tokens_check", "probe")
"""Summary fields that are not numbers to plot (the error texts, the prompt check's table, the probe's id)."""


def chosen(config: PerfConfig) -> str | None:
    """The visualizer the config asks for: ``--visualizer``, or the one whose API key was given."""
    if config.visualizer:
        return config.visualizer
    if config.wandb_api_key:
        return "wandb"
    if config.swanlab_api_key or config.swanlab_host:
        return "swanlab"
    return None


def check(config: PerfConfig) -> None:
    """Refuse, before anything is sent, what cannot be logged: ClearML, a package that is not installed,
    keys for the other visualizer. Messages never show a key (they say which option was given)."""
    name = chosen(config)
    if name is None:
        return
    if name == "clearml":
        raise ConfigError("visualizer: ClearML is not supported; use --visualizer wandb or swanlab (the run's "
                          "results are in its directory: summary.json, requests.jsonl, report.html)")
    if config.wandb_api_key and config.swanlab_api_key:
        raise ConfigError("visualizer: both --wandb-api-key and --swanlab-api-key given; a run logs to one")
    if name == "wandb" and (config.swanlab_api_key or config.swanlab_host):
        raise ConfigError("visualizer: --swanlab-api-key/--swanlab-host given with --visualizer wandb")
    if name == "swanlab" and config.wandb_api_key:
        raise ConfigError("visualizer: --wandb-api-key given with --visualizer swanlab")
    if config.swanlab_host and not config.swanlab_api_key:
        raise ConfigError("visualizer: --swanlab-host needs --swanlab-api-key (the key of that SwanLab server)")
    if importlib.util.find_spec(name) is None:
        raise ConfigError(f"visualizer: logging to {TITLES[name]} needs the {name} package, which is not installed: "
                          f"pip install 'assay[{name}]'")


def point_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """A point summary's numbers, flat: nested fields joined with ``/`` (``ttft_s/p99``, ``client/cpu_percent``);
    texts and lists left out, yes/no as 1/0."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, int | float):  # bool too: yes/no as 1/0
            flat[prefix] = float(value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}/{key}" if prefix else str(key), inner)

    walk("", {k: v for k, v in summary.items() if k not in NOT_LOGGED})
    return flat


class Visualizer:
    """One run in W&B or SwanLab, open for the length of a perf run."""

    def __init__(self, name: str, module: Any, run: Any, console: Console) -> None:
        self.name = name
        self.title = TITLES[name]
        self._module = module
        self._run = run
        self._console = console
        self._failed = False

    @classmethod
    def open(cls, config: PerfConfig, run_dir: Path, public_config: dict[str, Any],
             console: Console) -> Visualizer | None:
        """The visualizer the config asks for, started; None when none is asked for or it did not start (said
        in one line: the run goes on, its results are in its directory)."""
        name = chosen(config)
        if name is None:
            return None
        try:
            if name == "wandb":
                module, run = _start_wandb(config, run_dir, public_config)
            else:
                module, run = _start_swanlab(config, run_dir, public_config)
        except Exception as exc:  # a logger never stops the measurement
            _say(console, f"visualizer: {TITLES[name]} did not start ({_reason(exc, config)}); the run goes on "
                          "without it")
            return None
        return cls(name, module, run, console)

    def log_point(self, summary: dict[str, Any]) -> None:
        """One sweep point's numbers, at step = its index."""
        if self._failed:
            return
        try:
            self._run.log(point_metrics(summary), step=int(summary["point"]))
        except Exception as exc:
            self._fail(exc)

    def finish(self, status: str, summary: dict[str, Any] | None) -> None:
        """The best points as the run's summary values, then the run closed (failed when ours did not finish)."""
        if self._failed:
            return
        try:
            best = (summary or {}).get("best") or {}
            points = {p["point"]: p for p in (summary or {}).get("points") or []}
            final: dict[str, float] = {}
            if best.get("highest_rps") in points:
                final["best/highest_rps"] = float(points[best["highest_rps"]]["rps"])
            if best.get("lowest_latency") in points:
                final["best/lowest_mean_latency_s"] = float(points[best["lowest_latency"]]["latency_s"].get("mean", 0.0))
            if self.name == "wandb":
                for key, value in final.items():
                    self._run.summary[key] = value
                self._run.finish(exit_code=0 if status == "finished" else 1)
            else:
                if final:
                    self._run.log(final)
                self._module.finish(state="success" if status == "finished" else "crashed")
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self._failed = True
        _say(self._console, f"visualizer: logging to {self.title} failed ({_reason(exc, None)}); the run goes on; "
                            "its results are in its directory")


def _say(console: Console, line: str) -> None:
    console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)


def _reason(exc: BaseException, config: PerfConfig | None) -> str:
    """The exception's first line, with any API key of the config blanked (a package may echo it)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    for key in (config.wandb_api_key, config.swanlab_api_key) if config is not None else ():
        if key:
            text = text.replace(key, "***")
    return text


def _start_wandb(config: PerfConfig, run_dir: Path, public_config: dict[str, Any]) -> tuple[Any, Any]:
    import wandb

    settings: dict[str, Any] = dict(silent=True, console="off", x_disable_stats=True, x_disable_meta=True,
                                    disable_git=True, disable_code=True, save_code=False, disable_job_creation=True)
    if config.wandb_api_key:
        settings["api_key"] = config.wandb_api_key
    run = wandb.init(project=PROJECT, name=run_dir.name, dir=str(run_dir), config=public_config,
                     settings=wandb.Settings(**settings), reinit="create_new")
    return wandb, run


def _start_swanlab(config: PerfConfig, run_dir: Path, public_config: dict[str, Any]) -> tuple[Any, Any]:
    import swanlab

    if config.swanlab_api_key:
        swanlab.login(api_key=config.swanlab_api_key, host=config.swanlab_host, save=False)
    settings = swanlab.Settings(terminal={"proxy_type": "none"},
                                probe={"monitor": False, "requirements": False, "git": False, "hardware": False,
                                       "runtime": False})
    run = swanlab.init(project=PROJECT, name=run_dir.name, log_dir=str(run_dir / "swanlog"), config=public_config,
                       settings=settings)
    return swanlab, run
