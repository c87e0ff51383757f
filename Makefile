# Two commands:
#   make demo   set up from nothing (virtual environment, pinned dependencies), build all models
#               on the bundled demo data in an embedded DuckDB file, print where the results are
#   make test   the whole test suite (pytest drives dbt on DuckDB, on a throwaway PostgreSQL and on
#               local Spark)
# Both are idempotent.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-requirements.lock
# Test files run on two workers (one per core of the reference machine), each file on one worker.
PYTEST_WORKERS ?= 2
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# Spark (local, in-process) binds to loopback only.
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: setup demo test test-quick lint clean dashboard

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	cp requirements.lock $(STAMP)

demo: setup
	$(VENV)/bin/python -m customer_lifecycle demo

# make dashboard: serve the lifecycle dashboard on http://127.0.0.1:$(DASHBOARD_PORT) (README, Dashboard),
# reading the published marts read-only; stop it with Ctrl-C.
DASHBOARD_PORT ?= 8501
dashboard: setup
	$(VENV)/bin/python -m customer_lifecycle dashboard --port $(DASHBOARD_PORT)

# make docs: the documentation site as one self-contained page (dbt docs generate --static), with
# the tables' columns read from the DuckDB warehouse (built on the demo data first when missing):
# from the build's working file, which holds every model (the published file holds the marts).
# Written to docs/site/index.html (git-ignored); open it in a browser, no server needed.
LIFECYCLE_DUCKDB_PATH ?= warehouse/lifecycle.duckdb
.PHONY: docs
docs: setup
	test -f "$(LIFECYCLE_DUCKDB_PATH)" || LIFECYCLE_DUCKDB_PATH="$(LIFECYCLE_DUCKDB_PATH)" $(VENV)/bin/python -m customer_lifecycle demo
	db="$(LIFECYCLE_DUCKDB_PATH).work/$$(basename "$(LIFECYCLE_DUCKDB_PATH)")"; test -f "$$db" || db="$(LIFECYCLE_DUCKDB_PATH)"; \
	LIFECYCLE_DUCKDB_PATH="$$db" $(VENV)/bin/dbt docs generate --static --profiles-dir . --target-path target/docs
	mkdir -p docs/site
	cp target/docs/static_index.html docs/site/index.html
	@echo "Docs: $(CURDIR)/docs/site/index.html"

PYTEST := $(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder pytests

test: setup
	$(PYTEST)

# make test-quick: DuckDB only (no PostgreSQL server, no Spark JVM, no browser), for the edit-and-run loop.
test-quick: setup
	LIFECYCLE_ENGINES=duckdb $(PYTEST)

lint: setup
	$(VENV)/bin/sqlfluff lint models macros tests --processes 0

# The warehouse file (warehouse/lifecycle.duckdb) is data, not build output: clean keeps it.
clean:
	rm -rf target logs $(VENV) spark-warehouse metastore_db derby.log

# make bench: the build benchmark (benchmarks/bench_build.py): full and incremental builds, the
# raw-SQL floor, memory and sizes at 1M, 10M and 100M events; writes BENCHMARKS.md. Not part of
# `make test`. E.g. make bench BENCH_ARGS="--presets 1m --engines duckdb,postgres"
BENCH_ARGS ?= --presets 1m,10m,100m --engines duckdb
.PHONY: bench
bench: setup
	$(VENV)/bin/python benchmarks/bench_build.py $(BENCH_ARGS)
