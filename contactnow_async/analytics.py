"""Time in status, from status_log rows (the vendor's stated use of the log).

::

    rows = await cn.status_log.read(tstart=start - 86_400, tstop=stop)
    per_agent = time_in_status(rows, start, stop)
    per_agent["1234"]["call"]   # seconds agent 1234 spent on calls in [start, stop)

Each row says an agent *entered* a status at ``uts``; the status lasts until
that agent's next row. Intervals are clipped to the window: a status that began
before ``start`` counts from ``start`` (pass rows from before the window to
know it), and the last status of each agent runs until ``stop``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ._models import StatusLogEntry
from .resources._base import unix_time

__all__ = ["time_in_status"]


def time_in_status(
    rows: Iterable[StatusLogEntry],
    start: int | float | datetime,
    stop: int | float | datetime,
) -> dict[str, dict[str, float]]:
    """Return ``{agent_id: {status: seconds}}`` over ``[start, stop)``.

    Rows may come in any order (they are sorted by uid). Statuses with no time
    in the window are left out; agents with no time in the window too.
    """
    low = unix_time(start, name="start")
    high = unix_time(stop, name="stop")
    assert low is not None and high is not None  # unix_time returns an int for a non-None time
    if high < low:
        raise ValueError(f"stop ({high}) is before start ({low})")
    by_agent: dict[str, list[StatusLogEntry]] = {}
    for row in sorted(rows, key=lambda row: row.log_id):
        by_agent.setdefault(row.agent_id, []).append(row)
    totals: dict[str, dict[str, float]] = {}
    for agent_id, agent_rows in by_agent.items():
        spent: dict[str, float] = {}
        for index, row in enumerate(agent_rows):
            until = agent_rows[index + 1].started_ts if index + 1 < len(agent_rows) else high
            seconds = min(until, high) - max(row.started_ts, low)
            if seconds > 0:
                spent[row.status] = spent.get(row.status, 0.0) + seconds
        if spent:
            totals[agent_id] = spent
    return totals
