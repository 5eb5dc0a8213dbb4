"""Issue 16's before and after on one machine: two trees of the library, taking turns.

``python -m benchmarks.before_after BEFORE_TREE [AFTER_TREE]`` (``AFTER_TREE``: this
checkout). Each tree is a directory holding a ``contactnow_async`` package (for
example ``git archive e876421 | tar -x -C /tmp/before``); each figure is taken in
fresh interpreters whose ``PYTHONPATH`` names the tree, the two trees alternating,
with the same scripts, which use only the public API both trees have (each child
runs in its tree's directory: ``python -c`` puts the working directory first on
``sys.path``):

- **typed read**: ``await cn.live.agents()`` of 10,000 agents / ``httpx`` +
  ``json.loads`` of the same body over the same ``httpx.MockTransport``, the
  standard library's JSON decoder (median of 11 pairs an interpreter, 3 interpreters);
- **import**: ``import contactnow_async`` / ``import httpx``, each in its own fresh
  interpreter, bytecode compiled beforehand, httpx's command-line packages marked absent
  as in benchmark 7's target row (15 rounds);
- **wire**: 300 ``cn.agents.read()`` at C=20 / raw aiohttp's 300 reads, against the
  canned-reply server (``_canned``) in its own process, the library as it installs
  here (median of 9 pairs an interpreter, 2 interpreters).

Within each figure the two sides take turns going first.

Needs the ``[speed]`` extra (aiohttp) installed for the wire's baseline.
"""

from __future__ import annotations

import asyncio
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .import_cost import SETTINGS

#: Each import's interpreter starts as benchmark 7's target setting does: without httpx's
#: command line (click, rich, pygments), which ``import httpx`` loads where they are
#: installed (this repository's dev environment) and which flatter the ratio by ~0.2.
CORE_INSTALL = SETTINGS["core install"].replace("\n", "; ")
#: A child's script for each figure: prints one JSON list of ratios.
TYPED = r"""
import asyncio, gc, json, statistics, time, httpx
import contactnow_async
try:
    from contactnow_async._wire import set_json_decoder
    set_json_decoder("stdlib")
except ImportError:  # the old tree decodes with the standard library only
    pass
body = open(BODY, "rb").read()
TOKEN = b'{"success":true,"token":"t","expire":4102444800}'
def handler(request):
    content = TOKEN if request.url.path.endswith("token.php") else body
    return httpx.Response(200, content=content, headers={"content-type": "application/json"})
def settled(started):
    gc.collect(0)
    return time.perf_counter() - started
async def main():
    mock = httpx.MockTransport(handler)
    http = httpx.AsyncClient(transport=mock)
    async with http, contactnow_async.ContactNow(
        username="bench", password="bench-password", base_url="http://sim/",
        http_client=httpx.AsyncClient(transport=mock)) as cn:
        await cn.live.agents(include_offline=True)
        async def ours():
            gc.collect(); started = time.perf_counter()
            agents = await cn.live.agents(include_offline=True)
            elapsed = settled(started)
            del agents
            return elapsed
        async def theirs():
            gc.collect(); started = time.perf_counter()
            reply = await http.get("http://sim/ajax.php"); decoded = json.loads(reply.content)
            elapsed = settled(started)
            del decoded
            return elapsed
        await theirs()
        ratios = []
        for index in range(11):  # the two sides take turns going first
            if index % 2 == 0:
                library = await ours(); baseline = await theirs()
            else:
                baseline = await theirs(); library = await ours()
            ratios.append(library / baseline)
    print(json.dumps([statistics.median(ratios)]))
asyncio.run(main())
"""

