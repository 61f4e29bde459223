#!/usr/bin/env python3
"""Generate raw e-commerce landing files: transactions and user profiles.

The output is a pure function of the arguments: the same ``--seed`` and sizes
always give the same rows. Transactions are produced in fixed-size chunks,
each from its own child random stream, and streamed to disk, so 100 million
rows need no more memory than one chunk.

Defects are injected on purpose, because the pipeline exists to clean them:
about 3 % null amounts, about 0.5 % negated amounts, and rows repeated verbatim
at the end of the data (a re-delivery).

Examples:
    python scripts/generate_raw_data.py                     # the bundled sample
    python scripts/generate_raw_data.py --rows 10000000 --users 1000000 \\
        --interval-seconds 3 --out /tmp/landing   # about one year of data
    python scripts/generate_raw_data.py --batches day --out /tmp/landing
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CATEGORIES = np.array(["electronics", "clothing", "food", "books", "sports"])
REGIONS = np.array(["US_East", "US_West", "EU", "Asia", "Other"])
START = np.datetime64("2024-01-01T00:00:00", "us")
# Rows per generated chunk. Part of the output's definition: changing it
# changes which random numbers land on which row.
CHUNK_ROWS = 1_000_000

TRANSACTIONS_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.int64()),
        ("user_id", pa.int64()),
        ("product_id", pa.int64()),
        ("category", pa.string()),
        ("amount", pa.float64()),
        ("quantity", pa.int64()),
        ("timestamp", pa.timestamp("us")),
    ]
)
PROFILES_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("age", pa.int64()),
        ("region", pa.string()),
        ("account_age_days", pa.int64()),
        ("is_premium", pa.int64()),
    ]
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rows", type=int, default=50_000,
                        help="transactions before duplicates (default 50000)")
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--products", type=int, default=1_000)
    parser.add_argument("--duplicates", type=int, default=None,
                        help="rows repeated verbatim (default: 1 in 500, "
                             "i.e. 100 for the sample)")
    parser.add_argument("--interval-seconds", type=float, default=600.0,
                        help="time between consecutive transactions "
                             "(default 600: one every 10 minutes)")
    parser.add_argument("--format", choices=["parquet", "csv"],
                        default="parquet")
    parser.add_argument("--batches", choices=["none", "day", "week"],
                        default="none",
                        help="write transactions/ as one file per day or "
                             "week instead of a single file")
    parser.add_argument("--out", type=Path, default=Path("data/raw"))
    args = parser.parse_args(argv)
    if args.rows < 1 or args.users < 1 or args.products < 1:
        parser.error("--rows, --users and --products must be positive")
    if args.duplicates is None:
        args.duplicates = args.rows // 500
    if not 0 <= args.duplicates <= args.rows:
        parser.error("--duplicates must be between 0 and --rows")
    if args.interval_seconds <= 0:
        parser.error("--interval-seconds must be positive")
    return args


def transaction_chunk(args, chunk_index: int, rng: np.random.Generator
                      ) -> pa.Table:
    """Rows [chunk_index * CHUNK_ROWS, ...) of the transaction stream."""
    first = chunk_index * CHUNK_ROWS
    n = min(CHUNK_ROWS, args.rows - first)
    row = np.arange(first, first + n, dtype=np.int64)

    user_id = rng.integers(1, args.users + 1, n)
    product_id = rng.integers(1, args.products + 1, n)
    category = CATEGORIES[rng.integers(0, len(CATEGORIES), n)]
    amount = np.round(rng.exponential(50.0, n), 2)
    quantity = rng.integers(1, 10, n)
    amount[rng.random(n) < 0.005] *= -1.0
    amount_is_null = rng.random(n) < 0.03

    step_us = int(round(args.interval_seconds * 1_000_000))
    timestamp = START + row * np.timedelta64(step_us, "us")

    return pa.Table.from_arrays(
        [
            pa.array(row + 1),
            pa.array(user_id),
            pa.array(product_id),
            pa.array(category),
            pa.array(amount, mask=amount_is_null),
            pa.array(quantity),
            pa.array(timestamp),
        ],
        schema=TRANSACTIONS_SCHEMA,
    )


def user_profiles(args, rng: np.random.Generator) -> pa.Table:
    n = args.users
    return pa.Table.from_arrays(
        [
            pa.array(np.arange(1, n + 1, dtype=np.int64)),
            pa.array(rng.integers(18, 80, n)),
            pa.array(REGIONS[rng.integers(0, len(REGIONS), n)]),
            pa.array(rng.integers(1, 3650, n)),
            pa.array((rng.random(n) < 0.3).astype(np.int64)),
        ],
        schema=PROFILES_SCHEMA,
    )


class TableWriter:
    """Streams tables to one Parquet or CSV file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str):
        self.fmt = fmt
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, schema, compression="snappy")
        else:
            csv_schema = pa.schema(
                [pa.field(f.name, pa.string())
                 if pa.types.is_timestamp(f.type) else f for f in schema]
            )
            self._writer = pacsv.CSVWriter(path, csv_schema)

    def write(self, table: pa.Table) -> None:
        if self.fmt == "csv":
            # CSV timestamps are written as YYYY-MM-DD HH:MM:SS (docs/features.md, Inputs).
            for i, field in enumerate(table.schema):
                if pa.types.is_timestamp(field.type):
                    # Whole seconds: arrow's %S would add the microseconds.
                    seconds = table.column(i).cast(pa.timestamp("s"),
                                                   safe=False)
                    text = pc.strftime(seconds, "%Y-%m-%d %H:%M:%S")
                    table = table.set_column(i, field.name, text)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


