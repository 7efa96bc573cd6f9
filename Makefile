# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

# The locks, generated from pyproject.toml by `make lock`, never edited by hand:
#   requirements.txt        the runtime: what the Docker image installs
#   requirements-bench.txt  the runtime and the benchmarks' tools (extra "bench")
#   requirements-test.txt   all of those, the tests' and linters' tools, the private Redis and uv
#                           (extras "test" and "dev"): what `make install` installs
# Each is constrained to the ones above it, so a package has one version in all three.
# `make lock` keeps the pinned versions; `make lock LOCK_ARGS=--upgrade` (or
# `--upgrade-package django`) moves them.
LOCK := $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: run test lint typecheck install lock bench bench-smoke fuzz-api clean

$(STAMP): requirements-test.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.txt
	touch $(STAMP)

install: $(STAMP)

## Set up (virtualenv, packages, database, demo data) and run the web app, a worker and the clock.
run: install
	$(BIN)/python -m devserver.run

## Run every test (PostgreSQL/Redis on localhost when they answer; see README), on TEST_WORKERS
## parallel processes (pytest-xdist): 4 was the fastest on 2 cores, the tests mostly wait on workers,
## browsers and servers (docs/testing.md). TEST_WORKERS=0 runs them all in one process.
TEST_WORKERS ?= 4
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## The property-based API run (tests/test_api_schema.py, schemathesis), harder than CI's: 100 examples
## per operation and every check schemathesis has. Minutes, not seconds.
fuzz-api: install
	API_FUZZ_EXAMPLES=100 API_FUZZ_ALL_CHECKS=1 $(BIN)/python -m pytest tests/test_api_schema.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## Type-check the app with mypy and django-stubs (pyproject.toml [tool.mypy]). The plugin loads the
## settings, which want DEBUG=1 to start without production's variables.
typecheck: install
	DEBUG=1 $(BIN)/mypy config devserver clock observability api webhooks exports campaigns workspaces accounts generation shared

## Regenerate the locks from pyproject.toml (see above).
lock: install
	$(LOCK) -o requirements.txt
	$(LOCK) --extra bench -c requirements.txt -o requirements-bench.txt
	$(LOCK) --extra test -c requirements.txt -c requirements-bench.txt -o requirements-test.txt

## Benchmark the engine and the pages (BENCHMARKS.md); bench-smoke is the few-second CI version.
bench: install
	$(BIN)/python -m bench.generation $(BENCH_ARGS)

bench-smoke: install
	$(BIN)/python -m bench.generation --smoke $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache
