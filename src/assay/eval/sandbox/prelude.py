"""The prelude: runs first in the sandboxed child, then runs the program (never imported by assay).

Its source is passed to the child as ``python -I -S -B -c <this file's text> <program> <hook 0/1>``
(:mod:`assay.eval.sandbox.running`), so it may use the standard library only. It installs the
audit hook (:pep:`578`) when asked, replaces ``__main__`` with a fresh module, runs the program in
it and exits 0 only if the program ran to its end; a ``sys.exit()``/``os._exit()`` before the end
is a failure (status 3), so a program cannot pass by leaving early.

Everything lives in the function's locals so that ``import __main__`` in the program does not
reach it.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported in the child: only what the prelude needs runs before the program
    from typing import Any

# No ``from __future__`` import here: compile() of the program would inherit it.


def _sandbox_main() -> None:
    import os
    import sys
    import traceback
    import types

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

        def resolve(target: "Any") -> str:
            target = fspath(target)
            if isinstance(target, bytes):
                target = fsdecode(target)
            return realpath(join(getcwd(), target))

        def under(target: str, base: str) -> bool:
            return target == base or target.startswith(base + sep)

        def may_read(target: str) -> bool:
            return under(target, root) or target in devices or any(under(target, r) for r in readable)

        def refuse(event: str, detail: str = "") -> None:
            raise PermissionError(f"sandbox: refused {event} {detail}".rstrip())

        def hook(event: str, args: "tuple[Any, ...]") -> None:
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

        def no_exit(*args: "Any", **kwargs: "Any") -> None:
            raise PermissionError("sandbox: refused os._exit")

        sys.addaudithook(hook)
        import posix

        os._exit = posix._exit = no_exit  # type: ignore[assignment]
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=path, __builtins__=__builtins__)
    sys.modules["__main__"] = main
    sys.argv = [path]
    status = 1
    try:
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
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


if __name__ == "__main__":
    _sandbox_main()
