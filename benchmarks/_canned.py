"""A canned-reply HTTP/1.1 server in its own process: ``python -m benchmarks._canned``.

Not the simulator: a minimal asyncio protocol that answers every request with
fixed bytes (a token envelope for ``token.php``, a pre-rendered 25-agent
``database.php`` read for anything else), on kept-alive connections unless the
request says ``Connection: close``. It does no work per request beyond finding
the end of the headers, so the client's cost is what a comparison measures.
Prints one line with the base URL, then serves until terminated.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import anyio
import httpx

from contactnow_async.simulator import Simulator

from ._common import PASSWORD, USERNAME


def _reply(body: bytes, *, close: bool = False) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _agents_body() -> bytes:
    """The simulator's own reply to a 25-agent ``database.php`` read, rendered once."""
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=25, seed=1, record_requests=False)
    params = {"method": "agents", "action": "read", "format": "json", "raw": "1",
              "token": sim.issue_token()}  # fmt: skip
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        return (await http.get("database.php", params=params)).content


TOKEN = json.dumps({"success": True, "token": "c" * 40, "expire": 4102444800}).encode()


class _Canned(asyncio.Protocol):
    def __init__(self, replies: dict[bool, dict[bool, bytes]]) -> None:
        self._replies = replies
        self._buffer = b""
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head, buffer = buffer[:end], buffer[end + 4 :]  # GETs only: no body to skip
            close = b"connection: close" in head.lower()
            self._transport.write(self._replies[b"/token.php" in head[:200]][close])
            if close:
                self._transport.close()
                return
        self._buffer = buffer


def main() -> None:
    agents = anyio.run(_agents_body)
    replies = {
        flag: {close: _reply(body, close=close) for close in (False, True)}
        for flag, body in ((True, TOKEN), (False, agents))
    }

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Canned(replies), "127.0.0.1", 0, backlog=4096)
        port = server.sockets[0].getsockname()[1]
        print(f"serving http://127.0.0.1:{port}/", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
