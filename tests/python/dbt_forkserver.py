"""Start `dbt` commands as processes forked from one that has dbt imported.

A new `dbt` process spends a second or two of CPU importing dbt, its
adapter, DuckDB, pandas and pyarrow before it reads the project. The test
suite starts well over a hundred of them, so it starts this server once per
test process instead: it imports what `dbt` imports, then forks one child
per command. Each child is still a process of its own (its own working
directory, environment, standard output and error, and dbt state), runs
dbt's own command line (`dbt.cli.main.cli`, what the `dbt` script runs) and
ends like the `dbt` script does, with its exit code.

Protocol, one JSON object per line: the client sends
{"argv", "cwd", "env", "stdout", "stderr"} on the server's standard input;
the server answers {"pid"} of the child it forked, then {"returncode"}
when that child has ended.
"""
from __future__ import annotations

import gc
import json
import os
import sys


def serve(requests, replies) -> dict:
    """Answer requests until the client goes away. Returns, in a forked
    child only, the request that child is to run."""
    while True:
        line = requests.readline()
        if not line:
            os._exit(0)
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            return request
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


def run_child(request: dict) -> None:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = list(request["argv"])
    from dbt.cli.main import cli
    # What the `dbt` console script does; SystemExit ends this process.
    sys.exit(cli())


def main() -> None:
    # Replies go on a private copy of the standard output; the children
    # get their own standard output and error files.
    replies = os.fdopen(os.dup(1), "w")
    requests = sys.stdin
    os.dup2(2, 1)
    # What a `dbt build` imports anyway, so the children find it loaded.
    import dbt.adapters.duckdb  # noqa: F401
    import dbt.cli.main  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    # Nothing imported is freed again: the collector leaves it alone, so a
    # child does not copy those pages just to scan them.
    gc.freeze()
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    request = serve(requests, replies)
    replies.close()
    run_child(request)


if __name__ == "__main__":
    main()
