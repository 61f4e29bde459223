"""An independent pandas implementation of the feature definitions in
docs/features.md (Cleaning, Computed columns, User features).

The dbt project's published features are compared against this, value for
value. It is written from those definitions, not from the SQL, so that a
mistake in one is not silently repeated in the other.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# pandas dtype of each contract data type.
PANDAS_TYPES = {"bigint": "int64", "double": "float64", "boolean": "bool",
                "varchar": "object"}


def contract_columns() -> list[tuple[str, str]]:
    """The published columns and their types, in order, as the user_features
    contract states them (the one place they are written down)."""
    from run_results import contract_columns as published_columns
    return published_columns(PROJECT_ROOT)


def regions() -> list[str]:
    """The region columns, in order, from the reference data."""
    seed = pd.read_csv(PROJECT_ROOT / "seeds" / "regions.csv")
    return list(seed.sort_values("column_order")["region"])


def dataset_files(landing: Path, name: str) -> list[Path]:
    """The files of one dataset, in load order (file name order)."""
    data = (".parquet", ".csv")  # of any case; dot-files are not data
    for single in landing.iterdir():
        if single.stem == name and single.suffix.lower() in data \
                and single.is_file():
            return [single]
    folder = landing / name
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in data and p.is_file()
                  and not p.name.startswith("."))


def read_dataset(landing: Path, name: str) -> pd.DataFrame:
    frames = []
    for path in dataset_files(landing, name):
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def clean_transactions(raw: pd.DataFrame) -> pd.DataFrame:
    df = raw.copy()
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    df["amount"] = df["amount"].astype("float64")
    # 1. first occurrence in load order wins
    df = df.drop_duplicates(subset="transaction_id", keep="first")
    # 2. negative amounts are entry errors with the sign flipped
    df["amount"] = df["amount"].abs()
    # 3. nulls take their category's median of the cleaned amounts
    medians = df.groupby("category")["amount"].median()
    df["amount"] = df["amount"].fillna(df["category"].map(medians))
    return df.reset_index(drop=True)


def enrich(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["total_value"] = df["amount"] * df["quantity"]
    df["hour"] = df["timestamp"].dt.hour
    df["day_of_week"] = df["timestamp"].dt.day_of_week  # Monday = 0
    df["is_weekend"] = (df["day_of_week"] >= 5).astype("int64")
    return df


def floored_days(delta: pd.Series) -> pd.Series:
    return (delta // pd.Timedelta(days=1)).astype("int64")


def user_features(transactions: pd.DataFrame,
                  profiles: pd.DataFrame) -> pd.DataFrame:
    df = enrich(clean_transactions(transactions))
    per_user = df.groupby("user_id").agg(
        total_transactions=("transaction_id", "size"),
        total_spend=("total_value", "sum"),
        avg_order_value=("amount", "mean"),
        max_order_value=("amount", "max"),
        unique_categories=("category", "nunique"),
        avg_quantity=("quantity", "mean"),
        weekend_ratio=("is_weekend", "mean"),
        first_at=("timestamp", "min"),
        last_at=("timestamp", "max"),
    ).reset_index()
    latest = df["timestamp"].max()
    per_user["days_since_last_purchase"] = floored_days(
        latest - per_user["last_at"])
    per_user["purchase_span_days"] = floored_days(
        per_user["last_at"] - per_user["first_at"]) + 1
    per_user["purchase_frequency"] = (
        per_user["total_transactions"] / per_user["purchase_span_days"])

    features = per_user.merge(profiles, on="user_id", how="inner")
    for region in regions():
        features[f"region_{region}"] = features["region"] == region
    contract = contract_columns()
    features = features[[name for name, _ in contract]].sort_values("user_id")
    features = features.astype({name: PANDAS_TYPES[kind]
                                for name, kind in contract})
    return features.reset_index(drop=True)


def features_from_landing(landing: Path) -> pd.DataFrame:
    return user_features(read_dataset(landing, "transactions"),
                         read_dataset(landing, "user_profiles"))


def raw_defect_counts(landing: Path) -> dict[str, int]:
    """What the input checks should report for a landing directory."""
    raw = read_dataset(landing, "transactions")
    amount = raw["amount"].astype("float64")
    return {
        "null_amounts": int(amount.isna().sum()),
        "amounts_out_of_range": int(((amount < 0.01) | (amount > 10_000)).sum()),
        # Deliveries after the first of their transaction_id.
        "repeated_deliveries": int(
            len(raw) - raw["transaction_id"].nunique()),
    }


def assert_frames_match(actual: pd.DataFrame, expected: pd.DataFrame,
                        rtol: float = 1e-9) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected), (len(actual), len(expected))
    for column in expected.columns:
        a = actual[column].to_numpy()
        e = expected[column].to_numpy()
        if np.issubdtype(e.dtype, np.floating):
            np.testing.assert_allclose(a, e, rtol=rtol, atol=0,
                                       err_msg=column)
        else:
            np.testing.assert_array_equal(a, e, err_msg=column)
