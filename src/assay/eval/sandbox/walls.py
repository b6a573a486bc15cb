"""Which walls the sandbox can put around a program here: bubblewrap, else namespaces, else none.

Detected once per process by running a probe program inside each candidate (strongest first) and
checking what it can see: its uid, network interfaces, ``/etc`` and the interpreter's prefix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

NOBODY = 65534
MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
"""The whole environment a sandboxed program gets (plus ``HOME``/``TMPDIR``: its directory)."""


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
                    [*candidate.argv(folder), "-I", "-S", "-c", probe], cwd=folder, env=dict(MINIMAL_ENV),
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
