"""A live wallboard for browsers: agent events over SSE that resume without a gap.

The ``web`` extra (``pip install 'contactnow-async[web]'``)::

    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from contactnow_async import AgentWatcher, ContactNow
    from contactnow_async.web import wallboard_app

    cn = ContactNow(...)
    wallboard = wallboard_app(AgentWatcher(cn, backfill=True))

    @asynccontextmanager
    async def lifespan(app):
        async with cn, wallboard.lifespan():  # the client is the caller's to close
            yield

    app = FastAPI(lifespan=lifespan)
    app.mount("/wallboard", wallboard)

Endpoints (relative to where it is mounted):

``GET /``
    the page: a table of agents with their time in status, counts per status, and
    the queue KPIs when the wallboard has them.
``GET /events``
    Server-Sent Events: ``event: agent``, ``data:`` the event JSON of
    :mod:`contactnow_async.events`, ``id:`` the status_log uid (a watcher) or the
    stream entry id (Redis). ``Last-Event-ID`` (or ``?last_event_id=``) resumes
    after that event with no gap and no duplicate while it is within the retained
    window; otherwise, or when the browser falls behind, ``event: reset`` (refetch
    the snapshot) ends the stream. ``?agent=ID`` (repeatable) filters.
``GET /snapshot``
    ``{"cursor", "server_ts", "clock_speed", "source", "agents": [...]}``: resume
    the events from ``cursor``; ``server_ts`` is the centre's clock now (the host's,
    corrected by the offset the agents' rows show: see ``_centre.py``), what the page
    ticks from at ``clock_speed`` to show each agent's time since its ``started_ts``.
``GET /kpis``
    the queue KPIs of ``wallboard_app(..., kpis=QueueKpis(client))`` (404 without):
    calls today, answered, abandoned, service level, longest wait; ``/events`` sends
    ``event: kpis`` with the same JSON when they change (see ``_kpis.py``).
``GET /healthz``
    the source's health, and the board's (``centre_clock``: the offset, and the rows
    whose ``server_ts`` was ignored as implausible); 200 while events flow, 503 while
    the source is failing.
``GET /stream-token``
    a short-lived token for the EventSource URL (see ``_auth.py``).

With ``auth_token``, every endpoint but the page and ``/healthz`` needs
``Authorization: Bearer <token>`` or ``?access_token=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import starlette  # noqa: F401 -- fail early, with the install hint
except ImportError as exc:  # pragma: no cover -- the extra is installed in the tests
    raise ImportError(
        "contactnow_async.web needs Starlette: pip install 'contactnow-async[web]'"
    ) from exc

from ..kpis import QueueKpis
from ._app import Wallboard, wallboard_app
from ._sources import Source, WatcherSource

if TYPE_CHECKING:
    from ._redis import RedisStreamSource

__all__ = [
    "QueueKpis",
    "RedisStreamSource",
    "Source",
    "Wallboard",
    "WatcherSource",
    "wallboard_app",
]


def __getattr__(name: str) -> Any:
    # The Redis source needs the redis extra: imported when asked for, not before.
    if name == "RedisStreamSource":
        try:
            import redis.asyncio  # noqa: F401 -- fail with the install hint, not in _redis
        except ImportError as exc:
            raise ImportError(
                "contactnow_async.web.RedisStreamSource needs redis-py: "
                "pip install 'contactnow-async[redis]'"
            ) from exc
        from ._redis import RedisStreamSource

        return RedisStreamSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
