#!/usr/bin/env bash
# Optional: llama-cpp-python's own OpenAI server (`python -m llama_cpp.server`) for the engine
# compatibility probes (tests/engines/test_capabilities.py, docs/engines.md). Not part of the
# set-up: it compiles llama.cpp again (~11 min on two cores). Idempotent; cached in
# <cache>/llama-cpp-python-venv (~/.cache/assay unless ASSAY_CACHE is set).
set -euo pipefail
cache=${ASSAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/assay}
venv="$cache/llama-cpp-python-venv"
version=0.3.36
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import llama_cpp.server, llama_cpp; assert llama_cpp.__version__ == '$version'" 2>/dev/null; then
    echo "$venv/bin/python"
    exit 0
fi
mkdir -p "$cache"
python3 -m venv "$venv"
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
    "$venv/bin/pip" install -q --disable-pip-version-check "llama-cpp-python[server]==$version"
echo "$venv/bin/python"
