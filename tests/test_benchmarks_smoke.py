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

BENCHMARKS = (
    "1 request overhead",
    "2 vendor style",
    "3 poll cost",
    "4 token single flight",
    "5 fan-out",
    "6 soak",
    "7 import cost",
    "8 sse load",
    "9 typed read",
    "10 [speed] wire",
    "11 event latency",
)


@pytest.mark.slow
@pytest.mark.integration
def test_smoke_benchmarks_print_the_table(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for header in ("date:", "machine:", "python:", "versions:", "mode: smoke"):
        assert header in out
    assert "| benchmark | measure | median | min | max |" in out
    table_rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    for name in BENCHMARKS:
        assert any(line.startswith(f"| {name} |") for line in table_rows), name
    assert "FAILED" not in out
    saved = json.loads(results.read_text(encoding="utf-8"))
    assert {row["benchmark"] for row in saved["rows"]} == set(BENCHMARKS)
    assert saved["mode"] == "smoke"
    assert all(row["runs"] >= 1 for row in saved["rows"])
