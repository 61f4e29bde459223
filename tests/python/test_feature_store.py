"""The history dataset and the Feast repository (feature_store/), on real runs.

Two builds into one output folder publish two snapshots: the first half of a
generated landing, then all of it. The feature store, run in .venv-feast as
`make feature-store` runs it, must serve the second snapshot online, join
the right snapshot point in time, and keep the entity rows it has no values
for.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from conftest import PROJECT_ROOT, generate, run_dbt, side_env
from test_contributing import NOT_COPIED, add_the_guides_feature

UPDATE = PROJECT_ROOT / "feature_store" / "update.py"
CONTRACT = PROJECT_ROOT / "models" / "marts" / "user_features.yml"
UNKNOWN = 10_000  # a user_id the generated landing does not have

# Run in .venv-feast: online features for some users and a point-in-time
# training set, as JSON (stdin: {"users": [...], "entities": [[user, iso]]}).
QUERIES = """
import json, sys
import pandas as pd
sys.path.insert(0, sys.argv[1])
from update import open_store
import features

request = json.load(sys.stdin)
store = open_store()
names = [f"user_features:{name}" for name, _ in features.contract_columns()[1:]]

def records(frame):
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict(orient="records")

online = store.get_online_features(
    features=names, entity_rows=[{"user_id": u} for u in request["users"]]).to_df()
entities = pd.DataFrame(request["entities"], columns=["user_id", "event_timestamp"])
entities["event_timestamp"] = pd.to_datetime(entities["event_timestamp"], utc=True)
training = store.get_historical_features(entity_df=entities, features=names).to_df()
training["event_timestamp"] = training["event_timestamp"].map(lambda t: t.isoformat())
print(json.dumps({"online": records(online), "training": records(training)}))
"""


@cache
def contract_columns() -> list[str]:
    models = yaml.safe_load(CONTRACT.read_text())["models"]
    mart = next(m for m in models if m["name"] == "user_features")
    return [column["name"] for column in mart["columns"]]


def feast_env(store: dict) -> dict:
    return {**os.environ, "FEAST_USAGE": "False",
            "OUTPUT_DIR": str(store["output"]),
            "FEATURE_STORE_STATE_DIR": str(store["state"])}


def update(store: dict, check: bool = True) -> subprocess.CompletedProcess:
    """One `make feature-store`, on this module's output and state."""
    process = subprocess.run([str(store["bin"] / "python"), str(UPDATE)],
                             env=feast_env(store), capture_output=True,
                             text=True, timeout=600)
    if check:
        assert process.returncode == 0, process.stdout + process.stderr
    return process


def online_rows(store: dict) -> list[tuple]:
    """Every row of the SQLite online store, in a stable order."""
    with sqlite3.connect(store["state"] / "online_store.db") as connection:
        table, = [name for (name,) in connection.execute(
            "select name from sqlite_master where type = 'table'")]
        return connection.execute(
            f'select * from "{table}" order by entity_key, feature_name').fetchall()


def batch_landing(workdir: Path, seed: str, rows: str, users: str):
    """A generated landing whose transactions are to be delivered in two
    batches: the raw rows, the landing folder (profiles in place, an empty
    transactions/ folder) and the instant that splits the rows in two."""
    generated = generate(workdir / "generated", "--seed", seed, "--rows", rows,
                         "--users", users, "--interval-seconds", "600")
    raw = pd.read_parquet(generated / "transactions.parquet")
    landing = workdir / "landing"
    (landing / "transactions").mkdir(parents=True)
    (generated / "user_profiles.parquet").rename(landing / "user_profiles.parquet")
    middle = raw["timestamp"].min() + (raw["timestamp"].max() - raw["timestamp"].min()) / 2
    return raw, landing, middle


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """Two snapshots published, the feature store updated after each, then
    once more with nothing new."""
    bin_dir = side_env("feast")
    workdir = tmp_path_factory.mktemp("feature_store")
    raw, landing, middle = batch_landing(workdir, "11", "3000", "400")
    output = workdir / "output"
    store = {"bin": bin_dir, "output": output, "state": workdir / "feast",
             "raw": raw}

    raw[raw["timestamp"] < middle].to_parquet(
        landing / "transactions" / "batch_1.parquet", index=False)
    first = run_dbt(workdir / "run", landing, output_dir=output)
    assert first.returncode == 0, first.output[-3000:]
    store["first_file"] = pd.read_parquet(first.published)
    update(store)
    store["online_first"] = online_rows(store)

    raw[raw["timestamp"] >= middle].to_parquet(
        landing / "transactions" / "batch_2.parquet", index=False)
    second = run_dbt(workdir / "run", landing, output_dir=output)
    assert second.returncode == 0, second.output[-3000:]
    store["latest_file"] = pd.read_parquet(second.published)
    store["printed"] = update(store).stdout
    store["online_second"] = online_rows(store)
    update(store)
    store["online_again"] = online_rows(store)
    return store


def history(store: dict) -> pd.DataFrame:
    """The history dataset read as one table, as a training job reads it."""
    return duckdb.sql(
        "select * from read_parquet($glob, hive_partitioning = true) "
        "order by feature_timestamp, user_id",
        params={"glob": str(store["output"] / "history" / "*" / "*.parquet")}).df()


def snapshots(store: dict) -> list[pd.Timestamp]:
    return sorted(history(store)["feature_timestamp"].unique())


@pytest.fixture(scope="module")
def asked(store) -> dict:
    """One run of QUERIES: online, every user of the latest file and one
    unknown; training rows, for 20 users of both snapshots and every user
    new in the second, a day before the first snapshot, between the two and
    a day after the second."""
    first, second = snapshots(store)
    table = history(store)
    earlier = set(table.loc[table["feature_timestamp"] == first, "user_id"])
    newcomers = sorted(set(store["latest_file"]["user_id"]) - earlier)
    assert newcomers, "every user of the second snapshot was in the first"
    users = sorted(earlier)[:20] + newcomers
    instants = {"before": first - timedelta(days=1),
                "between": first + (second - first) / 2,
                "after": second + timedelta(days=1)}
    instants = {name: t.tz_localize("UTC").isoformat() for name, t in instants.items()}
    entities = [(int(user), instant) for user in users for instant in instants.values()]
    answer = query(store, [int(u) for u in store["latest_file"]["user_id"]] + [UNKNOWN],
                   entities)
    return {**answer, "entities": entities, "instants": instants,
            "newcomers": set(newcomers)}


def query(store: dict, users: list[int], entities: list[tuple[int, str]]) -> dict:
    process = subprocess.run(
        [str(store["bin"] / "python"), "-c", QUERIES, str(UPDATE.parent)],
        input=json.dumps({"users": users, "entities": entities}),
        env=feast_env(store), capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.splitlines()[-1])


def values(row: pd.Series) -> dict:
    """A published row as plain Python values, features only."""
    return {name: row[name].item() if hasattr(row[name], "item") else row[name]
            for name in contract_columns()[1:]}


