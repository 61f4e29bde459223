#!/usr/bin/env python3
"""Benchmark the dbt pipeline against two pandas pipelines, and its targets.

Measured (each part can be left out or resized):

* full builds, per size: a cold ``dbt build`` against the project's pandas
  reference (scripts/reference_pipeline.py) and the lesson's own pandas
  code (``--lesson``), wall time and peak RSS of each process tree; the
  published file checked, and compared with the reference value for value;
* one more daily batch on a history of daily files, a run with no new files,
  and a full rebuild;
* a landing folder of many daily CSV files: what a second dbt command
  inspects, and what the after-run step (scripts/after_run.py) costs;
* with ``--make-test``, the wall time of ``make test``.

The page (``--output``) is docs/BENCHMARKS.template.md with the tables
filled in; the chart goes beside it, raw numbers to <work-dir>/results.json.

Options (sizes take k/m suffixes; ``none`` leaves a part out):
    --sizes 50k,1m,10m,100m,300m   full-build sizes (pandas up to --big-size)
    --incremental 10m,100m    transactions of history for the batch runs
    --days 100                daily files of history
    --many-files 300          daily CSV files (0 leaves the part out)
    --lesson PATH             the lesson's markdown (``make bench LESSON=...``)
    --target-size 10m         size of the lesson and no-new-files targets
    --big-size 100m           size of the 100M targets
    --compare-max-rows 10m    value-for-value comparison up to this size
    --huge-size 300m          size of the "completes with the defaults" target
    --duckdb-memory-limit X   for every dbt run (default: the profile's)
    --make-test               also time `make test` (the environments set up first)
    --work-dir .bench  --output docs/BENCHMARKS.md  --chart PATH
    --max-rss-gb 20  --timeout 3600  --merge  --render-only

Examples:
    python scripts/bench.py --lesson ~/lesson.md          # everything
    python scripts/bench.py --sizes 50k --incremental none --many-files 0

A missed target is reported on the page, not as a failure: the exit status
is non-zero only when a run failed or dbt and the reference disagree.
"""
from __future__ import annotations

import argparse
import ast
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
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
GENERATOR = PROJECT / "scripts" / "generate_raw_data.py"
AFTER_RUN = PROJECT / "scripts" / "after_run.py"
REFERENCE_DIR = PROJECT / "scripts"
TEMPLATE = PROJECT / "docs" / "BENCHMARKS.template.md"
DBT = Path(sys.executable).with_name("dbt")
GB = 1024 ** 3
DAY = 86_400
INTERVAL = 600.0  # seconds between transactions: the lesson's 10 minutes
BUILD_ARGS = ["--exclude-resource-type", "unit_test"]  # what `make build` runs
PROFILE_OVERRIDES = ["DUCKDB_MEMORY_LIMIT", "DUCKDB_THREADS", "DBT_THREADS"]
ARROW_TYPES = {"bigint": "int64", "double": "double", "boolean": "bool",
               "varchar": "string"}
# The lesson's cells, in run order: (name, pattern in the header comment, or
# in the code for the class cell).
LESSON_CELLS = [("DataValidator class", r"^class DataValidator\b"),
                ("STEP 2: VALIDATE", None), ("STEP 3: TRANSFORM", None),
                ("STEP 4: FEATURE ENGINEERING", None),
                ("STEP 5: QUALITY CHECK", None), ("STEP 6: STORE", None)]
TARGETS = {"time": 1.0, "time_stretch": 0.7, "memory": 0.75,
           "big_seconds": 240.0, "batch_ratio": 0.43, "batch_stretch": 0.25,
           "noop_seconds": 5.0, "after_run_share": 0.10, "test_seconds": 720.0}


# ------------------------------------------------------------- arguments

def size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9_.]+)\s*([km]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(match[1].replace("_", "")) * {"": 1, "k": 1e3, "m": 1e6}[match[2]])


def sizes(text: str) -> list[int]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    return [] if parts in ([], ["none"]) else sorted({size(p) for p in parts})


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=sizes, default=sizes("50k,1m,10m,100m,300m"))
    p.add_argument("--incremental", type=sizes, default=sizes("10m,100m"))
    p.add_argument("--days", type=int, default=100)
    p.add_argument("--many-files", type=int, default=300)
    p.add_argument("--lesson", type=Path, default=None)
    p.add_argument("--target-size", type=size, default=10_000_000)
    p.add_argument("--big-size", type=size, default=100_000_000)
    p.add_argument("--huge-size", type=size, default=300_000_000)
    p.add_argument("--make-test", action="store_true")
    p.add_argument("--compare-max-rows", type=size, default=10_000_000)
    p.add_argument("--duckdb-memory-limit", default=None)
    p.add_argument("--work-dir", type=Path, default=PROJECT / ".bench")
    p.add_argument("--output", type=Path, default=PROJECT / "docs" / "BENCHMARKS.md")
    p.add_argument("--chart", type=Path, default=None)
    p.add_argument("--max-rss-gb", type=float, default=20.0)
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--merge", action="store_true",
                   help="keep earlier results of parts and sizes not run now")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the page from results.json without running")
    args = p.parse_args(argv)
    if args.lesson:
        args.lesson = args.lesson.expanduser().resolve()
        if not args.lesson.is_file():
            p.error(f"--lesson {args.lesson}: no such file")
    args.work_dir, args.output = args.work_dir.resolve(), args.output.resolve()
    args.chart = (args.chart or args.output.with_name("benchmarks.png")).resolve()
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -------------------------------------------------- measured process runs

