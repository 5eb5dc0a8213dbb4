"""7. Import cost: ``import contactnow_async`` vs ``import httpx`` in a fresh process.

Each round starts four interpreters, in rotating order: bare (``pass``),
``import httpx``, ``import contactnow_async``, and a user's first use (import
``ContactNow``, make a client, touch ``cn.agents``: the group and its models are
imported at that first use); an import's cost is its process time minus the bare
one of the same round. Also reported: each against httpx's (the library imports
httpx, anyio and attrs, so it is at least httpx's). The first use has no target:
it is there so that what a lazy import leaves for later still shows. Nor has the
floor: ``import httpx, attrs, anyio``, the packages the library requires (its
models are attrs classes), against httpx alone.

Every interpreter reads compiled bytecode, as an installed package's users do
(``pip`` compiles it): the children run with a ``PYTHONPYCACHEPREFIX`` of their
own, warmed by one untimed run of each, whatever ``PYTHONDONTWRITEBYTECODE`` says.
Without it the library's sources, unlike httpx's, would be compiled at every start.
``--smoke`` (only that it runs) has no cache of its own to warm: its children use the
environment's (``__pycache__`` beside the sources, which ``pip`` filled for the installed
packages, or its ``PYTHONPYCACHEPREFIX``), so that each does not compile httpx and the
library again.

The target is measured as the library installs (its four packages and theirs):
``import httpx`` also imports httpx's command line (click, rich, pygments: ~40 ms)
when those happen to be installed, as they are beside our ``[cli]`` extra and in
this repository's dev environment, which would make the ratio look ~0.2 better
than a user of the core gets. So every interpreter of that setting starts with
those three marked absent (``sys.modules[name] = None``: their import fails, as
without them, and httpx falls back to its stub ``main``). The same rounds also run
as the environment is, where they are installed, for comparison (no target).
"""

from __future__ import annotations

import importlib.util
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
    # The floor: what the library cannot import less than (httpx, and attrs: its models).
    "httpx and attrs": "import httpx, attrs, anyio",
    "first use": (
        "from contactnow_async import ContactNow\n"
        "cn = ContactNow(username='u', password='p', base_url='http://127.0.0.1:1/')\n"
        "cn.agents"
    ),
}

#: httpx's command-line packages, marked absent for the target's setting (see the module).
HTTPX_CLI = ("click", "rich", "pygments")
#: A setting's label and the line its interpreters start with.
SETTINGS = {
    "core install": f"import sys; sys.modules.update(dict.fromkeys({HTTPX_CLI!r}))\n",
    "with httpx's CLI packages installed": "",
}


def _time(code: str, env: dict[str, str]) -> float:
    started = now()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return now() - started


def _cli_installed() -> bool:
    """Whether httpx would find its command line here (the children run this interpreter)."""
    return importlib.util.find_spec(HTTPX_CLI[0]) is not None


#: rounds of interpreters by mode
REPEATS: dict[Mode, int] = {"full": 15, "quick": 4, "smoke": 1}


async def run(mode: Mode) -> list[Row]:
    repeats = REPEATS[mode]
    # --smoke (only that it runs): the target's setting, on the usual bytecode caches
    # (no cache of its own to warm).
    smoke = mode == "smoke"
    settings = list(SETTINGS) if _cli_installed() and not smoke else ["core install"]
    runs = [(setting, name) for setting in settings for name in CODES]
    nets: dict[tuple[str, str], list[float]] = {key: [] for key in runs if key[1] != "bare"}
    with tempfile.TemporaryDirectory(prefix="import-cost-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if not smoke:
            env["PYTHONPYCACHEPREFIX"] = cache
        for setting, name in [] if smoke else runs:  # untimed: fills the bytecode cache
            _time(SETTINGS[setting] + CODES[name], env)
        for index in range(repeats):
            shift = index % len(runs)
            rotated = runs[shift:] + runs[:shift]
            times = {key: _time(SETTINGS[key[0]] + CODES[key[1]], env) for key in rotated}
            for setting, name in nets:
                nets[setting, name].append(times[setting, name] - times[setting, "bare"])

    rows = []
    for setting in settings:

        def ms(name: str, setting: str = setting) -> list[float]:
            return [t * 1000 for t in nets[setting, name]]

        def ratio(name: str, setting: str = setting) -> list[float]:
            return [
                lib / base
                for lib, base in zip(nets[setting, name], nets[setting, "httpx"], strict=True)
            ]

        core = setting == "core install"
        rows += [
            row(NAME, f"{setting}: import httpx (net of bare start)", ms("httpx"), "ms"),
            row(NAME, f"{setting}: import contactnow_async (net)", ms("library"), "ms"),
            row(
                NAME,
                f"{setting}: contactnow_async / httpx",
                ratio("library"),
                "x",
                target=f"<= {TARGET}" if core else "",
                check=(lambda r: r <= TARGET) if core else None,
            ),
            row(
                NAME,
                f"{setting}: first use: ContactNow(...) and cn.agents (net)",
                ms("first use"),
                "ms",
            ),
            row(NAME, f"{setting}: first use / httpx", ratio("first use"), "x"),
            row(
                NAME,
                f"{setting}: floor: import httpx, attrs, anyio (the required packages) / httpx",
                ratio("httpx and attrs"),
                "x",
            ),
        ]
    return rows
