"""Where a wallboard's events come from: a source seeds the board, then publishes.

- :class:`WatcherSource`: an in-process :class:`~contactnow_async.AgentWatcher`
  in backfill mode; the SSE id is the event's status_log uid.
- :class:`~contactnow_async.web.RedisStreamSource` (``_redis.py``): the stream
  ``contactnow relay`` writes; the SSE id is the stream entry id.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import datetime, timezone
from typing import Any, Protocol

import anyio
import anyio.abc

from .. import events
from .._clock import Clock
from .._models_live import LiveAgent
from .._values import EPOCH
from ..watch import AgentEvent, AgentWatcher, Health, HealthEvent
from ._board import Board, Entry, Resume, Viewer

logger = logging.getLogger("contactnow_async.web")


#: The cursor of a board that started before any status_log row: ``0.`` and a mark of this
#: process. A browser with the ``0`` of another process (or an earlier one) may have missed
#: what changed while no wallboard ran: the board resets it.
QUIET_CURSOR = f"0.{secrets.token_hex(4)}"


class Source(Protocol):
    """What :func:`~contactnow_async.web.wallboard_app` needs from an event source."""

    kind: str
    clock: Clock

    def parse_id(self, text: str) -> Any:
        """The ordered key of an SSE id of this source, or None if it is not one."""
        ...

    async def run(self, board: Board, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Seed ``board``, report started, then publish every event until cancelled.

        A source may report started after a first try that failed, and seed later:
        meanwhile every endpoint answers 503. One that stops for good (a refused
        password) calls ``board.stop()``: its streams end, and the endpoints answer 503.
        """
        ...

    async def resolve(self, board: Board, viewer: Viewer, resume: Resume) -> None:
        """Finish a resume the board could not serve alone (or reset the viewer)."""
        ...

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether events are flowing, and the details as JSON-ready values."""
        ...


def sse_frame(event_json: str, event_id: str | None) -> bytes:
    """One ``event: agent`` SSE frame (the event JSON is one line: it has no newline)."""
    head = f"id: {event_id}\n" if event_id else ""
    return utf8(f"{head}event: agent\ndata: {event_json}\n\n")


def utf8(json_text: str) -> bytes:
    """JSON text as UTF-8, a lone surrogate (``"\\ud800"`` from the API decodes to one; it
    has no UTF-8) written as JSON's own escape of it, ``\\ud800``: one can only be inside
    a string, where the escape reads back as the same text."""
    return json_text.encode("utf-8", "backslashreplace")


def agent_json(agent: LiveAgent) -> dict[str, Any]:
    """``agent`` as the documented agent object of the event JSON."""
    # Through events.to_dict, so the snapshot's agents and the events' agents are
    # one format, whatever keys the event JSON grows.
    event = AgentEvent(
        kind="appeared",
        agent_id=agent.agent_id,
        before=None,
        after=agent,
        changed_at=EPOCH,
        observed_at=EPOCH,
    )
    after: dict[str, Any] = events.to_dict(event)["after"]
    return after


def iso(moment: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with a ``Z``, as the event JSON writes them."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def health_json(health: Health) -> dict[str, Any]:
    """A watcher's :class:`~contactnow_async.Health` as JSON-ready values."""
    return {
        "polls": health.polls,
        "failures": health.failures,
        "consecutive_failures": health.consecutive_failures,
        "last_success_at": iso(health.last_success_at),
        "last_attempt_at": iso(health.last_attempt_at),
        "last_error": health.last_error,
    }