def tree_rss(process) -> int:
    import psutil
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(command, log_path: Path, args, cwd=PROJECT, env=None) -> dict:
    """Run ``command`` in its own process group; wall time and the peak of
    its process tree's RSS (sampled every 50 ms). Past the RSS limit or the
    timeout the group is stopped."""
    import psutil
    limit = int(min(args.max_rss_gb * GB,
                    max(psutil.virtual_memory().available - 1.5 * GB, GB)))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    status, peak = "ok", 0
    with open(log_path, "w") as out:
        start = time.perf_counter()
        process = psutil.Popen([str(c) for c in command], cwd=cwd, env=env,
                               stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
        while True:
            try:
                process.wait(timeout=0.05)
                break
            except psutil.TimeoutExpired:
                rss = tree_rss(process)
                peak = max(peak, rss)
                if rss > limit or time.perf_counter() - start > args.timeout:
                    status = "stopped: memory" if rss > limit else "stopped: timeout"
                    break
        wall = time.perf_counter() - start
    try:
        os.killpg(process.pid, signal.SIGKILL)  # and anything it left behind
    except ProcessLookupError:
        pass
    code = process.wait()
    if status == "ok" and code != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        status = ("failed: out of memory" if "MemoryError" in tail
                  or "Out of Memory" in tail else f"failed: exit code {code}")
    return {"wall_seconds": wall, "peak_rss_bytes": peak, "status": status,
            "load_before": load, "log": str(log_path)}


# --------------------------------------------------------- generated data

def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generated(args, name: str, options: list[str]) -> Path:
    """A landing folder from the generator, cached while its arguments and
    code are unchanged."""
    out = args.work_dir / "data" / name
    stamp = out / "bench-data.json"
    key = {"args": options, "generator_sha256": file_sha256(GENERATOR)}
    if stamp.is_file() and json.loads(stamp.read_text()) == key:
        return out
    shutil.rmtree(out, ignore_errors=True)
    log(f"generating {name}")
    subprocess.run([sys.executable, GENERATOR, "--out", out, *options],
                   check=True, cwd=PROJECT)
    stamp.write_text(json.dumps(key))
    return out


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).metadata.num_rows


# --------------------------------------------------------------- dbt runs

