"""``python -m benchmarks --smoke`` runs and prints the table with every benchmark's rows.

Only that it runs: the figures themselves are never asserted (a shared machine
makes any timing assertion flaky, and a benchmark is not a test). ``--smoke`` runs
the code of every benchmark (one repeat, one network model, tiny sizes), which is
all a test can check; ``--quick`` and the full run differ from it only in sizes.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The benchmark modules (``--only``) in three groups of about 4 s each (wall time: the
#: last two mostly wait on servers' clocks), run as three tests so that the suite's
#: workers share them. Benchmarks 1 and 10 go together: the smoke's share one canned server.
GROUPS = {
    "clients": ("request_overhead", "vendor_style", "speed_wire", "import_cost", "vendor_php"),
    "watch": ("poll_cost", "token_flight", "fanout", "soak", "event_latency"),
    "wallboard": ("sse_load", "typed_read"),
}


def test_the_groups_hold_every_benchmark() -> None:
    from benchmarks.__main__ import MODULES  # the runner's own list

    grouped = [name for group in GROUPS.values() for name in group]
    assert sorted(grouped) == sorted(MODULES)  # each once


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_smoke_benchmarks_print_the_table(group: str, tmp_path: Path) -> None:
    modules = GROUPS[group]
    names = {importlib.import_module(f"benchmarks.{module}").NAME for module in modules}
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(results),
         "--only", *modules],
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
    for name in names:
        assert any(line.startswith(f"| {name} |") for line in table_rows), name
    assert "FAILED" not in out
    saved = json.loads(results.read_text(encoding="utf-8"))
    assert {row["benchmark"] for row in saved["rows"]} == names
    assert saved["mode"] == "smoke"
    assert all(row["runs"] >= 1 for row in saved["rows"])