class WatcherSource:
    """An :class:`~contactnow_async.AgentWatcher` in backfill mode, run by the wallboard.

    The wallboard enters the watcher (``async with``) in its lifespan and leaves
    it at shutdown: do not enter it yourself (other consumers may subscribe to it).
    Events are read through a ``block`` subscription of ``buffer`` events, so the
    board sees every one; the board never awaits a browser, so the poller never
    waits on one either.
    """

    kind = "watcher"

    def __init__(self, watcher: AgentWatcher, *, buffer: int = 10_000) -> None:
        if not watcher.backfill:
            raise ValueError(
                "the wallboard resumes browsers from status_log uids: "
                "create the AgentWatcher with backfill=True"
            )
        self.watcher = watcher
        self.clock: Clock = watcher.clock
        self.buffer = buffer
        self.error: str | None = None

    @staticmethod
    def parse_id(text: str) -> int | None:
        """A status_log uid (any the board may have published: ``str(log_id)``), or None;
        a quiet start's cursor (``0.`` and a process's mark, :data:`QUIET_CURSOR`) is 0."""
        if text.startswith("0.") and len(text) == len(QUIET_CURSOR):
            return 0
        if not (text.isascii() and text.isdigit()):
            return None
        try:
            return int(text)
        except ValueError:  # more digits than int() reads: no uid of the log has them
            return None

    @staticmethod
    def _publish(board: Board, event: AgentEvent) -> None:
        event_id = None if event.log_id is None else str(event.log_id)
        entry = None
        if event_id is not None:
            entry = Entry(
                event.log_id, event_id, event.agent_id, sse_frame(events.to_json(event), event_id)
            )
        board.publish(
            entry, event.agent_id, None if event.after is None else agent_json(event.after)
        )

    async def run(self, board: Board, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Run the watcher; seed the board from its first good poll; publish what follows."""
        watcher = self.watcher
        # Subscribed before the first poll, and drained by a task started before it,
        # so a first poll with more events than the buffer cannot block on us.
        subscription = watcher.subscribe(
            overflow="block", buffer=self.buffer, initial=False, include_health=True
        )
        early: list[AgentEvent] = []
        seeded = False
        recovered = anyio.Event()  # a good poll after a first one that failed

        def take(event: AgentEvent | HealthEvent) -> None:
            if isinstance(event, HealthEvent):
                if event.healthy:
                    recovered.set()
            elif seeded:
                self._publish(board, event)
            else:
                early.append(event)

        async def drain() -> None:
            """What the watcher published so far, into ``take``, in order."""
            while subscription.pending:
                take(await subscription.__anext__())

        async def pump() -> None:
            try:
                async for event in subscription:
                    take(event)
            except Exception as exc:  # an AuthenticationError: the watcher has stopped
                self.error = f"{type(exc).__name__}: {exc}"
                logger.error("the wallboard's watcher stopped: %s", self.error)
                board.stop()

        failed: list[Exception] = []
        async with anyio.create_task_group() as group:
            group.start_soon(pump)
            try:
                async with watcher:
                    # What the first poll published goes to `early`, in order, whether
                    # the pump took it or this drain does; from the seed on (no await
                    # between it and the replay below) the pump publishes directly.
                    await drain()
                    if watcher.health.last_success_at is None:
                        # The first poll failed (the API is down): serve 503s, /healthz
                        # saying why, until a poll succeeds, and seed from that one; a
                        # board seeded empty would never send the agents it listed.
                        task_status.started()
                        task_status = anyio.TASK_STATUS_IGNORED
                        await recovered.wait()
                        await drain()
                    snapshot = watcher.snapshot
                    agents = {agent_id: agent_json(snapshot[agent_id]) for agent_id in snapshot}
                    log_id = watcher.log_id
                    # No row read yet (a quiet centre): a cursor of this process's own, at
                    # key 0. The board then holds no id below its first event: an older one
                    # (a browser of an earlier process) is reset, not served what followed
                    # as if it had the rows in between; so is another process's cursor.
                    board.seed(
                        agents,
                        cursor=str(log_id) if log_id else QUIET_CURSOR,
                        covered_from=None if log_id else math.inf,
                    )
                    seeded = True
                    board.centre.observe(snapshot.server_ts)  # the first poll's, just read
                    for event in early:
                        if event.log_id is not None:  # the first poll's snapshot has the rest
                            self._publish(board, event)
                    early.clear()
                    task_status.started()
                    await anyio.sleep_forever()
            except Exception as exc:  # a closed client, say: raised below, not in a group
                failed.append(exc)
            finally:
                subscription.close()
                group.cancel_scope.cancel()
        if failed:
            raise failed[0]

    async def resolve(self, board: Board, viewer: Viewer, resume: Resume) -> None:
        """The board's window is all a watcher retains: anything outside it resets."""
        viewer.fail("expired" if resume.where == "before" else "unknown")

    def health(self) -> tuple[bool, dict[str, Any]]:
        """The watcher's polling health (failing for good once it stopped on an error)."""
        health = self.watcher.health
        details = health_json(health)
        details["log_id"] = self.watcher.log_id
        if self.error is not None:
            details["last_error"] = self.error
        return health.healthy and self.error is None, details
