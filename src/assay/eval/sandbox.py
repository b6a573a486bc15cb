"""Run untrusted Python (a model's code) in a throw-away subprocess and report whether it exited cleanly.

:func:`run_python` writes the program into a fresh temporary directory, runs it there with
``python -I -S -B`` and deletes the directory afterwards. Model output is never ``exec``-ed or
``eval``-ed in this process. The layers, strongest first:

1. **Resource limits** (``preexec_fn``, before the interpreter starts): address space
   (``RLIMIT_AS``, the memory limit), CPU seconds, file size, open files, no core dumps;
   ``RLIMIT_NPROC`` only when the program runs as ``nobody`` (the limit counts every process
   of the user and root ignores it, so elsewhere it would be either useless or harmful).
2. **Wall-clock limit**: the program runs in its own session; when time is up the whole
   process group is killed (``SIGKILL``), and again after every run to leave nothing behind.
3. **A file system and namespaces of its own** (detected once, by running a probe in them):
   with bubblewrap (``bwrap``, installed by ``scripts/bootstrap.sh``) the program gets a new root
   that holds only ``/usr`` (read-only), the interpreter's prefix (read-only), ``/etc/ld.so.cache``,
   ``/dev`` (null, zero, random, ...), its own ``/proc``, an empty ``/tmp`` and its directory; no
   ``/home``, ``/root``, ``/etc`` or project files to read, nowhere else to write. It has network,
   PID, IPC and UTS namespaces of its own (no network but a loopback of its own: the host's
   127.0.0.1 is out of reach; it cannot see or signal other processes, and everything it started
   dies with it). As root, ``setpriv`` then drops
   it to ``nobody`` with no capabilities and ``no_new_privs``; otherwise bubblewrap uses an
   unprivileged user namespace. Without bubblewrap, ``unshare --net --pid --fork --kill-child``
   gives the namespaces alone (and ``--setuid 65534`` when ``nobody`` can read the interpreter),
   and the file system is walled off by the audit hook only (said once, as a ``RuntimeWarning``).
4. **Throw-away directory and minimal environment**: cwd, ``HOME`` and ``TMPDIR`` are the
   temporary directory; ``PATH`` is ``/usr/bin:/bin``; nothing else of the parent's environment
   (no keys, no proxies) is passed; stdin is ``/dev/null``; ``-I`` ignores ``PYTHON*`` variables
   and the user site, ``-S`` skips ``site`` (so third-party packages are not importable).
5. **Audit hook** (a prelude run before the program, :pep:`578`): refuses ``open`` outside the
   directory except read-only opens of regular files on ``sys.path`` (the standard library,
   needed by imports) and a few devices; refuses file changes, directory listings and
   ``chdir`` outside the directory, sockets, ``subprocess``, ``os.system``/``exec*``/``spawn*``/
   ``fork``/``posix_spawn``, ``os.kill``, ``ctypes``, raising resource limits, and importing
   ``_ctypes``/``_posixsubprocess``. It also turns ``sys.exit()`` and ``os._exit()`` before the
   end of the program into a failure, so a program cannot pass by leaving early.

The audit hook is **defence in depth, not a security boundary**: code in the same interpreter
can get around it (frame and object introspection, ``dir_fd`` tricks the hook cannot see, ...).
The real boundaries are the resource limits, the wall clock, bubblewrap's file system and
namespaces, ``nobody`` and the throw-away directory. :func:`isolation` says which are in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

NOBODY = 65534
OUTPUT_CAP = 64 * 1024
"""Bytes of stdout and of stderr kept (the tail); the rest is read and dropped."""
FILE_SIZE_MB = 16
OPEN_FILES = 128
NPROC_AS_NOBODY = 512
_MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


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


# The prelude runs first in the child, as ``python -I -S -B -c _PRELUDE <program> <hook 0/1>``.
# Everything lives in function locals so that ``import __main__`` does not reach it.
_PRELUDE = r'''
def _sandbox_main():
    import os, sys, traceback, types
    real_exit = os._exit
    path, use_hook = sys.argv[1], sys.argv[2] == "1"
    root = os.path.realpath(os.getcwd())
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    if use_hook:
        sep, realpath, join, getcwd, isdir = os.sep, os.path.realpath, os.path.join, os.getcwd, os.path.isdir
        fspath, fsdecode = os.fspath, os.fsdecode
        readable = tuple(sorted({realpath(p) for p in sys.path if p and os.path.isabs(p) and realpath(p) != sep}))
        devices = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
        write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        refused_prefixes = ("socket.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
                            "os.fork", "os.kill", "os.killpg", "os.startfile", "ctypes.", "resource.setrlimit",
                            "resource.prlimit", "pty.", "webbrowser.", "urllib.", "http.client.", "ftplib.",
                            "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.", "sys.remote_exec")
        refused_imports = {"_ctypes", "ctypes", "_posixsubprocess"}
        changing = {"os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.chmod", "os.chown", "os.chflags",
                    "os.lchflags", "os.link", "os.symlink", "os.truncate", "os.utime", "os.setxattr",
                    "os.removexattr", "os.mkfifo", "os.mknod", "os.chdir", "shutil.rmtree", "shutil.copyfile",
                    "shutil.copymode", "shutil.copystat", "shutil.copytree", "shutil.move", "shutil.chown",
                    "shutil.make_archive", "shutil.unpack_archive"}
        listing = {"os.listdir", "os.scandir"}

        def resolve(target):
            target = fspath(target)
            if isinstance(target, bytes):
                target = fsdecode(target)
            return realpath(join(getcwd(), target))

        def under(target, base):
            return target == base or target.startswith(base + sep)

        def may_read(target):
            return under(target, root) or target in devices or any(under(target, r) for r in readable)

        def refuse(event, detail=""):
            raise PermissionError(f"sandbox: refused {event} {detail}".rstrip())

        def hook(event, args):
            if event == "open":
                target, mode, flags = args[0], args[1], args[2]
                if isinstance(target, int):
                    return
                resolved = resolve(target)
                if under(resolved, root):
                    return
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & write_flags)
                if writing or not may_read(resolved) or isdir(resolved):
                    refuse("open", repr(resolved))
            elif event in changing:
                paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
                if isinstance(args[0], int) and event not in ("os.truncate",):
                    refuse(event, "of a file descriptor")
                for a in paths:
                    if not under(resolve(a), root):
                        refuse(event, repr(resolve(a)))
            elif event in listing:
                if args and isinstance(args[0], (str, bytes, os.PathLike)) and not may_read(resolve(args[0])):
                    refuse(event, repr(resolve(args[0])))
            elif event == "import":
                if args and args[0] in refused_imports:
                    refuse("import", repr(args[0]))
            elif event.startswith(refused_prefixes):
                refuse(event)

        def no_exit(*args, **kwargs):
            raise PermissionError("sandbox: refused os._exit")

        sys.addaudithook(hook)
        import posix
        os._exit = posix._exit = no_exit
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=path, __builtins__=__builtins__)
    sys.modules["__main__"] = main
    sys.argv = [path]
    status = 1
    try:
        exec(compile(source, path, "exec"), main.__dict__)
        status = 0
    except SystemExit as exc:
        status = 3
        sys.stderr.write(f"sandbox: the program exited ({exc.code!r}) before it finished\n")
    except MemoryError:
        main.__dict__.clear()
        sys.stderr.write("MemoryError\n")
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            sys.stderr.write("sandbox: the program failed\n")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        status = status or 1
    real_exit(status)

_sandbox_main()
'''


# ------------------------------------------------------------------ isolation (detected once)
@dataclass(frozen=True)
class Isolation:
    """How programs are walled off here: the command put before the interpreter, and what it gives."""

    kind: str
    """``bwrap`` (a file system of its own), ``unshare`` (namespaces only) or ``none``."""
    prefix: tuple[str, ...] = ()
    """For ``bwrap``, with ``{folder}`` standing for the run's directory."""
    interpreter: str = ""
    as_nobody: bool = False
    """The program runs as ``nobody`` (65534): the parent runs as root and dropped it."""
    no_network: bool = False
    own_files: bool = False
    """The program sees only the interpreter's files, /usr, a few devices and its own directory."""

    def argv(self, folder: str) -> list[str]:
        return [folder if part == "{folder}" else part for part in self.prefix] + [self.interpreter or sys.executable]


