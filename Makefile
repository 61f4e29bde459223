# One entry point for humans and CI. Every target sets up .venv first (only
# when it is missing or requirements.lock changed), so a fresh clone needs
# nothing but Python 3.11+ and pip.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# The lesson whose pandas code `make bench` measures (the user's copy):
# LESSON=path/to/lesson.md.
# Settings reach the commands through the environment, as the user wrote
# them: a path may hold `$`, quotes, backticks or `{{ }}`, and none of it is
# expanded by make, run by the shell or rendered by dbt. Each one given is
# kept literally (`$(value …)`) and exported; the recipes name it as
# "$$NAME", never paste it into the command line.
LITERAL_SETTINGS := RAW_DATA_DIR OUTPUT_DIR TARGET LESSON BENCH_ARGS DOCS_PORT DAGSTER_PORT SQL_PATHS
$(foreach name,$(LITERAL_SETTINGS),$(if $(value $(name)),\
	$(eval override $(name) := $$(value $(name)))$(eval export $(name))))
# Linting renders the models with their own database file and target folder,
# so it never waits for, nor disturbs, a build running at the same time.
LINT_TARGET := target/lint
LINT_ENV := DUCKDB_PATH=$(LINT_TARGET)/lint.duckdb

.PHONY: setup setup-all lock-env build feature-store docs report test lint lint-sql lint-dbt fmt sample lock clean bench orchestrate dagster-prepare

setup: $(READY)

$(READY): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

