"""Outside CI, each async test runs under one backend (tests/_backends.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests._backends import one_backend_each


def item(nodeid: str, **params: Any) -> pytest.Item:
    callspec = SimpleNamespace(params=params) if params else None
    return cast("pytest.Item", SimpleNamespace(nodeid=nodeid, callspec=callspec))


ITEMS = [
    item("t.py::test_a[asyncio]", anyio_backend="asyncio"),
    item("t.py::test_a[trio]", anyio_backend="trio"),
    item("t.py::test_b[httpx-asyncio]", wire="httpx", anyio_backend="asyncio"),
    item("t.py::test_b[httpx-trio]", wire="httpx", anyio_backend="trio"),
    item("t.py::test_b[aiohttp-asyncio]", wire="aiohttp", anyio_backend="asyncio"),
    item("t.py::test_c[asyncio-0]", anyio_backend="asyncio", seed=0),  # paired in turn
    item("t.py::test_c[trio-1]", anyio_backend="trio", seed=1),
    item("t.py::test_sync"),
    item("t.py::test_d[log-at-once-asyncio]", anyio_backend="asyncio", log="log-at-once"),
    item("t.py::test_d[log-at-once-trio]", anyio_backend="trio", log="log-at-once"),
]


@pytest.mark.parametrize("run", ["run-1", "run-2", "run-3", "run-4"])
def test_each_test_keeps_one_backend_and_the_rest_is_kept(run: str) -> None:
    kept, dropped = one_backend_each(ITEMS, run)
    ids = [entry.nodeid for entry in kept]
    assert sorted(ids + [entry.nodeid for entry in dropped]) == sorted(e.nodeid for e in ITEMS)
    assert [i for i in ids if i.startswith("t.py::test_a[")] in (
        ["t.py::test_a[asyncio]"],
        ["t.py::test_a[trio]"],
    )
    assert len([i for i in ids if "test_b[httpx-" in i]) == 1
    assert len([i for i in ids if "test_d[log-at-once-" in i]) == 1
    for whole in ("test_b[aiohttp-asyncio]", "test_c[asyncio-0]", "test_c[trio-1]", "test_sync"):
        assert f"t.py::{whole}" in ids
    assert one_backend_each(ITEMS, run)[0] == kept  # the same in every worker of the run


def test_over_runs_each_backend_is_picked() -> None:
    picked = {
        entry.nodeid
        for run in range(20)
        for entry in one_backend_each(ITEMS, f"run-{run}")[0]
        if entry.nodeid.startswith("t.py::test_a[")
    }
    assert picked == {"t.py::test_a[asyncio]", "t.py::test_a[trio]"}
