"""llama.cpp's ``llama-server``: build it once from PyPI, start it, wait until ready, stop it.

The binary is built from the llama.cpp sources vendored in the ``llama-cpp-python``
sdist (PyPI is reachable where GitHub may not be), with ``GGML_NATIVE=OFF`` so a
cached binary stays portable between machines of one architecture, and without
the web UI (whose build would download assets).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from assay.engines.process import EngineProcess
from assay.errors import EngineError

LLAMA_CPP_PYTHON_VERSION = "0.3.36"


def cache_root() -> Path:
    """Where assay keeps built engines and model files (``ASSAY_CACHE`` overrides)."""
    base = os.environ.get("ASSAY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "assay"
    )
    return Path(base)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise builds across processes (two test sessions must not build twice)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cached_binary_path() -> Path:
    return cache_root() / "llama.cpp" / f"{LLAMA_CPP_PYTHON_VERSION}-{platform.machine()}" / "llama-server"


def ensure_llama_server(*, build: bool = True, log: bool = True) -> Path:
    """Return a runnable ``llama-server``; build it from the PyPI sdist if none exists.

    Order: ``$ASSAY_LLAMA_SERVER``, assay's cached build, ``llama-server`` on PATH,
    then a fresh build (about 7 minutes on two cores; needs cmake and a C++ compiler).
    """
    explicit = os.environ.get("ASSAY_LLAMA_SERVER")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise EngineError(f"ASSAY_LLAMA_SERVER={explicit} is not an executable file")
        return Path(explicit)
    cached = _cached_binary_path()
    if cached.exists():
        return cached
    on_path = shutil.which("llama-server")
    if on_path:
        return Path(on_path)
    if not build:
        raise EngineError("llama-server not found: run `assay engine build` or set ASSAY_LLAMA_SERVER")
    with file_lock(cached.parent.parent / ".build.lock"):
        if cached.exists():  # another process built it while we waited
            return cached
        _build_llama_server(cached, log=log)
    return cached


def _run(cmd: list[str], *, cwd: Path | None = None, log_file: Path) -> None:
    with open(log_file, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        result = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-1:]
        raise EngineError(
            f"building llama-server failed at `{cmd[0]} {cmd[1] if len(cmd) > 1 else ''}` "
            f"(exit {result.returncode}); see {log_file}: {' '.join(tail)}"
        )


def _build_llama_server(target: Path, *, log: bool) -> None:
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise EngineError(f"building llama-server needs `{tool}` on PATH (apt-get install cmake g++)")
    target.parent.mkdir(parents=True, exist_ok=True)
    log_file = target.parent / "build.log"
    log_file.write_text("")
    if log:
        print(
            f"assay: building llama-server from llama-cpp-python {LLAMA_CPP_PYTHON_VERSION} "
            f"(once, ~7 min on 2 cores; log: {log_file})",
            file=sys.stderr,
            flush=True,
        )
    with tempfile.TemporaryDirectory(prefix="assay-llama-build-") as tmp:
        work = Path(tmp)
        _run(
            [
                sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                "--disable-pip-version-check", "-d", str(work),
                f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}",
            ],
            log_file=log_file,
        )
        archives = list(work.glob("llama_cpp_python-*.tar.gz"))
        if not archives:
            raise EngineError(f"pip download gave no llama-cpp-python sdist; see {log_file}")
        with tarfile.open(archives[0]) as archive:
            archive.extractall(work, filter="data")
        sources = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
        build_dir = work / "build"
        jobs = str(max(1, os.cpu_count() or 1))
        _run(
            [
                "cmake", "-S", str(sources), "-B", str(build_dir),
                "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_TESTS=OFF",
                "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_UI=OFF",
                "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_CURL=OFF",
                "-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=OFF",
            ],
            log_file=log_file,
        )
        _run(
            ["cmake", "--build", str(build_dir), "--target", "llama-server", "-j", jobs],
            log_file=log_file,
        )
        built = build_dir / "bin" / "llama-server"
        if not built.exists():
            raise EngineError(f"llama-server build finished without a binary; see {log_file}")
        staging = target.with_suffix(".tmp")
        shutil.copy2(built, staging)
        os.replace(staging, target)  # atomic: a half-copied binary is never "cached"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer(EngineProcess):
    """A ``llama-server`` process on loopback, started and stopped by assay.

    Use as a context manager::

        with LlamaServer(model_path, alias="smollm2") as server:
            print(server.base_url)   # http://127.0.0.1:PORT/v1
    """

    engine_name = "llama-server"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        alias: str = "local",
        port: int | None = None,
        context_size: int = 16384,
        parallel: int = 8,
        threads: int | None = None,
        extra_args: list[str] | None = None,
        startup_timeout_s: float = 120.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(port=port or free_port(), startup_timeout_s=startup_timeout_s, log_path=log_path)
        self.model_path = Path(model_path)
        self.alias = alias
        self.context_size = context_size
        self.parallel = parallel
        self.threads = threads or max(1, min(os.cpu_count() or 1, 4))
        self.extra_args = list(extra_args or [])

    def command(self, binary: Path) -> list[str]:
        return [
            str(binary), "-m", str(self.model_path), "-a", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "-c", str(self.context_size), "-np", str(self.parallel),
            "-t", str(self.threads), "--no-webui", "--metrics", *self.extra_args,
        ]

    def start(self) -> LlamaServer:
        if not self.model_path.exists():
            raise EngineError(f"model file not found: {self.model_path}")
        self._launch(self.command(ensure_llama_server()))
        return self

    def __enter__(self) -> LlamaServer:
        return self.start()
