"""Publishing, the same on every engine: the tested features become
``<output_dir>/user_features.parquet`` and a dated history snapshot, each
with its lineage file beside it.

On DuckDB the publish model (models/publish/publish_user_features.py) calls
``publish``; on Spark, scripts/spark_target.py calls it on the export Spark
wrote. Either way it gets a DuckDB session and relations for the features
and the landing plan, and:

* refuses an empty result, and a history it cannot extend (a snapshot that
  holds a feature the contract no longer has, or holds it with another
  type), naming the snapshot; nothing is written then;
* writes each file under a temporary name in its own directory, ordered by
  user_id, reads it back (schema and rows) and fsyncs it;
* adds a feature the older snapshots lack to them as nulls, so the history
  reads as one table by column name in any reader (Feast included);
* only then renames the new files into place (atomic within a directory);
  a file whose bytes would not change is left alone, modification time
  included;
* rewrites every lineage file that does not describe the bytes beside it
  (a run killed between two renames leaves none inconsistent);
* moves a snapshot dated after this one (its data was corrected since: a
  timestamp in 2099, say) to ``history/superseded/``, where no reader of
  ``history/*/`` finds it, so the latest snapshot is always this run's.

The history snapshot's date is that of the latest transaction the features
were computed from (not the wall clock), so a re-run on the same data
overwrites its own partition.
"""
import contextlib
import json
import os
import re
import uuid

import duckdb
import pyarrow.parquet as pq
from feature_pipeline_guard import exact_path, sha256_of
from feature_pipeline_lineage import (LINEAGE_NAME, TEMP_SUFFIX,
                                      describe_output, lineage_document,
                                      lineage_matches, replace_file,
                                      write_text_atomically)

FILE_NAME = "user_features.parquet"


class PublishError(RuntimeError):
    """Nothing can be published; the message says why, in one sentence."""


def temp_beside(target):
    return target.with_name(f".{FILE_NAME}.{uuid.uuid4().hex}{TEMP_SUFFIX}")


def write_checked(session, relation, expected_rows, path):
    """Write ``relation`` to ``path`` ordered by user_id and verify it."""
    relation.order("user_id").write_parquet(str(path), compression="snappy")
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    # hive_partitioning off: the as_of_date=... folder is not a column.
    written = session.read_parquet(exact_path(path), hive_partitioning=False)
    expected = list(zip(relation.columns, map(str, relation.dtypes)))
    found = list(zip(written.columns, map(str, written.dtypes)))
    if found != expected:
        raise PublishError(f"{path} was read back with columns {found}, "
                           f"expected {expected}; nothing was published.")
    rows = written.aggregate("count(*)").fetchall()[0][0]
    if rows != expected_rows:
        raise PublishError(f"{path} was read back with {rows} rows, expected "
                           f"{expected_rows}; nothing was published.")


@contextlib.contextmanager
def write_failures_named(output_dir, outcome):
    """A write that fails (a full disk, a failing device) as one sentence:
    DuckDB says it in a JSON blob, the OS with an errno. ``outcome`` says
    what the run left published."""
    try:
        yield
    except (OSError, duckdb.IOException) as error:
        if isinstance(error, OSError) and error.strerror:
            reason = error.strerror
        else:
            code = re.search(r'"errno":\s*"?(\d+)', str(error))
            reason = os.strerror(int(code[1])) if code else str(error)[:200]
        raise PublishError(f"OUTPUT_DIR: cannot write in {output_dir} "
                           f"({reason.lower()}); {outcome}") from None


def remove_stale_temp_files(directory):
    """Drop temp files that a killed run left behind."""
    for name in (FILE_NAME, LINEAGE_NAME):
        for stale in directory.glob(f".{name}.*{TEMP_SUFFIX}"):
            stale.unlink(missing_ok=True)


def history_to_extend(history_dir, new_schema, replaced):
    """The older snapshots and the columns each lacks; refuses a snapshot
    holding a column the new one does not have, or with another type."""
    types = {field.name: field.type for field in new_schema}
    extend = []
    for path in sorted(history_dir.glob(f"as_of_date=*/{FILE_NAME}")):
        if path == replaced:
            continue
        old = pq.read_schema(path)
        if "feature_timestamp" not in old.names:
            continue  # published before snapshots were stamped: not ours
        for field in old:
            if field.name not in types:
                raise PublishError(
                    f"History snapshot {path} holds the column {field.name}, "
                    "which user_features no longer has; nothing was "
                    "published: move the snapshots that hold it out of "
                    f"{history_dir}, or keep the column.")
            if field.type != types[field.name]:
                raise PublishError(
                    f"History snapshot {path} holds {field.name} as "
                    f"{field.type}, user_features now makes it "
                    f"{types[field.name]}; nothing was published: move the "
                    f"older snapshots out of {history_dir}, or keep the type.")
        missing = [name for name in types if name not in old.names]
        if missing:
            extend.append((path, missing))
    return extend


