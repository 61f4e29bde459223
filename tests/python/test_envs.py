"""The optional environments (envs/<name>) never move the core pins."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT

CORE_PINNED = ("dbt-core", "dbt-adapters", "dbt-common", "dbt-duckdb", "duckdb")


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


SIDE_LOCKS = sorted(PROJECT_ROOT.glob("envs/*/requirements.lock"))


@pytest.mark.parametrize("lock", SIDE_LOCKS, ids=lambda lock: lock.parent.name)
def test_an_optional_environment_runs_dbt_and_duckdb_at_the_core_pins(lock):
    core = pins(PROJECT_ROOT / "requirements.lock")
    side = pins(lock)
    assert "dbt-core" in side, f"{lock} does not pin dbt-core"
    moved = {name: (core[name], side[name]) for name in CORE_PINNED
             if name in side and side[name] != core[name]}
    assert not moved, f"{lock} moves core pins (core, here): {moved}"
    requested = (lock.parent / "requirements.in").read_text()
    assert requested.strip(), f"{lock.parent}/requirements.in is empty"
