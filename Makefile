# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

.PHONY: run test lint install bench bench-smoke clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

## Set up (virtualenv, packages, database, demo data) and run the web app and a worker.
run: install
	$(BIN)/python -m config.dev.run

## Run every test (PostgreSQL/Redis on localhost when they answer; see README).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Benchmark the engine and the pages (BENCHMARKS.md); bench-smoke is the few-second CI version.
bench: install
	$(BIN)/python -m bench.generation $(BENCH_ARGS)

bench-smoke: install
	$(BIN)/python -m bench.generation --smoke $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
