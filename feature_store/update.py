#!/usr/bin/env python3
"""Bring the feature store up to date with the published history.

Registers the definitions of features.py (what `feast apply` does), then
loads the latest published snapshot into the online store: every row of the
history whose feature_timestamp is the latest one. `make feature-store` runs
it with .venv-feast. With nothing new published it rewrites the same values,
so the online store does not change.

    .venv-feast/bin/python feature_store/update.py

OUTPUT_DIR (default `output`) is the pipeline's output
directory, FEATURE_STORE_STATE_DIR (default `local/feast`) holds the
registry and the online store; relative paths are taken from the project
root. The snapshot's instant, users and the online store are printed.
"""
from __future__ import annotations

import glob
import os
import sys
import warnings
from datetime import timezone
from pathlib import Path

# Feast releases that collect usage statistics honour this; none is sent.
os.environ.setdefault("FEAST_USAGE", "False")

import duckdb  # noqa: E402
import yaml  # noqa: E402
from feast import FeatureStore, RepoConfig  # noqa: E402
from feast.repo_operations import apply_total  # noqa: E402

# ibis, under Feast's DuckDB store, calls a DuckDB method DuckDB 2 renamed
# (after the imports: Feast's modules reset the filters for this category).
warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)

REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))
import features  # noqa: E402


def repo_config() -> RepoConfig:
    """feature_store.yaml, with the registry and the online store moved to
    FEATURE_STORE_STATE_DIR when it is set; their folder is created."""
    raw = yaml.safe_load((REPO / "feature_store.yaml").read_text())
    state = os.environ.get("FEATURE_STORE_STATE_DIR")
    if state:
        state_dir = features.PROJECT_ROOT / state
        raw["registry"] = str(state_dir / "registry.db")
        raw["online_store"]["path"] = str(state_dir / "online_store.db")
    for path in (raw["registry"], raw["online_store"]["path"]):
        (REPO / path).parent.mkdir(parents=True, exist_ok=True)
    config = RepoConfig(**raw)
    config.repo_path = REPO
    return config


def open_store() -> FeatureStore:
    return FeatureStore(repo_path=str(REPO), config=repo_config())


def latest_snapshot():
    """The latest feature_timestamp in the history (UTC), and its rows."""
    if not glob.glob(str(features.HISTORY)):
        raise SystemExit(f"No published snapshot matches {features.HISTORY}: "
                         "run `make build` first.")
    unstamped = duckdb.sql(
        "select file_name from parquet_schema($path) group by 1 "
        "having not bool_or(name = 'feature_timestamp') order by 1",
        params={"path": str(features.HISTORY)}).fetchall()
    if unstamped:
        raise SystemExit(
            f"{unstamped[0][0]} has no feature_timestamp column ({len(unstamped)} "
            "history file(s) published before snapshots were stamped): remove "
            "them, or add the column with the instant their values held.")
    instant, rows = duckdb.sql(
        "select feature_timestamp, count(*) from read_parquet($path, union_by_name = true) "
        "group by 1 order by 1 desc limit 1",
        params={"path": str(features.HISTORY)}).fetchall()[0]
    return instant.replace(tzinfo=timezone.utc), rows


def main() -> int:
    instant, rows = latest_snapshot()
    config = repo_config()
    # Feast's source check takes the path for one file, not a glob; the
    # glob was checked above.
    apply_total(config, REPO, skip_source_validation=True)
    store = FeatureStore(repo_path=str(REPO), config=config)
    # One instant, both ends included: exactly the latest snapshot's rows.
    store.materialize(start_date=instant, end_date=instant,
                      feature_views=[features.user_features.name])
    online = (REPO / config.online_store.path).resolve()
    print(f"Online store {online}: the snapshot of "
          f"{instant.isoformat()} ({rows} users).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
