"""A real two-node Ray cluster for tests, kept off the machine's network in a namespace of its own.

Ray turns ``--node-ip-address 127.0.0.1`` into the machine's routable address, so a cluster on
loopback would still talk over the machine's network. Here the cluster lives in a private network
namespace (``unshare --net``, root only): a small holder process owns it, brings ``lo`` up, adds
``10.77.0.1/32`` to it and routes everything through it (so Ray's "routable address" is that one and
no connection can leave). Two raylets (``ray start --head`` and ``ray start --address``, each with the
resources of a 2-core CI box) stand in for two machines.

Tests run code in the namespace with :meth:`RayCluster.call`: the function runs in a thread that
joined the namespace (``setns``), so its sockets, and every process it starts (an ``assay perf
--ray`` driver, ``assay sim``), are in there too. Teardown stops every process in the namespace by
its id; if pytest itself dies, the holder sees its stdin close and does the same.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

NODE_IP = "10.77.0.1"
GCS_PORT = 6379
CLONE_NEWNET = 0x40000000
VENV_BIN = Path(sys.executable).parent

T = TypeVar("T")

# The holder: owns the namespace, sets up its loopback, and when its stdin closes (pytest ended, or
# died) kills every process left in the namespace.
_HOLDER = r"""
import os, signal, subprocess, sys, time
ip = sys.argv[1]
for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", ip + "/32", "dev", "lo"],
                ["ip", "route", "add", "default", "dev", "lo", "src", ip]):
    subprocess.run(command, check=True)
print("ready", flush=True)
sys.stdin.read()
mine = os.readlink("/proc/self/ns/net")
for _ in range(2):
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == mine:
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
"""


def unavailable_reason() -> str | None:
    """Why this machine cannot run the cluster (None: it can)."""
    if sys.platform != "linux":
        return "the Ray test cluster needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the Ray test cluster needs root (unshare --net keeps its traffic off the machine's network)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "the Ray test cluster needs unshare (util-linux) and ip (iproute2)"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install -e '.[ray]'; scripts/bootstrap.sh does it)"
    return None


def _setns(ns_path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(ns_path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns({ns_path}): {os.strerror(error)}")
    finally:
        os.close(fd)


class RayCluster:
    """Two Ray nodes (head + worker) in a private network namespace; see the module docstring."""

    def __init__(self, *, nodes: int = 2, cpus_per_node: int = 1, object_store_bytes: int = 80_000_000) -> None:
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.object_store_bytes = object_store_bytes
        self.node_ip = NODE_IP
        self.address = f"{NODE_IP}:{GCS_PORT}"
        # Short: Ray's unix socket paths live under it (108 bytes at most).
        self.temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
        self._holder: subprocess.Popen[str] | None = None
        self._ns_path = ""

    @property
    def env(self) -> dict[str, str]:
        """Environment for processes in the namespace: ``ray.init()`` finds the cluster by itself."""
        return {**os.environ, "RAY_ADDRESS": self.address, "RAY_USAGE_STATS_ENABLED": "0",
                "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def start(self) -> RayCluster:
        self._holder = subprocess.Popen(["unshare", "--net", "--", sys.executable, "-c", _HOLDER, self.node_ip],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._holder.stdout is not None
        if self._holder.stdout.readline().strip() != "ready":
            raise RuntimeError("the network namespace holder failed to start")
        self._ns_path = f"/proc/{self._holder.pid}/ns/net"
        try:
            common = ["--node-ip-address", self.node_ip, "--num-cpus", str(self.cpus_per_node),
                      "--object-store-memory", str(self.object_store_bytes), "--disable-usage-stats"]
            self.ray_start(["--head", "--port", str(GCS_PORT), "--include-dashboard", "false",
                            "--temp-dir", str(self.temp_dir), *common])
            for _ in range(self.nodes - 1):
                self.ray_start(["--address", self.address, *common])
        except BaseException:
            self.stop()
            raise
        return self

    def ray_start(self, arguments: list[str]) -> None:
        """``ray start`` with ``arguments`` in the namespace (a node more: pass ``--address``)."""
        done = self.call(subprocess.run, [str(VENV_BIN / "ray"), "start", *arguments], env=self.env,
                         capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed: {(done.stderr or done.stdout).strip()[-2000:]}")

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a thread inside the namespace (processes it starts are in it too)."""
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                _setns(self._ns_path)
                outcome["value"] = fn(*args, **kwargs)
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=target, name="in-ray-namespace", daemon=True)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]  # type: ignore[no-any-return]

    def run(self, argv: list[str], *, timeout_s: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """A command in the namespace, its output captured (``RAY_ADDRESS`` set)."""
        kwargs.setdefault("env", self.env)
        return self.call(subprocess.run, argv, capture_output=True, text=True, timeout=timeout_s, **kwargs)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """A process started in the namespace, left running (``RAY_ADDRESS`` set)."""
        kwargs.setdefault("env", self.env)
        return self.call(subprocess.Popen, argv, **kwargs)

    def assay(self, *arguments: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        """``python -m assay …`` in the namespace."""
        return self.run([sys.executable, "-m", "assay", *arguments], timeout_s=timeout_s)

    @contextlib.contextmanager
    def sim(self, settings: Any = None) -> Iterator[Any]:
        """``assay sim`` in the namespace (a :class:`~assay.engines.sim.SimServer`; call its methods
        that talk to it, ``records()``/``reset()``, through :meth:`call`)."""
        from assay.engines.sim import SimServer

        server = SimServer(settings)
        self.call(server.__enter__)
        try:
            yield server
        finally:
            self.call(server.__exit__)

    def processes(self) -> list[int]:
        """Ids of every process in the namespace but the holder."""
        if not self._ns_path:
            return []
        try:
            mine = os.readlink(self._ns_path)
        except OSError:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and self._holder is not None and int(entry) != self._holder.pid:
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/ns/net") == mine:
                        found.append(int(entry))
        return found

    def stop(self) -> None:
        """Stop every process in the namespace by its id (TERM, then KILL), then the holder."""
        pids = self.processes()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = self.processes()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if self._holder is not None:
            with contextlib.suppress(OSError):
                assert self._holder.stdin is not None
                self._holder.stdin.close()
            try:
                self._holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.wait()
            self._holder = None
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> RayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
