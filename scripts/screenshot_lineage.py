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
import json
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


NO_CHROMIUM = ("Chromium was not found: install it with `sudo apt-get install "
               "chromium`, or pass --chromium /path/to/chromium.")


def default_chromium() -> str:
    return (shutil.which("chromium") or shutil.which("chromium-browser")
            or "/usr/bin/chromium")


def screenshot(chromium: str, url: str, out: Path, size: str, scratch: Path,
               budget_ms: int = 20000) -> None:
    """Have headless Chromium render `url` in a window of `size` ("w,h")
    and save it as the PNG `out`, after `budget_ms` of page time."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={scratch / 'chromium'}",
         f"--window-size={size}", f"--virtual-time-budget={budget_ms}",
         f"--screenshot={out.resolve()}", url],
        check=True, capture_output=True, timeout=180)


# Tests are not steps of the data's path: the picture leaves them out (the
# docs site shows all).
PLUMBING: set[str] = set()


def without_plumbing(manifest_path: Path) -> None:
    """Drop tests, and the edges to them, from the manifest the docs site
    draws."""
    manifest = json.loads(manifest_path.read_text())
    PLUMBING.update(manifest.pop("unit_tests", {}))
    manifest["unit_tests"] = {}
    for unique_id, node in list(manifest["nodes"].items()):
        if node["resource_type"] == "test":
            PLUMBING.add(unique_id)
            del manifest["nodes"][unique_id]
    for node in manifest["nodes"].values():
        depends = node.get("depends_on", {})
        depends["nodes"] = [n for n in depends.get("nodes", []) if n not in PLUMBING]
    for edges in (manifest.get("parent_map", {}), manifest.get("child_map", {})):
        for unique_id in PLUMBING:
            edges.pop(unique_id, None)
        for key, linked in edges.items():
            edges[key] = [n for n in linked if n not in PLUMBING]
    manifest_path.write_text(json.dumps(manifest))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "lineage.png")
    parser.add_argument("--chromium", default=default_chromium())
    parser.add_argument("--size", default="1800,900", help="window width,height")
    args = parser.parse_args(argv)

    if not Path(args.chromium).exists():
        print(NO_CHROMIUM, file=sys.stderr)
        return 1
    dbt = Path(sys.executable).with_name("dbt")
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "target"
        subprocess.run([str(dbt), "docs", "generate", "--target-path", str(target),
                        "--log-path", str(Path(scratch) / "logs")],
                       cwd=PROJECT_ROOT, check=True)
        without_plumbing(target / "manifest.json")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                    directory=str(target))
        handler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/index.html#!/overview?g_v=1"
        try:
            screenshot(args.chromium, url, args.out, args.size, Path(scratch))
        finally:
            server.shutdown()
    print(f"lineage graph written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
