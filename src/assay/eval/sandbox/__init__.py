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
5. **Audit hook** (:mod:`assay.eval.sandbox.prelude`, run before the program, :pep:`578`): refuses ``open`` outside the
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

from assay.eval.sandbox.running import OUTPUT_CAP, SandboxResult, run_python
from assay.eval.sandbox.walls import NOBODY, Isolation, isolation

__all__ = ["NOBODY", "OUTPUT_CAP", "Isolation", "SandboxResult", "isolation", "run_python"]