def test_history_is_one_table_of_snapshots_stamped_with_their_instant(store):
    table = history(store)
    columns = contract_columns()
    # The latest file keeps the 19-column contract; each history file adds
    # feature_timestamp, and as_of_date comes from the partition only.
    assert list(store["latest_file"].columns) == columns
    assert list(table.columns) == [*columns, "feature_timestamp", "as_of_date"]
    first, second = snapshots(store)
    raw = store["raw"]
    middle = raw["timestamp"].min() + (raw["timestamp"].max() - raw["timestamp"].min()) / 2
    assert first == raw.loc[raw["timestamp"] < middle, "timestamp"].max()
    assert second == raw["timestamp"].max()
    for instant in (first, second):
        rows = table[table["feature_timestamp"] == instant]
        assert set(rows["as_of_date"].astype(str)) == {str(instant.date())}
    # Each snapshot holds exactly the file published with it.
    pd.testing.assert_frame_equal(
        table.loc[table["feature_timestamp"] == first, columns].reset_index(drop=True),
        store["first_file"])
    pd.testing.assert_frame_equal(
        table.loc[table["feature_timestamp"] == second, columns].reset_index(drop=True),
        store["latest_file"])
    # The lineage files say where feature_timestamp is: the same instant in
    # both, the column only in the history file's.
    latest = json.loads((store["output"] / "user_features.lineage.json").read_text())
    dated = json.loads((store["output"] / "history" / f"as_of_date={second.date()}"
                        / "user_features.lineage.json").read_text())
    assert latest["output"]["feature_timestamp"] == dated["output"]["feature_timestamp"] \
        == second.isoformat()
    assert [c["name"] for c in latest["output"]["columns"]] == columns
    assert [c["name"] for c in dated["output"]["columns"]] == [*columns, "feature_timestamp"]
    assert dated["output"]["columns"][-1]["type"] == "TIMESTAMP"


def test_online_features_are_the_latest_published_file(store, asked):
    latest = store["latest_file"]
    assert store["online_second"] != store["online_first"]
    online = {row["user_id"]: row for row in asked["online"]}
    assert len(online) == len(latest) + 1
    for _, row in latest.iterrows():
        served = {name: online[row["user_id"]][name] for name in contract_columns()[1:]}
        assert served == values(row), row["user_id"]
    # A user the store has never seen: nulls, not an error.
    assert {v for k, v in online[UNKNOWN].items() if k != "user_id"} == {None}
    assert f"({len(latest)} users)" in store["printed"]


def test_training_set_joins_each_row_to_the_snapshot_before_it(store, asked):
    first, second = snapshots(store)
    table = history(store)
    earlier = table[table["feature_timestamp"] == first].set_index("user_id")
    later = table[table["feature_timestamp"] == second].set_index("user_id")
    instants = asked["instants"]
    training = asked["training"]
    # The two snapshots disagree for every user in both (the last day moved),
    # so a row joined to the wrong one cannot pass.
    assert all(values(earlier.loc[user]) != values(later.loc[user])
               for user, _ in asked["entities"] if user not in asked["newcomers"])
    # Every entity row comes back, none dropped for lack of a value.
    assert sorted((r["user_id"], r["event_timestamp"]) for r in training) \
        == sorted(asked["entities"])
    seen = set()
    for row in training:
        user, instant = row["user_id"], row["event_timestamp"]
        features = {name: row[name] for name in contract_columns()[1:]}
        if instant == instants["before"] or (instant == instants["between"]
                                             and user in asked["newcomers"]):
            expected, case = dict.fromkeys(features), "null"
        elif instant == instants["between"]:
            expected, case = values(earlier.loc[user]), "first"
        else:
            expected, case = values(later.loc[user]), "second"
        assert features == expected, (user, instant)
        seen.add(case)
    assert seen == {"null", "first", "second"}


def test_updating_with_nothing_new_changes_nothing_online(store):
    assert store["online_again"] == store["online_second"]
    assert len(store["online_second"]) == len(store["latest_file"]) * (
        len(contract_columns()) - 1)


def test_an_update_without_stamped_snapshots_says_so(store, tmp_path):
    """Nothing published yet, or a snapshot from before feature_timestamp:
    one sentence, non-zero, and no online store made."""
    output = tmp_path / "output"
    empty = {**store, "output": output, "state": tmp_path / "feast"}
    process = update(empty, check=False)
    assert process.returncode != 0
    assert process.stderr.strip().splitlines()[-1] == (
        f"No published snapshot matches {output}/history/*/user_features.parquet: "
        "run `make build` first.")

    old = output / "history" / "as_of_date=2024-01-01" / "user_features.parquet"
    old.parent.mkdir(parents=True)
    store["latest_file"].to_parquet(old, index=False)
    process = update(empty, check=False)
    assert process.returncode != 0
    assert process.stderr.strip().splitlines()[-1] == (
        f"{old} has no feature_timestamp column (1 history file(s) published "
        "before snapshots were stamped): remove them, or add the column with the "
        "instant their values held.")
    assert not (tmp_path / "feast" / "online_store.db").exists()


