"""One uvicorn server on 127.0.0.1 for the whole session, showing each test's own simulator.

Starting and stopping ``serve()`` for every test costs about 0.2 s (uvicorn's
shutdown waits on its 0.1 s ticks), most of it for tests whose point is one
fresh simulator each. The stage keeps the server and swaps the simulator: a
test puts its own on the stage for the length of a block, so no state is
shared between tests, only the socket.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any, cast

import anyio
import anyio.to_thread

from contactnow_async.simulator import Simulator, serve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class Stage:
    """An ASGI app that hands each request to the simulator now on the stage."""

    def __init__(self) -> None:
        self.base_url = ""
        self._sim: Simulator | None = None

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        sim = self._sim
        if sim is None:
            raise RuntimeError("a request reached the stage with no simulator on it")
        await sim(scope, receive, send)

    @contextlib.asynccontextmanager
    async def showing(self, sim: Simulator) -> AsyncIterator[str]:
        """Serve ``sim`` for the block (``async with``, beside the client); yields the base URL."""
        if self._sim is not None:
            raise RuntimeError("the stage already shows a simulator")
        self._sim = sim
        try:
            yield self.base_url
        finally:
            self._sim = None


@contextlib.contextmanager
def staged() -> Iterator[Stage]:
    """A :class:`Stage` served by ``serve()`` on 127.0.0.1, in a thread of its own."""
    stage = Stage()
    urls: queue.Queue[str | BaseException] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        try:
            # serve() only hands its simulator to uvicorn as the ASGI app.
            async with serve(cast("Simulator", stage)) as base_url:
                urls.put(base_url)
                await anyio.to_thread.run_sync(stop.wait)
        except BaseException as exc:  # pragma: no cover -- reported to the fixture
            urls.put(exc)
            raise

    thread = threading.Thread(target=anyio.run, args=(main,), daemon=True, name="stage")
    thread.start()
    got = urls.get(timeout=30)
    if isinstance(got, BaseException):  # pragma: no cover
        raise got
    stage.base_url = got
    try:
        yield stage
    finally:
        stop.set()
        thread.join(timeout=30)
