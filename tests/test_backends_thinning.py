"""Outside CI, each async test runs under one backend, and the slow ones not at all; in CI
the slow and backend-neutral ones under one backend, the rest under both
(tests/_backends.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests._backends import one_backend_each, slow_wanted, thinned, without_slow


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


def marked(nodeid: str, *markers: str) -> pytest.Item:
    found = {name: SimpleNamespace(name=name) for name in markers}
    return cast("pytest.Item", SimpleNamespace(nodeid=nodeid, get_closest_marker=found.get))


def test_outside_ci_the_slow_tests_are_left_out_and_the_rest_kept_in_order() -> None:
    items = [marked("t.py::a"), marked("t.py::b", "slow"), marked("t.py::c", "integration"),
             marked("t.py::d", "integration", "slow")]  # fmt: skip
    kept, dropped = without_slow(items)
    assert [i.nodeid for i in kept] == ["t.py::a", "t.py::c"]
    assert [i.nodeid for i in dropped] == ["t.py::b", "t.py::d"]


def _environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Only ``env`` of the variables that choose what runs."""
    for name in ("CI", "CONTACTNOW_TEST_SLOW", "CONTACTNOW_TEST_BACKENDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def config(*args: str, keyword: str = "", markexpr: str = "") -> pytest.Config:
    option = SimpleNamespace(keyword=keyword, markexpr=markexpr)
    return cast("pytest.Config", SimpleNamespace(args=list(args), option=option))


@pytest.mark.parametrize(
    ("env", "made", "wanted"),
    [
        ({}, config("tests"), False),  # the README's command
        ({"CI": "true"}, config("tests"), True),
        ({"CONTACTNOW_TEST_SLOW": "1"}, config("tests"), True),
        ({"CONTACTNOW_TEST_SLOW": "0"}, config("tests"), False),
        ({}, config("tests/x.py::test_y"), True),  # a named test runs, slow or not
        ({}, config("tests/cli/test_demo.py"), True),  # a named file: all slow, ran none
        ({}, config("tests/cli"), False),  # a directory is the README's command, narrower
        ({}, config("tests", keyword="failover"), True),
        ({}, config("tests", markexpr="slow"), True),  # pytest -m slow: them alone
        ({}, config("tests", markexpr="not redis"), True),  # a -m of your own decides
    ],
)
def test_when_the_slow_tests_run(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], made: pytest.Config, wanted: bool
) -> None:
    _environment(monkeypatch, env)
    assert slow_wanted(made) is wanted


def slow_pair(nodeid: str, backend: str, *markers: str) -> pytest.Item:
    found = {name: SimpleNamespace(name=name) for name in markers}
    return cast(
        "pytest.Item",
        SimpleNamespace(
            nodeid=f"{nodeid}[{backend}]",
            callspec=SimpleNamespace(params={"anyio_backend": backend}),
            get_closest_marker=found.get,
        ),
    )


@pytest.mark.parametrize("marker", ["slow", "backend_neutral"])
@pytest.mark.parametrize("run", ["run-1", "run-2", "run-3"])
def test_in_ci_a_slow_or_neutral_test_keeps_one_backend_and_a_quick_one_both(
    run: str, marker: str
) -> None:
    items = [slow_pair("t.py::test_marked", b, marker) for b in ("asyncio", "trio")]
    items += [slow_pair("t.py::test_quick", b) for b in ("asyncio", "trio")]
    kept, dropped = one_backend_each(items, run, slow_only=True)
    ids = [entry.nodeid for entry in kept]
    assert "t.py::test_quick[asyncio]" in ids and "t.py::test_quick[trio]" in ids
    assert len([i for i in ids if i.startswith("t.py::test_marked[")]) == 1
    assert [entry.nodeid for entry in dropped] == [
        i.nodeid for i in items if i.nodeid.startswith("t.py::test_marked[") and i not in kept
    ]


def test_over_runs_a_backend_neutral_test_meets_both_backends() -> None:
    items = [slow_pair("t.py::test_neutral", b, "backend_neutral") for b in ("asyncio", "trio")]
    met = {
        entry.nodeid
        for run in range(20)
        for entry in one_backend_each(items, f"run-{run}", slow_only=True)[0]
    }
    assert met == {"t.py::test_neutral[asyncio]", "t.py::test_neutral[trio]"}


@pytest.mark.parametrize(
    ("env", "made", "thin"),
    [
        ({}, config("tests"), "all"),  # the README's command
        ({"CI": "true"}, config("tests"), "slow"),  # .ci/run
        ({"CI": "true"}, config("tests/x.py::test_y"), "none"),  # what is named runs
        ({}, config("tests", keyword="failover"), "none"),
        ({"CONTACTNOW_TEST_BACKENDS": "both"}, config("tests"), "none"),
        ({"CI": "true", "CONTACTNOW_TEST_BACKENDS": "both"}, config("tests"), "none"),
    ],
)
def test_which_tests_run_on_one_backend(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], made: pytest.Config, thin: str
) -> None:
    _environment(monkeypatch, env)
    assert thinned(made) == thin
