# Two commands on a fresh machine:
#   make demo   set up (once), then a short perf sweep of SmolLM2-135M served by llama-server
#   make test   set up (once), then lint, type-check and the whole test suite (what CI runs)
.PHONY: demo test setup

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/assay perf --engine llama-server --parallel 1 4 --number 4 16 \
	  --dataset random --min-prompt-length 128 --max-prompt-length 128 \
	  --max-tokens 64 --min-tokens 64 --extra-args '{"ignore_eos": true}'

test: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
	.venv/bin/pytest
