"""``contactnow demo``'s queue panel: only ever the figures read, never made up."""

from __future__ import annotations

import pytest

from contactnow_async import ContactNow
from contactnow_async._cli._demo import QueuePanel
from contactnow_async.kpis import QueueFigures, QueueKpis
from contactnow_async.simulator import Simulator

pytestmark = pytest.mark.anyio


async def test_before_the_first_read_the_panel_does_not_say_there_were_no_calls() -> None:
    async with ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/") as cn:
        kpis = QueueKpis(cn)
        panel = QueuePanel(kpis)
        assert panel.render([], 0.0).caption is None  # nothing read yet
        kpis.queues = ()  # a read found no inbound queue
        assert panel.render([], 0.0).caption == "no inbound queue"
        kpis.stale = True  # the title says the refresh failed
        assert panel.render([], 0.0).caption is None


async def test_at_opening_the_panel_lists_every_inbound_queue_with_no_call(
    contactnow_client: ContactNow, contactnow_simulator: Simulator
) -> None:
    # The panel was empty until a queue's first call (no report row, no queue).
    panel = QueuePanel(QueueKpis(contactnow_client, clock=contactnow_simulator.clock))
    await panel.refresh()
    table = panel.render([], contactnow_simulator.clock.now())
    assert [[str(cell) for cell in column.cells] for column in table.columns] == [
        ["1007 Sales Inbound", "1008 Support Inbound", "1009 Billing Inbound"],
        *[["0"] * 3] * 3,
        *[["-"] * 3] * 2,  # no service level, no one waiting
    ]
    assert table.caption == "no calls yet today"


@pytest.mark.parametrize(
    ("level", "shown"),
    [(199 / 200, "99%"), (0.29, "29%"), (0.57, "57%"), (1.0, "100%"), (0.004, "0%"), (None, "-")],
)
async def test_the_service_level_is_never_rounded_up_to_a_target_not_met(
    level: float | None, shown: str
) -> None:
    # 199 of 200 calls within the cutoff showed 100%, as if none had waited longer.
    async with ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/") as cn:
        kpis = QueueKpis(cn)
        kpis.queues = (QueueFigures("7", "Sales", 200, 199, 1, level),)
        table = QueuePanel(kpis).render([], 0.0)
        assert list(table.columns[4].cells) == [shown]