_isolation: Isolation | None = None
_isolation_lock = threading.Lock()


def isolation() -> Isolation:
    """The strongest isolation that works on this machine (probed once, by running a program in it).

    Anything weaker than bubblewrap is said once, as a ``RuntimeWarning``: file access then rests on
    the audit hook alone.
    """
    global _isolation
    with _isolation_lock:
        if _isolation is None:
            _isolation, why = _probe_isolation()
            if _isolation.kind != "bwrap" and sys.platform.startswith("linux"):
                import warnings

                warnings.warn(
                    f"assay sandbox: no bubblewrap isolation ({why}); generated code runs with "
                    f"{_isolation.kind!r} isolation and its file access is walled off only by an in-process "
                    "audit hook; install bubblewrap (scripts/bootstrap.sh does) for a file system of its own",
                    RuntimeWarning, stacklevel=2,
                )
        return _isolation


def _bwrap_prefix(bwrap: str, interpreter: str, as_root: bool) -> tuple[str, ...]:
    """bubblewrap: new namespaces and a new root holding /usr, the interpreter's prefix, /dev, /proc
    and an empty /tmp with the run's directory; as root, ``setpriv`` then drops to ``nobody`` with no
    capabilities (a user namespace is used instead when not root)."""
    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):  # merged /usr: symlinks; otherwise the directories
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
             "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]  # first: what follows may lie inside
    prefixes = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix),
                os.path.dirname(os.path.dirname(interpreter))}
    for prefix in sorted(prefixes):
        if prefix == "/usr" or prefix.startswith("/usr/"):
            continue
        # Parents made traversable (bwrap would copy /root's 0700, and nobody could not reach the prefix).
        for parent in _parents(prefix):
            args += ["--perms", "0755", "--dir", parent]
        args += ["--ro-bind", prefix, prefix]
    for parent in _parents(os.path.join(tempfile.gettempdir(), "x")):
        if parent != "/tmp":
            args += ["--perms", "0755", "--dir", parent]
    args += ["--bind", "{folder}", "{folder}", "--chdir", "{folder}"]
    if as_root:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        args += ["--", setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs"]
    else:
        args += ["--unshare-user", "--"]
    return tuple(args)


def _parents(path: str) -> list[str]:
    """``/a/b/c`` -> ``['/a', '/a/b']``."""
    parts = path.strip(os.sep).split(os.sep)[:-1]
    return [os.sep + os.sep.join(parts[: i + 1]) for i in range(len(parts))]


def _probe_isolation() -> tuple[Isolation, str]:
    """The first candidate whose probe shows its walls, and why bubblewrap was not it (if it was not)."""
    if not sys.platform.startswith("linux"):
        return Isolation("none"), "not Linux"
    interpreter = os.path.realpath(sys.executable)
    as_root = os.geteuid() == 0
    probe = ("import os, socket, sys; "
             "print(os.getuid(), len(socket.if_nameindex()), os.path.exists('/etc/passwd'), sys.prefix, sep='\\n')")
    candidates: list[Isolation] = []
    bwrap = shutil.which("bwrap")
    if bwrap is not None:
        prefix = _bwrap_prefix(bwrap, interpreter, as_root)
        candidates.append(Isolation("bwrap", prefix, interpreter, as_nobody=as_root, no_network=True, own_files=True))
    unshare = shutil.which("unshare")
    if unshare is not None:
        ns = ("--net", "--pid", "--fork", "--kill-child")
        if as_root:
            ids = ("--setuid", str(NOBODY), "--setgid", str(NOBODY))
            candidates.append(Isolation("unshare", (unshare, *ns, *ids), sys.executable, as_nobody=True, no_network=True))
            candidates.append(Isolation("unshare", (unshare, *ns), sys.executable, no_network=True))
            candidates.append(Isolation("unshare", (unshare, "--net"), sys.executable, no_network=True))
        else:
            candidates.append(Isolation("unshare", (unshare, "--map-root-user", *ns), sys.executable, no_network=True))
            candidates.append(Isolation("unshare", (unshare, "--map-root-user", "--net"), sys.executable,
                                        no_network=True))
    why = "bwrap is not installed" if bwrap is None else ""
    for candidate in candidates:
        with tempfile.TemporaryDirectory(prefix="assay-sandbox-probe-") as folder:
            try:
                if candidate.as_nobody:
                    os.chown(folder, NOBODY, NOBODY)
                done = subprocess.run(
                    [*candidate.argv(folder), "-I", "-S", "-c", probe], cwd=folder, env=dict(_MINIMAL_ENV),
                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                why = why or f"bwrap: {exc}"
                continue
        fields = done.stdout.splitlines()
        problem = ""
        if done.returncode != 0 or len(fields) != 4:
            problem = " ".join(done.stderr.split())[-200:] or f"exit status {done.returncode}"
        else:
            uid, interfaces, sees_etc, inner_prefix = fields
            if candidate.as_nobody and uid != str(NOBODY):
                problem = f"runs as uid {uid}, not nobody"
            elif candidate.own_files and (sees_etc != "False" or inner_prefix != os.path.realpath(sys.base_prefix)):
                problem = "the host's files are visible"
            elif candidate.no_network and interfaces not in ("0", "1"):  # 1: its own loopback
                problem = "network interfaces are visible"
        if not problem:
            return candidate, why
        if candidate.kind == "bwrap":
            why = f"bwrap: {problem}"
    return Isolation("none"), why


# ------------------------------------------------------------------ running
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
    source: str, *, timeout_s: float = 10.0, memory_mb: int = 1024, audit_hook: bool = True
) -> SandboxResult:
    """Run ``source`` as a Python program in the sandbox; ``passed`` when it exits 0 within the limits.

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
            if as_nobody:
                os.chown(folder, NOBODY, NOBODY)
                os.chown(program, NOBODY, NOBODY)
            env = {**_MINIMAL_ENV, "HOME": folder, "TMPDIR": folder}
            argv = [*walls.argv(folder), "-I", "-S", "-B", "-c", _PRELUDE, program, "1" if audit_hook else "0"]
            return await _run(argv, folder, env, preexec if limits else None, timeout_s)
        finally:
            _remove_tree(folder)


async def _run(
    argv: list[str], folder: str, env: dict[str, str], preexec: Callable[[], None] | None, timeout_s: float
) -> SandboxResult:
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=folder, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, preexec_fn=preexec, close_fds=True,
        )
    except OSError as exc:
        return SandboxResult(False, f"sandbox-error:{type(exc).__name__}", "", str(exc), time.perf_counter() - started)
    assert proc.stdout is not None and proc.stderr is not None
    readers = [asyncio.ensure_future(_read_tail(proc.stdout)), asyncio.ensure_future(_read_tail(proc.stderr))]
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


async def _read_tail(stream: asyncio.StreamReader) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > OUTPUT_CAP:
            del kept[:-OUTPUT_CAP]
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
