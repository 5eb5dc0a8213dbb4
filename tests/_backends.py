"""Outside CI, each async test runs on one of asyncio and trio, not on both, and the
tests marked ``slow`` are left to CI. In CI, the ``slow`` tests and those marked
``backend_neutral`` run on one backend a run, the others on both.

``backend_neutral`` marks a module whose tests check what the backend cannot change: a
decoder, a simulator's books, a matrix of hostile replies, all behind the in-process
transport. The machinery a backend does change (tokens shared by concurrent calls,
retries and deadlines, cancellation, the watcher's tasks, sockets, threads, streams) has
modules of its own, which run on both; a neutral module's thousand cases run it again
the same way. Which backend a neutral test meets changes from run to run."""

from __future__ import annotations

import hashlib
import os
from typing import Literal

import pytest

BACKENDS = ("asyncio", "trio")
#: The markers of the tests CI runs on one backend a run.
THINNED_IN_CI = ("slow", "backend_neutral")


def both_backends_wanted(config: pytest.Config) -> bool:
    """Every async test on both backends: in CI (``CI`` set, as ``.ci/run`` runs), with
    ``CONTACTNOW_TEST_BACKENDS=both``, or when the run names its tests (a node id, ``-k``),
    so that ``pytest 'tests/x.py::test_y[trio]'`` runs what it names. In CI the ``slow``
    ones still run on one backend each (``thinned``)."""
    if os.environ.get("CI") or os.environ.get("CONTACTNOW_TEST_BACKENDS") == "both":
        return True
    named = any("::" in str(arg) for arg in config.args)
    return named or bool(config.option.keyword)


def thinned(config: pytest.Config) -> Literal["all", "slow", "none"]:
    """Which tests run on one backend (``one_backend_each``): all of them in the README's
    run; in CI the ``slow`` and ``backend_neutral`` ones (a process, a failover or seconds
    of CPU each: the pairs among them cost CI some 13 s of CPU a run; the neutral
    modules' pairs some 24 s), the rest on both; none when the run names its tests or sets
    ``CONTACTNOW_TEST_BACKENDS=both``."""
    if not both_backends_wanted(config):
        return "all"
    named = any("::" in str(arg) for arg in config.args) or bool(config.option.keyword)
    if named or os.environ.get("CONTACTNOW_TEST_BACKENDS") == "both":
        return "none"
    return "slow"


def slow_wanted(config: pytest.Config) -> bool:
    """The tests marked ``slow`` (a second or more of CPU each, most in processes of their
    own: a failover between relays, the benchmarks' smoke run, the demo in a terminal)
    run in CI, with ``CONTACTNOW_TEST_SLOW=1``, under a ``-m`` of the run's own
    (``pytest -m slow`` runs them alone) or when the run names its tests (a node id, a
    file, ``-k``). The README's command leaves them out: they were a third of its CPU."""
    if os.environ.get("CI") or os.environ.get("CONTACTNOW_TEST_SLOW") == "1":
        return True
    # A file named (``pytest tests/cli/test_demo.py``) is its tests named: one all slow
    # ran none, "no tests ran" (exit 5). A directory is the README's command, narrower.
    named = any("::" in str(arg) or str(arg).endswith(".py") for arg in config.args)
    return named or bool(config.option.keyword) or bool(config.option.markexpr)


def without_slow(items: list[pytest.Item]) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, dropped): ``items`` without, and only, those marked ``slow``."""
    kept = [item for item in items if item.get_closest_marker("slow") is None]
    return kept, [item for item in items if item.get_closest_marker("slow") is not None]


def one_backend_each(
    items: list[pytest.Item], run: str, *, slow_only: bool = False
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, dropped): of each test run on both backends, the run on one of them, picked
    by a hash of the test's id and ``run`` (the same in every xdist worker of a run, a new
    one each run: over a few runs every test meets both). A test already paired with one
    backend (``on_each_backend_in_turn``), or on one only, is kept. With ``slow_only``,
    only the tests marked ``slow`` or ``backend_neutral`` are thinned (CI: each slow
    test, a process or seconds of CPU, and each neutral one meets one backend a run,
    every other test both)."""
    siblings: dict[str, list[pytest.Item]] = {}
    for item in items:
        if slow_only and not any(item.get_closest_marker(name) for name in THINNED_IN_CI):
            continue
        key = _without_backend(item)
        if key is not None:
            siblings.setdefault(key, []).append(item)
    dropped: set[int] = set()
    for key, group in siblings.items():
        if len(group) == 2:
            pick = hashlib.sha256(f"{run}|{key}".encode()).digest()[0] % 2
            dropped.add(id(group[1 - pick]))
    kept = [item for item in items if id(item) not in dropped]
    return kept, [item for item in items if id(item) in dropped]


def _without_backend(item: pytest.Item) -> str | None:
    """The item's id with its backend taken out of its parameters, or None if it has none."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("anyio_backend") not in BACKENDS:
        return None
    name, _, ids = item.nodeid.partition("[")
    parts = ids.rstrip("]").split("-")
    backend = callspec.params["anyio_backend"]
    if backend not in parts:
        return None
    parts.remove(backend)
    return f"{name}[{'-'.join(parts)}]"