def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def dbt_env(work: Path, memory_limit: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_OVERRIDES}
    env.update(DUCKDB_PATH=str(work / "pipeline.duckdb"),
               DUCKDB_TEMP_DIRECTORY=str(work / "duckdb_tmp"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    if memory_limit:
        env["DUCKDB_MEMORY_LIMIT"] = memory_limit
    return env


def dbt_vars(landing: Path, work: Path) -> str:
    return json.dumps({"raw_data_dir": str(landing), "output_dir": str(work / "output")})


def run_dbt(args, work: Path, landing: Path, name: str, *command: str) -> dict:
    """One dbt command in ``work``, measured, with its run_results breakdown."""
    full = [DBT, *command, "--vars", dbt_vars(landing, work),
            "--project-dir", PROJECT, "--profiles-dir", PROJECT,
            "--target-path", work / "target", "--log-path", work / "logs"]
    run = measure(full, work / f"{name}.log", args,
                  env=dbt_env(work, args.duckdb_memory_limit))
    results = work / "target" / "run_results.json"
    if results.is_file():
        run["breakdown"] = breakdown(json.loads(results.read_text()), run["wall_seconds"])
    run["landing_lines"] = re.findall(r"landing: \w+ <- .*",
                                      Path(run["log"]).read_text(errors="replace"))
    log(f"{name}: {run['status']}, {run['wall_seconds']:.2f} s, "
        f"{fmt_bytes(run['peak_rss_bytes'])}")
    return run


def breakdown(results: dict, wall: float) -> dict:
    """dbt's start-up and parse against node time by resource type."""
    by_type, nodes = {}, []
    for r in results["results"]:
        kind = r["unique_id"].split(".")[0]
        entry = by_type.setdefault(kind, {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += r["execution_time"] or 0.0
        name = re.sub(r"\.[0-9a-f]{10}$", "", ".".join(r["unique_id"].split(".")[2:]))
        nodes.append({"type": kind, "name": name, "seconds": r["execution_time"] or 0.0})
    nodes.sort(key=lambda n: -n["seconds"])
    return {"startup_and_parse_seconds": wall - (results.get("elapsed_time") or 0.0),
            "by_type": by_type, "slowest": nodes[:8]}


def manifest_schema(target: Path) -> list[list[str]]:
    """The published columns and Arrow types: the user_features contract in
    the run's manifest."""
    manifest = json.loads((target / "manifest.json").read_text())
    node = manifest["nodes"]["model.feature_pipeline.user_features"]
    return [[c["name"], ARROW_TYPES[c["data_type"].lower()]]
            for c in node["columns"].values()]


def check_published(path: Path, landing: Path, schema: list) -> dict:
    """Schema, row count and transaction total of the published file."""
    import duckdb
    import pyarrow.parquet as pq
    if not path.is_file():
        return {"ok": False, "problems": [f"{path} is missing"]}
    problems = []
    found = [[f.name, str(f.type)] for f in pq.ParquetFile(path).schema_arrow]
    if found != schema:
        problems.append(f"schema {found} is not the contract's {schema}")
    con = duckdb.connect()
    con.execute(f"set temp_directory = '{path.parent.parent / 'check_tmp'}'")
    users, transactions = con.execute(
        "select count(distinct user_id), count(distinct transaction_id)"
        " from read_parquet(?) where user_id in"
        " (select user_id from read_parquet(?))",
        [str(landing / "transactions.parquet"),
         str(landing / "user_profiles.parquet")]).fetchone()
    rows, total = con.execute("select count(*), sum(total_transactions)"
                              " from read_parquet(?)", [str(path)]).fetchone()
    if rows != users:
        problems.append(f"{rows} rows, expected {users} users with a transaction and a profile")
    if total != transactions:
        problems.append(f"total_transactions sums to {total}, not {transactions}")
    return {"ok": not problems, "rows": rows, "problems": problems}


# ------------------------------------------------------ pandas pipelines

def reference_worker(landing: str, out: str) -> None:
    sys.path.insert(0, str(REFERENCE_DIR))
    import reference_pipeline
    reference_pipeline.features_from_landing(Path(landing)).to_parquet(out, index=False)


def lesson_code(text: str) -> str:
    """The lesson cells the benchmark runs, as one program: STEP 1's import
    statements (not its data), then the cells of LESSON_CELLS in order."""
    cells = []
    for chunk in re.split(r"^In \[[^\]]*\]:[ \t]*$", text, flags=re.M)[1:]:
        # A cell ends where the markdown resumes: a heading or a rule.
        code = re.split(r"^(?:#{2,6} |---\s*$)", chunk, maxsplit=1, flags=re.M)[0]
        header = "\n".join(re.match(r"(?:\s*#.*\n|\s*\n)*", code)[0].splitlines())
        cells.append((header, code.strip() + "\n"))

    def find(name, pattern):
        found = [code for header, code in cells
                 if (re.search(pattern, code, re.M) if pattern else name in header)]
        if len(found) != 1:
            raise ValueError(f"the lesson has {len(found)} cells for {name!r}, not one")
        return found[0]

    program = []
    ingest = [code for header, code in cells if "STEP 1:" in header]
    for code in ingest[:1]:
        imports = [n for n in ast.parse(code).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        program.append("\n".join(ast.unparse(n) for n in imports))
    program += [f"# --- {name}\n" + find(name, pattern) for name, pattern in LESSON_CELLS]
    return "\n".join(program)


def lesson_worker(lesson: str, landing: str, report: str) -> None:
    """Run in an empty temporary cwd: transactions and user_profiles read
    from the landing files, then the lesson's cells."""
    import pandas as pd
    sys.path.insert(0, str(REFERENCE_DIR))
    from reference_pipeline import read_dataset
    code = compile(lesson_code(Path(lesson).read_text()), lesson, "exec")
    transactions = read_dataset(Path(landing), "transactions")
    transactions["timestamp"] = pd.to_datetime(transactions["timestamp"])
    namespace = {"__name__": "__main__", "transactions": transactions,
                 "user_profiles": read_dataset(Path(landing), "user_profiles")}
    exec(code, namespace)
    features = namespace.get("features_df")
    shape = list(features.shape) if hasattr(features, "shape") else None
    Path(report).write_text(json.dumps({"features_df_shape": shape}))


def run_pandas(args, kind: str, landing: Path, work: Path) -> dict:
    work = fresh(work)
    if kind == "reference":
        extra = [landing, work / "user_features.parquet"]
        cwd = PROJECT
    else:
        extra = [args.lesson, landing, work / "lesson.json"]
        cwd = Path(tempfile.mkdtemp(prefix="lesson-", dir=work))
    run = measure([sys.executable, Path(__file__).resolve(), f"_{kind}", *extra],
                  work / f"{kind}.log", args, cwd=cwd)
    if kind == "lesson" and run["status"] == "ok":
        run.update(json.loads((work / "lesson.json").read_text()))
    log(f"{kind}: {run['status']}, {run['wall_seconds']:.2f} s, "
        f"{fmt_bytes(run['peak_rss_bytes'])}")
    return run


def compare(dbt_path: Path, reference_path: Path) -> dict:
    import pandas as pd
    sys.path.insert(0, str(REFERENCE_DIR))
    import reference_pipeline
    actual = pd.read_parquet(dbt_path)
    try:
        reference_pipeline.assert_frames_match(actual, pd.read_parquet(reference_path))
    except AssertionError as error:
        return {"agree": False, "rows": len(actual), "problem": str(error)[:1000]}
    return {"agree": True, "rows": len(actual)}


# ------------------------------------------------------------ the parts

def full_build(args, rows: int) -> dict:
    landing = generated(args, str(rows), ["--rows", str(rows), "--users",
                                          str(max(rows // 10, 1)),
                                          "--interval-seconds", str(INTERVAL)])
    runs_dir = args.work_dir / "runs" / str(rows)
    work = fresh(runs_dir / "dbt")
    result = {"rows": rows, "users": max(rows // 10, 1),
              "transaction_rows": parquet_rows(landing / "transactions.parquet"),
              "memory_limit": args.duckdb_memory_limit or "profile default",
              # Parsed once, as any earlier dbt command in the project does;
              # the build then starts from dbt's kept parse state.
              "parse": run_dbt(args, work, landing, "parse", "parse"),
              # A plain `dbt build`, as a user types it: unit tests included.
              "dbt": run_dbt(args, work, landing, "build", "build")}
    shutil.rmtree(work / "duckdb_tmp", ignore_errors=True)
    # pandas holds every row in memory: above --big-size it cannot on this
    # machine, so it is not started.
    pandas_runs = ["reference"] + ["lesson"] * bool(args.lesson)
    for kind in pandas_runs if rows <= args.big_size else []:
        result[kind] = run_pandas(args, kind, landing, runs_dir / kind)
    published = work / "output" / "user_features.parquet"
    if result["dbt"]["status"] == "ok":
        result["schema"] = manifest_schema(work / "target")
        result["published"] = check_published(published, landing, result["schema"])
        if result.get("reference", {}).get("status") == "ok" and rows <= args.compare_max_rows:
            result["comparison"] = compare(
                published, runs_dir / "reference" / "user_features.parquet")
    shutil.rmtree(work / "check_tmp", ignore_errors=True)
    return result


def incremental(args, rows: int) -> dict:
    users = max(rows // 10, 1)
    data = generated(args, f"daily-{rows}-{args.days}", [
        "--rows", str(rows), "--users", str(users), "--batches", "day",
        "--interval-seconds", repr((args.days + 1) * DAY / rows)])
    files = sorted((data / "transactions").glob("*.parquet"))
    landing = fresh(args.work_dir / "runs" / f"daily-{rows}" / "landing")
    shutil.copy2(data / "user_profiles.parquet", landing)
    (landing / "transactions").mkdir()
    for path in files[:-1]:  # hard links: same bytes and modification time
        (landing / "transactions" / path.name).hardlink_to(path)
    work = fresh(landing.parent / "dbt")
    result = {"rows": rows, "users": users, "history_files": len(files) - 1,
              "memory_limit": args.duckdb_memory_limit or "profile default",
              "history_rows": sum(parquet_rows(p) for p in files[:-1]),
              "new_file_rows": parquet_rows(files[-1]), "runs": {}}
    runs = result["runs"]
    runs["load_history"] = run_dbt(args, work, landing, "load_history", "build", *BUILD_ARGS)
    (landing / "transactions" / files[-1].name).hardlink_to(files[-1])
    runs["one_more_batch"] = run_dbt(args, work, landing, "one_more_batch", "build",
                                     *BUILD_ARGS)
    runs["no_new_files"] = run_dbt(args, work, landing, "no_new_files", "build",
                                   *BUILD_ARGS)
    published, kept = work / "output" / "user_features.parquet", work / "incremental.parquet"
    if published.is_file():
        shutil.copy2(published, kept)
    runs["full_rebuild"] = run_dbt(args, work, landing, "full_rebuild", "build",
                                   *BUILD_ARGS, "--full-refresh")
    result["identical_output"] = kept.is_file() and published.is_file() and (
        file_sha256(kept) == file_sha256(published))
    shutil.rmtree(work / "duckdb_tmp", ignore_errors=True)
    return result


def test_suite(args) -> dict:
    """`make test` as a contributor runs it; the environments are set up
    first (`make setup-all`, not counted)."""
    work = fresh(args.work_dir / "runs" / "make-test")
    setup = measure(["make", "setup-all"], work / "setup.log", args)
    suite = measure(["make", "test"], work / "make_test.log", args) \
        if setup["status"] == "ok" else setup
    log(f"make test: {suite['status']}, {fmt_s(suite['wall_seconds'])}")
    return {"setup": setup, "test": suite}


def many_files(args) -> dict:
    rows = args.many_files * DAY // int(INTERVAL)
    landing = generated(args, f"csv-days-{args.many_files}", [
        "--rows", str(rows), "--users", str(max(rows // 10, 1)),
        "--interval-seconds", str(INTERVAL), "--format", "csv", "--batches", "day"])
    work = fresh(args.work_dir / "runs" / "many-files")
    runs = {"build": run_dbt(args, work, landing, "build", "build", *BUILD_ARGS)}
    runs["after_run"] = measure(
        [sys.executable, AFTER_RUN, "--target-path", work / "target",
         "--database", work / "pipeline.duckdb", "--vars", dbt_vars(landing, work)],
        work / "after_run.log", args, env=dbt_env(work, None))
    runs["test_stg_transactions"] = run_dbt(args, work, landing, "test_stg_transactions",
                                            "test", "-s", "stg_transactions")
    runs["no_new_files"] = run_dbt(args, work, landing, "no_new_files", "build", *BUILD_ARGS)
    files = len(list((landing / "transactions").glob("*.csv")))
    return {"files": files, "rows": rows, "runs": runs}


# ---------------------------------------------------------------- targets

def ratio(a: dict | None, b: dict | None, key: str) -> float | None:
    ok = a and b and a["status"] == b["status"] == "ok" and b[key]
    return a[key] / b[key] if ok else None


def cost(run: dict) -> str:
    """Where a dbt run's time goes, for a missed target."""
    b = run.get("breakdown")
    if not b:
        return ""
    parts = [f"start-up/parse {fmt_s(b['startup_and_parse_seconds'])}"]
    parts += [f"{kind} nodes {fmt_s(e['seconds'])} ({e['count']})"
              for kind, e in sorted(b["by_type"].items(), key=lambda i: -i[1]["seconds"])
              if e["seconds"] >= 0.01]
    return "; remaining cost: " + ", ".join(parts)


def target(name: str, value: float | None, limit: float, detail: str,
           run: dict | None = None, why_not: str = "") -> dict:
    if value is None:
        return {"name": name, "status": "not measured", "detail": why_not}
    detail = detail if isinstance(detail, str) else ""
    met = value <= limit
    return {"name": name, "status": "met" if met else "missed",
            "detail": detail + ("" if met or run is None else cost(run))}


def evaluate(doc: dict, args) -> list[dict]:
    sized = {r["rows"]: r for r in doc.get("sizes", [])}
    daily = {r["rows"]: r for r in doc.get("incremental", [])}
    t, big = fmt_rows(args.target_size), fmt_rows(args.big_size)
    at = sized.get(args.target_size)
    missing = f"{t} not in this run" if not at else "no --lesson given" \
        if "lesson" not in at else "a run did not complete"
    out = []
    for key, label, limit, unit in (
            ("wall_seconds", "wall", TARGETS["time"], fmt_s),
            ("wall_seconds", "wall (stretch)", TARGETS["time_stretch"], fmt_s),
            ("peak_rss_bytes", "peak memory", TARGETS["memory"], fmt_bytes)):
        value = ratio(at["dbt"], at.get("lesson"), key) if at else None
        ref = ratio(at["dbt"], at.get("reference"), key) if at else None
        against = ref and (f"dbt {unit(at['dbt'][key])} = {ref:.2f} × the reference's "
                           f"{unit(at['reference'][key])}") or ""
        detail = value and (
            f"{value:.2f} × lesson {unit(at['lesson'][key])}; {against}" + (
                "" if value <= limit else f"; the target allows "
                f"{unit(limit * at['lesson'][key])}: over by "
                f"{unit(at['dbt'][key] - limit * at['lesson'][key])}"))
        out.append(target(f"{t} cold `dbt build` {label} ≤ {limit:g} × the lesson's pandas",
                          value, limit, detail,
                          at["dbt"] if at and key == "wall_seconds" else None,
                          "; ".join(filter(None, [missing, against]))))
    # The big and huge sizes are held to the profile's memory limit: a run
    # with another limit does not measure them.
    for rows, name, limit in (
            (args.big_size, f"{big} cold build under {TARGETS['big_seconds']:g} s with "
             "the default memory limit", TARGETS["big_seconds"]),
            (args.huge_size, f"{fmt_rows(args.huge_size)} cold build completes with the "
             "defaults (its time reported)", None)):
        b = sized.get(rows)
        run = b and b["dbt"]
        correct = bool(run and run["status"] == "ok" and b.get("published", {}).get("ok"))
        limit_set = b and b.get("memory_limit", "profile default") != "profile default"
        if not b or limit_set:
            value = None
        elif limit is None:  # completes, or not
            value = 0.0 if correct else 1.0
        else:
            value = run["wall_seconds"] if correct else float("inf")
        problem = run and (run["status"] if run["status"] != "ok" else "published file incorrect")
        detail = (f"{fmt_s(run['wall_seconds'])}, peak {fmt_bytes(run['peak_rss_bytes'])}, "
                  "published file correct" if correct else
                  run and f"{problem} after {fmt_s(run['wall_seconds'])}" or "")
        out.append(target(name, value, limit or 0.0, detail, run,
                          f"{fmt_rows(rows)} not in this run" if not b else
                          f"DUCKDB_MEMORY_LIMIT={b['memory_limit']} was set"))
    d = daily.get(args.big_size)
    value = d and ratio(d["runs"]["one_more_batch"], d["runs"]["full_rebuild"], "wall_seconds")
    for key, label in (("batch_ratio", ""), ("batch_stretch", " (stretch)")):
        out.append(target(
            f"one more daily batch on {big} of history{label} ≤ {TARGETS[key]:g} × "
            "full rebuild", value, TARGETS[key], value and (
                f"{fmt_s(d['runs']['one_more_batch']['wall_seconds'])} = {value:.2f}"
                f" × {fmt_s(d['runs']['full_rebuild']['wall_seconds'])}"),
            d and d["runs"]["one_more_batch"], f"{big} history not in this run"))
    d = daily.get(args.target_size)
    noop = d and d["runs"]["no_new_files"]
    value = noop["wall_seconds"] if noop and noop["status"] == "ok" else None
    out.append(target(f"no new files on {t} of history ≤ {TARGETS['noop_seconds']:g} s",
                      value, TARGETS["noop_seconds"], value and fmt_s(value), noop,
                      f"{t} history not in this run"))
    m = doc.get("many_files")
    if m:
        # `dbt test` checks the tables of the last build: it opens no
        # landing file at all, so it prints no count.
        counts = [inspected(m["runs"]["test_stg_transactions"]) or 0,
                  inspected(m["runs"]["no_new_files"])]
        value = None if None in counts else sum(counts)
        detail = (f"batch files inspected again: {counts[0]} by `dbt test -s "
                  f"stg_transactions` (it reads the tables, not the files), {counts[1]} "
                  "by a `dbt build` with no new files (the profiles file, re-read whole "
                  "by every run, is inspected each time)")
    out.append(target(f"a second command on {m['files'] if m else 'N'} batch files inspects "
                      "only files not inspected before", value if m else None, 0,
                      m and detail, None, "not in this run" if not m else
                      "the inspector printed no count"))
    share = m and ratio(m["runs"]["after_run"], m["runs"]["build"], "wall_seconds")
    out.append(target(f"after-run step ≤ {TARGETS['after_run_share']:.0%} of the build it "
                      "follows", share, TARGETS["after_run_share"], share and (
                          f"{fmt_s(m['runs']['after_run']['wall_seconds'])} = {share:.0%} of "
                          f"{fmt_s(m['runs']['build']['wall_seconds'])}"),
                      None, "not in this run"))
    suite = (doc.get("make_test") or {}).get("test")
    value = suite and (suite["wall_seconds"] if suite["status"] == "ok" else float("inf"))
    out.append(target(f"`make test` with every environment ≤ "
                      f"{TARGETS['test_seconds'] / 60:g} min", value, TARGETS["test_seconds"],
                      suite and (fmt_s(suite["wall_seconds"]) if suite["status"] == "ok" else
                                 f"{suite['status']} after {fmt_s(suite['wall_seconds'])}"),
                      None, "not in this run (`--make-test`)"))
    return out


def inspected(run: dict) -> int | None:
    """Transaction batch files the landing inspector checked in a run, as
    it printed them."""
    counts = [int(n) for n in re.findall(r"landing: transactions <- .*; inspected (\d+)",
                                         "\n".join(run["landing_lines"]))]
    return sum(counts) if counts else None


# ------------------------------------------------------------- formatting

def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s" \
        if seconds < 600 else f"{seconds / 60:.1f} min"


def fmt_bytes(count: float | None) -> str:
    if not count:
        return "–"
    return f"{count / GB:.2f} GiB" if count >= GB else f"{count / 1024 ** 2:.0f} MiB"


def fmt_rows(rows: int) -> str:
    for label, unit in (("M", 1_000_000), ("k", 1_000)):
        if rows >= unit and rows % unit == 0:
            return f"{rows // unit}{label}"
    return f"{rows:,}"


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def cell(run: dict | None, key: str) -> str:
    if not run:
        return "not measured"
    value = (fmt_s if key == "wall_seconds" else fmt_bytes)(run[key])
    return value if run["status"] == "ok" else f"{run['status']} ({value})"


def breakdown_table(run: dict, title: str = "cold build") -> str:
    b = run.get("breakdown")
    if not b:
        return "No run_results.json: no breakdown."
    rows = [["start-up and parse", fmt_s(b["startup_and_parse_seconds"])]]
    rows += [[f"{kind} nodes ({e['count']}, summed)", fmt_s(e["seconds"])]
             for kind, e in sorted(b["by_type"].items(), key=lambda i: -i[1]["seconds"])]
    rows.append(["slowest nodes", ", ".join(f"`{n['name']}` {n['seconds']:.2f} s"
                                            for n in b["slowest"][:6])])
    return table([f"{title}: dbt breakdown", "seconds"], rows)


def sizes_section(doc: dict) -> str:
    if not doc.get("sizes"):
        return "Not measured in this run."
    summary, details = [], []
    for r in doc["sizes"]:
        d, ref, les = r["dbt"], r.get("reference"), r.get("lesson")
        comparison = r.get("comparison", {})
        agree = {True: "agree", False: "**disagree**"}.get(comparison.get("agree"), "–")
        published = r.get("published", {})
        summary.append([fmt_rows(r["rows"]), cell(d, "wall_seconds"),
                        cell(ref, "wall_seconds"), cell(les, "wall_seconds"),
                        cell(d, "peak_rss_bytes"), cell(ref, "peak_rss_bytes"),
                        cell(les, "peak_rss_bytes"),
                        "correct" if published.get("ok") else "**incorrect**: "
                        + "; ".join(published.get("problems", ["not checked"])), agree])
        runs = [["dbt build", d], ["reference", ref], ["lesson", les]]
        details += [f"### {fmt_rows(r['rows'])} transactions", "",
                    f"{r['transaction_rows']:,} landing rows, {r['users']:,} users, "
                    f"DuckDB memory_limit: {r['memory_limit']}."
                    + (f" `dbt parse` before the build (full parse, not counted): "
                       f"{fmt_s(r['parse']['wall_seconds'])}." if r.get("parse") else "")
                    + (f" Lesson's `features_df`: {les['features_df_shape'][0]:,} rows × "
                       f"{les['features_df_shape'][1]} columns."
                       if les and les.get("features_df_shape") else ""), "",
                    table(["run", "wall", "peak memory", "dbt / run wall",
                           "dbt / run memory", "load before"],
                          [[n, cell(x, "wall_seconds"), cell(x, "peak_rss_bytes"),
                            f"{ratio(d, x, 'wall_seconds') or 0:.2f}",
                            f"{ratio(d, x, 'peak_rss_bytes') or 0:.2f}",
                            f"{x['load_before']:.2f}"] for n, x in runs if x]), ""]
        if comparison.get("problem"):
            details += [f"dbt and the reference disagree: `{comparison['problem'][:400]}`", ""]
        details += [breakdown_table(d), ""]
    header = ["transactions", "dbt wall", "reference wall", "lesson wall", "dbt peak",
              "reference peak", "lesson peak", "published file", "dbt = reference"]
    return "\n".join([table(header, summary), "", *details]).strip()


def incremental_section(doc: dict) -> str:
    if not doc.get("incremental"):
        return "Not measured in this run."
    labels = {"load_history": "load the history (cold)", "one_more_batch": "one more batch",
              "no_new_files": "no new files", "full_rebuild": "full rebuild"}
    parts = []
    for r in doc["incremental"]:
        parts += [f"### {fmt_rows(r['rows'])} transactions, {r['history_files']} daily files", "",
                  f"History {r['history_rows']:,} rows, new day {r['new_file_rows']:,} rows, "
                  f"DuckDB memory_limit: {r.get('memory_limit', 'profile default')}, "
                  f"{r['users']:,} users; incremental and rebuilt files byte-identical: "
                  f"{'yes' if r['identical_output'] else '**no**'}.", "",
                  table(["run", "wall", "peak memory", "start-up/parse", "load before"],
                        [[labels[k], cell(x, "wall_seconds"), cell(x, "peak_rss_bytes"),
                          fmt_s((x.get("breakdown") or {}).get("startup_and_parse_seconds")),
                          f"{x['load_before']:.2f}"] for k, x in r["runs"].items()]), "",
                  breakdown_table(r["runs"]["one_more_batch"], "one more batch"), ""]
    return "\n".join(parts).strip()


def many_files_section(doc: dict) -> str:
    m = doc.get("many_files")
    if not m:
        return "Not measured in this run."
    rows = []
    for name, run in m["runs"].items():
        lines = "<br>".join(f"`{line.strip()}`" for line in run.get("landing_lines", []))
        rows.append([name.replace("_", " "), cell(run, "wall_seconds"),
                     cell(run, "peak_rss_bytes"), lines or "–"])
    return (f"{m['files']} daily CSV files, {m['rows']:,} transactions.\n\n"
            + table(["command", "wall", "peak memory", "the inspector printed"], rows))


def write_chart(doc: dict, path: Path) -> bool:
    done = doc.get("sizes", [])
    if not done:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, colour in (("dbt", "tab:blue"), ("reference", "tab:orange"),
                         ("lesson", "tab:green")):
        for axis, key, scale in ((axes[0], "wall_seconds", 1), (axes[1], "peak_rss_bytes", GB)):
            points = [(r["transaction_rows"], r[kind][key] / scale) for r in done
                      if r.get(kind) and r[kind]["status"] == "ok"]
            if points:
                axis.plot(*zip(*points), marker="o", color=colour, label=kind)
    for axis, title in zip(axes, ("Wall time (s)", "Peak memory of the process tree (GiB)")):
        axis.set(title=title, xscale="log", yscale="log", xlabel="transactions")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def render(doc: dict, args) -> None:
    targets = evaluate(doc, args)
    doc["targets"] = targets
    m, v = doc["machine"], doc["versions"]
    chart = write_chart(doc, args.chart)
    values = {
        "date": doc["started"][:16].replace("T", " "),
        "commit": f"commit `{doc['commit']['sha'][:12]}` ({doc['commit']['subject']})"
        + (" with uncommitted changes" if doc["commit"]["dirty"] else ""),
        "lesson": f"yes, `{doc['lesson']}`." if doc.get("lesson") else
        "**no** (no `--lesson` given): the lesson's targets are not measured.",
        "targets": table(["target", "result", "measured"], [
            [t["name"], f"**{t['status']}**", t["detail"] or "–"] for t in targets]),
        "settings": doc["settings"],
        "compare_max": fmt_rows(args.compare_max_rows),
        "max_rss": f"{args.max_rss_gb:g} GiB", "timeout": fmt_s(args.timeout),
        "chart": f"![Wall time and peak memory against size]"
                 f"({os.path.relpath(args.chart, args.output.parent)})" if chart else "",
        "sizes": sizes_section(doc), "incremental": incremental_section(doc),
        "many_files": many_files_section(doc),
        "machine": table(["machine and software", ""], [
            ["CPU", f"{m['cpu']}, {m['cores']} logical cores"],
            ["memory", fmt_bytes(m["memory_bytes"])], ["OS", m["os"]],
            *[[name, version] for name, version in v.items()]]),
    }
    page = re.sub(r"<!-- (\w+) -->", lambda x: values[x[1]], TEMPLATE.read_text())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page)
    log(f"wrote {args.output}")
    for t in targets:
        log(f"target {t['status']}: {t['name']}")


# ------------------------------------------------------------------ main

def environment() -> dict:
    import psutil
    from importlib import metadata
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    git = lambda *a: subprocess.run(["git", *a], cwd=PROJECT, capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    return {
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
                    "memory_bytes": psutil.virtual_memory().total},
        "versions": {"python": platform.python_version(), **{
            p: metadata.version(p) for p in ("dbt-core", "dbt-duckdb", "duckdb", "pandas")}},
        "commit": {"sha": git("rev-parse", "HEAD") or "unknown",
                   "subject": git("log", "-1", "--format=%s"),
                   "dirty": bool(git("status", "--porcelain", "--", "models", "macros",
                                     "plugins", "seeds", "dbt_project.yml", "profiles.yml"))},
    }


def failures(doc: dict, args) -> list[str]:
    """Failed runs and wrong outputs (pandas running out of memory above
    --compare-max-rows is a result, not a failure)."""
    found = []
    for r in doc.get("sizes", []):
        kinds = ["dbt"] + ["reference", "lesson"] * (r["rows"] <= args.compare_max_rows)
        for kind in kinds:
            if r.get(kind) and r[kind]["status"] != "ok":
                found.append(f"{fmt_rows(r['rows'])} {kind}: {r[kind]['status']}")
        if not r.get("published", {}).get("ok", r["dbt"]["status"] != "ok"):
            found.append(f"{fmt_rows(r['rows'])}: published file incorrect")
        if r.get("comparison", {}).get("agree") is False:
            found.append(f"{fmt_rows(r['rows'])}: dbt and the reference disagree")
    for r in doc.get("incremental", []):
        found += [f"daily {fmt_rows(r['rows'])} {k}: {x['status']}"
                  for k, x in r["runs"].items() if x["status"] != "ok"]
        if not r["identical_output"]:
            found.append(f"daily {fmt_rows(r['rows'])}: rebuild differs")
    for k, x in (doc.get("many_files") or {}).get("runs", {}).items():
        if x["status"] != "ok":
            found.append(f"many files {k}: {x['status']}")
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_reference"]:
        return reference_worker(*argv[1:]) or 0
    if argv[:1] == ["_lesson"]:
        return lesson_worker(*argv[1:]) or 0
    args = parse_args(argv)
    results = args.work_dir / "results.json"
    if args.render_only:
        render(json.loads(results.read_text()), args)
        return 0
    if args.lesson:
        lesson_code(args.lesson.read_text())  # fail now if its cells are not found
    args.work_dir.mkdir(parents=True, exist_ok=True)
    doc = {"started": dt.datetime.now().astimezone().isoformat(), **environment(),
           "lesson": str(args.lesson) if args.lesson else None,
           "settings": ", ".join(filter(None, [
               args.duckdb_memory_limit and f"DUCKDB_MEMORY_LIMIT={args.duckdb_memory_limit}",
               "no overrides of " + ", ".join(PROFILE_OVERRIDES[bool(args.duckdb_memory_limit):])])),
           "sizes": [full_build(args, rows) for rows in args.sizes],
           "incremental": [incremental(args, rows) for rows in args.incremental],
           "many_files": many_files(args) if args.many_files else None,
           "make_test": test_suite(args) if args.make_test else None}
    if args.merge and results.is_file():
        old = json.loads(results.read_text())
        for part in ("sizes", "incremental"):
            kept = [r for r in old.get(part, []) if r["rows"] not in
                    {n["rows"] for n in doc[part]}]
            doc[part] = sorted(kept + doc[part], key=lambda r: r["rows"])
        for part in ("many_files", "make_test"):
            doc[part] = doc[part] or old.get(part)
    results.write_text(json.dumps(doc, indent=1, default=str))  # kept if rendering fails
    render(doc, args)
    results.write_text(json.dumps(doc, indent=1, default=str))
    problems = failures(doc, args)
    for problem in problems:
        log(f"FAILED {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
