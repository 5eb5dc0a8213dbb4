"""``database.php method=status_log``: the history of agent status changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .._models import StatusLogEntry
from .._values import whole
from ._base import Resource, before, build, id_list, unix_time


class StatusLog(Resource):
    """Read agent status changes, by uid cursor, agent and time window."""

    __slots__ = ()

    async def read(
        self,
        *,
        agent: str | int | Iterable[str | int] | None = None,
        uid: int | None = None,
        uid_range: tuple[int, int] | None = None,
        tstart: int | float | datetime | None = None,
        tstop: int | float | datetime | None = None,
    ) -> list[StatusLogEntry]:
        """Return the rows matching every filter, in uid order.

        ``uid`` matches rows with uid >= the value; ``uid_range=(low, high)`` an
        inclusive range; ``tstart``/``tstop`` are unix times or aware datetimes.
        """
        if uid is not None and uid_range is not None:
            raise ValueError("give uid (rows >= uid) or uid_range=(low, high), not both")
        start = unix_time(tstart, name="tstart")
        stop = unix_time(tstop, name="tstop")
        if tstart is not None and tstop is not None and before(tstop, tstart):
            # The API answers an empty list, which reads as "no changes" in that window.
            raise ValueError(f"tstart {tstart} is after tstop {tstop}")
        params: dict[str, Any] = {
            "agent": id_list(agent, name="agent"),
            "tstart": start,
            "tstop": stop,
        }
        if uid is not None:
            params["uid"] = whole(uid, name="uid")
        if uid_range is not None:
            given: object = uid_range  # whatever the caller passed, whatever its annotation
            bounds = tuple(given) if isinstance(given, (tuple, list)) else ()
            if len(bounds) != 2:  # "12" would be read as (1, 2)
                raise ValueError(f"uid_range must be a pair (low, high), not {uid_range!r}")
            low, high = (whole(bound, name="uid_range") for bound in bounds)
            if low > high:
                raise ValueError(f"uid_range low {low} is above high {high}")
            params["uid"] = f"{low}:{high}"
        envelope = await self._client.request(
            "database", method="status_log", action="read", params=params
        )
        rows = build(StatusLogEntry.from_record, envelope, what="status_log.read")
        rows.sort(key=_by_uid)
        return rows


def _by_uid(row: StatusLogEntry) -> int:
    return row.log_id
