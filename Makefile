# Two commands on a fresh machine:
#   make demo   set up (once), then a short perf sweep of SmolLM2-135M served by llama-server
#   make test   set up (once), then lint, type-check and the whole test suite (what CI runs),
#               vLLM's tests included (ASSAY_SKIP_VLLM=1 make test leaves vLLM out; docs/engines.md)
.PHONY: demo test setup setup-demo

setup:
	@scripts/bootstrap.sh

# The demo serves SmolLM2 with llama-server only: no need to install vLLM (3.4 GB) for it.
setup-demo:
	@ASSAY_SKIP_VLLM=1 scripts/bootstrap.sh

demo: setup-demo
	.venv/bin/assay perf --engine llama-server --parallel 1 4 --number 4 16 \
	  --dataset random --min-prompt-length 128 --max-prompt-length 128 \
	  --max-tokens 64 --min-tokens 64 --extra-args '{"ignore_eos": true}'

test: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
	.venv/bin/pytest
	scripts/test_newest_python.sh
