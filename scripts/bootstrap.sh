#!/usr/bin/env bash
# Idempotent set-up of everything assay and its tests need on a fresh Debian machine:
#   - Debian packages (cmake, a C++ compiler, chromium for browser tests, bubblewrap for the code
#     sandbox) when missing and we may install them;
#   - a virtual environment in .venv with assay and its dev extras (re-installed only
#     when pyproject.toml changes);
#   - llama.cpp's llama-server, built once from the PyPI sdist and cached in ~/.cache/assay.
#   - vLLM's CPU build in its own venv (scripts/setup_vllm.sh; ASSAY_SKIP_VLLM=1 skips it).
# Usage: scripts/bootstrap.sh            (prints nothing more than progress lines)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PYTHON=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*" >&2; }

need_debs=()
command -v cmake >/dev/null 2>&1 || need_debs+=(cmake)
command -v c++ >/dev/null 2>&1 || need_debs+=(g++)
# Browser tests drive Debian's Chromium with Playwright (no browser download of its own).
command -v chromium >/dev/null 2>&1 || need_debs+=(chromium fonts-dejavu-core)
# HumanEval's sandbox gives generated code a file system of its own with bubblewrap.
command -v bwrap >/dev/null 2>&1 || need_debs+=(bubblewrap)
if [ ${#need_debs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian packages: ${need_debs[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
    else
        say "missing ${need_debs[*]}: install them (e.g. sudo apt-get install ${need_debs[*]})"
        exit 1
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.assay-installed"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing assay and its dev dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
    echo "$want" > "$stamp"
fi
# W&B and SwanLab for the --visualizer tests (run in their offline modes): the extras assay[wandb], assay[swanlab].
if ! "$VENV/bin/python" -c "import wandb, swanlab" >/dev/null 2>&1; then
    say "installing W&B and SwanLab into $VENV (perf --visualizer tests)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[wandb,swanlab]"
fi
# Ray for the scale-out tests (perf/eval --ray on a two-node test cluster): the extra assay[ray].
if ! "$VENV/bin/python" -c "import ray" >/dev/null 2>&1; then
    say "installing Ray into $VENV (scale-out tests)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[ray]"
fi

"$VENV/bin/assay" engine build >/dev/null
# vLLM's CPU build in a venv of its own, and SmolLM2 as a Hugging Face folder (once; see docs/engines.md).
if [ "${ASSAY_SKIP_VLLM:-0}" != 1 ]; then
    scripts/setup_vllm.sh
fi
say "ready: $VENV/bin/assay"
