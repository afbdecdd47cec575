# yoshin: the two Quick start commands are `make demo` and `make test` (see README.md).
# Both are idempotent: system packages are installed only when missing, the virtual
# environment is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system demo test test-unit lint format check types paths bench bench-host clean fuzz

setup: system $(STAMP)

# System packages through apt (PC/SC daemon, the virtual reader driver, pyscard's build
# dependencies, socat for serial pairs, systemd-analyze for unit checks).
system:
	@bash tools/setup-system.sh

$(STAMP): pyproject.toml devtools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./devtools  # devtools: never on a kiosk (devtools/pyproject.toml)
	touch $(STAMP)

# Starts the whole chain on embedded defaults (synthetic data only).
demo: setup
	$(BIN)/yoshin-demo

# Lint, format check, types of every package, then every test. Fails when no test ran.
test: setup types
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The unit tests only (conftest.py: no pcscd, MicroPython, TLS host, PostgreSQL or pty): no root, no daemons.
test-unit: $(STAMP)
	$(BIN)/pytest -m unit

# Static tools cannot follow setuptools' editable import hook (yoshin.smartcard -> smartcard/), so
# `paths` builds .venv/paths/yoshin/...: one symlink per source file, no data directories (see
# docs/ARCHITECTURE.md, "Layout"). mypy and pyright read it (pyproject.toml); typings/ has pyscard's stubs.
paths:
	@rm -rf $(VENV)/paths
	@find domain protocol smartcard device host tui tools devtools -name '*.py' -not -path 'device/firmware/*' \
	  -not -path '*/__pycache__/*' | while read -r file; do \
	    mkdir -p "$(VENV)/paths/yoshin/$$(dirname "$$file")" && ln -s "$(CURDIR)/$$file" "$(VENV)/paths/yoshin/$$file"; \
	  done

# Every package, zero errors; then two files by path, as an editor checks them (`smartcard` must be pyscard).
types: setup paths
	$(BIN)/mypy -p yoshin
	$(BIN)/mypy smartcard/transport.py devtools/virtual_reader.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m benchmarks

# The host's figures (docs/performance.md, docs/scaling.md), one JSON line each; FULL=1 for 1.5 million
# residents (long). About 15 minutes at the reduced scale on a quiet 2-core machine.
bench-host: setup
	$(BIN)/python benchmarks/bench_host.py
	$(BIN)/python benchmarks/bench_host_registry.py $(if $(FULL),--full)
	$(BIN)/python benchmarks/bench_host_peak.py --database postgresql --workers 2
	$(BIN)/python benchmarks/bench_host_peak.py --database sqlite

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache

# Fuzzing with the large budget (10,000 generated inputs per parser and for the host API); the normal
# test run uses a small one. Prints hypothesis' statistics (examples run, time) per target.
fuzz: setup
	YOSHIN_FUZZ_EXAMPLES=10000 $(BIN)/pytest tests/security/test_fuzz.py -q -p no:cacheprovider --timeout=0 --hypothesis-show-statistics
