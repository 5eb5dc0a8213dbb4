"""``python -m benchmarks --smoke`` runs and prints the table with every benchmark's rows.

Only that it runs: the figures themselves are never asserted (a shared machine
makes any timing assertion flaky, and a benchmark is not a test). ``--smoke`` runs
the code of every benchmark (one repeat, one network model, tiny sizes), which is
all a test can check; ``--quick`` and the full run differ from it only in sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The benchmarks by module (``--only``) and table name, in three groups of a few seconds
#: each, run as three tests so that the suite's workers share them.
GROUPS = {
    "network": {
        "request_overhead": "1 request overhead",
        "vendor_style": "2 vendor style",
        "poll_cost": "3 poll cost",
        "token_flight": "4 token single flight",
        "fanout": "5 fan-out",
        "soak": "6 soak",
    },
    "processes": {
        "import_cost": "7 import cost",
        "typed_read": "9 typed read",
        "speed_wire": "10 [speed] wire",
    },
    "servers": {"sse_load": "8 sse load", "event_latency": "11 event latency"},
}


def test_the_groups_hold_every_benchmark() -> None:
    from benchmarks.__main__ import MODULES  # the runner's own list

    grouped = [name for group in GROUPS.values() for name in group]
    assert sorted(grouped) == sorted(MODULES)  # each once


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_smoke_benchmarks_print_the_table(group: str, tmp_path: Path) -> None:
    benchmarks = GROUPS[group]
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(results),
         "--only", *benchmarks],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for header in ("date:", "machine:", "python:", "versions:", "mode: smoke"):
        assert header in out
    assert "| benchmark | measure | median | min | max |" in out
    table_rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    for name in benchmarks.values():
        assert any(line.startswith(f"| {name} |") for line in table_rows), name
    assert "FAILED" not in out
    saved = json.loads(results.read_text(encoding="utf-8"))
    assert {row["benchmark"] for row in saved["rows"]} == set(benchmarks.values())
    assert saved["mode"] == "smoke"
    assert all(row["runs"] >= 1 for row in saved["rows"])