# Optional tools (schedulers, the feature store, Spark) each get their own
# environment, .venv-<name>, from their own pinned lock, envs/<name>/: none
# of them moves a core pin or slows down the core set-up. `make setup-<name>`
# sets one up (again only when its lock changed).
SIDE_ENVS := $(notdir $(wildcard envs/*))
.PHONY: $(addprefix setup-,$(SIDE_ENVS))
$(foreach env,$(SIDE_ENVS),$(eval setup-$(env): .venv-$(env)/.ready))

.venv-%/.ready: envs/%/requirements.lock
	@test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# Spark runs on a Java runtime: installed from the system packages when the
# machine has none.
.PHONY: java
java:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq \
		&& apt-get install -y -qq openjdk-17-jre-headless; }
setup-spark: java

## setup-all: the core environment and every optional one (envs/*)
setup-all: setup $(addprefix setup-,$(SIDE_ENVS))

## build: run the pipeline (dbt build), publish <OUTPUT_DIR>/user_features.parquet,
## then report, lineage, run history and alerts (scripts/after_run.py)
# scripts/run_pipeline.py is the entry point schedulers call too: the
# follow-up runs after failed builds as well, and the build fails when dbt or
# the follow-up failed. dbt unit tests check SQL logic on fixtures, not the
# data: `make test` runs them, a scheduled build does not need to.
# TARGET=spark runs the same models on Spark, from .venv-spark (docs/scaling.md).
# run_pipeline.py takes RAW_DATA_DIR and OUTPUT_DIR from the environment.
ifneq ($(filter-out spark dev,$(TARGET)),)
$(error TARGET=$(TARGET) is not a target of profiles.yml: give TARGET=spark, or none for DuckDB)
endif
SPARK := $(filter spark,$(TARGET))
BUILD_BIN = $(if $(SPARK),.venv-spark/bin,$(BIN))
build: setup $(if $(SPARK),setup-spark)
	$(BUILD_BIN)/python scripts/run_pipeline.py --bin-dir $(BUILD_BIN)$(if $(SPARK), --target spark)

## feature-store: register the Feast repository (feature_store/) and load the latest
##                published snapshot of <OUTPUT_DIR>/history into its online store
# Feast needs pandas < 3: it runs in .venv-feast (envs/feast). The registry
# and the online store are git-ignored, in local/feast/. Nothing new
# published: the online store stays as it was.
feature-store: setup-feast
	FEAST_USAGE=False .venv-feast/bin/python feature_store/update.py

# A port setting ($(1), default $(2)) that is not a port number stops the
# recipe with one sentence naming it, before anything starts.
define check_port
	@port="$${$(1):-$(2)}"; case "$$port" in ''|*[!0-9]*|??????*) ok=no;; \
	  *) if [ "$$port" -ge 1 ] && [ "$$port" -le 65535 ]; then ok=yes; else ok=no; fi;; esac; \
	  if [ "$$ok" = no ]; then echo "$(1) is '$$port': give a port number from 1 to 65535, such as $(2)." >&2; exit 2; fi
endef

## docs: generate the dbt docs and serve them (lineage graph) on DOCS_PORT
docs: setup
	$(call check_port,DOCS_PORT,8080)
	$(BIN)/dbt docs generate
	$(BIN)/dbt docs serve --port "$${DOCS_PORT:-8080}" --no-browser

## orchestrate: Dagster on DAGSTER_PORT (default 3000): the pipeline as assets, run
##              daily and when new landing files arrive (orchestration/dagster/)
# Its own environment (.venv-dagster) and instance (local/dagster: run
# history, schedules; no telemetry, one run at a time). `dagster dev`
# re-parses the dbt project on start. The paths are the environment's
# RAW_DATA_DIR, OUTPUT_DIR and DUCKDB_PATH, as for every scheduler.
DAGSTER_HOME_DIR := $(CURDIR)/local/dagster
orchestrate: setup-dagster $(DAGSTER_HOME_DIR)/dagster.yaml
	$(call check_port,DAGSTER_PORT,3000)
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) .venv-dagster/bin/dagster dev \
		-f orchestration/dagster/definitions.py -h 127.0.0.1 -p "$${DAGSTER_PORT:-3000}"

## dagster-prepare: the dbt manifest a production Dagster deployment loads
##                  (dagster-webserver and dagster-daemon; docs/orchestration.md)
dagster-prepare: setup-dagster
	.venv-dagster/bin/dagster-dbt project prepare-and-package \
		--file orchestration/dagster/project.py

$(DAGSTER_HOME_DIR)/dagster.yaml: orchestration/dagster/dagster.yaml
	@mkdir -p $(@D)
	cp $< $@

## report: rebuild the validation report from the last run's artifacts
##         (refused unless the last dbt invocation was a full `dbt build`)
report: setup
	$(BIN)/python scripts/validation_report.py

## test: lint, then dbt unit and data tests on real runs, plus the Python test suite
# The suite runs on every core (TEST_WORKERS=0: in this process). Tests that
# share a build stay on one worker, the slowest files start first
# (tests/python/conftest.py), so the order is ours, not pytest-xdist's.
# Every environment is set up first: the schedulers', the feature store's
# and Spark's tests run on real runs too, and are required, not skipped.
# The slowest tests are listed at the end: where the suite's time goes.
TEST_WORKERS ?= auto
test: setup-all lint
	FEATURE_PIPELINE_REQUIRE_ENVS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15 tests/python

## lint: SQL style (SQLFluff) and project rules (dbt-score); fails on any violation
# Both checks always run, so one pass lists every violation.
lint: setup
	@status=0; \
	$(MAKE) --no-print-directory lint-sql || status=1; \
	$(MAKE) --no-print-directory lint-dbt || status=1; \
	exit $$status

lint-sql: setup
	@mkdir -p $(LINT_TARGET)
	$(LINT_ENV) $(BIN)/sqlfluff lint $${SQL_PATHS:-models tests}

# Deprecation warnings are errors here: dbt >= 1.10 wants test arguments
# under `arguments:`, and a clean parse keeps it that way.
lint-dbt: setup
	$(BIN)/dbt parse --quiet --target-path $(LINT_TARGET) \
		--warn-error-options '{"error": ["Deprecations"]}'
	$(BIN)/dbt-score lint --manifest $(LINT_TARGET)/manifest.json

## fmt: rewrite the SQL models in the house style, where SQLFluff can
fmt: setup
	@mkdir -p $(LINT_TARGET)
	$(LINT_ENV) $(BIN)/sqlfluff fix $${SQL_PATHS:-models tests}

## sample: regenerate the bundled sample in data/raw (deterministic)
sample: setup
	$(BIN)/python scripts/generate_raw_data.py --out data/raw

## bench: dbt build against the pandas reference and the lesson's pandas code at 50k-100M
##        rows, and alone at 300M; one more daily batch on 10M and 100M of history;
##        300 daily CSV files; the time of `make test`. Writes docs/BENCHMARKS.md.
##        LESSON=path/to/lesson.md measures the lesson's code; BENCH_ARGS passes options
##        (e.g. --sizes 50k,1m --incremental none; see scripts/bench.py)
bench: setup
	$(BIN)/python scripts/bench.py --make-test $${LESSON:+--lesson "$$LESSON"} $$BENCH_ARGS

## lock: re-pin requirements.lock from requirements.in, then each envs/<name>
##       lock from its requirements.in, held to the core lock's dbt and DuckDB
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -r requirements.in
	.venv-lock/bin/python -m pip freeze --all \
		| grep -vE '^(pip|setuptools|wheel)==' > requirements.lock
	rm -rf .venv-lock
	@for env in $(SIDE_ENVS); do $(MAKE) --no-print-directory lock-env ENV=$$env || exit 1; done

# One side environment's lock. The core pins of dbt and DuckDB are
# constraints, so every environment runs the models on the same versions.
lock-env:
	rm -rf .venv-lock-$(ENV)
	$(PYTHON) -m venv .venv-lock-$(ENV)
	grep -E '^(dbt-core|dbt-adapters|dbt-common|dbt-duckdb|duckdb)==' requirements.lock \
		> .venv-lock-$(ENV)/core-pins.txt
	.venv-lock-$(ENV)/bin/python -m pip install --quiet -r envs/$(ENV)/requirements.in \
		-c .venv-lock-$(ENV)/core-pins.txt
	.venv-lock-$(ENV)/bin/python -m pip freeze --all \
		| grep -vE '^(pip|setuptools|wheel)==' > envs/$(ENV)/requirements.lock
	rm -rf .venv-lock-$(ENV)

clean:
	rm -rf target logs output .duckdb_tmp feature_pipeline.duckdb feature_pipeline.duckdb.wal
