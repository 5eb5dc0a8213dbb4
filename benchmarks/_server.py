"""A simulator served by uvicorn in its own process: ``python -m benchmarks._server``.

Prints one line with the base URL, then serves until terminated. Configured as
``contactnow_async.simulator.serve`` configures uvicorn (h11, TCP_NODELAY via
``IPPROTO_TCP``, the simulator's own ``Date``), with request recording off.

``--rtt`` puts a model of the network between the client and the API in
front of the simulator (:class:`NetworkModel`). ``--stamps`` serves each
status change with its wall-clock time (:class:`Stamps`).
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections import OrderedDict
from typing import Any

import anyio
import uvicorn

from contactnow_async.simulator import Dwell, FaultKind, Simulator
from contactnow_async.simulator._serve import _bind, _config

from ._common import PASSWORD, USERNAME


class NetworkModel:
    """Delay each reply as a network with round-trip time ``rtt`` would.

    A request on a kept-alive connection costs one round trip. The first
    request on a new connection also pays the handshakes the real API (HTTPS)
    requires before it: TCP (one round trip) and TLS 1.3 (one more), so
    ``handshake_rtts`` = 2 (TLS 1.2 would be 3). A new connection is a client
    port not seen among the last 16,384; a port the OS reuses within that
    window is mistaken for a kept-alive connection, which only flatters the
    client that opens a connection per call.
    """

    def __init__(self, app: Any, *, rtt: float, handshake_rtts: int = 2) -> None:
        self.app = app
        self.rtt = rtt
        self.handshake_rtts = handshake_rtts
        self.connections = 0
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            delay = self.rtt
            peer = tuple(scope.get("client") or ("", 0))
            if peer in self._seen:
                self._seen.move_to_end(peer)
            else:
                self.connections += 1
                self._seen[peer] = None
                if len(self._seen) > 16_384:
                    self._seen.popitem(last=False)
                delay += self.handshake_rtts * self.rtt
            await anyio.sleep(delay)
        await self.app(scope, receive, send)


class Stamps:
    """``GET /bench/changes?after=UID``: every status change after that log uid, as
    JSON ``[[uid, wall-clock time, agent, status, subcode], ...]``.

    The scenario plays a change at its own moment on the simulator's clock (wall
    time here), whenever a request makes it catch up: that moment is the change's
    stamp, as precise as a float, where the API's ``time`` is whole seconds.
    """

    def __init__(self, app: Any, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/bench/changes":
            await self.app(scope, receive, send)
            return
        query = dict(urllib.parse.parse_qsl(scope["query_string"].decode()))
        after = int(query.get("after", "0"))
        sim = self.sim
        with sim._lock:  # the benchmark's own window on the scenario
            sim._scenario.advance(sim.clock.now())
            rows = sim._scenario.log_rows(visible_before=None, uid_low=after + 1)
        body = json.dumps([list(r[:5]) for r in rows]).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to each data call"
    )
    parser.add_argument(
        "--rtt", type=float, default=0.0, help="network round trip (see NetworkModel)"
    )
    parser.add_argument("--stamps", action="store_true", help="serve /bench/changes (Stamps)")
    parser.add_argument(
        "--dwell", type=float, default=0.0, help="mean seconds in every status (default: varied)"
    )
    options = parser.parse_args()
    sim = Simulator(
        username=USERNAME,
        password=PASSWORD,
        agents=options.agents,
        seed=1,
        record_requests=False,
        dwell=Dwell.uniform(options.dwell) if options.dwell else None,
    )
    if options.latency:
        # A stand-in for the network between a client and the real API.
        sim.faults.set_rate(1.0, [FaultKind.LATENCY], script="database", latency=options.latency)
    # The same socket and uvicorn settings as simulator.serve(), so both measure alike.
    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app: Any = NetworkModel(sim, rtt=options.rtt) if options.rtt else sim
    if options.stamps:
        app = Stamps(app, sim)
    config = _config(uvicorn, app, backlog=4096)
    server = uvicorn.Server(config)
    print(f"serving http://127.0.0.1:{port}/", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
