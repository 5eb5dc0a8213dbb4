"""How polling goes: the watcher's health, kept by one small tracker."""

from __future__ import annotations

import logging
import random
from datetime import datetime

import attrs

from .._errors import ContactNowError
from ._events import Health

logger = logging.getLogger("contactnow_async.watch")

#: The warning of a failed poll (its count in a row, the error), as logged and as
#: ``contactnow watch`` prints it (which filters the logged one out by this text).
FAILED_POLL = "poll failed (%d in a row): %s"


class HealthTracker:
    """Counts polls and failures, remembers the last error, and says how long to back off."""

    def __init__(self) -> None:
        self.health = Health()

    def succeeded(self, observed_at: datetime, *, log_rows_dropped: int = 0) -> bool:
        """Record a good poll; True when it ends a run of failures (polling recovered).

        ``log_rows_dropped``: the backfill cursor's count so far.
        """
        health = self.health
        self.health = attrs.evolve(
            health,
            polls=health.polls + 1,
            consecutive_failures=0,
            last_success_at=observed_at,
            last_attempt_at=observed_at,
            log_rows_dropped=log_rows_dropped,
        )
        return health.consecutive_failures > 0

    def failed(self, observed_at: datetime, exc: ContactNowError, *, warn: bool = True) -> None:
        """Record a failed poll, and log it (``warn=False``: the caller says it its own way)."""
        health = self.health
        self.health = attrs.evolve(
            health,
            polls=health.polls + 1,
            failures=health.failures + 1,
            consecutive_failures=health.consecutive_failures + 1,
            last_attempt_at=observed_at,
            last_error=f"{type(exc).__name__}: {exc}",
        )
        if warn:
            logger.warning(FAILED_POLL, self.health.consecutive_failures, self.health.last_error)

    def backoff(self, interval: float, max_backoff: float) -> float:
        """Seconds to wait after the latest failure: doubling, capped, with jitter."""
        failures = self.health.consecutive_failures
        ceiling = min(max_backoff, interval * 2.0 ** min(failures, 16))
        return ceiling * random.uniform(0.5, 1.0)  # jitter, not a secret
