"""Gap-free mode: turn ``status_log`` rows after a uid cursor into events.

Polling ``ajax.php`` only shows the state at each poll; a status that lasted
less than the interval is never seen. The log has every transition, so in
backfill mode the log rows *are* the events, in uid order, each exactly once:

- the cursor is the last uid handed out; the next read asks for ``uid >= cursor+1``;
  a row the log has not written yet is read on a later pass, never skipped;
- a cursor the log refuses to read after (``Bad argument: uid``) stops the watcher
  with LogPositionError: every later read would be refused too;
- a row at or before the cursor (a server that went back) or a uid twice in one
  reply is dropped, logged at WARNING and counted (``Health.log_rows_dropped``):
  each uid becomes one event at most, in increasing order;
- each row is enriched with what the live snapshot knows (the agent's name,
  the current call when the row is the agent's current status);
- when the watcher starts without ``since_log_id``, each agent's state comes from
  the first snapshot and the log rows that led to it are recognised and skipped,
  so the first events are real changes, not a replay of the snapshot; rows from before
  its server time are history (with nobody logged in, no row gives that time: it is
  ours corrected by the token's ``clock_offset``, never the host's clock alone).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .._errors import BadArgumentError, LogPositionError
from .._models import StatusLogEntry
from .._models_live import Call, LiveAgent
from .._values import unix_seconds, utc, whole
from ..resources.live import LiveSnapshot
from ._events import AgentEvent

if TYPE_CHECKING:
    from .._client import ContactNow

logger = logging.getLogger("contactnow_async.watch")


class LogCursor:
    """Reads the status log after ``uid``, decides which rows are new events, and when
    a poll needs a read.

    ``log_every``: read at least every K polls even when nothing seemed to change;
    ``lookback``: seconds of log before the first snapshot read on a start without
    ``since_log_id``; ``grace``: seconds a snapshot-given state's own row may take to
    show up in the log before it stops holding the cursor.
    """

    def __init__(
        self,
        client: ContactNow,
        *,
        since_log_id: int | None,
        log_every: int = 5,
        lookback: float = 120.0,
        grace: float = 300.0,
    ) -> None:
        if log_every < 1:
            raise ValueError("log_every must be >= 1")
        self._client = client
        self.log_every = log_every
        self.lookback = lookback
        self.grace = grace
        # The last uid turned into an event (or skipped as known). Checked here, not at the
        # first read: a position read back from a file or Redis may be its text.
        self.log_id = None if since_log_id is None else whole(since_log_id, name="since_log_id")
        # Each agent's state as the events so far left it.
        self._state: dict[str, LiveAgent] = {}
        # Agents whose state came from a snapshot, not from a log row yet:
        # rows up to that state are history the snapshot already showed.
        self._baseline: set[str] = set()
        # Started without since_log_id: rows before the first snapshot's server time
        # for agents it did not list (offline, say) are history too.
        self._horizon: int | None = None
        # When (our clock) that snapshot was adopted: the grace runs from then.
        self._adopted_at = 0.0
        # Agents with an event since that start: the horizon no longer applies to them.
        self._moved: set[str] = set()
        # The poll of the last good read, and whether the log accounted for its snapshot.
        self._read_at: int | None = None
        # Resumed from a log id: the first read's snapshot, whose states may be older than
        # that position (no row of them comes until the agent moves): it accounts for them
        # (one newer, its row written late, is read within log_every polls).
        self._resumed_at: LiveSnapshot | None = None
        self._unexplained = False
        #: Rows dropped because their uid was not after the last one seen (see the module doc).
        self.dropped = 0

    @property
    def states(self) -> Mapping[str, LiveAgent]:
        """Each agent's state as the events so far left it (the cursor's own: read it, or
        copy it to keep)."""
        return self._state

    @property
    def resumed_from(self) -> LiveSnapshot | None:
        """Resumed from a log id: the snapshot of the first read, whose states may be older
        than that position; None otherwise (started from a snapshot, or no read yet)."""
        return self._resumed_at

    @property
    def start_line(self) -> int | None:
        """Started without ``since_log_id``: the first snapshot's time on the server's
        clock (rows from it on are news); None otherwise, or before that snapshot."""
        return self._horizon

    @property
    def started(self) -> bool:
        """True once the cursor has a position in the log."""
        return self.log_id is not None

    async def adopt(self, snapshot: LiveSnapshot) -> None:
        """:meth:`adopt_snapshot` with the start line on the server's clock: the
        snapshot's own time, or for one no row gave a time (nobody logged in) ours
        corrected by the token's ``clock_offset``, as the token's expiry is."""
        self.adopt_snapshot(snapshot, clock_offset=await self._clock_offset(snapshot))

    def adopt_snapshot(self, snapshot: LiveSnapshot, *, clock_offset: float = 0.0) -> None:
        """Take each agent's state from the first snapshot (start without ``since_log_id``).

        The start line is the snapshot's server time, or when it has none our clock plus
        ``clock_offset`` (the server's clock minus ours). Replaces what an earlier first
        poll adopted (its log read failed: the watcher starts here), and changes nothing
        when a row is a record error.
        """
        state = {agent_id: snapshot[agent_id] for agent_id in snapshot.rows}
        self._state = state
        self._baseline = set(state)
        self._moved = set()
        self._horizon = self._start_line(snapshot, clock_offset)
        self._adopted_at = self._client.clock.now()

    def _start_line(self, snapshot: LiveSnapshot, clock_offset: float) -> int:
        """The snapshot's server time, or ours plus ``clock_offset`` for one without."""
        return snapshot.server_ts or int(self._client.clock.now() + clock_offset)

    async def _clock_offset(self, snapshot: LiveSnapshot) -> float:
        """The server's clock minus ours, as measured when the token was fetched; 0 (no
        token read) for a snapshot whose rows give the server's time."""
        return 0.0 if snapshot.server_ts else (await self._client.tokens.get()).clock_offset

    def due(self, poll: int, *, changed: bool) -> bool:
        """Whether poll number ``poll`` needs a log read.

        Yes until a read succeeded, after a poll that saw a change, while the log
        has not accounted for the last read's snapshot (a row written late), and
        every ``log_every`` polls: a status that came and went between two polls
        changes nothing a poll can see.
        """
        if self._read_at is None or changed or self._unexplained:
            return True
        return poll - self._read_at >= self.log_every

    def explains(self, snapshot: LiveSnapshot) -> bool:
        """Whether the events so far account for every agent's state in ``snapshot``."""
        resumed = self._resumed_at.rows if self._resumed_at is not None else {}
        for agent_id, row in snapshot.rows.items():
            known = self._state.get(agent_id)
            if known is None:
                if row.get("status") != "offline" and not _same_row(resumed.get(agent_id), row):
                    return False
            elif known.status != row.get("status") or not _same_time(known, row.get("time")):
                return False
        return True

    async def read(
        self, snapshot: LiveSnapshot, *, poll: int, observed_at: datetime
    ) -> list[AgentEvent]:
        """Read the log after the cursor for poll number ``poll`` and return the new
        transitions as events."""
        if self.log_id is None:
            # No uid yet (started without since_log_id): a window before the first
            # snapshot, so rows written late for transitions it shows are recognised.
            # Anchored at that snapshot, not at this poll: a read that finds no row, or
            # fails, for longer than the lookback must not let the window pass rows after it.
            horizon = self._horizon
            if horizon is None:
                horizon = self._start_line(snapshot, await self._clock_offset(snapshot))
            rows = await self._client.status_log.read(tstart=int(horizon - self.lookback))
        else:
            rows = await self._read_after(self.log_id)
        events = self.events(rows, snapshot, observed_at=observed_at)
        if self._read_at is None and self._horizon is None:
            self._resumed_at = snapshot  # not started from a snapshot: from a log id
        self._read_at = poll
        self._unexplained = not self.explains(snapshot)
        return events

    async def _read_after(self, log_id: int) -> list[StatusLogEntry]:
        """Return the rows after ``log_id``; raises LogPositionError if the log refuses it."""
        try:
            return await self._client.status_log.read(uid=log_id + 1)
        except BadArgumentError as exc:
            if exc.argument != "uid":
                raise
            # The docs give ``uid`` as "ids >= this value", with no upper bound, and an
            # argument's refusal as ``Bad argument: xyz``. A position the log has not
            # reached is no row yet (its rows come when written), but one it refuses (the
            # simulator reads no id of more than 20 digits; the API's bound is not
            # documented) is refused again on every poll: polling cannot mend an argument.
            # A failed poll each interval for ever never said why, so the watcher stops
            # with this instead. Nothing is lost: no event after ``log_id`` was handed
            # out, and the caller's saved position stands.
            raise LogPositionError(
                f"status_log refused to read after log id {log_id} ({exc.error or exc}): "
                "resume from a log id the status log has written",
                log_id=log_id,
                error=exc.error,
                envelope=exc.envelope,
            ) from exc

    def events(
        self,
        rows: Sequence[StatusLogEntry],
        snapshot: LiveSnapshot | None,
        *,
        observed_at: datetime,
    ) -> list[AgentEvent]:
        """Turn log rows (any order) into events, each uid once, in uid order.

        Rows at or before the cursor, and a uid's second row, are dropped and
        counted in ``dropped``. Stops early (the cursor before the row) at a row
        that cannot be told apart yet from the history behind a snapshot-given
        state: it is read again on the next pass, when the log has caught up.
        """
        fresh = self._fresh(rows)
        if not fresh:
            return []
        horizon = self._horizon
        matches = self._baseline_matches(fresh) if self._baseline else {}
        live = _live_agents(snapshot, {row.agent_id for row in fresh})
        srvtime = snapshot.server_ts if snapshot is not None else 0
        events: list[AgentEvent] = []
        for index, row in enumerate(fresh):
            agent_id = row.agent_id
            if agent_id in self._baseline:
                known = self._state[agent_id]
                last_match = matches.get(agent_id, -1)
                if index <= last_match:
                    if index == last_match:
                        self._baseline.discard(agent_id)  # the row of the known state itself
                    self.log_id = row.log_id
                    continue
                if horizon is not None and row.started_ts < horizon:
                    self.log_id = row.log_id  # before the first snapshot: it shows this
                    continue
                if row.started_ts <= known.started_ts and not self._grace_over():
                    break  # history or news? wait until the log shows the known state's row
                self._baseline.discard(agent_id)
            elif horizon is not None and row.started_ts < horizon and agent_id not in self._moved:
                shown = self._state.get(agent_id)
                if shown is None or row.started_ts <= shown.started_ts:
                    # History: of an agent the first snapshot did not list, or of the second
                    # its state began in (the same state twice in it matched the first).
                    self.log_id = row.log_id
                    continue
                # Later than the state the snapshot showed, yet dated before it: the
                # server's clock stepped back. News, as it would be after a since_log_id.
            if horizon is not None:
                self._moved.add(agent_id)  # every later row of it is news, whatever its time
            self.log_id = row.log_id
            before = self._state.get(agent_id)
            after = self._after(row, before, live.get(agent_id), srvtime)
            self._state[agent_id] = after
            events.append(
                AgentEvent(
                    kind="changed" if before is not None else "appeared",
                    agent_id=agent_id,
                    before=before,
                    after=after,
                    changed_at=utc(row.started_ts),
                    observed_at=observed_at,
                    source="status_log",
                    log_id=row.log_id,
                    previous_duration=float(row.started_ts - before.started_ts)
                    if before is not None and row.started_ts >= before.started_ts
                    else None,
                    id=f"log:{row.log_id}",
                )
            )
        return events

    def _fresh(self, rows: Sequence[StatusLogEntry]) -> list[StatusLogEntry]:
        """The rows after the cursor, one per uid, in uid order; the others are counted."""
        cursor = self.log_id
        fresh: list[StatusLogEntry] = []
        behind = twice = 0
        for row in sorted(rows, key=_by_log_id):
            if cursor is not None and row.log_id <= cursor:
                behind += 1
            elif fresh and row.log_id == fresh[-1].log_id:
                twice += 1
            else:
                fresh.append(row)
        if behind or twice:
            self.dropped += behind + twice
            logger.warning(
                "status_log answered %d row(s) at or before uid %s and %d uid(s) twice: "
                "dropped (each uid is handed out once, in order)",
                behind,
                cursor,
                twice,
            )
        return fresh

    def _baseline_matches(self, rows: Sequence[StatusLogEntry]) -> dict[str, int]:
        """For each snapshot-given agent, the index of the last row that *is* its known state."""
        matches: dict[str, int] = {}
        for index, row in enumerate(rows):
            if row.agent_id in self._baseline:
                known = self._state[row.agent_id]
                if (
                    row.started_ts == known.started_ts
                    and row.status == known.status
                    and row.sub_status == known.sub_status
                ):
                    matches[row.agent_id] = index
        return matches

    def _grace_over(self) -> bool:
        """A known state's row that never shows up stops holding the cursor after a while:
        ``grace`` seconds of our clock from the snapshot's adoption (not from its server
        time, which a host whose clock is off would reach late or early)."""
        return self._horizon is None or self._client.clock.now() > self._adopted_at + self.grace

    @staticmethod
    def _after(
        row: StatusLogEntry, before: LiveAgent | None, current: LiveAgent | None, srvtime: int
    ) -> LiveAgent:
        """The agent's state the row describes, with the live agent's (``current``) name
        and call."""
        if (
            current is not None
            and current.started_ts == row.started_ts
            and current.status == row.status
        ):
            calls = current.calls
        elif row.call_id is not None:
            calls = (Call(call_id=row.call_id),)
        else:
            calls = ()
        source = current or before
        return LiveAgent(
            agent_id=row.agent_id,
            name=source.name if source is not None else "",
            status=row.status,
            sub_status=row.sub_status,
            started_ts=row.started_ts,
            server_ts=max(srvtime, row.started_ts),
            moh=source.moh if source is not None else "",
            centre_name=source.centre_name if source is not None else "",
            customer=source.customer if source is not None else "",
            calls=calls,
            raw=row.raw,
        )


def _live_agents(snapshot: LiveSnapshot | None, agent_ids: set[str]) -> dict[str, LiveAgent]:
    """The snapshot's agents of ``agent_ids`` (those it lists), built before the cursor
    moves: a live row no model can hold fails the read (a record error) with the cursor
    where it was, so its rows are read again, not lost."""
    if snapshot is None:
        return {}
    rows = snapshot.rows
    return {agent_id: snapshot[agent_id] for agent_id in agent_ids if agent_id in rows}


def _by_log_id(row: StatusLogEntry) -> int:
    return row.log_id


def _same_row(first: Mapping[str, object] | None, row: Mapping[str, object]) -> bool:
    """Whether a live row shows the state ``first`` (a row of the same agent) showed, as
    the server sent them."""
    return (
        first is not None
        and first.get("status") == row.get("status")
        and first.get("time") == row.get("time")
    )


def _same_time(known: LiveAgent, wire: object) -> bool:
    """Whether a live row's ``time`` is ``known``'s start: as text at once, else read as
    every live row's time is (PHP's ``"1700000000.0"`` is 1700000000, not another time)."""
    if str(known.started_ts) == str(wire):
        return True
    try:
        return unix_seconds(wire, "time") == known.started_ts
    except ValueError:
        return False
