"""A simulator served by uvicorn in its own process: ``python -m benchmarks._server``.

Prints one line with the base URL, then serves until terminated. Configured as
``contactnow_async.simulator.serve`` configures uvicorn (h11, TCP_NODELAY via
``IPPROTO_TCP``, the simulator's own ``Date``), with request recording off.
"""

from __future__ import annotations

import argparse

import uvicorn

from contactnow_async.simulator import FaultKind, Simulator
from contactnow_async.simulator._serve import _bind, _config

from ._common import PASSWORD, USERNAME


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to each data call"
    )
    options = parser.parse_args()
    sim = Simulator(
        username=USERNAME, password=PASSWORD, agents=options.agents, seed=1, record_requests=False
    )
    if options.latency:
        # A stand-in for the network between a client and the real API.
        sim.faults.set_rate(1.0, [FaultKind.LATENCY], script="database", latency=options.latency)
    # The same socket and uvicorn settings as simulator.serve(), so both measure alike.
    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = _config(uvicorn, sim, backlog=4096)
    server = uvicorn.Server(config)
    print(f"serving http://127.0.0.1:{port}/", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
