"""The Python versions assay claims (issue 11, point 3).

assay needs 3.11 (``asyncio.Runner`` drives the perf client, its workers and ``assay sim``).
Every place that states the minimum must say the same, and an older interpreter must stop
with one line instead of crashing halfway through a run.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import subprocess
import sys
import tomllib

import pytest

import assay
from tests.conftest import REPO

MINIMUM = assay.MINIMUM_PYTHON
MINIMUM_TEXT = ".".join(map(str, MINIMUM))


def test_every_place_states_the_same_minimum():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["requires-python"] == f">={MINIMUM_TEXT}"
    assert project["tool"]["mypy"]["python_version"] == MINIMUM_TEXT  # type-checked as the oldest we claim
    assert project["tool"]["ruff"]["target-version"] == f"py{MINIMUM[0]}{MINIMUM[1]}"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert MINIMUM_TEXT in re.findall(r"Python ≥ (\d+\.\d+)", readme)
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:  # no page claims another
        claims = set(re.findall(r"Python (?:≥|>=) ?(\d+\.\d+)", page.read_text(encoding="utf-8")))
        assert claims <= {MINIMUM_TEXT}, (page.name, claims)
    assert sys.version_info >= MINIMUM


@functools.cache
def _older_interpreter() -> str | None:
    """The newest Python older than the minimum on this machine (pyenv's builds, or Debian's), if any:
    3.10 where it is there, as in many vLLM images."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")))
    candidates += [f"/usr/bin/python3.{minor}" for minor in range(7, MINIMUM[1])]
    found: list[tuple[tuple[int, ...], str]] = []
    for path in candidates:
        if not os.access(path, os.X_OK):
            continue
        # 3.7 and later parse assay/__init__.py far enough to reach its check.
        check = f"import sys; print(tuple(sys.version_info[:3]) if (3, 7) <= sys.version_info < {MINIMUM!r} else '')"
        probe = subprocess.run([path, "-c", check], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0 and probe.stdout.strip():
            found.append((tuple(int(x) for x in probe.stdout.strip("()\n").split(", ")), path))
    return max(found)[1] if found else None


def _run(python: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([python, *args], capture_output=True, text=True, timeout=60, env=env, cwd=REPO)


@pytest.mark.slow
@pytest.mark.parametrize("args", [("-m", "assay", "perf", "--help"), ("-c", "import assay")])
def test_an_older_python_stops_with_one_line(args):
    python = _older_interpreter()
    if python is not None:  # the real thing
        result = _run(python, *args)
        version = _run(python, "-c", "import platform; print(platform.python_version())").stdout.strip()
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines() == [
            f"assay: needs Python {MINIMUM_TEXT} or newer; this is Python {version} ({python})"], result.stderr
        assert result.stdout == ""
    # And always, whatever this machine has: this interpreter, told it is 3.10.
    pretend = "import sys; sys.version_info = (3, 10, 13, 'final', 0); sys.version = '3.10.13 (pretend)'; "
    if args[0] == "-m":
        pretend += "sys.argv = ['assay', *sys.argv[1:]]; import runpy; runpy.run_module('assay', run_name='__main__')"
    else:
        pretend += args[1]
    result = _run(sys.executable, "-c", pretend, *args[3:])
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"assay: needs Python {MINIMUM_TEXT} or newer; this is Python 3.10.13 ({sys.executable})"]
