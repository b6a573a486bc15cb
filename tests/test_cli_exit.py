"""How ``assay perf`` ends (issue 19): once its files are written, the process exits at once
(``os._exit``) instead of tearing every module down, but nothing it printed or registered is lost."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import atexit, sys, threading, time
from assay.cli import _exit_now

class Finalized:
    def __del__(self):
        print("torn down", flush=True)

kept = Finalized()  # a module global: only the interpreter's own tear-down deletes it
atexit.register(lambda: print("exit handler ran"))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
print("report", end="")  # not flushed yet
print("warning", file=sys.stderr, end="")
_exit_now(3)
print("after")
sys.exit(4)
"""


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60)


def test_exits_now_with_its_code_output_flushed_and_exit_handlers_run():
    result = _run("plain")
    assert result.returncode == 3
    assert result.stdout == "reportexit handler ran\n"  # "torn down" never printed: no tear-down
    assert result.stderr == "warning"


def test_a_running_thread_gets_the_ordinary_exit():
    result = _run("thread")
    assert result.returncode == 4  # _exit_now returned; the script went on
    assert result.stdout.startswith("reportafter\n")
    assert "thread finished" in result.stdout and "exit handler ran" in result.stdout
    assert result.stdout.count("exit handler ran") == 1
