"""dbt-duckdb plugin: the guards that run in the dbt process itself.

dbt-duckdb loads this module (see `plugins:` in profiles.yml) before it opens
the database, so plain `dbt build` gets the same protection as `make build`:

* one run per database: a second run fails at once with a plain sentence
  instead of DuckDB's lock error or, worse, waiting;
* a landing-directory inspector, callable from SQL as
  ``inspect_landing(root, contract_json, loaded_json)``, which checks every
  raw file to be read before any model reads it (but a file loaded before
  and unchanged, which was checked then) and answers in JSON: the files to
  read (for an incremental dataset, only those not loaded before, unless
  the load must start over or the command reads them all), or the one
  sentence that says which file and column are wrong;
* ``parquet_columns(path)``, which tells whether a drift baseline can be
  used, without failing the run when it cannot.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

_held_locks: dict[str, int] = {}

CSV_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class LandingError(Exception):
    """A landing file the pipeline cannot read; the message says why."""


# ---------------------------------------------------------------- settings

# DuckDB sizes: a number and a unit, or a share of the machine's memory.
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]i?B|B)?\s*", re.I)
_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
# Below this the pipeline's queries cannot run at all.
_LEAST_MEMORY = 128e6


def check_settings(database_path: str, config: dict) -> None:
    """Refuse a malformed setting in one sentence naming it, before DuckDB
    (or dbt) turns it into a traceback."""
    limit = str(config.get("memory_limit", "2GB"))
    size = _SIZE.fullmatch(limit)
    if not size:
        raise RuntimeError(
            f"DUCKDB_MEMORY_LIMIT is {limit!r}, not a size: give one such as "
            "2GB, 8GB or 80% (of this machine's memory).")
    unit = (size[2] or "B").upper()
    if unit != "%" and float(size[1]) * _UNITS[unit] < _LEAST_MEMORY:
        raise RuntimeError(
            f"DUCKDB_MEMORY_LIMIT is {limit!r}, below the 128MB the pipeline "
            "needs at the least: give a size such as 2GB.")
    if unit == "%" and not 0 < float(size[1]) <= 100:
        raise RuntimeError(
            f"DUCKDB_MEMORY_LIMIT is {limit!r}: a share of memory lies "
            "between 1% and 100%.")
    for setting, value in (("DUCKDB_THREADS", config.get("threads", "2")),
                           ("DBT_THREADS", os.environ.get("DBT_THREADS", "2"))):
        if not re.fullmatch(r"\s*[1-9][0-9]{0,3}\s*", str(value)):
            raise RuntimeError(
                f"{setting} is {str(value)!r}: give a whole number of threads "
                "from 1 to 9999, such as 2.")
    temp = config.get("temp_directory")
    if temp and Path(temp).exists() and not Path(temp).is_dir():
        raise RuntimeError(
            f"DUCKDB_TEMP_DIRECTORY names the file {temp}: give a folder "
            "DuckDB may spill to, such as .duckdb_tmp.")
    progress = os.environ.get("LANDING_PROGRESS_SECONDS", "5")
    if not re.fullmatch(r"\s*\d{1,6}(\.\d*)?\s*", progress):
        raise RuntimeError(
            f"LANDING_PROGRESS_SECONDS is {progress!r}: give a number of "
            "seconds, such as 5.")
    path = Path(database_path)
    if path.is_dir():
        raise RuntimeError(
            f"DUCKDB_PATH names the folder {database_path}: give a file, such "
            f"as {path / 'feature_pipeline.duckdb'}.")
    if path.is_file() and path.stat().st_size > 0:
        with open(path, "rb") as handle:
            header = handle.read(12)
        if header[8:12] != b"DUCK":
            raise RuntimeError(
                f"DUCKDB_PATH names {database_path}, which is not a DuckDB "
                "database file: give a new or existing .duckdb file.")


# ---------------------------------------------------------------- run lock

def acquire_run_lock(database_path: str, held: str = "the database",
                     setting: str = "DUCKDB_PATH", other: str = "database file") -> None:
    """Hold an exclusive lock beside ``database_path`` (the DuckDB file, or
    on Spark its folder) for this process's life: one run at a time."""
    if not database_path or database_path == ":memory:":
        return
    # Beside the file itself: a database reached through a symbolic link is
    # the same database, and DuckDB locks the file, not the name.
    lock_path = os.path.realpath(database_path) + ".lock"
    if lock_path in _held_locks:
        return
    try:
        Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise RuntimeError(
            f"Cannot open {held} {database_path}: no file can be "
            f"created in {Path(lock_path).parent} ({error.strerror}); set "
            f"{setting} to a {other.split()[-1]} in a folder this user can write."
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f" (process {holder})" if holder else ""
        raise RuntimeError(
            f"Another run{who} holds {held} {database_path}: wait for "
            f"it to finish, or set {setting} to use another {other}."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held_locks[lock_path] = fd


# ------------------------------------------------------- landing inspection

DATA_EXTENSIONS = ("parquet", "csv")
# A warning lists this many files by name, then counts the rest.
NAMED_IN_A_WARNING = 5


def _extension(path: Path) -> str:
    """The data format a file name says, matched case-insensitively."""
    return path.suffix.lower().lstrip(".")


def _batch_files(folder: Path, warnings: list[str]) -> dict[str, list[Path]]:
    """The data files of a batch folder, by format.

    Dot-files (editor and sync leftovers) are ignored. Anything else the
    pipeline will not read is named in a warning; a data file that cannot be
    read at all (a broken link) stops the run, since skipping it would
    change the result.
    """
    found: dict[str, list[Path]] = {}
    unread = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        fmt = _extension(path)
        if path.is_symlink() and not path.exists():
            if fmt in DATA_EXTENSIONS:
                raise LandingError(
                    f"{path} is a broken symbolic link (its target "
                    f"{os.readlink(path)} does not exist): restore the file or "
                    "remove the link.")
            unread.append(f"{path.name} (broken link)")
        elif path.is_dir():
            unread.append(f"{path.name}/ (sub-folders are not read)")
        elif fmt in DATA_EXTENSIONS:
            found.setdefault(fmt, []).append(path)
        else:
            unread.append(path.name)
    if unread:
        named = ", ".join(unread[:NAMED_IN_A_WARNING])
        more = len(unread) - NAMED_IN_A_WARNING
        warnings.append(
            f"{folder} holds {len(unread)} file(s) that are not .parquet or "
            f".csv and are not read: {named}"
            + (f" and {more} more" if more > 0 else "") + ".")
    return found


def _dataset_files(root: Path, dataset: str,
                   warnings: list[str]) -> tuple[str, list[Path]]:
    layouts = []
    for path in sorted(root.iterdir()):
        if path.stem == dataset and _extension(path) in DATA_EXTENSIONS:
            if path.is_symlink() and not path.exists():
                raise LandingError(
                    f"{path} is a broken symbolic link (its target "
                    f"{os.readlink(path)} does not exist): restore the file "
                    "or remove the link.")
            if path.is_file():
                layouts.append((_extension(path), [path]))
    folder = root / dataset
    if folder.is_dir():
        for fmt, batch in _batch_files(folder, warnings).items():
            layouts.append((fmt, batch))
    if not layouts:
        raise LandingError(
            f"Landing directory '{root}' has no {dataset} data: expected "
            f"{dataset}.parquet, {dataset}.csv or a folder {dataset}/ of such "
            "files.")
    if len(layouts) > 1:
        found = ", ".join(f"{len(files)} {fmt} file(s)" for fmt, files in layouts)
        raise LandingError(
            f"Landing directory '{root}' holds {dataset} in more than one form "
            f"({found}): keep exactly one file or one folder of one format.")
    return layouts[0]


def _parquet_kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_dictionary(arrow_type):
        # What pandas writes for a `category` column: judged by its values.
        return _parquet_kind(arrow_type.value_type)
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "DOUBLE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP" if arrow_type.tz is None else "TIMESTAMPTZ"
    if (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_string_view(arrow_type)):
        return "VARCHAR"
    return str(arrow_type)


# Which file types a contract type accepts (integers widen to DOUBLE).
_ACCEPTS = {
    "BIGINT": {"BIGINT"},
    "DOUBLE": {"DOUBLE", "BIGINT"},
    "TIMESTAMP": {"TIMESTAMP"},
    "VARCHAR": {"VARCHAR"},
}


# Columns the readers add to every row: a landing file may not bring its own.
RESERVED_COLUMNS = ("_source_file", "_source_row_number", "_load_id", "filename",
                    "file_row_number", "ordinality")


def _check_columns(path: Path, columns: list[str], contract: dict) -> None:
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise LandingError(f"{path}: the column name '{repeated[0]}' appears more "
                           "than once; give each column its own name.")
    taken = [c for c in columns if c.lower() in RESERVED_COLUMNS]
    if taken:
        raise LandingError(
            f"{path}: column '{taken[0]}' has a name the pipeline keeps for "
            f"where each row came from ({', '.join(RESERVED_COLUMNS)}): rename "
            "or drop it.")
    missing = [c for c in contract if c not in columns]
    if missing:
        raise LandingError(
            f"{path}: required column '{missing[0]}' is missing "
            f"(the file has {', '.join(columns) or 'no columns'}).")


def _inspect_parquet(path: Path, contract: dict) -> dict:
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except Exception as error:  # truncated, corrupt or not Parquet at all
        raise LandingError(
            f"{path} is not a readable Parquet file (truncated or corrupt: "
            f"{error}).") from None
    columns = list(schema.names)
    _check_columns(path, columns, contract)
    for column, expected in contract.items():
        actual = _parquet_kind(schema.field(column).type)
        if actual not in _ACCEPTS[expected]:
            raise LandingError(
                f"{path}: column '{column}' has type {actual}, expected "
                f"{expected}.")
    rounded = _check_parquet_values(path, schema, contract)
    return {"columns": {c: _parquet_kind(schema.field(c).type) for c in columns},
            "rows": parquet.metadata.num_rows, "rounded": rounded}


BIGINT_MAX = 2 ** 63 - 1
# Amounts are kept exactly from staging on, as DECIMAL(18, 6): 12 digits
# before the point, so every amount below 1e12, rounded to six decimals.
# Their products with a BIGINT quantity (DECIMAL(37, 6)) fit as well.
DOUBLE_LIMIT = "1e12"
MONEY_MAX = "999999999999.999999"
MONEY_REASON = (f"is not a finite number smaller than {DOUBLE_LIMIT} "
                "(amounts are kept exactly, as DECIMAL(18, 6))")


def _csv_header(path: Path) -> bytes:
    """A CSV file's header line, read no further than 1 MiB; a file whose
    lines end with a carriage return alone is refused (its rows would read
    as one line)."""
    with open(path, "rb") as handle:
        header = handle.readline(1 << 20)
    if b"\r" in header.rstrip(b"\n").rstrip(b"\r"):
        raise LandingError(f"{path}: its lines end with a carriage return alone; "
                           "save it with \\n (or \\r\\n) line ends.")
    return header


def _file_columns(path: Path, fmt: str, contract: dict) -> dict:
    """A file's columns and kinds as its inspection gives them, read from
    the Parquet footer or the CSV header only."""
    if fmt == "parquet":
        schema = pq.read_schema(path)
        return {c: _parquet_kind(schema.field(c).type) for c in schema.names}
    header = _csv_header(path).decode("utf-8-sig").rstrip("\r\n")
    return {c.strip().strip('"'): contract.get(c.strip().strip('"'), "VARCHAR")
            for c in header.split(",")}


def _check_parquet_values(path: Path, schema: pa.Schema, contract: dict) -> list:
    """Values that have the right type but no place in a model: NaN and
    infinite floats, amounts of 1e12 or more (whatever their number type),
    and unsigned 64-bit integers above the BIGINT range.
    Returns the numbers with more than six decimals, which staging rounds
    to six (a warning, per column: [column, count, row, value]).

    Only the columns that can hold them are read, in one pass.
    """
    invalid = {}
    fractional = [column for column in contract
                  if pa.types.is_floating(schema.field(column).type)
                  or (pa.types.is_decimal(schema.field(column).type)
                      and schema.field(column).type.scale > 6)]
    for column in contract:
        arrow_type = schema.field(column).type
        field = quote_identifier(column)
        if pa.types.is_floating(arrow_type):
            invalid[column] = (
                f"not (isfinite({field}) and abs({field}) < {DOUBLE_LIMIT})",
                MONEY_REASON)
        elif contract[column] == "DOUBLE":
            # An integer or DECIMAL amount, compared exactly, as staging
            # rounds it.
            exact = (f"round({field}, 6)" if pa.types.is_decimal(arrow_type)
                     else field)
            invalid[column] = (
                f"not ({exact} between -{MONEY_MAX} and {MONEY_MAX})",
                MONEY_REASON)
        elif pa.types.is_uint64(arrow_type):
            invalid[column] = (f"{field} > {BIGINT_MAX}",
                               "is above the BIGINT range")
    if not invalid and not fractional:
        return []
    measures = [
        f"min(file_row_number) filter (where {condition}), "
        f"arg_min({quote_identifier(column)}, file_row_number) "
        f"filter (where {condition})"
        for column, (condition, _) in invalid.items()]
    measures += [_rounding_measures(quote_identifier(column), "file_row_number")
                 for column in fractional]
    connection = duckdb.connect()
    try:
        answer = connection.execute(
            f"select {', '.join(measures)} "
            "from read_parquet(?, file_row_number = true)",
            [exact_path(path)]).fetchall()[0]
    finally:
        connection.close()
    bad = [(answer[2 * i], column, answer[2 * i + 1], reason)
           for i, (column, (_, reason)) in enumerate(invalid.items())
           if answer[2 * i] is not None]
    if bad:
        row, column, value, reason = min(bad)
        # Rows count from 1, as a spreadsheet or pandas' iloc + 1 would.
        raise LandingError(f"{path}, row {row + 1}, column '{column}': "
                           f"{value} {reason}.")
    return _rounded(fractional, answer[2 * len(invalid):])


def _rounding_measures(number: str, position: str) -> str:
    """How many values of a number column have more than six decimals
    (staging keeps six: DECIMAL(18, 6)), and the first one with its position."""
    rounded = f"{number} != round({number}, 6)"
    return (f"count(*) filter (where {rounded}), "
            f"min({position}) filter (where {rounded}), "
            f"arg_min({number}, {position}) filter (where {rounded})")


def _rounded(columns: list[str], measured: tuple) -> list:
    """The answers of _rounding_measures, one per column that has such
    values: [column, count, position counted from 1 as in the errors
    (Parquet row, CSV line), value]."""
    return [[column, measured[3 * i], measured[3 * i + 1] + 1, measured[3 * i + 2]]
            for i, column in enumerate(columns) if measured[3 * i]]


def rounding_warnings(path: str, rounded: list, what: str) -> list[str]:
    """One warning per column whose values staging rounds to six decimals."""
    return [f"{path}: {count} value(s) of column '{column}' have more than six "
            f"decimals and are rounded to six (e.g. {what} {row}: {value})."
            for column, count, row, value in rounded]


def sql_string(text: str) -> str:
    """Any text as an SQL string literal: the project's one way of putting a
    path or name into SQL text (a quote in a file name stays data)."""
    return "'" + str(text).replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def exact_path(path) -> str:
    """A path as a DuckDB file pattern that matches that one file: DuckDB
    reads `*`, `?` and `[` in a path as wildcards, so each is written as a
    class of itself (`[*]`), whatever the folder or file name holds."""
    return re.sub(r"([\[*?])", r"[\1]", str(path))


def _file_list(files: list[str]) -> str:
    return "[" + ", ".join(sql_string(exact_path(f)) for f in files) + "]"


def csv_reader_sql(files: list[str], contract: dict, options: str = "") -> str:
    """The read_csv call used both to validate and to read CSV landing files."""
    types = ", ".join(f"{sql_string(c)}: {sql_string(t)}"
                      for c, t in contract.items())
    return (f"read_csv({_file_list(files)}, header = true, filename = true, "
            f"timestampformat = {sql_string(CSV_TIMESTAMP_FORMAT)}, "
            f"types = {{{types}}}{options})")


def landing_reader_sql(fmt: str, files: list[str], contract: dict) -> str:
    """SQL reading a dataset's files, each row tagged with where it came from.

    `_source_file` and `_source_row_number` define load order (file name,
    then position), which decides which copy of a repeated row is kept.
    """
    if fmt == "parquet":
        return ("select * exclude (filename, file_row_number), "
                "filename as _source_file, "
                "file_row_number as _source_row_number "
                f"from read_parquet({_file_list(files)}, filename = true, "
                "file_row_number = true)")
    # CSV readers have no row number: each file is read on its own, with
    # ordinality, so a row's number is the same whichever files are read
    # with it (an incremental load reads only the new ones). Files are
    # combined by column name: batches may list the columns in any order.
    return " union all by name ".join(
        "select * exclude (filename, ordinality), "
        "filename as _source_file, "
        "ordinality - 1 as _source_row_number "
        f"from {csv_reader_sql([file], contract)} with ordinality"
        for file in files)


def empty_reader_sql(contract: dict) -> str:
    """A reader with the dataset's columns and no rows: nothing new to load."""
    columns = [f"cast(null as {kind}) as {quote_identifier(name)}"
               for name, kind in contract.items()]
    columns += ["cast(null as VARCHAR) as _source_file",
                "cast(null as BIGINT) as _source_row_number"]
    return f"select {', '.join(columns)} where false"


# SQL that is true when a CSV field (text) is a valid value of a type.
_CSV_VALID = {
    "BIGINT": "regexp_full_match(trim({v}), '[+-]?[0-9]+') "
              "and try_cast(trim({v}) as bigint) is not null",
    "DOUBLE": "coalesce(isfinite(try_cast(trim({v}) as double))"
              " and abs(try_cast(trim({v}) as double)) < " + DOUBLE_LIMIT + ", false)",
    "TIMESTAMP": "try_strptime(trim({v}), '" + CSV_TIMESTAMP_FORMAT + "') is not null",
    "VARCHAR": "true",
}


# What a valid value looks like, where the type name alone does not say.
_CSV_HINT = {
    "BIGINT": " (a whole number between -2^63 and 2^63 - 1)",
    "DOUBLE": f" (a finite number smaller than {DOUBLE_LIMIT}; NaN and infinity"
              " are not amounts)",
}


def _inspect_csv(path: Path, contract: dict) -> dict:
    header = _csv_header(path)
    try:
        # utf-8-sig: a byte-order mark is not part of the first name.
        columns = [c.strip().strip('"') for c in
                   header.decode("utf-8-sig").rstrip("\r\n").split(",")]
    except UnicodeDecodeError:
        raise LandingError(f"{path}: the header line is not valid UTF-8.") from None
    _check_columns(path, columns, contract)

    # One pass over the file, every field read as text: rows the CSV parser
    # rejects (wrong field count, bad bytes) are recorded instead of raised,
    # and each field is checked against its contract type, strictly (DuckDB
    # would otherwise cast '4.5' to the integer 5).
    measures = ["count(*)"]
    for column, kind in contract.items():
        field = quote_identifier(column)
        invalid = f"{field} is not null and not ({_CSV_VALID[kind].format(v=field)})"
        measures.append(f"min(ordinality) filter (where {invalid})")
        measures.append(f"arg_min({field}, ordinality) filter (where {invalid})")
    fractional = [column for column, kind in contract.items() if kind == "DOUBLE"]
    measures += [_rounding_measures(
        f"try_cast(trim({quote_identifier(column)}) as double)", "ordinality")
        for column in fractional]
    connection = duckdb.connect()
    try:
        try:
            answer = connection.sql(
                f"select {', '.join(measures)} from read_csv("
                f"{sql_string(exact_path(path))}, header = true, all_varchar = true, "
                "store_rejects = true) with ordinality").fetchall()[0]
        except duckdb.Error as error:
            # The first line of DuckDB's message, kept short: it may quote
            # a whole row.
            raise LandingError(f"{path} cannot be read as CSV: "
                               f"{str(error).splitlines()[0][:300]}") from None
        rejects = connection.sql(
            "select line, error_type, error_message "
            "from reject_errors order by line limit 1").fetchall()
    finally:
        connection.close()
    if rejects:
        line, kind, message = rejects[0]
        if kind in ("INVALID UNICODE", "INVALID ENCODING"):
            detail = "the bytes are not valid UTF-8"
        else:
            detail = message.split("\n")[0].rstrip(".")
        raise LandingError(f"{path}, line {line}: {detail} ({kind.lower()}).")
    bad = []
    for index, (column, kind) in enumerate(contract.items()):
        row, value = answer[1 + 2 * index], answer[2 + 2 * index]
        if row is not None:
            bad.append((row, column, kind, value))
    if bad:
        row, column, kind, value = min(bad)
        # Rows count from 1 after the header line.
        raise LandingError(f"{path}, line {row + 1}, column '{column}': "
                           f"'{value}' is not a valid {kind}"
                           f"{_CSV_HINT.get(kind, '')}.")
    return {"columns": {c: contract.get(c, "VARCHAR") for c in columns},
            "rows": answer[0],
            "rounded": _rounded(fractional, answer[1 + 2 * len(contract):])}


def fingerprint(path: Path) -> str:
    """Size and modification time: a file whose fingerprint is unchanged is
    taken as unchanged, without reading it again."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plan_load(root: Path, fmt: str, files: list[Path],
              loaded: dict | None) -> dict:
    """Which files of an incremental dataset this run reads, and why.

    `loaded` describes the loads committed so far (by runs whose checks
    passed): the landing root, format, and each loaded file's fingerprint,
    row count and SHA-256. The load is incremental only when that state can
    simply be extended: every other case rebuilds from all files.
    """
    def rebuild(reason: str) -> dict:
        return {"mode": "rebuild", "reason": reason, "load": list(files),
                "missing": []}

    if loaded is None:
        return rebuild("nothing was loaded before")
    if loaded.get("reason"):
        return rebuild(loaded["reason"])
    known = loaded["files"]
    if loaded["format"] != fmt:
        return rebuild(f"the files are now {fmt}, they were {loaded['format']}")
    if loaded["root"] != str(root.resolve()):
        return rebuild(f"the landing directory changed (from "
                       f"{loaded['root']} to {root.resolve()})")
    for path in files:
        previous = known.get(str(path))
        if previous is not None and previous["fingerprint"] != fingerprint(path):
            return rebuild(f"{path} changed since it was loaded")
    new = [path for path in files if str(path) not in known]
    last_loaded = max(known) if known else ""
    for path in new:
        # Load order is file-name order: a new file that sorts before a
        # loaded one would change which delivery of a transaction is first.
        if str(path) < last_loaded:
            return rebuild(f"{path} sorts before {last_loaded}, which was "
                           "loaded already")
    present = {str(path) for path in files}
    return {"mode": "incremental",
            "reason": f"{len(new)} new file{'' if len(new) == 1 else 's'}",
            "load": new,
            "missing": sorted(p for p in known if p not in present)}


# Names in the landing contract: the datasets and columns of the var
# landing_contract. They reach SQL as identifiers, so they must be plain.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_contract(contract) -> None:
    """Refuse a landing contract that is not names mapped to known types:
    the var is data, and nothing in it may reach SQL as code."""
    if not isinstance(contract, dict) or not contract:
        raise LandingError("The dbt var landing_contract must map each dataset "
                           "to its columns and their types.")
    for dataset, columns in contract.items():
        if not _PLAIN_NAME.fullmatch(str(dataset)) or not isinstance(columns, dict) \
                or not columns:
            raise LandingError(
                f"The dbt var landing_contract names the dataset {dataset!r}: a "
                "dataset must be a plain name (letters, digits, _) mapped to "
                "its columns and their types.")
        for column, kind in columns.items():
            if not _PLAIN_NAME.fullmatch(str(column)):
                raise LandingError(
                    f"The dbt var landing_contract names the column {column!r} "
                    f"of {dataset}: a column must be a plain name (letters, "
                    "digits, _).")
            if kind not in _ACCEPTS:
                raise LandingError(
                    f"The dbt var landing_contract gives {dataset}.{column} the "
                    f"type {kind!r}, which is not one of "
                    f"{', '.join(sorted(_ACCEPTS))}.")


class Progress:
    """A line every LANDING_PROGRESS_SECONDS (default 5) while files are
    inspected, so a long first load (hundreds of daily files) is never
    silent."""

    def __init__(self, dataset: str, total: int, root: str):
        self.dataset, self.total, self.root = dataset, total, root
        self.every = float(os.environ.get("LANDING_PROGRESS_SECONDS") or 5)
        self.done = 0
        self.last = time.monotonic()

    def one_more(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            print(f"landing: inspected {self.done} of {self.total} {self.dataset} "
                  f"file(s) in {self.root}…", file=sys.stderr, flush=True)


def inspect_landing(root: str, contract_json: str, loaded_json: str) -> str:
    """Check the landing directory; answer JSON: datasets, or an error.

    `loaded_json` maps each incremental dataset to what the database already
    holds (see `plan_load`), or to null when nothing usable was loaded.
    Datasets not in it are read whole. With `"read_all": true` beside the
    datasets (a command that loads nothing), every file is read, but a file
    loaded before and unchanged is not inspected again: it was when it was
    loaded.
    """
    contract = json.loads(contract_json)
    incremental = json.loads(loaded_json or "{}")
    read_all = incremental.pop("read_all", False)
    try:
        check_contract(contract)
        root_path = Path(root)
        if root_path.is_file():
            raise LandingError(
                f"Landing directory '{root}' is a file, not a folder (set "
                "RAW_DATA_DIR to the folder holding transactions and "
                "user_profiles).")
        output = incremental.pop("output_dir", None)
        if output and (Path(output).resolve() == root_path.resolve()
                       or root_path.resolve() in Path(output).resolve().parents):
            raise LandingError(
                f"OUTPUT_DIR {output} lies inside the landing directory {root}: "
                "a run would read its own output; choose a folder outside it.")
        if not root_path.is_dir():
            raise LandingError(
                f"Landing directory '{root}' does not exist (set RAW_DATA_DIR "
                "to the folder holding transactions and "
                "user_profiles).")
        datasets = {}
        warnings: list[str] = []
        for dataset, columns in contract.items():
            fmt, files = _dataset_files(root_path, dataset, warnings)
            if dataset in incremental:
                plan = plan_load(root_path, fmt, files, incremental[dataset])
                if read_all:
                    plan = {**plan, "mode": "full", "missing": [],
                            "reason": "read whole: this command loads nothing"}
            else:
                plan = {"mode": "full", "reason": "read whole on every run",
                        "load": list(files), "missing": []}
            known = (incremental.get(dataset) or {}).get("files", {})
            reading = []
            skipped = []
            progress = Progress(dataset, len(plan["load"]), root)
            for path in files:
                if path not in plan["load"]:
                    # Loaded before and unchanged: not inspected again, and
                    # not read again unless the command reads every file.
                    entry = {"path": str(path), "fingerprint": fingerprint(path),
                             **known[str(path)]}
                    if read_all:
                        reading.append({**entry, "action": "load",
                                          "columns": None})
                    else:
                        skipped.append({**entry, "action": "skip"})
                    continue
                if path.stat().st_size == 0:
                    raise LandingError(f"{path} is empty (0 bytes).")
                check = _inspect_parquet if fmt == "parquet" else _inspect_csv
                inspected = check(path, columns)
                warnings += rounding_warnings(
                    str(path), inspected.pop("rounded"),
                    "row" if fmt == "parquet" else "line")
                reading.append({"path": str(path), "action": "load",
                                  "fingerprint": fingerprint(path),
                                  "sha256": sha256_of(path), **inspected})
                progress.one_more()
            if not reading:
                datasets[dataset] = {
                    "format": fmt, "mode": plan["mode"],
                    "reason": plan["reason"], "inspected": 0, "files": skipped,
                    "missing": plan["missing"]}
                continue
            # The files inspected now (a loaded file was inspected before).
            checked = [f for f in reading if f["columns"] is not None]
            first = checked[0] if checked else None
            extra = [c for c in (first or {}).get("columns") or [] if c not in columns]
            if extra:
                # All batches share one schema (below): one warning.
                warnings.append(
                    f"{first['path']} has columns the landing contract does not "
                    f"name ({', '.join(extra)}); they are not read.")
            # A new batch is held to the schema of the batches loaded before
            # (one of them, read from its header or footer): refused when it
            # arrives, not at a later rebuild.
            loaded = next((Path(f["path"]) for f in skipped + reading
                           if f.get("columns") is None and Path(f["path"]).is_file()), None)
            if checked and loaded is not None:
                first = {"path": str(loaded),
                         "columns": _file_columns(loaded, fmt, columns)}
            for other in checked[0 if first not in checked else 1:]:
                if other["columns"] != first["columns"]:
                    raise LandingError(
                        f"{other['path']} has columns {other['columns']}, but "
                        f"{first['path']} has {first['columns']}: batch files "
                        "of one dataset must share one schema.")
            if sum(f["rows"] for f in reading + skipped) == 0:
                names = ", ".join(f["path"] for f in reading)
                raise LandingError(f"{dataset} has no rows ({names}).")
            datasets[dataset] = {
                "format": fmt,
                "mode": plan["mode"],
                "reason": plan["reason"],
                "inspected": len(checked),
                "files": sorted(reading + skipped, key=lambda f: f["path"]),
                "missing": plan["missing"],
            }
        return json.dumps({"datasets": datasets, "warnings": warnings,
                           "root": str(root_path.resolve())})
    except LandingError as error:
        return json.dumps({"error": str(error)})


def landing_reader(fmt: str, files_json: str, contract_json: str) -> str:
    """``landing_reader_sql`` callable from SQL: the reader of the files a
    landing plan names (JSON list), or no rows when it names none."""
    files = json.loads(files_json)
    contract = json.loads(contract_json)
    if not files:
        return empty_reader_sql(contract)
    return landing_reader_sql(fmt, files, contract)


def parquet_columns(path: str) -> str:
    """The column names of a Parquet file, or why it cannot be read (JSON)."""
    try:
        return json.dumps({"columns": pq.ParquetFile(path).schema_arrow.names})
    except FileNotFoundError:
        return json.dumps({"error": "missing"})
    except Exception as error:  # truncated, corrupt or not Parquet
        return json.dumps({"error": f"not a readable Parquet file ({error})"})


class Plugin(BasePlugin):
    def update_connection_config(self, creds, config) -> None:
        # Called just before dbt-duckdb opens the database.
        check_settings(creds.path, config)
        acquire_run_lock(creds.path)

    def configure_connection(self, conn) -> None:
        conn.create_function("inspect_landing", inspect_landing,
                             [VARCHAR, VARCHAR, VARCHAR], VARCHAR,
                             side_effects=True)
        conn.create_function("landing_reader", landing_reader,
                             [VARCHAR, VARCHAR, VARCHAR], VARCHAR,
                             side_effects=True)
        conn.create_function("parquet_columns", parquet_columns,
                             [VARCHAR], VARCHAR, side_effects=True)
