#!/usr/bin/env python3
"""Benchmark the dbt pipeline against the pandas reference implementation.

For each size (transactions before duplicates), the script:

1. generates a landing directory with ``scripts/generate_raw_data.py``
   (cached under ``<work-dir>/data/<rows>/``; users = rows / 10, timestamps
   spread over one year);
2. runs a cold ``dbt build`` (fresh DuckDB file, output, target and log
   folders): every model, every test, publishing;
3. runs ``tests/python/reference_pipeline.py`` (pandas) on the same files, in
   a separate process;
4. checks the published file (row count, schema) and, up to
   ``--full-compare-max-rows``, that both outputs agree value for value
   (relative tolerance 1e-9);

measuring for both the wall time, the peak memory of the whole process tree
(RSS of the process and all its children, sampled every 50 ms, maximum of the
sums) and rows per second. It then writes a Markdown page (default
``docs/BENCHMARKS.md``) with a chart beside it (``benchmarks.png``), and the
raw numbers to ``<work-dir>/results.json``.

Examples:
    python scripts/bench.py                        # 50k, 1M and 10M
    python scripts/bench.py --with-100m            # and 100M
    python scripts/bench.py --sizes 50k,1m --output /tmp/bench/BENCHMARKS.md

Benchmarks are measurements, not tests: a missed target is reported on the
page, not as a failure. The exit status is non-zero only when a run failed or
the two implementations disagree.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
GENERATOR = PROJECT_ROOT / "scripts" / "generate_raw_data.py"
REFERENCE = Path("tests") / "python"  # inside the benchmarked project
# Where the dbt project's own inputs live; uncommitted changes here are
# recorded on the page.
DBT_PATHS = ["dbt_project.yml", "profiles.yml", "models", "macros", "seeds",
             "tests/generic", "plugins", "tests/python/reference_pipeline.py"]
DBT = Path(sys.executable).with_name("dbt")

DEFAULT_SIZES = [50_000, 1_000_000, 10_000_000]
SIZE_100M = 100_000_000
ONE_YEAR_SECONDS = 365 * 24 * 3600
SAMPLE_INTERVAL = 0.05  # seconds between memory samples
GB = 1024 ** 3

ARROW_TYPES = {"bigint": "int64", "double": "double", "boolean": "bool",
               "varchar": "string"}


def expected_schema() -> list[tuple[str, str]]:
    """The published columns and Arrow types, from the user_features
    contract (models/marts/user_features.yml), the one place they are set."""
    import yaml
    contract = yaml.safe_load(
        (PROJECT_ROOT / "models" / "marts" / "user_features.yml").read_text())
    model = next(m for m in contract["models"] if m["name"] == "user_features")
    return [(c["name"], ARROW_TYPES[c["data_type"]]) for c in model["columns"]]


# Targets stated on the page; the script computes whether they are met.
TARGET_SIZE = 10_000_000
TARGET_TIME_RATIO = 0.5
TARGET_MEMORY_RATIO = 0.5
TARGET_100M_SECONDS = 300.0


# ------------------------------------------------------------ arguments

def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9_.]+)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    number = float(match.group(1).replace("_", ""))
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    value = int(number * factor)
    if value < 10:
        raise argparse.ArgumentTypeError(f"size too small: {text!r}")
    return value


def parse_sizes(text: str) -> list[int]:
    return [parse_size(part) for part in re.split(r"[,\s]+", text.strip())
            if part]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", type=parse_sizes, default=None,
        help="comma-separated transaction counts, e.g. 50k,1m,10m "
             "(default: 50k,1m,10m)")
    parser.add_argument("--with-100m", action="store_true",
                        help="add the 100 million size")
    parser.add_argument("--output", type=Path,
                        default=PROJECT_ROOT / "docs" / "BENCHMARKS.md",
                        help="Markdown page to write")
    parser.add_argument("--chart", type=Path, default=None,
                        help="chart to write (default: benchmarks.png beside "
                             "the page)")
    parser.add_argument("--work-dir", type=Path,
                        default=PROJECT_ROOT / ".bench",
                        help="data cache, run folders and results.json")
    parser.add_argument("--duckdb-memory-limit", default="8GB")
    parser.add_argument("--max-rss-gb", type=float, default=20.0,
                        help="stop a run whose process tree exceeds this RSS, in GiB")
    parser.add_argument("--pandas-timeout", type=float, default=1800.0,
                        help="seconds before the pandas run is stopped")
    parser.add_argument("--dbt-timeout", type=float, default=3600.0,
                        help="seconds before the dbt run is stopped")
    parser.add_argument("--full-compare-max-rows", type=parse_size,
                        default=TARGET_SIZE,
                        help="compare every value up to this size; above it "
                             "only row count and schema are checked")
    parser.add_argument(
        "--git-ref", default=None,
        help="benchmark this commit (exported with git archive into the "
             "work dir) instead of the working tree")
    parser.add_argument(
        "--merge", action="store_true",
        help="keep the previous results.json's sizes that this run does not "
             "measure (e.g. add 100M to an earlier 50k-10M run)")
    parser.add_argument(
        "--render-only", action="store_true",
        help="rewrite the page and chart from results.json without running")
    parser.add_argument("--skip-fixed-overhead", action="store_true",
                        help="do not time dbt --version and dbt parse")
    args = parser.parse_args(argv)
    sizes = list(args.sizes or DEFAULT_SIZES)
    if args.with_100m and SIZE_100M not in sizes:
        sizes.append(SIZE_100M)
    args.sizes = sorted(set(sizes))
    args.output = args.output.resolve()
    args.chart = (args.chart or args.output.with_name("benchmarks.png")
                  ).resolve()
    args.work_dir = args.work_dir.resolve()
    args.project = PROJECT_ROOT
    return args


def git(*arguments: str, cwd: Path = PROJECT_ROOT) -> str:
    return subprocess.run(["git", *arguments], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def prepare_project(args) -> dict:
    """The dbt project to benchmark: the working tree or one commit."""
    info = {"path": str(PROJECT_ROOT)}
    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return info
    if args.git_ref:
        commit = git("rev-parse", "--verify", f"{args.git_ref}^{{commit}}")
        snapshot = args.work_dir / "project" / commit[:12]
        if not (snapshot / "dbt_project.yml").is_file():
            if snapshot.exists():
                shutil.rmtree(snapshot)
            snapshot.mkdir(parents=True)
            archive = subprocess.run(["git", "archive", "--format=tar", commit],
                                     cwd=PROJECT_ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive,
                           check=True)
        args.project = snapshot
        info.update(path=str(snapshot), commit=commit, uncommitted=[])
    else:
        status = git("status", "--porcelain", "--", *DBT_PATHS)
        info.update(commit=head, uncommitted=sorted(
            line[3:] for line in status.splitlines()))
    info["subject"] = git("log", "-1", "--format=%s", info["commit"])
    return info


# ------------------------------------------------- measured process runs

@dataclass
class Measured:
    """One process run: wall time, peak RSS of its tree, how it ended."""
    command: list[str]
    wall_seconds: float
    peak_rss_bytes: int
    returncode: int | None
    status: str  # ok | failed | stopped: memory | stopped: timeout | killed
    log_path: str
    rss_limit_bytes: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def tree_rss(process) -> int:
    import psutil
    total = 0
    try:
        members = [process] + process.children(recursive=True)
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def run_measured(command: list[str], *, log_path: Path, env: dict | None = None,
                 timeout: float | None = None, max_rss: int | None = None,
                 cwd: Path = PROJECT_ROOT) -> Measured:
    """Run ``command`` in its own process group and watch its memory.

    The RSS of the process and all its descendants is summed every 50 ms; the
    peak is the largest sum. Past ``max_rss`` or ``timeout`` the whole group
    is stopped and the run is reported as stopped.
    """
    import psutil
    log_path.parent.mkdir(parents=True, exist_ok=True)
    status, note = "ok", ""
    peak = 0
    with open(log_path, "w") as log:
        start = time.perf_counter()
        process = psutil.Popen(command, cwd=cwd, env=env,
                               stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL,
                               start_new_session=True)
        while True:
            try:
                process.wait(timeout=SAMPLE_INTERVAL)
                break
            except psutil.TimeoutExpired:
                pass
            rss = tree_rss(process)
            peak = max(peak, rss)
            elapsed = time.perf_counter() - start
            if max_rss and rss > max_rss:
                status = "stopped: memory"
                note = (f"stopped at {fmt_bytes(rss)} RSS after "
                        f"{fmt_seconds(elapsed)} (limit {fmt_bytes(max_rss)})")
                kill_group(process.pid, signal.SIGKILL)
                process.wait()
                break
            if timeout and elapsed > timeout:
                status = "stopped: timeout"
                note = (f"stopped after {fmt_seconds(elapsed)} "
                        f"(timeout {fmt_seconds(timeout)}), "
                        f"at {fmt_bytes(rss)} RSS")
                kill_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except psutil.TimeoutExpired:
                    kill_group(process.pid, signal.SIGKILL)
                    process.wait()
                break
        wall = time.perf_counter() - start
    # Descendants left behind by a stopped run are not measured any more.
    kill_group(process.pid, signal.SIGKILL)
    returncode = process.returncode
    if status == "ok" and returncode != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        if "MemoryError" in tail or "Out of Memory" in tail:
            status, note = "failed", "ran out of memory"
        elif returncode == -signal.SIGKILL:
            status, note = "killed", "killed by a signal (likely the OOM killer)"
        else:
            status, note = "failed", f"exit code {returncode}"
    return Measured(command=[str(c) for c in command], wall_seconds=wall,
                    peak_rss_bytes=peak, returncode=returncode, status=status,
                    log_path=str(log_path), rss_limit_bytes=max_rss or 0,
                    note=note)


def rss_limit(args) -> int:
    """The configured RSS cap, lowered to leave the machine 1.5 GiB free."""
    import psutil
    available = psutil.virtual_memory().available
    return int(min(args.max_rss_gb * GB, max(available - 1.5 * GB, GB)))


# ------------------------------------------------------------ data cache

def generator_args(rows: int) -> list[str]:
    users = max(rows // 10, 1)
    interval = ONE_YEAR_SECONDS / rows
    return ["--rows", str(rows), "--users", str(users),
            "--interval-seconds", repr(interval)]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def landing_for(rows: int, args) -> tuple[Path, dict]:
    """The cached landing directory for ``rows``, generated if needed."""
    out = args.work_dir / "data" / str(rows)
    stamp = out / "bench-data.json"
    wanted = {"args": generator_args(rows),
              "generator_sha256": file_sha256(GENERATOR)}
    if stamp.is_file() and json.loads(stamp.read_text()).get("key") == wanted:
        info = json.loads(stamp.read_text())
        info["cached"] = True
        return out, info
    if out.exists():
        shutil.rmtree(out)
    log(f"generating {rows:,} transactions into {out}")
    start = time.perf_counter()
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out),
                    *wanted["args"]], check=True, cwd=PROJECT_ROOT)
    info = {"key": wanted, "seconds": time.perf_counter() - start}
    info.update(landing_stats(out))
    stamp.write_text(json.dumps(info, indent=1))
    info["cached"] = False
    return out, info


def landing_stats(landing: Path) -> dict:
    import pyarrow.parquet as pq
    transactions = landing / "transactions.parquet"
    profiles = landing / "user_profiles.parquet"
    return {
        "transaction_rows": pq.ParquetFile(transactions).metadata.num_rows,
        "profile_rows": pq.ParquetFile(profiles).metadata.num_rows,
        "bytes": transactions.stat().st_size + profiles.stat().st_size,
    }


def expected_counts(landing: Path, work: Path, memory_limit: str) -> dict:
    """Users with a transaction and a profile, and distinct transactions."""
    import duckdb
    work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"set memory_limit = '{memory_limit}'")
    con.execute(f"set temp_directory = '{work / 'duckdb_tmp'}'")
    con.execute("set preserve_insertion_order = false")
    tx = str(landing / "transactions.parquet")
    profiles = str(landing / "user_profiles.parquet")
    users = con.execute(
        "select count(distinct user_id) from read_parquet(?) "
        "where user_id in (select user_id from read_parquet(?))",
        [tx, profiles]).fetchone()[0]
    transactions = con.execute(
        "select count(distinct transaction_id) from read_parquet(?) "
        "where user_id in (select user_id from read_parquet(?))",
        [tx, profiles]).fetchone()[0]
    con.close()
    return {"users": users, "transactions": transactions}


# ------------------------------------------------------------- dbt runs

def dbt_env(workdir: Path, memory_limit: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DUCKDB_PATH": str(workdir / "pipeline.duckdb"),
        "DUCKDB_TEMP_DIRECTORY": str(workdir / "duckdb_tmp"),
        "DUCKDB_MEMORY_LIMIT": memory_limit,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    })
    return env


def dbt_command(command: str, project: Path, workdir: Path, landing: Path,
                output_dir: Path, *extra: str) -> list[str]:
    variables = json.dumps({"raw_data_dir": str(landing),
                            "output_dir": str(output_dir)})
    return [str(DBT), command, "--vars", variables,
            "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(workdir / "target"),
            "--log-path", str(workdir / "logs"), *extra]


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def run_dbt_build(landing: Path, run_dir: Path, args) -> tuple[Measured, Path]:
    workdir = fresh_dir(run_dir / "dbt")
    output_dir = workdir / "output"
    measured = run_measured(
        dbt_command("build", args.project, workdir, landing, output_dir),
        log_path=workdir / "dbt_build.log", cwd=args.project,
        env=dbt_env(workdir, args.duckdb_memory_limit),
        timeout=args.dbt_timeout, max_rss=rss_limit(args))
    # The spill folder can be large; the timings are already taken.
    shutil.rmtree(workdir / "duckdb_tmp", ignore_errors=True)
    return measured, workdir


def parse_iso(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def node_name(unique_id: str) -> str:
    parts = unique_id.split(".")
    kind = parts[0]
    if kind in ("test", "unit_test") and len(parts) >= 3:
        name = ".".join(parts[2:])
        # Generic data tests end with a hash of their arguments.
        return re.sub(r"\.[0-9a-f]{10}$", "", name)
    return ".".join(parts[2:]) if len(parts) > 2 else unique_id


def dbt_breakdown(target_dir: Path, wall_seconds: float) -> dict:
    """Time in nodes by resource type, against dbt's own overhead."""
    data = json.loads((target_dir / "run_results.json").read_text())
    by_type: dict[str, dict] = {}
    intervals = []
    nodes = []
    for result in data["results"]:
        kind = result["unique_id"].split(".")[0]
        entry = by_type.setdefault(kind, {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += result["execution_time"] or 0.0
        stamps = [(parse_iso(t["started_at"]), parse_iso(t["completed_at"]))
                  for t in result.get("timing", [])
                  if t.get("started_at") and t.get("completed_at")]
        if stamps:
            intervals.append((min(s for s, _ in stamps),
                              max(e for _, e in stamps)))
        nodes.append({"type": kind, "name": node_name(result["unique_id"]),
                      "unique_id": result["unique_id"],
                      "status": result["status"],
                      "seconds": result["execution_time"] or 0.0})
    # Nodes run on several threads: the wall-clock time covered by at least
    # one node is the union of their intervals, not the sum.
    covered = 0.0
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                covered += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        covered += current_end - current_start
    node_sum = sum(entry["seconds"] for entry in by_type.values())
    statuses: dict[str, int] = {}
    for node in nodes:
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
    return {
        "wall_seconds": wall_seconds,
        "dbt_elapsed_seconds": data.get("elapsed_time"),
        "node_seconds_sum": node_sum,
        "node_seconds_covered": covered,
        "overhead_seconds": wall_seconds - covered,
        "startup_and_parse_seconds": wall_seconds - (data.get("elapsed_time")
                                                     or 0.0),
        "by_type": by_type,
        "statuses": statuses,
        "nodes": sorted(nodes, key=lambda n: n["seconds"], reverse=True),
        "threads": data.get("args", {}).get("threads")
        or os.environ.get("DBT_THREADS", "2"),
    }


def fixed_overhead(landing: Path, run_dir: Path, args) -> dict:
    """Start-up and parse time: dbt --version, full parse, partial parse."""
    workdir = fresh_dir(run_dir / "parse")
    env = dbt_env(workdir, args.duckdb_memory_limit)
    output_dir = workdir / "output"
    runs = {
        "version": run_measured([str(DBT), "--version"],
                                log_path=workdir / "version.log", env=env),
        # A fresh target folder has no partial_parse.msgpack: full parse.
        "full_parse": run_measured(
            dbt_command("parse", args.project, workdir, landing, output_dir),
            log_path=workdir / "parse_full.log", env=env, cwd=args.project),
        # Same target, nothing changed: partial parsing reuses the manifest.
        "partial_parse": run_measured(
            dbt_command("parse", args.project, workdir, landing, output_dir),
            log_path=workdir / "parse_partial.log", env=env,
            cwd=args.project),
    }
    for name, measured in runs.items():
        if not measured.ok:
            raise RuntimeError(f"dbt {name} failed: see {measured.log_path}")
    return {name: {"wall_seconds": m.wall_seconds,
                   "peak_rss_bytes": m.peak_rss_bytes}
            for name, m in runs.items()}


# ----------------------------------------------------------- pandas runs

def pandas_worker(argv: list[str]) -> int:
    """Child process: the reference pipeline on one landing directory."""
    parser = argparse.ArgumentParser(prog="bench.py _pandas")
    parser.add_argument("landing", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--data-limit-bytes", type=int, default=0)
    options = parser.parse_args(argv)
    if options.data_limit_bytes:
        # A backstop beside the parent's RSS watch: allocations past this
        # fail with MemoryError instead of waking the system's OOM killer.
        import resource
        resource.setrlimit(resource.RLIMIT_DATA,
                           (options.data_limit_bytes,
                            options.data_limit_bytes))
    sys.path.insert(0, str(options.reference_dir))
    import reference_pipeline

    features = reference_pipeline.features_from_landing(options.landing)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    features.to_parquet(options.out, index=False)
    return 0


def run_pandas(landing: Path, run_dir: Path, args) -> tuple[Measured, Path]:
    workdir = fresh_dir(run_dir / "pandas")
    out = workdir / "user_features.parquet"
    limit = rss_limit(args)
    command = [sys.executable, str(Path(__file__).resolve()), "_pandas",
               str(landing), str(out),
               "--reference-dir", str(args.project / REFERENCE),
               "--data-limit-bytes", str(int(limit + 2 * GB))]
    measured = run_measured(command, log_path=workdir / "pandas.log",
                            timeout=args.pandas_timeout, max_rss=limit,
                            cwd=args.project)
    return measured, out


# ---------------------------------------------------------- output checks

def check_published(path: Path, expected: dict) -> dict:
    """Row count, schema and transaction total of a published file."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    problems = []
    if not path.is_file():
        return {"ok": False, "problems": [f"{path} does not exist"]}
    parquet = pq.ParquetFile(path)
    schema = [(f.name, str(f.type)) for f in parquet.schema_arrow]
    if schema != expected_schema():
        problems.append(f"schema {schema} differs from the user_features contract")
    rows = parquet.metadata.num_rows
    if rows != expected["users"]:
        problems.append(f"{rows} rows, expected {expected['users']} "
                        "(users with a transaction and a profile)")
    total = pc.sum(pq.read_table(path, columns=["total_transactions"])
                   .column(0)).as_py()
    if total != expected["transactions"]:
        problems.append(f"total_transactions sums to {total}, expected "
                        f"{expected['transactions']} distinct transactions")
    return {"ok": not problems, "rows": rows, "problems": problems}


def compare_outputs(dbt_path: Path, pandas_path: Path,
                    reference_dir: Path) -> dict:
    """Both implementations' features, value for value (rtol 1e-9)."""
    import pandas as pd
    sys.path.insert(0, str(reference_dir))
    import reference_pipeline
    actual = pd.read_parquet(dbt_path)
    expected = pd.read_parquet(pandas_path)
    try:
        reference_pipeline.assert_frames_match(actual, expected, rtol=1e-9)
    except AssertionError as error:
        return {"agree": False, "rows": len(actual),
                "problem": str(error)[:2000]}
    return {"agree": True, "rows": len(actual)}


# ------------------------------------------------------------ one size

def bench_size(rows: int, args, with_overhead: bool) -> dict:
    landing, data_info = landing_for(rows, args)
    stats = landing_stats(landing)
    run_dir = args.work_dir / "runs" / str(rows)
    result: dict = {"rows": rows, "users": rows // 10, "data": data_info,
                    "transaction_rows": stats["transaction_rows"],
                    "landing_bytes": stats["bytes"]}

    if with_overhead:
        log(f"{rows:,}: timing dbt start-up and parse")
        result["fixed_overhead"] = fixed_overhead(landing, run_dir, args)

    log(f"{rows:,}: cold dbt build")
    load_before = os.getloadavg()
    dbt_run, dbt_dir = run_dbt_build(landing, run_dir, args)
    result["dbt"] = asdict(dbt_run)
    result["load_average_before_dbt"] = load_before
    log(f"{rows:,}: dbt {dbt_run.status} in {fmt_seconds(dbt_run.wall_seconds)}"
        f", peak {fmt_bytes(dbt_run.peak_rss_bytes)}")
    if (dbt_dir / "target" / "run_results.json").is_file():
        result["dbt_breakdown"] = dbt_breakdown(dbt_dir / "target",
                                                dbt_run.wall_seconds)

    log(f"{rows:,}: pandas reference")
    load_before = os.getloadavg()
    pandas_run, pandas_out = run_pandas(landing, run_dir, args)
    result["pandas"] = asdict(pandas_run)
    result["load_average_before_pandas"] = load_before
    log(f"{rows:,}: pandas {pandas_run.status} in "
        f"{fmt_seconds(pandas_run.wall_seconds)}, peak "
        f"{fmt_bytes(pandas_run.peak_rss_bytes)}")

    published = dbt_dir / "output" / "user_features.parquet"
    if dbt_run.ok:
        expected = expected_counts(landing, run_dir / "check",
                                   args.duckdb_memory_limit)
        result["published_check"] = check_published(published, expected)
        result["published_check"]["expected"] = expected
    if dbt_run.ok and pandas_run.ok:
        if rows <= args.full_compare_max_rows:
            result["comparison"] = compare_outputs(published, pandas_out,
                                                  args.project / REFERENCE)
        else:
            result["comparison"] = {"agree": None, "problem": (
                f"not compared value for value above "
                f"{args.full_compare_max_rows:,} rows")}
    shutil.rmtree(run_dir / "check", ignore_errors=True)
    return result


def size_failed(result: dict) -> str | None:
    if result["dbt"]["status"] != "ok":
        return f"dbt build {result['dbt']['status']} ({result['dbt']['note']})"
    check = result.get("published_check", {})
    if not check.get("ok"):
        return "published file: " + "; ".join(check.get("problems", []))
    comparison = result.get("comparison")
    if comparison and comparison.get("agree") is False:
        return "dbt and pandas disagree: " + comparison["problem"]
    if result["pandas"]["status"] != "ok" and result["rows"] <= TARGET_SIZE:
        return f"pandas {result['pandas']['status']} ({result['pandas']['note']})"
    return None


# ----------------------------------------------------------- formatting

def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 600:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def fmt_bytes(count: float | None) -> str:
    if not count:
        return "–"
    for unit, size in (("GiB", GB), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.2f} {unit}" if unit == "GiB" else \
                f"{count / size:.0f} {unit}"
    return f"{count} B"


def fmt_rows(rows: int) -> str:
    for label, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{label}"
    return f"{rows:,}"


def fmt_rate(rate: float | None) -> str:
    if not rate:
        return "–"
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} M/s"
    return f"{rate / 1e3:.0f} k/s" if rate >= 1e4 else f"{rate:,.0f}/s"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


# ------------------------------------------------------------- targets

def evaluate_targets(results: list[dict], memory_limit: str) -> list[dict]:
    by_rows = {r["rows"]: r for r in results}
    targets = []
    at = by_rows.get(TARGET_SIZE)
    for key, label, limit, unit in (
        ("wall_seconds", "wall time", TARGET_TIME_RATIO, fmt_seconds),
        ("peak_rss_bytes", "peak memory", TARGET_MEMORY_RATIO, fmt_bytes),
    ):
        target = {"name": f"{fmt_rows(TARGET_SIZE)}: full dbt build {label} "
                          f"at most {limit:.0%} of pandas'",
                  "status": "not measured", "detail": ""}
        if at and at["dbt"]["status"] == "ok" and at["pandas"]["status"] == "ok":
            dbt_value, pandas_value = at["dbt"][key], at["pandas"][key]
            value = dbt_value / pandas_value
            allowed = limit * pandas_value
            target["measured"] = value
            if value <= limit:
                target["status"] = "met"
                target["detail"] = (f"dbt {unit(dbt_value)} = {value:.2f} × "
                                    f"pandas {unit(pandas_value)}")
            else:
                target["status"] = "missed"
                target["detail"] = (
                    f"dbt {unit(dbt_value)} = {value:.2f} × pandas "
                    f"{unit(pandas_value)}; the target allows "
                    f"{unit(allowed)}: over by {unit(dbt_value - allowed)} "
                    f"({dbt_value / allowed - 1:.0%} above the target)")
        elif at:
            target["detail"] = (f"dbt {at['dbt']['status']}, pandas "
                                f"{at['pandas']['status']}")
        targets.append(target)

    target = {"name": f"{fmt_rows(SIZE_100M)}: full dbt build completes in "
                      f"under {TARGET_100M_SECONDS / 60:g} minutes with "
                      f"memory_limit {memory_limit}",
              "status": "not measured", "detail": ""}
    big = by_rows.get(SIZE_100M)
    if big:
        wall = big["dbt"]["wall_seconds"]
        correct = big.get("published_check", {}).get("ok", False)
        if big["dbt"]["status"] == "ok" and correct and \
                wall < TARGET_100M_SECONDS:
            target["status"] = "met"
            target["detail"] = f"{fmt_seconds(wall)}, published file correct"
        else:
            target["status"] = "missed"
            parts = []
            if big["dbt"]["status"] != "ok":
                parts.append(f"dbt {big['dbt']['status']} "
                             f"({big['dbt']['note']}) after {fmt_seconds(wall)}")
            else:
                if wall >= TARGET_100M_SECONDS:
                    parts.append(
                        f"{fmt_seconds(wall)}: over by "
                        f"{fmt_seconds(wall - TARGET_100M_SECONDS)} "
                        f"({wall / TARGET_100M_SECONDS - 1:.0%} above the "
                        "target)")
                if not correct:
                    parts.append("published file incorrect: " + "; ".join(
                        big.get("published_check", {}).get("problems", [])))
            target["detail"] = "; ".join(parts)
        target["measured"] = wall
    targets.append(target)
    return targets


# ---------------------------------------------------------- environment

def machine_info() -> dict:
    import psutil
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": cpu_model,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "os": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict:
    from importlib import metadata
    found = {"python": platform.python_version()}
    for package in ("dbt-core", "dbt-duckdb", "duckdb", "pandas", "pyarrow",
                    "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


# ---------------------------------------------------------------- chart

def write_chart(results: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"dbt": ("dbt build (DuckDB)", "tab:blue", "o"),
              "pandas": ("pandas reference", "tab:orange", "s")}
    for impl, (label, colour, marker) in styles.items():
        for axis, key, scale in ((time_axis, "wall_seconds", 1.0),
                                 (memory_axis, "peak_rss_bytes", 1 / GB)):
            done = [(r["transaction_rows"], r[impl][key] * scale)
                    for r in results if r[impl]["status"] == "ok"]
            stopped = [(r["transaction_rows"], r[impl][key] * scale)
                       for r in results if r[impl]["status"] != "ok"]
            if done:
                axis.plot(*zip(*done), marker=marker, color=colour,
                          label=label)
            if stopped:
                axis.scatter(*zip(*stopped), marker="x", s=80, color=colour,
                             label=f"{label}: stopped / failed")
    time_axis.set_title("Wall time")
    time_axis.set_ylabel("seconds")
    memory_axis.set_title("Peak memory (RSS of the process tree)")
    memory_axis.set_ylabel("GiB")
    for axis in (time_axis, memory_axis):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("transactions (rows in the landing file)")
        axis.grid(True, which="both", alpha=0.3)
        axis.xaxis.set_major_formatter(FuncFormatter(
            lambda x, _: fmt_rows(int(round(x)))))
        axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        axis.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
        axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ----------------------------------------------------------------- page

def status_cell(run: dict) -> str:
    if run["status"] == "ok":
        return "completed"
    return f"{run['status']}: {run['note']}" if run["note"] else run["status"]


def size_section(result: dict, args) -> list[str]:
    rows, users = result["transaction_rows"], result["users"]
    dbt, pandas = result["dbt"], result["pandas"]
    lines = [f"### {fmt_rows(result['rows'])} transactions",
             "",
             f"{rows:,} rows in the landing file (with the generator's "
             f"repeated rows), {users:,} users, "
             f"{fmt_bytes(result['landing_bytes'])} of Parquet"
             + (f"; measured {result['started'][:16].replace('T', ' ')}"
                if result.get("started") else "") + ".",
             ""]

    def rate(run):
        return rows / run["wall_seconds"] if run["status"] == "ok" else None

    def value(run, key, unit):
        text = unit(run[key])
        return text if run["status"] == "ok" else f"{text} (at stop)"

    time_ratio = ratio(dbt["wall_seconds"], pandas["wall_seconds"]) \
        if dbt["status"] == pandas["status"] == "ok" else None
    memory_ratio = ratio(dbt["peak_rss_bytes"], pandas["peak_rss_bytes"]) \
        if dbt["status"] == pandas["status"] == "ok" else None
    rate_ratio = ratio(rate(dbt), rate(pandas))

    def ratio_cell(r):
        return f"{r:.2f}" if r else "–"

    lines += [
        "| | dbt build | pandas | dbt / pandas |",
        "|---|---:|---:|---:|",
        f"| wall time | {value(dbt, 'wall_seconds', fmt_seconds)} | "
        f"{value(pandas, 'wall_seconds', fmt_seconds)} | "
        f"{ratio_cell(time_ratio)} |",
        f"| peak memory (process tree RSS) | "
        f"{value(dbt, 'peak_rss_bytes', fmt_bytes)} | "
        f"{value(pandas, 'peak_rss_bytes', fmt_bytes)} | "
        f"{ratio_cell(memory_ratio)} |",
        f"| rows per second | {fmt_rate(rate(dbt))} | "
        f"{fmt_rate(rate(pandas))} | {ratio_cell(rate_ratio)} |",
        f"| outcome | {status_cell(dbt)} | {status_cell(pandas)} | |",
        "",
    ]

    check = result.get("published_check")
    if check:
        if check["ok"]:
            lines.append(
                f"Published file: {check['rows']:,} rows (= users with a "
                "transaction and a profile), schema as in docs/features.md, "
                "total_transactions sums to the number of distinct "
                "transactions.")
        else:
            lines.append("Published file **incorrect**: "
                         + "; ".join(check["problems"]))
    comparison = result.get("comparison")
    if comparison is None:
        lines.append("Outputs not compared: a run did not complete.")
    elif comparison["agree"]:
        lines.append(f"dbt and pandas **agree**: same {comparison['rows']:,} "
                     "rows, every value within relative tolerance 1e-9.")
    elif comparison["agree"] is False:
        lines.append("dbt and pandas **disagree**: "
                     f"`{comparison['problem'][:500]}`")
    else:
        lines.append(comparison["problem"] + ".")
    lines.append("")

    breakdown = result.get("dbt_breakdown")
    if breakdown:
        lines += dbt_breakdown_lines(breakdown)
    overhead = result.get("fixed_overhead")
    if overhead:
        lines += [
            "dbt's fixed overhead (independent of data size):",
            "",
            "| step | wall time | peak memory |",
            "|---|---:|---:|",
            f"| start-up (`dbt --version`: interpreter and imports) | "
            f"{fmt_seconds(overhead['version']['wall_seconds'])} | "
            f"{fmt_bytes(overhead['version']['peak_rss_bytes'])} |",
            f"| `dbt parse`, full (no partial_parse.msgpack) | "
            f"{fmt_seconds(overhead['full_parse']['wall_seconds'])} | "
            f"{fmt_bytes(overhead['full_parse']['peak_rss_bytes'])} |",
            f"| `dbt parse`, partial parsing, nothing changed | "
            f"{fmt_seconds(overhead['partial_parse']['wall_seconds'])} | "
            f"{fmt_bytes(overhead['partial_parse']['peak_rss_bytes'])} |",
            "",
            "The cold build above parses in full (fresh target folder).",
            "",
        ]
    return lines


TYPE_LABELS = {"model": "models", "test": "data tests",
               "unit_test": "unit tests", "seed": "seeds",
               "operation": "hooks (on-run-start, on-run-end)"}


def dbt_breakdown_lines(b: dict, top: int = 6) -> list[str]:
    wall = b["wall_seconds"]

    def share(seconds):
        return f"{seconds / wall:.0%}" if wall else "–"

    lines = [
        "dbt build breakdown (from `run_results.json`; nodes run on "
        f"{b['threads'] or '?'} dbt threads, so the sum of node times can "
        "exceed the wall-clock time they cover):",
        "",
        "| part | seconds | share of wall |",
        "|---|---:|---:|",
        f"| whole `dbt build` process | {wall:.2f} | 100% |",
        f"| wall-clock time with at least one node running | "
        f"{b['node_seconds_covered']:.2f} | {share(b['node_seconds_covered'])} |",
        f"| dbt's own overhead (wall minus node time) | "
        f"{b['overhead_seconds']:.2f} | {share(b['overhead_seconds'])} |",
        f"| of which start-up and parse (wall minus dbt's elapsed_time) | "
        f"{b['startup_and_parse_seconds']:.2f} | "
        f"{share(b['startup_and_parse_seconds'])} |",
    ]
    for kind in ("model", "test", "unit_test", "seed", "operation"):
        entry = b["by_type"].get(kind)
        if entry:
            lines.append(
                f"| sum of execution_time: {TYPE_LABELS[kind]} "
                f"({entry['count']}) | {entry['seconds']:.2f} | "
                f"{share(entry['seconds'])} |")
    lines.append("")
    for kind, title in (("model", "Slowest models"),
                        ("test", "Slowest data tests")):
        chosen = [n for n in b["nodes"] if n["type"] == kind][:top]
        if not chosen:
            continue
        lines += [f"{title}:", "", "| node | seconds | status |",
                  "|---|---:|---|"]
        lines += [f"| `{n['name']}` | {n['seconds']:.2f} | {n['status']} |"
                  for n in chosen]
        lines.append("")
    return lines


def project_lines(results: list[dict]) -> list[str]:
    """Which state of the dbt project each size was measured on."""
    described: dict[str, list[str]] = {}
    for result in results:
        project = result.get("project", {})
        if "commit" not in project:
            text = "the working tree (not a git checkout)"
        else:
            text = f"commit `{project['commit'][:12]}` ({project['subject']})"
            if project.get("uncommitted"):
                text += (" with uncommitted changes in "
                         + ", ".join(f"`{p}`" for p in project["uncommitted"]))
        described.setdefault(text, []).append(fmt_rows(result["rows"]))
    if len(described) == 1:
        return [f"Project benchmarked: {next(iter(described))}."]
    return ["Projects benchmarked:", ""] + [
        f"- {', '.join(sizes)}: {text}" for text, sizes in described.items()]


def why_lines(results: list[dict], targets: list[dict]) -> list[str]:
    """Why the 10M targets are missed, in the run's own numbers."""
    if not any(t["status"] == "missed" and t["name"].startswith("10M")
               for t in targets):
        return []
    ten = next((r for r in results if r["rows"] == 10_000_000), None)
    small = min(results, key=lambda r: r["rows"])
    if not ten or "dbt_breakdown" not in ten:
        return []
    b = ten["dbt_breakdown"]
    by_type = b["by_type"]
    tests = by_type.get("test", {"count": 0, "seconds": 0.0})
    units = by_type.get("unit_test", {"count": 0, "seconds": 0.0})
    models = by_type.get("model", {"count": 0, "seconds": 0.0})
    pandas_wall = ten["pandas"]["wall_seconds"] or 0.0
    lines = [
        "## Why the 10M targets are missed",
        "",
        "The two pipelines do not do the same amount of work: the pandas "
        "pipeline computes the features and writes them; `dbt build` also "
        "checks every stage and leaves an audit trail.",
        "",
        f"- **Fixed cost.** dbt's start-up and parse take "
        f"{fmt_seconds(b['startup_and_parse_seconds'])} of the "
        f"{fmt_seconds(b['wall_seconds'])} build, against a time budget of "
        f"{fmt_seconds(pandas_wall / 2)} (half of pandas' "
        f"{fmt_seconds(pandas_wall)}). This part does not grow with the "
        "data and is smaller with partial parsing (a kept `target/`).",
        f"- **Checks.** {tests['count']} data tests and {units['count']} unit "
        f"tests ran, {fmt_seconds(tests['seconds'] + units['seconds'])} of "
        "node time between them, most of it re-scanning the 10M-row staging "
        "tables and the raw files (uniqueness, null shares, ranges, the "
        "quarantine balance). pandas' pipeline runs no checks.",
        f"- **Writes.** The {models['count']} models took "
        f"{fmt_seconds(models['seconds'])}: staging is written to the "
        "database (every delivered row with its rank, the cleaned rows, the "
        "quarantine) so that checks and later models read it once instead "
        "of re-reading and re-cleaning the raw files.",
    ]
    if small.get("dbt", {}).get("peak_rss_bytes"):
        lines.append(
            f"- **Memory.** The smallest size already peaks at "
            f"{fmt_bytes(small['dbt']['peak_rss_bytes'])}: the dbt and Python "
            "runtime. Beyond that, DuckDB keeps hash tables for the "
            "deduplication, the per-user aggregate and the uniqueness tests "
            "within its memory_limit and spills to disk past it.")
    return lines + [""]


def write_page(results: list[dict], targets: list[dict], args,
               started: dt.datetime, chart: Path | None,
               failures: list[str]) -> None:
    machine, found = machine_info(), versions()
    page = args.output
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`scripts/bench.py`) on "
        f"{started.strftime('%Y-%m-%d %H:%M %Z').strip()}; re-run it rather "
        "than editing this page.",
        "",
        "The full `dbt build` (every model, every test, publishing) against "
        "the pandas implementation of the same features "
        "(`tests/python/reference_pipeline.py`), on the same generated "
        "files.",
        "",
        *project_lines(results),
        "",
        "## Targets",
        "",
        "| target | result | measured |",
        "|---|---|---|",
    ]
    for target in targets:
        result = {"met": "**met**", "missed": "**missed**"}.get(
            target["status"], target["status"])
        lines.append(f"| {target['name']} | {result} | "
                     f"{target['detail'] or '–'} |")
    if failures:
        lines += ["", "**Failed runs** (a failed or disagreeing run is not a "
                      "benchmark result):", ""]
        lines += [f"- {failure}" for failure in failures]
    if any(t["status"] == "not measured" for t in targets):
        lines += ["", "Sizes not in this run are marked not measured: "
                      "`make bench` runs 50k, 1M and 10M; "
                      "`make bench BENCH_ARGS=--with-100m` adds 100M."]
    lines += [""] + why_lines(results, targets)
    lines += [
        "",
        "## Method",
        "",
        "- Data: `scripts/generate_raw_data.py --rows N --users N/10 "
        "--interval-seconds 31536000/N` (one year of timestamps at every "
        "size), one Parquet file per dataset, cached between runs.",
        "- dbt: a cold `dbt build`: fresh DuckDB file, output, target and "
        "log folders, so parsing is full and nothing is reused; "
        f"DuckDB memory_limit {args.duckdb_memory_limit}, "
        f"{os.environ.get('DUCKDB_THREADS', '2')} DuckDB threads, "
        f"{os.environ.get('DBT_THREADS', '2')} dbt threads, a spill folder "
        "per run.",
        "- pandas: `reference_pipeline.features_from_landing` in its own "
        "Python process, writing its result to Parquet.",
        "- Wall time: from process start to exit (interpreter start-up and "
        "imports included for both). Peak memory: the RSS of the process "
        "and all its children, summed every 50 ms; the largest sum. "
        "Rows per second: landing-file transactions / wall time.",
        f"- Safety: a run is stopped past {args.max_rss_gb:g} GiB of RSS (or "
        "1.5 GiB short of the machine's available memory, if lower); pandas "
        f"is stopped after {fmt_seconds(args.pandas_timeout)}.",
        "- Correctness: the published file's row count (users with a "
        "transaction and a profile), schema and transaction total are "
        "checked at every size; up to "
        f"{fmt_rows(args.full_compare_max_rows)} rows both outputs are also "
        "compared value for value (relative tolerance 1e-9, same rows).",
        "- One run per size on a machine that may be shared: the load "
        "average before each run is listed below.",
        "",
    ]
    if chart:
        rel = os.path.relpath(chart, page.parent)
        lines += [f"![Wall time and peak memory against size]({rel})", ""]
    lines += ["## Results", ""]
    summary = ["| transactions | dbt wall | pandas wall | time ratio | "
               "dbt peak | pandas peak | memory ratio | outputs |",
               "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        d, p = r["dbt"], r["pandas"]
        both = d["status"] == p["status"] == "ok"
        comparison = r.get("comparison") or {}
        agree = {True: "agree", False: "**disagree**"}.get(
            comparison.get("agree"), "row count and schema checked"
            if r.get("published_check", {}).get("ok") else "–")

        def cell(run, key, unit):
            return unit(run[key]) if run["status"] == "ok" else run["status"]

        def ratio_cell(key):
            return f"{ratio(d[key], p[key]):.2f}" if both else "–"

        summary.append(
            f"| {fmt_rows(r['rows'])} | {cell(d, 'wall_seconds', fmt_seconds)}"
            f" | {cell(p, 'wall_seconds', fmt_seconds)}"
            f" | {ratio_cell('wall_seconds')}"
            f" | {cell(d, 'peak_rss_bytes', fmt_bytes)}"
            f" | {cell(p, 'peak_rss_bytes', fmt_bytes)}"
            f" | {ratio_cell('peak_rss_bytes')} | {agree} |")
    lines += summary + [""]
    for r in results:
        lines += size_section(r, args)
        lines += [f"Load average (1 min) before the runs: dbt "
                  f"{r['load_average_before_dbt'][0]:.2f}, pandas "
                  f"{r['load_average_before_pandas'][0]:.2f}.", ""]
    incremental = args.work_dir / "incremental.json"
    if incremental.is_file():
        import bench_incremental
        lines += bench_incremental.page_lines(json.loads(incremental.read_text()))
    lines += [
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, {machine['logical_cores']} logical "
        f"cores ({machine['physical_cores']} physical)",
        f"- Memory: {fmt_bytes(machine['memory_bytes'])}",
        f"- OS: {machine['os']}",
        "",
        "## Versions",
        "",
        "| software | version |",
        "|---|---|",
    ]
    lines += [f"| {name} | {version} |" for name, version in found.items()]
    lines.append("")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(lines))


# ----------------------------------------------------------------- main

def write_outputs(results: list[dict], args, started: dt.datetime,
                  failures: list[str]) -> None:
    targets = evaluate_targets(results, args.duckdb_memory_limit)
    write_chart(results, args.chart)
    write_page(results, targets, args, started, args.chart, failures)
    log(f"wrote {args.output} and {args.chart}")
    for target in targets:
        log(f"target {target['status']}: {target['name']} {target['detail']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_pandas"]:
        return pandas_worker(argv[1:])
    args = parse_args(argv)
    started = dt.datetime.now().astimezone()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    results_path = args.work_dir / "results.json"
    previous = (json.loads(results_path.read_text())
                if results_path.is_file() else None)
    if args.render_only:
        if previous is None:
            log(f"no {results_path} to render")
            return 2
        results = previous["results"]
        write_outputs(results, args, dt.datetime.fromisoformat(
            previous["started"]), previous.get("failures", []))
        return 0
    project = prepare_project(args)
    log(f"project: {project.get('commit', '?')[:12]} in {project['path']}"
        + (f", uncommitted: {', '.join(project['uncommitted'])}"
           if project.get("uncommitted") else ""))
    log(f"sizes: {', '.join(fmt_rows(s) for s in args.sizes)}")

    results, failures = [], []
    for index, rows in enumerate(args.sizes):
        result = bench_size(rows, args, with_overhead=(
            index == 0 and not args.skip_fixed_overhead))
        result["project"] = project
        result["started"] = started.isoformat()
        results.append(result)
        problem = size_failed(result)
        if problem:
            failures.append(f"{fmt_rows(rows)}: {problem}")
            log(f"{fmt_rows(rows)}: {problem}")

    if args.merge and previous:
        kept = [r for r in previous["results"] if r["rows"] not in args.sizes]
        results = sorted(kept + results, key=lambda r: r["rows"])
        failures = [f for f in previous.get("failures", [])
                    if parse_size(f.split(":")[0]) not in args.sizes
                    ] + failures
    results_path.write_text(json.dumps({
        "started": started.isoformat(), "sizes": [r["rows"] for r in results],
        "results": results, "machine": machine_info(), "versions": versions(),
        "failures": failures}, indent=1, default=str))
    write_outputs(results, args, started, failures)
    if failures:
        for failure in failures:
            log(f"FAILED {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
