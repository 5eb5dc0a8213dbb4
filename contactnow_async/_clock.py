"""Clocks: where the library reads the time and waits for it.

Everything that schedules (the token manager's proactive refresh, the watcher's
ticks, the simulator's scenario) reads time from a :class:`Clock`, so tests and
benchmarks can run hours of contact-centre life in seconds with a
:class:`VirtualClock`, and the demo can run the simulator faster than real time
with a :class:`ScaledClock`.

A clock's ``now()`` is a unix timestamp (seconds, float) that never goes
backwards.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import math
import threading
import time
import weakref
from types import TracebackType
from typing import Protocol, runtime_checkable

import anyio

__all__ = [
    "Clock",
    "ScaledClock",
    "SystemClock",
    "VirtualClock",
    "Waits",
    "http_date",
    "number_of_seconds",
    "sleep_within",
    "waits_of",
]


@runtime_checkable
class Clock(Protocol):
    """What the library needs from a clock."""

    def now(self) -> float:
        """Return the current unix time in seconds; never goes backwards."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Wait until ``now() >= deadline`` (returns at once for a past deadline)."""
        ...


class SystemClock:
    """Real time: unix time anchored once, then advanced by the monotonic clock.

    Anchoring makes ``now()`` immune to the wall clock being stepped (NTP, an
    operator) while the process runs, which a token deadline must not follow.
    """

    __slots__ = ("_mono0", "_wall0")

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep(max(0.0, deadline - self.now()))

    def __repr__(self) -> str:
        return "SystemClock()"


class ScaledClock:
    """Real time sped up ``speed`` times, starting at ``start`` (default: now).

    The demo runs the simulator on one: ``speed=10`` lives ten simulated seconds
    per real second.
    """

    __slots__ = ("_mono0", "_start", "speed")

    def __init__(self, speed: float = 1.0, *, start: float | None = None) -> None:
        if not 0 < speed < math.inf:  # NaN too: it made every time NaN
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        self.speed = float(speed)
        self._start = time.time() if start is None else _finite("start", start)
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._mono0) * self.speed

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep(max(0.0, (deadline - self.now()) / self.speed))

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed!r})"


class VirtualClock:
    """A clock that moves only when told to, or when someone sleeps on it.

    ``advance(seconds)`` moves it forward. ``sleep_until(deadline)`` jumps it to
    the deadline at once (like trio's autojump clock): a watcher polling every
    second on a virtual clock makes 20,000 polls as fast as the machine allows.
    Thread-safe, so a simulator served by uvicorn in a thread can share it.
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = _finite("start", start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time.

        Raises ValueError for a negative, infinite or NaN ``seconds``.
        """
        # NaN made every later time NaN; infinity left a simulator playing events for ever.
        _finite("seconds", seconds)
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance({seconds!r}))")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> float:
        """Move the clock forward to ``when`` (no-op if already later).

        Raises ValueError for an infinite or NaN ``when``.
        """
        when = _finite("when", when)
        with self._lock:
            self._now = max(self._now, when)
            return self._now

    async def sleep_until(self, deadline: float) -> None:
        # anyio.lowlevel is imported here, not at import: only a virtual clock
        # (tests, the simulator) needs it.
        import anyio.lowlevel

        if deadline == math.inf:  # a time never reached, as on a real clock
            await anyio.sleep_forever()
        if math.isfinite(deadline):  # NaN or -inf: returns at once, as a real clock does
            self.set(deadline)
        # A checkpoint, so a loop sleeping on a virtual clock still lets other
        # tasks run and can be cancelled.
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"


async def sleep_within(clock: Clock, seconds: float, deadline: float) -> bool:
    """Sleep ``seconds`` on ``clock``, but never past ``deadline`` on anyio's clock (one
    slower than real time would outlast it): whether the whole sleep was slept."""
    with anyio.CancelScope(deadline=deadline) as scope:
        await clock.sleep_until(clock.now() + seconds)
    return not scope.cancelled_caught


class Waits:
    """One client's waits other than its requests' (a watcher's for its next poll, say):
    its ``aclose()`` calls :meth:`close`, which ends them at once."""

    __slots__ = ("_scopes", "closed")

    def __init__(self) -> None:
        self.closed = False
        self._scopes: set[anyio.CancelScope] = set()

    def close(self) -> None:
        """Set ``closed`` and cancel every wait under way (each then ends as its own
        scope's cancellation does: the code after it reads ``closed``)."""
        self.closed = True
        for scope in self._scopes:
            scope.cancel()

    def within(self, deadline: float = math.inf) -> _Within:
        """A cancel scope with ``deadline`` (on anyio's clock) that :meth:`close` cancels too
        (one made after it, at once)."""
        scope = anyio.CancelScope(deadline=deadline)
        if self.closed:
            scope.cancel()
        return _Within(self._scopes, scope)


#: Each client's waits: its watchers find them here, not in the client's private state.
_WAITS: weakref.WeakKeyDictionary[object, Waits] = weakref.WeakKeyDictionary()


def waits_of(owner: object) -> Waits:
    """The :class:`Waits` that ``owner`` ends when it closes (a client takes its own when
    made; a watcher of it puts there its wait for its next poll)."""
    waits = _WAITS.get(owner)
    if waits is None:
        waits = _WAITS[owner] = Waits()
    return waits


class _Within:
    """:meth:`Waits.within`: a class, not a generator, so type checkers see that leaving
    it may swallow its own cancellation (the code after the block runs)."""

    __slots__ = ("_scope", "_scopes")

    def __init__(self, scopes: set[anyio.CancelScope], scope: anyio.CancelScope) -> None:
        self._scopes = scopes
        self._scope = scope

    def __enter__(self) -> anyio.CancelScope:
        scope = self._scope.__enter__()
        self._scopes.add(scope)
        return scope

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self._scopes.discard(self._scope)
        return self._scope.__exit__(exc_type, exc, tb)


def number_of_seconds(name: str, value: object) -> float:
    """``value`` as a float; TypeError naming ``name`` for what is no number of seconds
    (not float() of anything: "5" was taken, and True was a second)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def _finite(name: str, value: float) -> float:
    value = number_of_seconds(name, value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


@functools.lru_cache(maxsize=16)
def http_date(value: str | None) -> float | None:
    """An HTTP date as a timestamp (None if it is not one). Kept by its text: every
    reply's ``Date`` changes once a second, and parsing one costs ~4 us."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # Overflow: a year of 20 digits
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322, not the local zone
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()
