"""Feast definitions of the published user features.

`feast apply` imports every .py file of this folder not named in
.feastignore, so this one holds definitions only. The feature view reads the
history dataset the pipeline publishes (docs/features.md#publishing): one
Parquet file per snapshot, `<output_dir>/history/as_of_date=…/`, each row
stamped with `feature_timestamp`, the instant its values held.
"""
import os
import sys
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.data_format import ParquetFormat
from feast.types import Bool, Float64, Int64, String

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The project's one reader of its dbt files (scripts/run_results.py).
sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import run_results  # noqa: E402
# The pipeline's output directory (OUTPUT_DIR, as the pipeline reads it); a relative path is
# taken from the project root, as the pipeline takes it.
OUTPUT_DIR = PROJECT_ROOT / os.environ.get("OUTPUT_DIR", "output")
HISTORY = OUTPUT_DIR / "history" / "*" / "user_features.parquet"
# The published schema is the mart's contract: its columns and their types.
CONTRACT = PROJECT_ROOT / "models" / "marts" / "user_features.yml"
FEAST_TYPES = {"bigint": Int64, "double": Float64, "boolean": Bool,
               "varchar": String}
# How long a snapshot stands for its users: a training row more than 30 days
# after the latest snapshot before it gets nulls, not stale values.
TTL = timedelta(days=30)


def contract_columns() -> list[tuple[str, str]]:
    """(name, data_type) of every published column, in file order."""
    return run_results.contract_columns(PROJECT_ROOT)


def schema() -> list[Field]:
    fields = []
    for name, data_type in contract_columns():
        if data_type not in FEAST_TYPES:
            raise ValueError(f"{CONTRACT} gives {name} the type {data_type}, "
                             f"which has no Feast type here ({FEAST_TYPES}).")
        fields.append(Field(name=name, dtype=FEAST_TYPES[data_type]))
    return fields


user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64,
              description="A user of the shop: one row per user and snapshot.")

user_features_history = FileSource(
    name="user_features_history",
    path=str(HISTORY),
    file_format=ParquetFormat(),
    timestamp_field="feature_timestamp",
    description="Every published snapshot of user_features, with the time "
                "its values held.",
)

user_features = FeatureView(
    name="user_features",
    entities=[user],
    ttl=TTL,
    schema=schema(),
    source=user_features_history,
    online=True,
    description="The published user features (models/marts/user_features.yml).",
)