class BatchedTransactionWriter:
    """Splits the transaction stream into one file per day or week."""

    def __init__(self, folder: Path, fmt: str, period: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.fmt, self.period = folder, fmt, period
        self._key = None
        self._writer: TableWriter | None = None

    def _open(self, key: str) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.folder / f"transactions_{key}.{self.fmt}"
        self._writer = TableWriter(path, TRANSACTIONS_SCHEMA, self.fmt)
        self._key = key

    def _keys(self, table: pa.Table) -> np.ndarray:
        ts = table.column("timestamp").to_numpy()
        days = ts.astype("datetime64[D]")
        if self.period == "week":
            # Label each week by its Monday (1970-01-01 was a Thursday).
            days = days - ((days.astype(np.int64) + 3) % 7)
        return np.datetime_as_string(days, unit="D")

    def write(self, table: pa.Table) -> None:
        keys = self._keys(table)
        # Rows arrive in time order, so each key is one contiguous run.
        boundaries = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        starts = np.concatenate([[0], boundaries])
        ends = np.concatenate([boundaries, [len(keys)]])
        for start, end in zip(starts, ends):
            if keys[start] != self._key:
                self._open(keys[start])
            self._writer.write(table.slice(start, end - start))

    def write_tail(self, table: pa.Table) -> None:
        """Append rows to the current (last) batch file."""
        if self._writer is None:
            self._open("redelivery")
        self._writer.write(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def generate(args: argparse.Namespace) -> None:
    root = np.random.SeedSequence(args.seed)
    profile_seq, duplicate_seq, chunks_seq = root.spawn(3)
    n_chunks = -(-args.rows // CHUNK_ROWS)
    chunk_seqs = chunks_seq.spawn(n_chunks)

    duplicate_rows = np.sort(
        np.random.default_rng(duplicate_seq).choice(
            args.rows, size=args.duplicates, replace=False)
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Write into a scratch folder beside the target and swap it in at the end,
    # so an interrupted run never leaves half a landing directory behind.
    staging = Path(tempfile.mkdtemp(prefix=".generate-", dir=args.out.parent))
    try:
        profiles = TableWriter(staging / f"user_profiles.{args.format}",
                               PROFILES_SCHEMA, args.format)
        profiles.write(user_profiles(args, np.random.default_rng(profile_seq)))
        profiles.close()

        if args.batches == "none":
            writer = TableWriter(staging / f"transactions.{args.format}",
                                 TRANSACTIONS_SCHEMA, args.format)
        else:
            writer = BatchedTransactionWriter(staging / "transactions",
                                              args.format, args.batches)
        repeated = []
        for index, seq in enumerate(chunk_seqs):
            table = transaction_chunk(args, index, np.random.default_rng(seq))
            writer.write(table)
            first = index * CHUNK_ROWS
            local = duplicate_rows[(duplicate_rows >= first)
                                   & (duplicate_rows < first + len(table))]
            if len(local):
                repeated.append(table.take(pa.array(local - first)))
        if repeated:
            tail = pa.concat_tables(repeated)
            if args.batches == "none":
                writer.write(tail)
            else:
                writer.write_tail(tail)
        writer.close()

        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("transactions", "user_profiles"):
            for old in args.out.glob(f"{name}.*"):
                old.unlink()
            old_folder = args.out / name
            if old_folder.is_dir():
                shutil.rmtree(old_folder)
        for item in sorted(staging.iterdir()):
            os.replace(item, args.out / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    generate(args)
    total = args.rows + args.duplicates
    print(f"wrote {total:,} transactions and {args.users:,} user profiles "
          f"({args.format}) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
