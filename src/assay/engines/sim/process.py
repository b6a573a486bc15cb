"""``assay sim`` as a child process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import json
import time
from typing import Any

from assay.engines.sim.settings import SimSettings


class SimServer:
    """``assay sim`` in its own process on a free loopback port; a context manager like LlamaServer."""

    def __init__(self, settings: SimSettings | None = None, *, port: int | None = None,
                 startup_timeout_s: float = 30.0) -> None:
        from assay.engines.llama_server import free_port

        self.settings = settings or SimSettings()
        self.port = port or free_port()
        self.startup_timeout_s = startup_timeout_s
        self._process: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the simulator is not running"
        return int(self._process.pid)

    def command(self) -> list[str]:
        """``python -m assay sim`` with this server's port and settings (flags built from the settings' fields)."""
        import sys

        from assay.flags import command_line

        return [sys.executable, "-m", "assay", "sim", "--port", str(self.port), *command_line(self.settings)]

    def __enter__(self) -> SimServer:
        import subprocess
        import urllib.request

        from assay.errors import EngineError

        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                raise EngineError(f"assay sim exited at start: {' '.join(error)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise EngineError(f"assay sim not ready after {self.startup_timeout_s:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except Exception:
                self._process.kill()
                self._process.wait()
        self._process = None

    def records(self) -> list[dict[str, Any]]:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/sim/records", timeout=30) as response:
            return list(json.loads(response.read())["records"])

    def reset(self) -> None:
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/sim/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):
            pass
