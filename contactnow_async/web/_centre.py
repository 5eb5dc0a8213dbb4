"""The contact centre's clock as the wallboard's host estimates it.

An agent's ``started_ts`` is on the centre's clock, and the host's may differ from it
(a container without NTP, a VM after a suspend): the page's time in status, ticked from
the host's clock, was off by the difference. Each fresh row says what the centre's
clock read when it answered (``server_ts``, the row's ``srvtime``); the row reaches the
host after that, so ``server_ts - host_now`` is a lower bound of the centre's offset
(a second low at most for ``srvtime``'s whole seconds, plus the trip). The largest bound
of the last ``window`` seconds is the estimate: a row delivered late (a backlog, a
slow poll) bounds it loosely and does not lower it, and an offset that changes is
followed within ``window`` seconds of the change (at once when it grows by up to
``step``; within ``confirm`` seconds when by more, as below).

A row whose bound is more than ``step`` seconds from the estimate (a reply whose
``srvtime`` was an hour ahead, say) is in doubt. Above the estimate it is ignored, and
counted in the board's health; below, it would not move the estimate anyway. When rows
have kept disagreeing for ``confirm`` seconds, with none agreeing in between, they are
the centre's clock now (a clock that stepped, the centre's or the host's) and the
estimate is made from them alone: an implausible first row (there is nothing to judge it
by) gives way to the rows that follow it as soon.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from .._clock import Clock

Bounds = deque[tuple[float, float]]


def _add(bounds: Bounds, seen: float, bound: float, window: float) -> None:
    """Add a row's bound, keeping ``bounds``' host times rising and bounds falling (the
    window's maximum first, in O(1) per row: thousands of agents' rows per poll)."""
    while bounds and bounds[-1][1] <= bound:
        bounds.pop()
    bounds.append((seen, bound))
    while bounds[0][0] < seen - window:
        bounds.popleft()


class CentreClock:
    """``clock`` (the host's) corrected by the centre's offset from it, as rows show it.

    With no row observed yet, the offset is 0: the host's clock as it is.
    """

    __slots__ = (
        "_bounds",
        "_doubted_since",
        "_doubts",
        "clock",
        "confirm",
        "last_ignored",
        "offset",
        "rows_ignored",
        "step",
        "window",
    )

    def __init__(
        self, clock: Clock, *, window: float = 300.0, step: float = 60.0, confirm: float = 30.0
    ) -> None:
        self.clock = clock
        self.window = window
        self.step = step
        self.confirm = confirm
        #: Seconds the centre's clock is ahead of ``clock`` (negative: behind).
        self.offset = 0.0
        #: Rows ignored as implausible: ahead of the estimate by more than ``step``.
        self.rows_ignored = 0
        #: The ``server_ts`` of the last of them (None: none yet).
        self.last_ignored: float | None = None
        self._bounds: Bounds = deque()
        # The rows in doubt since the last that agreed, and when the first of them came.
        self._doubts: Bounds = deque()
        self._doubted_since: float | None = None

    def observe(self, server_ts: float) -> None:
        """A row the centre answered at ``server_ts`` (its clock) has just arrived."""
        # A row without srvtime says nothing of the centre's clock; nor does infinity.
        if not 0 < server_ts < math.inf:
            return
        seen = self.clock.now()
        bound = server_ts - seen
        if self._bounds and abs(bound - self.offset) > self.step:
            if self._doubted_since is None:
                self._doubted_since = seen
            _add(self._doubts, seen, bound, self.window)
            if seen - self._doubted_since < self.confirm:
                if bound > self.offset:
                    self.rows_ignored += 1
                    self.last_ignored = server_ts
                else:  # it cannot raise the estimate: kept, as any row
                    _add(self._bounds, seen, bound, self.window)
                return
            self._bounds = self._doubts  # the rows kept saying it: the centre's clock now
        else:
            _add(self._bounds, seen, bound, self.window)
        self._doubts = deque()
        self._doubted_since = None
        self.offset = self._bounds[0][1]

    def now(self) -> float:
        """The centre's clock now, as far as the rows observed tell."""
        return self.clock.now() + self.offset

    def health(self) -> dict[str, Any]:
        """The offset, and the rows ignored as implausible, as JSON-ready values."""
        return {
            "offset": self.offset,
            "rows_ignored": self.rows_ignored,
            "last_ignored_server_ts": self.last_ignored,
        }
