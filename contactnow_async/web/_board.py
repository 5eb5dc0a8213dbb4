"""The wallboard's state: every agent's status, the retained events, the viewers.

A source (an :class:`~contactnow_async.AgentWatcher`, a Redis Stream) seeds the
board once and then publishes each event with its id. The board keeps:

- ``agents``: each agent's current state (the documented agent JSON), the fold
  of every event so far: what ``/snapshot`` serves, with ``cursor``, the id of
  the last event folded in, so a browser that resumes from it misses nothing;
- ``entries``: the last ``retain`` events, already encoded as SSE frames (one
  bytes object per event, shared by every viewer): the retained window that a
  reconnecting browser is served from;
- the viewers: each connected browser's bounded buffer. Publishing never
  awaits; a viewer whose buffer is full is marked lagging and closed (the
  stream then sends ``event: reset``), so one slow browser never holds memory or
  delays another. Frames without an id (``event: kpis``) are broadcast to every
  viewer alike, bounded the same way, and not retained.

Ids are ordered: a source turns an id into a comparable key (a status_log uid,
a stream entry id as ``(ms, seq)``), and "the events after id X" are those with
a larger key. Publishing and resuming are synchronous steps of one event loop,
so a viewer joins at an exact position: its backlog ends where its live events
begin.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NamedTuple

import anyio

from .._clock import Clock, SystemClock
from ._centre import CentreClock

logger = logging.getLogger("contactnow_async.web")

#: The comment a quiet stream gets: it keeps proxies from closing an idle
#: connection, and makes a dead one show.
HEARTBEAT = b": heartbeat\n\n"

#: Why a stream ends with ``event: reset``: the browser refetches the snapshot.
ResetReason = Literal["unknown", "expired", "lagging"]


class Entry(NamedTuple):
    """One retained event: its ordered key, its SSE id, its agent and its SSE frame."""

    key: Any
    id: str
    agent_id: str
    frame: bytes


class Resume(NamedTuple):
    """A resume the board leaves to its source: the id is older than the retained
    window (``"before"``) or newer than anything the board has seen (``"after"``).
    ``upto`` is the board's cursor when the viewer joined: its live events follow it."""

    where: Literal["before", "after"]
    key: Any
    upto: str | None


