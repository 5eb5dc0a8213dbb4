"""Every async test runs under asyncio and trio (anyio's pytest plugin; outside CI under one
of them, tests/_backends.py); one served stage."""

from __future__ import annotations

import gc
import os
import sys
import uuid
from collections.abc import Iterator

import pytest

from ._backends import one_backend_each, slow_wanted, thinned, without_slow
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
    """Outside CI, each async test on one backend (tests/_backends.py says which), and
    none of the ``slow`` ones (``slow_wanted`` says when they run). In CI, each slow or
    ``backend_neutral`` test on one backend, the others on both.

    In an xdist worker: each worker's first share of the tests starts with its part of
    the ``slow`` ones. ``--dist worksteal`` hands every worker a contiguous share of the
    collection, and an idle worker takes the back half of the longest queue: a slow test
    late in the collection ran last, alone, while the other workers had finished (a test
    that waits 7 s for a timeout made the last 7 s of one run). At each share's head, the
    slow tests run beside the short ones, and never at the end."""
    workerinput = getattr(config, "workerinput", None)
    thin = thinned(config)
    if thin != "none":
        run = workerinput["testrunuid"] if workerinput is not None else uuid.uuid4().hex
        items[:], dropped = one_backend_each(items, run, slow_only=thin == "slow")
        config.hook.pytest_deselected(items=dropped)
    if not slow_wanted(config):
        items[:], dropped = without_slow(items)
        config.hook.pytest_deselected(items=dropped)
    if workerinput is None:
        return
    items[:] = slow_first(items, int(workerinput["workercount"]))


#: The youngest generation's threshold in a test process (Python's default is 700).
GC_YOUNG = 50_000


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the tests are collected, the collector sets aside what lives to the end
    (the collected tests and every module imported, some 200,000 objects a worker),
    which each full collection scanned again, and collects the youngest generation
    every ``GC_YOUNG`` allocations rather than 700, so fewer of the tests' short-lived
    objects are scanned twice more on their way to the oldest one. The library's own
    pauses (``contactnow_async._gc``) work as before. Whole suite on 2 cores, taking
    turns: 152 s of CPU on average without (5 runs), 137 s with 5,000 (7 runs; 124 to
    167 s either way on this noisy VM). 50,000 against 5,000, the README's command in
    turns: 137 against 153 s of CPU (72 against 80 s), then 129 against 137 s (68 against
    73 s); 200,000 did no better (130 s)."""
    # Hypothesis, once imported, checks by gc.get_referrers (which sees no frozen
    # object) that trio's random is referred to: imported first, when it is not yet.
    import hypothesis  # noqa: F401

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


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
