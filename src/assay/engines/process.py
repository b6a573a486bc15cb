"""One engine server process on loopback: start it, wait until it answers, stop it (and its children).

Shared by llama-server and vLLM so both are started, awaited and stopped the same way: a
readiness URL polled until it answers 200, a one-line error with the log's last lines when
the process dies or never gets ready, and a stop that ends the whole process group (vLLM
runs its engine core in a child process that must not outlive the server).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from assay.errors import EngineError


class EngineProcess:
    """Base of the local engine servers; subclasses say what to run and where readiness shows."""

    engine_name = "engine"
    ready_path = "/health"
    stop_timeout_s = 10.0

    def __init__(self, *, port: int, startup_timeout_s: float, log_path: str | os.PathLike[str] | None) -> None:
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self.log_path = Path(log_path) if log_path else None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (tests signal it to see how clients fare)."""
        return self._process.pid if self._process is not None else None

    def _launch(self, command: list[str], env: dict[str, str] | None = None) -> None:
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix=f"{self.engine_name}-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self._log_handle = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # A session of its own: stop() ends the server's children with it.
        self._process = subprocess.Popen(
            command, stdout=self._log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:  # Ctrl-C while waiting too: a half-started server must not linger
            self.stop()
            raise

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"http://127.0.0.1:{self.port}{self.ready_path}"
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                tail = self._log_tail()
                self.stop()
                raise EngineError(f"{self.engine_name} exited with code {code} at start: {tail}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise EngineError(
            f"{self.engine_name} not ready after {self.startup_timeout_s:.0f} s (log: {self.log_path})"
        )

    def _log_tail(self, lines: int = 3) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:])

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``stop_timeout_s``; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=self.stop_timeout_s)
                except BaseException:  # too slow, or Ctrl-C again while waiting: no more waiting
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait()
                    if not isinstance(sys.exc_info()[1], subprocess.TimeoutExpired):
                        raise
            # Children that outlived their parent (an engine core) go too.
            _signal_group(process.pid, signal.SIGKILL)
        handle, self._log_handle = self._log_handle, None
        if handle is not None:
            handle.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
