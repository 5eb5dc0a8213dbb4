"""``contactnow demo``'s queue panel: only ever the figures read, never made up."""

from __future__ import annotations

import pytest

from contactnow_async import ContactNow
from contactnow_async._cli._demo import QueuePanel
from contactnow_async.kpis import QueueKpis

pytestmark = pytest.mark.anyio


async def test_before_the_first_read_the_panel_does_not_say_there_were_no_calls() -> None:
    async with ContactNow(username="u", password="p", base_url="http://127.0.0.1:9/") as cn:
        kpis = QueueKpis(cn)
        panel = QueuePanel(kpis)
        assert panel.render([], 0.0).caption != "no calls yet today"  # nothing read yet
        kpis.queues = ()  # a read found no inbound call today
        assert panel.render([], 0.0).caption == "no calls yet today"
