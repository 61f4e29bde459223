# One entry point for humans and CI. Every target sets up .venv first (only
# when it is missing or requirements.lock changed), so a fresh clone needs
# nothing but Python 3.11+ and pip.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
RAW_DATA_DIR ?= data/raw
OUTPUT_DIR ?= output
DBT_VARS := {"raw_data_dir": "$(RAW_DATA_DIR)", "output_dir": "$(OUTPUT_DIR)"}

.PHONY: setup build test sample lock clean bench

setup: $(READY)

$(READY): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

## build: run the pipeline (dbt build) and publish $(OUTPUT_DIR)/user_features.parquet
build: setup
	$(BIN)/dbt build --vars '$(DBT_VARS)'

## test: dbt unit and data tests on real runs, plus the Python test suite
test: setup
	$(BIN)/python -m pytest tests/python

## sample: regenerate the bundled sample in data/raw (deterministic)
sample: setup
	$(BIN)/python scripts/generate_raw_data.py --out data/raw

## bench: dbt build against the pandas reference at 50k, 1M and 10M rows, writes docs/BENCHMARKS.md
##        (BENCH_SIZES=50k,1m to choose sizes; BENCH_ARGS=--with-100m adds 100M)
bench: setup
	$(BIN)/python scripts/bench.py $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES)) $(BENCH_ARGS)

## lock: re-pin requirements.lock from requirements.in
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -r requirements.in
	.venv-lock/bin/python -m pip freeze --all \
		| grep -vE '^(pip|setuptools|wheel)==' > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf target logs output .duckdb_tmp feature_pipeline.duckdb feature_pipeline.duckdb.wal