class Viewer:
    """One connected browser: a bounded buffer of SSE frames, filled by the board.

    ``limit`` bounds the frames waiting to be written (a backlog on joining adds
    its own length until it is written). ``agents`` (None: all) filters by agent
    id; ``floor`` drops events at or below a key the browser already has (a
    replica behind the one it came from).
    """

    __slots__ = (
        "_ready",
        "agents",
        "bound",
        "buffer",
        "cancel",
        "closed",
        "ends",
        "floor",
        "last_write",
        "limit",
        "reset",
        "writing_since",
    )

    def __init__(
        self, *, limit: int, agents: frozenset[str] | None = None, floor: Any = None
    ) -> None:
        self.limit = limit
        #: ``limit`` without a backlog: what it comes back to as the backlog is written.
        self.bound = limit
        self.agents = agents
        self.floor = floor
        self.buffer: deque[bytes] = deque()
        self.closed = False
        self.reset: ResetReason | None = None
        self._ready = anyio.Event()
        # Kept by the stream writing this viewer, read by Board.keep().
        self.cancel: Callable[[], object] | None = None
        self.last_write = time.monotonic()
        self.writing_since: float | None = None
        #: When (``time.monotonic()``) the stream token it was opened with expires: its end.
        self.ends: float | None = None

    def offer(self, entry: Entry) -> None:
        """Buffer ``entry`` for this viewer (the publisher's side: never awaits)."""
        if self.closed:
            return
        if self.agents is not None and entry.agent_id not in self.agents:
            return
        if self.floor is not None:
            if entry.key <= self.floor:
                return
            self.floor = None  # keys only grow: every later event is past it too
        if len(self.buffer) >= self.limit:
            self.fail("lagging")
            return
        self.buffer.append(entry.frame)
        self._ready.set()

    def send(self, frame: bytes) -> None:
        """Buffer a frame for every viewer alike (no filter, no floor; never awaits)."""
        if self.closed:
            return
        if len(self.buffer) >= self.limit:
            self.fail("lagging")
            return
        self.buffer.append(frame)
        self._ready.set()

    def fail(self, reason: ResetReason) -> None:
        """End this stream with ``event: reset`` (buffered frames are dropped)."""
        if not self.closed:
            self.buffer.clear()
            self.reset = reason
            self.close()

    def close(self) -> None:
        """End this stream after what is buffered."""
        self.closed = True
        self._ready.set()

    def beat(self) -> None:
        """Queue a heartbeat comment, if nothing else is waiting to be written."""
        if not self.closed and not self.buffer:
            self.buffer.append(HEARTBEAT)
            self._ready.set()

    def add(self, frames: list[bytes], *, first: bool = False) -> None:
        """Buffer a backlog (``first``: before what is buffered); it widens the limit."""
        if not frames or self.closed:
            return
        self.limit += len(frames)
        if first:
            self.buffer.extendleft(reversed(frames))
        else:
            self.buffer.extend(frames)
        self._ready.set()

    def take(self, budget: int = 65_536) -> list[bytes]:
        """The oldest buffered frames, up to ``budget`` bytes (at least one frame).

        One write stays small: a slow client's server-side buffers then hold one
        write's worth, and the rest waits here as references to shared frames.
        """
        buffer = self.buffer
        frames: list[bytes] = []
        size = 0
        while buffer and (not frames or size + len(buffer[0]) <= budget):
            frame = buffer.popleft()
            frames.append(frame)
            size += len(frame)
        if self.limit > self.bound:  # a backlog is at the front: written first, its room goes
            self.limit = max(self.bound, self.limit - len(frames))
        if not buffer and not self.closed:
            self._ready = anyio.Event()
        return frames

    async def wait(self) -> None:
        """Wait until there is something to write, or the stream ended."""
        await self._ready.wait()


