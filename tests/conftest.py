"""Every async test runs under asyncio and under trio (anyio's pytest plugin); one served stage."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from ._schedule import slow_first
from ._stage import Stage, staged
from ._warm import warm_share

# The workers and the many interpreters the tests start (the CLI, servers, relays, the
# benchmarks) import the package from its sources. Where the environment sets
# PYTHONDONTWRITEBYTECODE, each of them compiled every module again (the suite took
# 226 s of CPU in one run, 166 to 176 s with a cache, on a noisy 2-core VM). They write
# the usual ``__pycache__`` beside the sources instead (ignored by git). Not a
# PYTHONPYCACHEPREFIX elsewhere, as before: Python then looks for every module's
# bytecode there only, and a fresh clone's first run compiled the standard library and
# every installed package again, which pip had compiled beside them (44 s more CPU,
# 203 s against 159 s warm). Set here, in the process that starts the workers, before
# it starts them.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    sys.dont_write_bytecode = False


def pytest_sessionstart(session: pytest.Session) -> None:
    warm_share(session.config)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker: each worker's first share of the tests starts with its part of
    the ``slow`` ones. ``--dist worksteal`` hands every worker a contiguous share of the
    collection, and an idle worker takes the back half of the longest queue: a slow test
    late in the collection ran last, alone, while the other workers had finished (a test
    that waits 7 s for a timeout made the last 7 s of one run). At each share's head, the
    slow tests run beside the short ones, and never at the end."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    items[:] = slow_first(items, int(workerinput["workercount"]))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers a core. Many tests wait more than they compute (a
    subprocess, a real socket, a browser, a timeout that must pass in real time), so
    one worker a core leaves the cores idle a quarter of the run (on 2 cores: 98 s at
    two workers, 71 s at four)."""
    return 2 * (os.cpu_count() or 1)


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def stage() -> Iterator[Stage]:
    """One uvicorn server on 127.0.0.1 for the session: ``with stage.showing(sim) as url``."""
    with staged() as served:
        yield served
