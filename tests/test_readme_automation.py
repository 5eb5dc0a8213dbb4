"""The README's automation example, run as written against the simulator served by
uvicorn on 127.0.0.1 (the session's stage, tests/_stage.py): a lead in a LIVE dataset, an
agent's call with it, its outcome."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from contactnow_async import ContactNow, Record
from contactnow_async.simulator import Simulator, VirtualClock

from ._stage import Stage

pytest.importorskip("uvicorn")  # the stage serves the simulator with uvicorn

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- example: lead-to-outcome -->"


def readme_example() -> Callable[..., Awaitable[Record]]:
    """The example's code block, executed: its ``call_one_lead`` function."""
    text = README.read_text(encoding="utf-8")
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.DOTALL)
    assert match, f"README.md lost its example after {MARKER}"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(README), "exec"), namespace)  # noqa: S102 - our README
    function: Callable[..., Awaitable[Record]] = namespace["call_one_lead"]
    return function


async def test_the_readme_automation(capsys: pytest.CaptureFixture[str], stage: Stage) -> None:
    call_one_lead = readme_example()
    clock = VirtualClock(1_700_000_000)
    sim = Simulator(username="u", password="p", agents=20, seed=3, clock=clock)
    async with (
        stage.showing(sim) as base_url,
        ContactNow(username="u", password="p", base_url=base_url, clock=clock) as cn,
    ):
        record = await call_one_lead(cn, table="Willtest", phone="07700900123")

    printed = capsys.readouterr().out
    created, on_call, outcome = printed.splitlines()
    assert created == f"record {record.record_id}: Record is LIVE on the dialer."
    said = re.fullmatch(r"agent (\d+) is on call (\d+) with record (\d+)", on_call)
    assert said, on_call
    agent_id, call_id, record_id = said.groups()
    assert record_id == record.record_id
    assert record.mobile_phone == "07700900123"
    # The simulator's books agree: the call is in the agent's status log and on the record.
    log = [row for row in sim.status_log() if row["agent"] == agent_id]
    assert next(row["status"] for row in log if row["callid"] == call_id) == "call"
    assert f"Call {call_id} by agent {agent_id}: outcome {record.outcome_id}" in record.notes
    assert record.processed_at is not None
    assert record.process_type in ("COMPLETE", "NEEDSMOREWORK")
    assert outcome.startswith(f"outcome {record.outcome_id} ")
    assert outcome.endswith(f"now {record.process_type}")
