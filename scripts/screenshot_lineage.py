#!/usr/bin/env python3
"""Take a screenshot of the lineage graph in `dbt docs` (docs/lineage.png).

Generates the docs, serves `target/` on a free local port, and has headless
Chromium render the full lineage graph. Chromium comes from the system, never
downloaded by this script; on Debian or Ubuntu:

    sudo apt-get install chromium

Usage: python scripts/screenshot_lineage.py [--out docs/lineage.png]
       [--chromium /usr/bin/chromium]
"""
from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The flags keep Chromium from reaching for the network or a display.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "lineage.png")
    parser.add_argument("--chromium", default=shutil.which("chromium")
                        or shutil.which("chromium-browser") or "/usr/bin/chromium")
    parser.add_argument("--size", default="1800,900", help="window width,height")
    args = parser.parse_args(argv)

    if not Path(args.chromium).exists():
        print("Chromium was not found: install it with `sudo apt-get install "
              "chromium`, or pass --chromium /path/to/chromium.", file=sys.stderr)
        return 1
    dbt = Path(sys.executable).with_name("dbt")
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "target"
        subprocess.run([str(dbt), "docs", "generate", "--target-path", str(target),
                        "--log-path", str(Path(scratch) / "logs")],
                       cwd=PROJECT_ROOT, check=True)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                    directory=str(target))
        handler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/index.html#!/overview?g_v=1"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [args.chromium, *CHROMIUM_FLAGS,
                 f"--user-data-dir={Path(scratch) / 'chromium'}",
                 f"--window-size={args.size}", "--virtual-time-budget=20000",
                 f"--screenshot={args.out.resolve()}", url],
                check=True, capture_output=True, timeout=180)
        finally:
            server.shutdown()
    print(f"lineage graph written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