def test_the_history_follows_a_feature_added_and_refuses_one_removed(tmp_path):
    """A feature added as CONTRIBUTING.md says: the snapshot published
    before it reads as nulls for it, in the history and through Feast; then
    the feature removed again: publishing refuses, naming the snapshot."""
    bin_dir = side_env("feast")
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=NOT_COPIED, symlinks=True)
    raw, landing, middle = batch_landing(tmp_path, "12", "2000", "300")
    output = tmp_path / "output"
    store = {"bin": bin_dir, "output": output, "state": tmp_path / "feast"}

    raw[raw["timestamp"] < middle].to_parquet(
        landing / "transactions" / "batch_1.parquet", index=False)
    first = run_dbt(tmp_path / "run", landing, output_dir=output, project=project)
    assert first.returncode == 0, first.output[-3000:]
    first_file = pd.read_parquet(first.published)

    add_the_guides_feature(project)
    raw[raw["timestamp"] >= middle].to_parquet(
        landing / "transactions" / "batch_2.parquet", index=False)
    second = run_dbt(tmp_path / "run", landing, output_dir=output, project=project)
    assert second.returncode == 0, second.output[-3000:]
    latest = pd.read_parquet(second.published)
    assert "favorite_category" in latest.columns

    # Read as one table by column name: the older snapshot holds nulls for
    # the feature, and its other values are those published with it.
    table = history(store)
    first_instant, second_instant = sorted(table["feature_timestamp"].unique())
    older = table[table["feature_timestamp"] == first_instant]
    assert older["favorite_category"].isna().all()
    assert older["favorite_category"].size == len(first_file)
    pd.testing.assert_frame_equal(
        older[list(first_file.columns)].reset_index(drop=True), first_file)
    newer = table[table["feature_timestamp"] == second_instant]
    assert newer["favorite_category"].notna().all()

    # Through Feast, with the project's own (edited) feature definitions.
    update = project / "feature_store" / "update.py"
    process = subprocess.run([str(bin_dir / "python"), str(update)], env=feast_env(store),
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    user = int(sorted(set(older["user_id"]) & set(newer["user_id"]))[0])
    between = (first_instant + (second_instant - first_instant) / 2).tz_localize("UTC")
    after = (second_instant + timedelta(days=1)).tz_localize("UTC")
    asked = subprocess.run(
        [str(bin_dir / "python"), "-c", QUERIES, str(update.parent)],
        input=json.dumps({"users": [user], "entities": [
            [user, between.isoformat()], [user, after.isoformat()]]}),
        env=feast_env(store), capture_output=True, text=True, timeout=600)
    assert asked.returncode == 0, asked.stderr[-3000:]
    answer = json.loads(asked.stdout.splitlines()[-1])
    training = {row["event_timestamp"]: row for row in answer["training"]}
    assert training[between.isoformat()]["favorite_category"] is None
    assert training[between.isoformat()]["total_spend"] is not None
    expected = newer.set_index("user_id").loc[user, "favorite_category"]
    assert training[after.isoformat()]["favorite_category"] == expected
    assert answer["online"][0]["favorite_category"] == expected

    # The feature removed again: the history holds it, so publishing
    # refuses in one sentence naming a snapshot, and nothing changes.
    published = second.published.read_bytes()
    shutil.copytree(PROJECT_ROOT / "models" / "marts", project / "models" / "marts",
                    dirs_exist_ok=True)
    removed = run_dbt(tmp_path / "run", landing, output_dir=output, project=project,
                      extra_args=("--full-refresh", "--no-partial-parse"))
    assert removed.returncode != 0
    assert ("holds the column favorite_category, which user_features no longer "
            "has; nothing was published") in removed.output, removed.output[-3000:]
    assert f"{output}/history/as_of_date=" in removed.output
    assert second.published.read_bytes() == published