class Board:
    """The state a wallboard serves; see the module docstring.

    ``parse_id`` turns an SSE id into its ordered key (None: not an id of this
    source). ``retain`` is how many events are kept for resuming, ``buffer``
    how many frames a viewer may fall behind by, ``heartbeat`` the seconds of
    quiet before a stream gets a comment, ``write_timeout`` the seconds one write
    may wait for a client (see :meth:`keep`). ``clock`` is the host's (the wallboard's):
    :attr:`centre` corrects it by the centre's offset, from every agent published.
    """

    def __init__(
        self,
        *,
        parse_id: Callable[[str], Any],
        retain: int = 10_000,
        buffer: int = 10_000,
        heartbeat: float = 15.0,
        write_timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        for name, count in (("retain", retain), ("buffer", buffer)):
            # NaN or infinity would bound nothing: every event kept, for ever.
            if isinstance(count, bool) or not 1 <= count < math.inf or count != int(count):
                raise ValueError(f"{name} must be a whole number >= 1, got {count!r}")
        for name, seconds in (("heartbeat", heartbeat), ("write_timeout", write_timeout)):
            # NaN fails too: it made keep() wake every 5 ms and never beat, or never end a
            # stuck write.
            if not seconds > 0:
                raise ValueError(f"{name} must be positive seconds, got {seconds!r}")
        self.parse_id = parse_id
        self.retain = retain
        self.buffer = buffer
        self.heartbeat = heartbeat
        self.write_timeout = write_timeout
        #: The longest wait between two passes of :meth:`keep` (seconds): an expired stream
        #: token's stream ends within it, however long the heartbeat and write timeout are.
        self.longest_pass = 5.0
        self.agents: dict[str, dict[str, Any]] = {}
        #: Counts the changes to ``agents``: what :meth:`agents_json` is cached by.
        self.version = 0
        self._agents_json: tuple[int, bytes] | None = None
        self.cursor: str | None = None
        self.cursor_key: Any = None
        self.entries: deque[Entry] = deque()
        # A resume after any key >= this is served in full from ``entries``.
        self.covered_from: Any = None
        self.viewers: set[Viewer] = set()
        self.started = False
        #: Set by :meth:`stop`: the source has stopped for good (a refused password).
        self.stopped = False
        self.published = 0
        #: Called after every change to ``agents`` (the queue KPIs' longest wait follows them).
        self.on_change: Callable[[], object] | None = None
        #: The centre's clock: what the page's time in status ticks from.
        self.centre = CentreClock(clock if clock is not None else SystemClock())

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` tells of the board: its cursor, agents, viewers and the
        centre's clock (``centre_clock``: the offset, and rows ignored as implausible)."""
        return {
            "started": self.started,
            "cursor": self.cursor,
            "agents": len(self.agents),
            "viewers": len(self.viewers),
            "centre_clock": self.centre.health(),
        }

    def agents_json(self, encode: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
        """``agents``' values as ``encode`` writes them, encoded once per change: the
        browsers that all fetch ``/snapshot`` at once (after a reset, a restart, an outage)
        share one encoding, where each made its own (some 6 ms at 5,000 agents, on the
        loop)."""
        cached = self._agents_json
        if cached is None or cached[0] != self.version:
            cached = self._agents_json = (self.version, encode(list(self.agents.values())))
        return cached[1]

    # -- the source's side ---------------------------------------------------------

    def seed(
        self,
        agents: Mapping[str, dict[str, Any]],
        *,
        cursor: str | None,
        entries: Iterable[Entry] = (),
        covered_from: Any = None,
    ) -> None:
        """Start from ``agents`` at ``cursor``; ``entries`` are the retained events up to it."""
        self.agents = dict(agents)
        self.version += 1
        self.entries = deque(entries)
        while len(self.entries) > self.retain:
            covered_from = self.entries.popleft().key
        self.cursor = cursor
        self.cursor_key = None if cursor is None else self.parse_id(cursor)
        self.covered_from = covered_from if covered_from is not None else self.cursor_key
        self.started = True
        if self.on_change is not None:
            self.on_change()

    def publish(self, entry: Entry | None, agent_id: str, after: dict[str, Any] | None) -> None:
        """Fold one event into the state; retain it and hand it to every viewer.

        ``entry`` is None for an event without an id (it changes the state, and
        cannot be resumed from). An event at or below the cursor is folded in
        and not sent again.
        """
        if after is None:
            self.agents.pop(agent_id, None)
        else:
            self.agents[agent_id] = after
            server_ts = after.get("server_ts")
            if isinstance(server_ts, (int, float)):
                self.centre.observe(server_ts)
        self.version += 1
        if self.on_change is not None:
            self.on_change()
        if entry is None:
            return
        if self.cursor_key is not None and entry.key <= self.cursor_key:
            logger.debug(
                "event %s is at or below the cursor %s: folded in only", entry.id, self.cursor
            )
            return
        self.cursor, self.cursor_key = entry.id, entry.key
        self.published += 1
        if len(self.entries) >= self.retain:
            self.covered_from = self.entries.popleft().key
        self.entries.append(entry)
        for viewer in self.viewers:
            viewer.offer(entry)

    def broadcast(self, frame: bytes) -> None:
        """Hand every viewer a frame without an id (``event: kpis``): not retained, not
        filtered by agent; a viewer with no room left is lagging, as for an event."""
        for viewer in self.viewers:
            viewer.send(frame)

    # -- the viewers' side ---------------------------------------------------------

    def join(
        self, last_event_id: str | None, *, agents: frozenset[str] | None = None
    ) -> tuple[Viewer, Resume | None]:
        """A new viewer, resumed after ``last_event_id`` when it is within the window.

        Returns the viewer and what is left for its source to decide (None when
        the board decided alone; see :class:`Resume`). The viewer is registered
        at once, so live events after the cursor are buffered while the source
        decides.
        """
        viewer = Viewer(limit=self.buffer, agents=agents)
        self.viewers.add(viewer)
        if last_event_id is None:
            return viewer, None
        key = self.parse_id(last_event_id)
        if key is None:
            viewer.fail("unknown")
            return viewer, None
        if self.cursor_key is None or key > self.cursor_key:
            viewer.floor = key
            return viewer, Resume("after", key, self.cursor)
        if key == self.cursor_key and (
            self.entries or key >= self.covered_from or last_event_id == self.cursor
        ):
            # Nothing since. A seed that is no position in the log (a quiet start's) is
            # vouched for only as this board gave it: another board's may be stale.
            return viewer, None
        first = self.entries[0].key if self.entries else None
        if (self.covered_from is not None and key >= self.covered_from) or (
            first is not None and key >= first
        ):
            viewer.add(
                [e.frame for e in self._after(key) if agents is None or e.agent_id in agents]
            )
            return viewer, None
        return viewer, Resume("before", key, self.cursor)

    def _after(self, key: Any) -> list[Entry]:
        """The retained entries after ``key``, oldest first (scanned from the newest)."""
        found: list[Entry] = []
        for entry in reversed(self.entries):
            if entry.key <= key:
                break
            found.append(entry)
        found.reverse()
        return found

    def prepend(self, viewer: Viewer, entries: Iterable[Entry]) -> None:
        """Put a backlog the source read (older than anything buffered) before the rest."""
        agents = viewer.agents
        viewer.add([e.frame for e in entries if agents is None or e.agent_id in agents], first=True)

    def leave(self, viewer: Viewer) -> None:
        """Forget a viewer whose stream ended."""
        viewer.close()
        self.viewers.discard(viewer)

    async def keep(self) -> None:
        """Run for ever: a heartbeat for every viewer quiet for ``heartbeat`` seconds, the
        end of every stream whose write has waited ``write_timeout`` seconds, and of every
        stream whose stream token has expired (:attr:`Viewer.ends`).

        One task and one pass over the viewers a few times per period, rather than two
        timers per viewer per write: with a thousand browsers, those timers cost more
        than the writes they guard.
        """
        while True:
            heartbeat, write_timeout = self.heartbeat, self.write_timeout
            await anyio.sleep(max(0.005, min(heartbeat / 4, write_timeout / 4, self.longest_pass)))
            self._tend(heartbeat, write_timeout)

    def _tend(self, heartbeat: float, write_timeout: float) -> None:
        """One pass of :meth:`keep`: a call of its own, so that no local outlives it (a
        loop variable left in ``keep`` held the last viewer, and what its ended stream
        kept, until a later pass met a viewer)."""
        now = time.monotonic()
        for viewer in list(self.viewers):
            if viewer.ends is not None and now >= viewer.ends:
                viewer.close()  # the browser reconnects with a new stream token
            since = viewer.writing_since
            if since is not None:
                if now - since > write_timeout and viewer.cancel is not None:
                    logger.info("ending a stream whose client took nothing for %g s", write_timeout)
                    viewer.cancel()
                    viewer.cancel = None
            elif now - viewer.last_write >= heartbeat:
                viewer.beat()

    def reset(self, reason: ResetReason) -> None:
        """End every viewer's stream with ``event: reset``: the browsers refetch the snapshot."""
        for viewer in list(self.viewers):
            viewer.fail(reason)

    def close(self) -> None:
        """End every viewer's stream (shutdown): browsers reconnect and resume elsewhere."""
        for viewer in list(self.viewers):
            viewer.close()

    def stop(self) -> None:
        """The source stopped for good: end every stream and serve nothing from now on.

        Its last state is no longer the centre's: a browser kept on it would say "live"
        over agents frozen for ever. Reconnecting, it gets 503s, and shows it is not.
        """
        self.started = False
        self.stopped = True
        self.close()
