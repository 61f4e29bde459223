"""Take a screenshot of the asset graph in Dagster's UI (docs/dagster_assets.png).

Starts `dagster dev` on a free local port with a throw-away instance (no
telemetry; its landing folder is empty, so the sensor starts no run), waits
for the UI, and has headless Chromium (from the system, never downloaded:
`sudo apt-get install chromium`) render the global asset lineage.

Usage: .venv-dagster/bin/python orchestration/dagster/screenshot.py
       [--out docs/dagster_assets.png] [--chromium /usr/bin/chromium]
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from screenshot_lineage import NO_CHROMIUM, default_chromium, screenshot  # noqa: E402

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(2)
    raise TimeoutError(f"The Dagster UI did not answer at {url} within {timeout:.0f} s.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "dagster_assets.png")
    parser.add_argument("--chromium", default=default_chromium())
    parser.add_argument("--size", default="1800,1000", help="window width,height")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(NO_CHROMIUM, file=sys.stderr)
        return 1

    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "home" / ".nux").mkdir(parents=True)
        shutil.copy(HERE / "dagster.yaml", scratch / "home")
        # The UI's first-visit dialog, marked as seen, hides nothing.
        (scratch / "home" / ".nux" / "nux.yaml").write_text("seen: 1\n")
        env = {**os.environ, "DAGSTER_HOME": str(scratch / "home"),
               "RAW_DATA_DIR": str(scratch / "landing"),
               "OUTPUT_DIR": str(scratch / "output"),
               "DUCKDB_PATH": str(scratch / "pipeline.duckdb")}
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "dev", "-f", str(HERE / "definitions.py"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"http://127.0.0.1:{port}/server_info", timeout=300)
            screenshot(args.chromium, f"http://127.0.0.1:{port}/asset-groups", args.out,
                       args.size, scratch, budget_ms=30000)
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"asset graph written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
