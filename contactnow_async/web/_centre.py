"""The contact centre's clock as the wallboard's host estimates it.

An agent's ``started_ts`` is on the centre's clock, and the host's may differ from it
(a container without NTP, a VM after a suspend): the page's time in status, ticked from
the host's clock, was off by the difference. Each fresh row says what the centre's
clock read when it answered (``server_ts``, the row's ``srvtime``); the row reaches the
host after that, so ``server_ts - host_now`` is a lower bound of the centre's offset
(a second low at most for ``srvtime``'s whole seconds, plus the trip). The largest bound
of the last ``window`` seconds is the estimate: a row delivered late (a backlog, a
slow poll) bounds it loosely and does not lower it, and an offset that changes is
followed within ``window`` seconds of the change (at once when it grows).
"""

from __future__ import annotations

from collections import deque

from .._clock import Clock


class CentreClock:
    """``clock`` (the host's) corrected by the centre's offset from it, as rows show it.

    With no row observed yet, the offset is 0: the host's clock as it is.
    """

    __slots__ = ("_bounds", "clock", "offset", "window")

    def __init__(self, clock: Clock, *, window: float = 300.0) -> None:
        self.clock = clock
        self.window = window
        #: Seconds the centre's clock is ahead of ``clock`` (negative: behind).
        self.offset = 0.0
        # (host time, bound), host times rising and bounds falling: the window's maximum
        # is the first, in O(1) per row (thousands of agents' rows per poll).
        self._bounds: deque[tuple[float, float]] = deque()

    def observe(self, server_ts: float) -> None:
        """A row the centre answered at ``server_ts`` (its clock) has just arrived."""
        if not server_ts > 0:  # a row without srvtime says nothing of the centre's clock
            return
        seen = self.clock.now()
        bound = server_ts - seen
        bounds = self._bounds
        while bounds and bounds[-1][1] <= bound:
            bounds.pop()
        bounds.append((seen, bound))
        while bounds[0][0] < seen - self.window:
            bounds.popleft()
        self.offset = bounds[0][1]

    def now(self) -> float:
        """The centre's clock now, as far as the rows observed tell."""
        return self.clock.now() + self.offset
