"""Drive a wallboard in process: event streams read as they are written, over raw ASGI.

httpx's ASGITransport waits for a whole response, which an event stream never
finishes; :func:`open_events` calls the app itself and parses what it sends, a
frame at a time, on asyncio or trio. Leaving the block disconnects the client
(``http.disconnect``) and waits for the app to return.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import anyio
import attrs
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream


@attrs.frozen
class Frame:
    """One SSE event: ``event``, ``data`` and ``id`` (None when it has no id line)."""

    event: str
    data: str
    id: str | None


class EventReader:
    """Reads SSE frames from the messages an ASGI app sends."""

    def __init__(self, messages: MemoryObjectReceiveStream[dict[str, Any]]) -> None:
        self._messages = messages
        self._text = ""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.comments: list[str] = []
        self.retry: int | None = None
        self.ended = False
        self._parsed: list[Frame] = []

    async def start(self) -> None:
        message = await self._messages.receive()
        assert message["type"] == "http.response.start", message
        self.status = message["status"]
        self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}

    async def next(self) -> Frame | None:
        """The next event (comments and ``retry`` are recorded); None once the stream ended."""
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            if self.ended:
                return None
            await self._receive()

    async def _receive(self) -> None:
        try:
            message = await self._messages.receive()
        except anyio.EndOfStream:
            self.ended = True
            return
        self._text += message.get("body", b"").decode()
        if not message.get("more_body", False):
            self.ended = True

    async def heartbeat(self, *, within: float = 30.0) -> str:
        """Read until the next comment (events before it are kept for :meth:`next`)."""
        seen = len(self.comments)
        with anyio.fail_after(within):
            while len(self.comments) == seen:
                self._parse_all()
                if len(self.comments) > seen or self.ended:
                    break
                await self._receive()
        assert len(self.comments) > seen, "the stream ended without a comment"
        return self.comments[seen]

    async def take(self, count: int, *, within: float = 30.0) -> list[Frame]:
        """The next ``count`` events (fails if the stream ends or stalls first)."""
        frames: list[Frame] = []
        with anyio.fail_after(within):
            while len(frames) < count:
                frame = await self.next()
                assert frame is not None, f"the stream ended after {len(frames)} events"
                frames.append(frame)
        return frames

    def _parse_all(self) -> None:
        while (frame := self._parse_text()) is not None:
            self._parsed.append(frame)

    def _parse(self) -> Frame | None:
        if self._parsed:
            return self._parsed.pop(0)
        return self._parse_text()

    def _parse_text(self) -> Frame | None:
        while "\n\n" in self._text:
            block, self._text = self._text.split("\n\n", 1)
            event, data, event_id = "message", [], None
            for line in block.split("\n"):
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "":
                    self.comments.append(value)
                elif field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
                elif field == "retry":
                    self.retry = int(value)
            if data:
                return Frame(event=event, data="\n".join(data), id=event_id)
        return None


@asynccontextmanager
async def open_events(
    app: Any,
    *,
    query: Mapping[str, str | list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    path: str = "/events",
    buffered: bool = True,
    method: str = "GET",
) -> AsyncIterator[EventReader]:
    """``GET /events`` on ``app`` in process; yields the reader once headers are in.

    ``buffered=False``: every write waits until the test reads it (a slow client).
    ``method``: another request method (``HEAD``).
    """
    send_stream, receive_stream = anyio.create_memory_object_stream[dict[str, Any]](
        float("inf") if buffered else 0
    )
    gone = anyio.Event()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query or {}, doseq=True).encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50_000),
        "server": ("wallboard.test", 80),
    }

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        # The test stopped reading: the client is gone.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await send_stream.send(message)

    async def call() -> None:
        async with send_stream:
            await app(scope, receive, send)

    reader = EventReader(receive_stream)
    async with anyio.create_task_group() as group:
        group.start_soon(call)
        try:
            with anyio.fail_after(30):
                await reader.start()
            yield reader
        finally:
            gone.set()
            receive_stream.close()


def last_id(frames: list[Frame]) -> str:
    """The id of the last frame, as a browser keeps it for Last-Event-ID."""
    assert frames and frames[-1].id is not None
    return frames[-1].id


def client_for(app: Any) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process (for the endpoints that end)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://wallboard.test"
    )
