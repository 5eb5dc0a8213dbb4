"""The status log: every status change of every agent, in uid order, newest kept."""

from __future__ import annotations

import bisect
import sys
from collections.abc import Iterable

__all__ = ["FIRST_LOG_UID", "LogRow", "StatusLog"]

FIRST_LOG_UID = 12_345_678_901  # the uid of the documented status_log example

#: One status_log row: (uid, time, agent, status, subcode, callid).
LogRow = tuple[int, float, str, str, str, str]


class StatusLog:
    """Rows appended in time order; ``retention`` keeps the newest (None: all)."""

    def __init__(self, retention: int | None) -> None:
        self.retention = retention
        self._log: list[LogRow] = []
        # Only the last ``retention`` rows count (rows() starts there); the older ones
        # are cut off in one go once they are as many as the kept ones (and 4,096),
        # rather than a start moved at every append.
        self._cut_at = sys.maxsize if retention is None else max(2 * retention, retention + 4096)
        self._next_uid = FIRST_LOG_UID

    def append(self, when: float, agent: str, status: str, subcode: str, callid: str) -> None:
        """Write one row (times only grow with uids)."""
        uid = self._next_uid
        self._next_uid = uid + 1
        log = self._log
        log.append((uid, when, agent, status, subcode, callid))
        if len(log) > self._cut_at:  # never with no retention
            del log[: len(log) - (self.retention or 0)]

    def rows(
        self,
        *,
        visible_before: float | None,
        uid_low: int | None = None,
        uid_high: int | None = None,
        agents: Iterable[str] | None = None,
        tstart: int | None = None,
        tstop: int | None = None,
    ) -> list[LogRow]:
        """Return the retained rows matching the filters, in uid order."""
        log = self._log
        lo, hi = 0, len(log)
        if self.retention is not None:
            lo = max(0, hi - self.retention)
        if visible_before is not None:
            # Times only grow with uids, so the visible rows are a prefix.
            hi = bisect.bisect_right(log, visible_before, lo, hi, key=lambda r: r[1])
        if uid_low is not None:
            lo = bisect.bisect_left(log, uid_low, lo, hi, key=lambda r: r[0])
        if uid_high is not None:
            hi = bisect.bisect_right(log, uid_high, lo, hi, key=lambda r: r[0])
        if tstart is not None:
            lo = bisect.bisect_left(log, tstart, lo, hi, key=lambda r: int(r[1]))
        if tstop is not None:
            hi = bisect.bisect_right(log, tstop, lo, hi, key=lambda r: int(r[1]))
        if lo >= hi:
            return []
        if agents is None:
            return log[lo:hi]
        wanted = frozenset(agents)
        return [row for row in log[lo:hi] if row[2] in wanted]