def extend_snapshot(session, path, missing, snapshot):
    """Rewrite an older snapshot in the new snapshot's columns, the ones it
    lacks as nulls; its lineage says which were added."""
    old = session.read_parquet(exact_path(path), hive_partitioning=False)
    kinds = dict(zip(snapshot.columns, map(str, snapshot.dtypes)))
    select = ", ".join(
        f'cast(null as {kinds[name]}) as "{name}"' if name in missing
        else f'"{name}"' for name in snapshot.columns)
    extended = old.project(select)
    rows = old.aggregate("count(*)").fetchall()[0][0]
    temp = temp_beside(path)
    try:
        write_checked(session, extended, rows, temp)
        replace_file(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    lineage = path.with_name(LINEAGE_NAME)
    if lineage.is_file():
        document = json.loads(lineage.read_text())
        instant = document["output"]["feature_timestamp"]
        document["output"] = describe_output(session, path, instant)
        document["output"]["columns_added_later"] = missing
        write_text_atomically(
            lineage, json.dumps(document, indent=2, default=str) + "\n")


def refuse_links(*paths):
    """The pipeline writes through no symbolic link: a file or folder of the
    output that is one is refused, so nothing lands outside OUTPUT_DIR."""
    for path in paths:
        if path.is_symlink():
            raise PublishError(
                f"{path} is a symbolic link; the pipeline writes no file "
                "through a link: remove it (nothing was published).")


def writable_folder(folder):
    """Create ``folder`` if needed; one sentence when it cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise PublishError(f"OUTPUT_DIR: {folder} is a file, not a folder; "
                           "nothing was published.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PublishError(f"OUTPUT_DIR: {folder} cannot be created "
                           f"({error.strerror}); nothing was published.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PublishError(f"OUTPUT_DIR: {folder} cannot be written by this "
                           "user; nothing was published.")


def supersede_later_snapshots(history_dir, as_of_date):
    """Move the snapshots dated after ``as_of_date`` out of the history
    readers see, into history/superseded/ (kept, not deleted)."""
    moved = []
    for folder in sorted(history_dir.glob("as_of_date=*")):
        if folder.is_dir() and folder.name.split("=", 1)[1] > str(as_of_date):
            aside = history_dir / "superseded" / folder.name
            aside.parent.mkdir(exist_ok=True)
            if aside.exists():
                aside = aside.with_name(f"{folder.name}.{uuid.uuid4().hex[:8]}")
            os.replace(folder, aside)
            moved.append(str(aside))
    return moved


@contextlib.contextmanager
def _removing(staged):
    """Whatever happens, no staged temporary file is left behind."""
    try:
        yield
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)


def publish(session, features, plan, ranges, output_dir, target_path,
            variables, publisher, run_id=None):
    """Publish ``features`` (a relation of the tested mart); ``plan`` holds
    the landing files read, ``ranges`` each transaction file's first and
    last transaction time. Returns what was published."""
    rows = features.aggregate("count(*)").fetchall()[0][0]
    if rows == 0:
        raise PublishError(
            "user_features is empty (no transaction joined a user profile); "
            f"refusing to publish it, {output_dir / FILE_NAME} is unchanged.")
    # The instant the features hold at: the latest transaction they were
    # computed from. Its date names the history partition.
    feature_timestamp = max(last for _, last in ranges.values())
    as_of_date = feature_timestamp.date()
    # Only the history file has the column (not as_of_date, which is the
    # partition's name: read with hive partitioning it would be doubled).
    snapshot = features.project(
        f"*, timestamp '{feature_timestamp.isoformat()}' as feature_timestamp")
    history_dir = output_dir / "history"
    latest = output_dir / FILE_NAME
    history = history_dir / f"as_of_date={as_of_date}" / FILE_NAME
    targets = [(latest, features), (history, snapshot)]

    refuse_links(history_dir, history.parent,
                 *[t.with_name(n) for t, _ in targets for n in (FILE_NAME, LINEAGE_NAME)])
    staged = []
    changed = False
    with write_failures_named(output_dir, "nothing was published, and the "
                              "published files are as they were."), \
            _removing(staged):
        for target, relation in targets:
            writable_folder(target.parent)
            remove_stale_temp_files(target.parent)
            staged.append((temp_beside(target), target))
            write_checked(session, relation, rows, staged[-1][0])
        # Both files are complete and verified: the history is checked and
        # extended, and only then is anything replaced.
        extend = history_to_extend(
            history_dir, pq.read_schema(staged[-1][0]), history)
        for path, missing in extend:
            extend_snapshot(session, path, missing, snapshot)
        for temp, target in staged:
            if target.exists() and sha256_of(temp) == sha256_of(target):
                continue
            replace_file(temp, target)
            changed = True
        superseded = supersede_later_snapshots(history_dir, as_of_date)

    stale = [target for target, _ in targets if not lineage_matches(target)]
    with write_failures_named(output_dir, "the features were published, "
                              "their lineage file was not: the next run "
                              "writes it."):
        shared = stale and lineage_document(plan, ranges, target_path,
                                            variables, publisher, run_id)
        for target in stale:
            document = dict(shared, output=describe_output(
                session, target, feature_timestamp.isoformat()))
            write_text_atomically(
                target.with_name(LINEAGE_NAME),
                json.dumps(document, indent=2, default=str) + "\n")
    return {"published_path": str(latest), "history_path": str(history),
            "as_of_date": as_of_date, "feature_timestamp": feature_timestamp,
            "row_count": rows, "sha256": sha256_of(latest),
            "is_changed": changed or bool(superseded),
            "lineage_written": bool(stale), "is_published": True}
