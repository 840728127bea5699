# The two commands of the README: `make serve` and `make test`. Each creates
# .venv and installs what it needs on a fresh machine: `make serve` the
# runtime dependencies only, `make test` the dev extras too (pytest, mypy,
# playwright, ...). pip shows what it installs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
# `make serve HOST=0.0.0.0 PORT=8010`; unset, TASKLOOM_HOST / TASKLOOM_PORT or
# 127.0.0.1:8000.
HOST ?=
PORT ?=
# `make test` spreads the suite over this many processes (pytest-xdist), a
# test file each at a time: most tests wait on a database, a served port or
# a child process, so two cores run two files at once. TEST_WORKERS=0 runs
# it in this process.
TEST_WORKERS ?= 2

.PHONY: install serve test lint unit bench bench-rate-limit soak system-deps clean

$(VENV)/bin/python:
	@echo "creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "installing Taskloom and its runtime dependencies into $(VENV)"
	$(PIP) install -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "installing Taskloom with its dev extras (tests, linters, browser driver) and the otel extra into $(VENV)"
	$(PIP) install -e '.[dev,otel]'
	touch $(STAMP) $(RUNTIME_STAMP)

install: $(STAMP)

# The examples (countdown, batch-import, flaky, fan-out) are loaded here, where
# they are asked for: an application that installs Taskloom gets none of them.
serve: export TASKLOOM_DEFINITIONS ?= taskloom.definitions.examples
serve: $(RUNTIME_STAMP)
	$(BIN)/taskloom serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

system-deps:
	./.ci/system-deps

test: $(STAMP) system-deps lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# `make soak`: the reliability soak at full size on SQLite and PostgreSQL
# (tests/reliability/soak.py; `make test` runs it small): 1,000 runs, a
# worker killed every 1-3 s for 90 s, `serve` killed under 20 clients.
soak: $(STAMP) system-deps
	$(BIN)/python -m tests.reliability.soak --runs 1000 --seconds 90 --clients 20 --load-seconds 60

# `make bench`: Taskloom against Huey (SqliteHuey) and procrastinate, side
# by side in one run (bench/run.py); the peers live in bench/.venv.
BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp

$(BENCH_STAMP):
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q 'huey==3.5.*' 'procrastinate==3.10.*' 'psycopg[binary]>=3.2'
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)
	@# Bytecode up front, as installing a wheel writes it: the editable install
	@# writes none, and where PYTHONDONTWRITEBYTECODE is set every process the
	@# bench starts compiled Taskloom's modules again (~0.3 s of its start).
	$(BIN)/python -m compileall -q server definitions schema bench
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# `make bench-rate-limit`: the rate limit held by two worker processes over
# 10,000 runs (bench/rate_limit.py; BENCH_ARGS="--database postgresql").
bench-rate-limit: $(STAMP)
	$(BIN)/python -m bench.rate_limit $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache .pytest_cache
