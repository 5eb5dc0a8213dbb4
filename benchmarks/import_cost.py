"""7. Import cost: ``import contactnow_async`` vs ``import httpx`` in a fresh process.

Each round starts four interpreters, in rotating order: bare (``pass``),
``import httpx``, ``import contactnow_async``, and a user's first use (import
``ContactNow``, make a client, touch ``cn.agents``: the group and its models are
imported at that first use); an import's cost is its process time minus the bare
one of the same round. Also reported: each against httpx's (the library imports
httpx, anyio and attrs, so it is at least httpx's). The first use has no target:
it is there so that what a lazy import leaves for later still shows.

Every interpreter reads compiled bytecode, as an installed package's users do
(``pip`` compiles it): the children run with a ``PYTHONPYCACHEPREFIX`` of their
own, warmed by one untimed run of each, whatever ``PYTHONDONTWRITEBYTECODE`` says.
Without it the library's sources, unlike httpx's, would be compiled at every start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from ._common import Mode, Row, now, row

NAME = "7 import cost"

#: The library's import over httpx's.
TARGET = 1.15

CODES = {
    "bare": "pass",
    "httpx": "import httpx",
    "library": "import contactnow_async",
    "first use": (
        "from contactnow_async import ContactNow\n"
        "cn = ContactNow(username='u', password='p', base_url='http://127.0.0.1:1/')\n"
        "cn.agents"
    ),
}


def _time(code: str, env: dict[str, str]) -> float:
    started = now()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return now() - started


#: rounds of four interpreters by mode
REPEATS: dict[Mode, int] = {"full": 15, "quick": 4, "smoke": 1}


async def run(mode: Mode) -> list[Row]:
    repeats = REPEATS[mode]
    order = list(CODES)
    nets: dict[str, list[float]] = {name: [] for name in order[1:]}
    with tempfile.TemporaryDirectory(prefix="import-cost-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for code in CODES.values():  # untimed: fills the bytecode cache
            _time(code, env)
        for index in range(repeats):
            shift = index % len(order)
            rotated = order[shift:] + order[:shift]
            times = {name: _time(CODES[name], env) for name in rotated}
            for name in nets:
                nets[name].append(times[name] - times["bare"])

    def ratio(name: str) -> list[float]:
        return [lib / base for lib, base in zip(nets[name], nets["httpx"], strict=True)]

    return [
        row(NAME, "import httpx (net of bare start)", [t * 1000 for t in nets["httpx"]], "ms"),
        row(NAME, "import contactnow_async (net)", [t * 1000 for t in nets["library"]], "ms"),
        row(
            NAME,
            "contactnow_async / httpx",
            ratio("library"),
            "x",
            target=f"<= {TARGET}",
            check=lambda r: r <= TARGET,
        ),
        row(
            NAME,
            "first use: ContactNow(...) and cn.agents (net)",
            [t * 1000 for t in nets["first use"]],
            "ms",
        ),
        row(NAME, "first use / httpx", ratio("first use"), "x"),
    ]