WIRE = r"""
import asyncio, json, statistics, time, aiohttp, httpx
import contactnow_async
async def workers(calls, concurrency, call):
    left = iter(range(calls))
    async def worker():
        for _ in left:
            await call()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started
async def main():
    async with httpx.AsyncClient() as http:
        reply = await http.get(BASE + "token.php", params={"action": "get",
            "username": "bench", "password": "bench-password", "format": "json"})
        token = reply.json()["token"]
    params = {"action": "read", "format": "json", "raw": "1", "method": "agents", "token": token}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20)) as session, \
            contactnow_async.ContactNow(username="bench", password="bench-password",
                                        base_url=BASE, max_concurrency=20) as cn:
        async def raw():
            async with session.get(BASE + "database.php", params=params) as reply:
                assert json.loads(await reply.read())["success"]
        async def library():
            await cn.agents.read()
        await workers(40, 20, raw); await workers(40, 20, library)
        ratios = []
        for index in range(9):  # the two sides take turns going first
            if index % 2 == 0:
                ours = await workers(300, 20, library); theirs = await workers(300, 20, raw)
            else:
                theirs = await workers(300, 20, raw); ours = await workers(300, 20, library)
            ratios.append(ours / theirs)
    print(json.dumps([statistics.median(ratios)]))
asyncio.run(main())
"""


def child(tree: Path, script: str) -> list[float]:
    """Run ``script`` in a fresh interpreter importing the library from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tree, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def import_seconds(tree: Path, module: str) -> float:
    """Seconds ``import module`` takes in a fresh interpreter, as the library installs:
    httpx's command-line packages marked absent (benchmark 7's target setting)."""
    script = CORE_INSTALL + (
        "import time; started = time.perf_counter(); import " + module + "; "
        "print(time.perf_counter() - started)"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tree, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return float(done.stdout.strip())


def main() -> None:
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    before = Path(sys.argv[1]).resolve()
    after = Path(sys.argv[2] if len(sys.argv) == 3 else Path(__file__).parents[1]).resolve()
    trees = {"before": before, "after": after}
    for tree in trees.values():
        if not (tree / "contactnow_async" / "__init__.py").is_file():
            raise SystemExit(f"{tree}: no contactnow_async package there")
        compileall.compile_dir(tree / "contactnow_async", quiet=1)
        where = subprocess.run(
            [sys.executable, "-c", "import contactnow_async; print(contactnow_async.__file__)"],
            env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree, capture_output=True,
            text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if not Path(where).is_relative_to(tree):
            raise SystemExit(f"{tree}: a child imported the library from {where} instead")
    from ._common import served_canned
    from .poll_cost import render

    figures: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    _, content = asyncio.run(render(10_000, "json"))
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "ajax.json"
        body.write_bytes(content)
        for _ in range(3):
            for name, tree in trees.items():
                ratios = child(tree, f"BODY = {str(body)!r}\n" + TYPED)
                figures[name].setdefault("typed read", []).extend(ratios)
                print(name, "typed read", ratios, flush=True)
    for index in range(15):
        for name, tree in trees.items():
            if index % 2 == 0:  # the two imports take turns going first
                ours = import_seconds(tree, "contactnow_async")
                httpx_alone = import_seconds(tree, "httpx")
            else:
                httpx_alone = import_seconds(tree, "httpx")
                ours = import_seconds(tree, "contactnow_async")
            figures[name].setdefault("import", []).append(ours / httpx_alone)
    with served_canned() as base_url:
        for _ in range(2):
            for name, tree in trees.items():
                ratios = child(tree, f"BASE = {base_url!r}\n" + WIRE)
                figures[name].setdefault("wire", []).extend(ratios)
                print(name, "wire", ratios, flush=True)
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; before: {before}")
    for figure in ("typed read", "import", "wire"):
        print(
            f"{figure:>10}: before {statistics.median(figures['before'][figure]):.2f} "
            f"{[round(v, 2) for v in figures['before'][figure]]}, "
            f"after {statistics.median(figures['after'][figure]):.2f} "
            f"{[round(v, 2) for v in figures['after'][figure]]}"
        )


if __name__ == "__main__":
    main()
