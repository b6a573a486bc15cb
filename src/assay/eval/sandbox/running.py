"""Running one program in the sandbox: limits, a throw-away directory, the walls, the wall clock."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assay.eval.sandbox.walls import MINIMAL_ENV, NOBODY, isolation

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

OUTPUT_CAP = 64 * 1024
"""Bytes of stdout and of stderr kept (the tail); the rest is read and dropped."""
FILE_SIZE_MB = 16
OPEN_FILES = 128
NPROC_AS_NOBODY = 512


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    """The program ran to its end and exited with status 0 within the limits."""
    reason: str
    """``passed``, ``timeout``, ``memory``, ``refused`` (the audit hook said no), ``exited-early``,
    ``error:<Exception>``, ``signal:<NAME>``, ``exit:<status>`` or ``sandbox-error:<what>``."""
    stdout_tail: str
    stderr_tail: str
    duration_s: float
    returncode: int | None = None


@cache
def prelude_source() -> str:
    """The text of :mod:`assay.eval.sandbox.prelude`, passed to the child with ``-c``."""
    return Path(__file__).with_name("prelude.py").read_text(encoding="utf-8")


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slot() -> asyncio.Semaphore:
    """At most ``2 × CPUs`` sandboxes at once per event loop (their time limits start once they run)."""
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(max(2, 2 * (os.cpu_count() or 1)))
    return _slots[loop]


def _limits(timeout_s: float, memory_mb: int, as_nobody: bool) -> list[tuple[int, int, int]]:
    if resource is None:  # pragma: no cover
        return []
    cpu = int(timeout_s) + 1
    wanted = [
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024, memory_mb * 1024 * 1024),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, FILE_SIZE_MB * 1024 * 1024, FILE_SIZE_MB * 1024 * 1024),
        (resource.RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if as_nobody:
        wanted.append((resource.RLIMIT_NPROC, NPROC_AS_NOBODY, NPROC_AS_NOBODY))
    out = []
    for which, soft, hard in wanted:  # never ask for more than this process may grant
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
        out.append((which, min(soft, hard), hard))
    return out


async def run_python(
    source: str, *, timeout_s: float = 10.0, memory_mb: int = 1024, audit_hook: bool = True,
    stdin: str | None = None, stdout_cap: int = OUTPUT_CAP,
) -> SandboxResult:
    """Run ``source`` as a Python program in the sandbox; ``passed`` when it exits 0 within the limits.

    ``stdin``: the text the program reads as its standard input (None: ``/dev/null``), e.g. a
    competitive-programming test's input; it is a file in the run's directory, opened as fd 0.
    ``stdout_cap``: bytes of stdout kept (the tail), for a program whose whole output is compared.
    ``audit_hook=False`` leaves out the in-process layer (for testing the other layers on their own).
    Safe to call concurrently: each run has its own directory and process group.
    """
    if not sys.executable:
        return SandboxResult(False, "sandbox-error:no-interpreter", "", "", 0.0)
    walls = await asyncio.to_thread(isolation)
    as_nobody = walls.as_nobody
    limits = _limits(timeout_s, memory_mb, as_nobody)

    def preexec() -> None:  # runs in the child between fork and exec: setrlimit only
        for which, soft, hard in limits:
            resource.setrlimit(which, (soft, hard))

    async with _slot():
        folder = tempfile.mkdtemp(prefix="assay-sandbox-")
        try:
            program = os.path.join(folder, "program.py")
            with open(program, "w", encoding="utf-8") as handle:
                handle.write(source)
            stdin_path = None
            if stdin is not None:
                stdin_path = os.path.join(folder, "stdin.txt")
                with open(stdin_path, "w", encoding="utf-8") as handle:
                    handle.write(stdin)
            if as_nobody:
                os.chown(folder, NOBODY, NOBODY)
                os.chown(program, NOBODY, NOBODY)
            env = {**MINIMAL_ENV, "HOME": folder, "TMPDIR": folder}
            argv = [*walls.argv(folder), "-I", "-S", "-B", "-c", prelude_source(), program, "1" if audit_hook else "0"]
            return await _run(argv, folder, env, preexec if limits else None, timeout_s, stdin_path, stdout_cap)
        finally:
            _remove_tree(folder)


async def _run(
    argv: list[str], folder: str, env: dict[str, str], preexec: Callable[[], None] | None, timeout_s: float,
    stdin_path: str | None = None, stdout_cap: int = OUTPUT_CAP,
) -> SandboxResult:
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:  # the child keeps its own copy of the input's descriptor
            source = stack.enter_context(open(stdin_path, "rb")) if stdin_path else asyncio.subprocess.DEVNULL
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=folder, env=env, stdin=source, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True, preexec_fn=preexec, close_fds=True,
            )
    except OSError as exc:
        return SandboxResult(False, f"sandbox-error:{type(exc).__name__}", "", str(exc), time.perf_counter() - started)
    assert proc.stdout is not None and proc.stderr is not None
    readers = [asyncio.ensure_future(_read_tail(proc.stdout, stdout_cap)), asyncio.ensure_future(_read_tail(proc.stderr))]
    timed_out = False
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            timed_out = True
    finally:
        _kill_group(proc.pid)  # on timeout, and always: nothing it started may outlive it
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 10)
        done, pending = await asyncio.wait(readers, timeout=2)
        for task in pending:
            task.cancel()
    duration = time.perf_counter() - started
    out = readers[0].result() if readers[0] in done and not readers[0].cancelled() else b""
    err = readers[1].result() if readers[1] in done and not readers[1].cancelled() else b""
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    reason = _reason(proc.returncode, stderr, timed_out)
    return SandboxResult(reason == "passed", reason, stdout, stderr, duration, proc.returncode)


async def _read_tail(stream: asyncio.StreamReader, cap: int = OUTPUT_CAP) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > cap:
            del kept[:-cap]
    return bytes(kept)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


def _reason(returncode: int | None, stderr: str, timed_out: bool) -> str:
    if timed_out:
        return "timeout"
    if returncode == 0:
        return "passed"
    if returncode is None:
        return "sandbox-error:no-status"
    if returncode < 0 or returncode > 128:  # killed (unshare re-raises its child's signal)
        number = -returncode if returncode < 0 else returncode - 128
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        return {"SIGXCPU": "timeout", "SIGXFSZ": "file-too-large"}.get(name, f"signal:{name}")
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    match = _EXCEPTION_LINE.match(last)
    if last.startswith("MemoryError") or (match and match.group(1) == "MemoryError"):
        return "memory"
    if "sandbox: refused" in last or (returncode == 1 and "sandbox: refused" in stderr and not match):
        return "refused"
    if returncode == 3 and "sandbox: the program exited" in stderr:
        return "exited-early"
    if match:
        return f"error:{match.group(1).rsplit('.', 1)[-1]}"
    return f"exit:{returncode}"


def _remove_tree(folder: str) -> None:
    def make_writable(function: object, path: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)

    shutil.rmtree(folder, onerror=make_writable)
    if os.path.exists(folder):
        shutil.rmtree(folder, ignore_errors=True)
