#!/usr/bin/env bash
# The newest Python assay claims, tested beside the oldest (issue 11, point 3): the main suite runs on
# .venv's Python (3.11, the minimum); this runs the interpreter-sensitive tests on the newest CPython
# found here (pyenv's builds or PATH: 3.13, then 3.12) in a venv of its own, re-made only when
# pyproject.toml changes. Without one it says so and passes: nothing here can fetch an interpreter.
# Usage: scripts/test_newest_python.sh   (make test runs it after the main suite)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'newest-python: %s\n' "$*" >&2; }
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
newest=""
for minor in 13 12; do
    for candidate in "$PYENV_ROOT"/versions/3."$minor".*/bin/python3 "$(command -v python3."$minor" || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then newest=$candidate; break 2; fi
    done
done
if [ -z "$newest" ]; then
    say "no Python 3.12 or 3.13 on this machine: only 3.11 was tested"
    exit 0
fi
version=$("$newest" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV=".venv-py$version"
stamp="$VENV/.assay-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing assay into $VENV ($newest)"
    rm -rf "$VENV"
    "$newest" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
    echo "$want" > "$stamp"
fi
say "Python $version: the event loop, client, simulator, workers, journal and scoring tests"
# What depends on the interpreter: asyncio (Runner, loops, signals), the send loop, multiprocessing workers,
# the transport, msgspec records and the run format, resume and full-disk handling, and the scorers. No engine, no browser.
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_python_version.py tests/test_aio.py tests/client tests/store tests/perf/test_load.py \
    tests/perf/test_sim_faults.py tests/perf/test_workers.py tests/perf/test_report_rebuild.py \
    tests/reliability/test_exit_codes.py tests/eval/test_resume_identity.py tests/eval/test_scoring.py \
    tests/eval/test_choice.py
