"""7. Import cost: ``import contactnow_async`` vs ``import httpx`` in a fresh process.

Each round starts three interpreters, in rotating order: bare (``pass``),
``import httpx`` and ``import contactnow_async``; an import's cost is its
process time minus the bare one of the same round. Also reported: the
library's import / httpx's (the library imports httpx, anyio, attrs and
xmltodict, so it is at least httpx's).
"""

from __future__ import annotations

import subprocess
import sys

from ._common import Mode, Row, now, row

NAME = "7 import cost"


def _time(code: str) -> float:
    started = now()
    subprocess.run([sys.executable, "-c", code], check=True)
    return now() - started


#: rounds of three interpreters by mode
REPEATS: dict[Mode, int] = {"full": 15, "quick": 4, "smoke": 1}


async def run(mode: Mode) -> list[Row]:
    repeats = REPEATS[mode]
    codes = {"bare": "pass", "httpx": "import httpx", "library": "import contactnow_async"}
    order = list(codes)
    nets: dict[str, list[float]] = {"httpx": [], "library": []}
    for index in range(repeats):
        rotated = order[index % 3 :] + order[: index % 3]
        times = {name: _time(codes[name]) for name in rotated}
        for name in nets:
            nets[name].append(times[name] - times["bare"])
    return [
        row(NAME, "import httpx (net of bare start)", [t * 1000 for t in nets["httpx"]], "ms"),
        row(NAME, "import contactnow_async (net)", [t * 1000 for t in nets["library"]], "ms"),
        row(
            NAME,
            "contactnow_async / httpx",
            [lib / base for lib, base in zip(nets["library"], nets["httpx"], strict=True)],
            "x",
        ),
    ]
