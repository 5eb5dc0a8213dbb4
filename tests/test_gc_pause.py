"""The collector is paused while a large reply is decoded and its models built (see _gc),
and always left as it was found: on, off, or after an error."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest

from contactnow_async import ResponseFormatError, _models_live, _wire
from contactnow_async._gc import LARGE_BODY, LARGE_ROWS, paused_for
from contactnow_async._models_live import live_agents
from contactnow_async._wire import decode, set_json_decoder


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:  # pragma: no cover -- pytest runs with the collector on
        gc.disable()


def _row(index: int) -> dict[str, object]:
    return {"uid": str(index), "name": f"Agent {index}", "status": "READY", "time": "1700000000",
            "srvtime": "1700000100", "call": []}  # fmt: skip


def _body(rows: int) -> bytes:
    return json.dumps(
        {"success": True, "total": rows, "list": [_row(i) for i in range(rows)]}
    ).encode()


def _collector_seen_by(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[bool]:
    """Whether the collector was on at each call of ``owner.name`` (wrapped for the test)."""
    seen: list[bool] = []
    original = getattr(owner, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return seen


def test_paused_inside_and_restored_after() -> None:
    with paused_for(True):
        assert not gc.isenabled()
    assert gc.isenabled()
    with paused_for(False):
        assert gc.isenabled()


def test_an_application_that_turned_it_off_finds_it_off() -> None:
    gc.disable()
    with paused_for(True):
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_restored_after_an_error() -> None:
    with pytest.raises(RuntimeError), paused_for(True):
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_pauses_that_overlap_end_with_the_last_one() -> None:
    """Two threads' pauses (each with a client of its own) overlap, and the first ends
    first: the collector stays off until the second ends, then comes back on. Each pause
    read and switched the collector on its own, so a pause that began as another ended
    could find it off, take it for the application's, and leave it off for good."""
    first, second = paused_for(True), paused_for(True)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second still decodes
    second.__exit__(None, None, None)
    assert gc.isenabled()


# The decoder's threshold, lowered for these tests (the real one is megabytes).
SMALL_LARGE_BODY = 64 * 1024


@pytest.fixture
def _low_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LARGE_BODY >= SMALL_LARGE_BODY
    monkeypatch.setattr(_wire, "LARGE_BODY", SMALL_LARGE_BODY)


@pytest.mark.usefixtures("_low_threshold")
def test_a_large_body_is_decoded_paused_and_the_collector_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = _body(SMALL_LARGE_BODY // 100)
    assert len(body) >= SMALL_LARGE_BODY
    seen = _collector_seen_by(monkeypatch, _wire, "finite_json")
    set_json_decoder("stdlib")
    try:
        envelope = decode(body)
        small = decode(_body(3))
    finally:
        set_json_decoder("auto")
    assert seen == [False, True]  # the large one paused, the small one not
    assert len(envelope.records) == SMALL_LARGE_BODY // 100 and len(small.records) == 3
    assert gc.isenabled()


@pytest.mark.usefixtures("_low_threshold")
def test_a_truncated_large_body_raises_with_the_collector_back_on() -> None:
    body = _body(SMALL_LARGE_BODY // 100)[:-10]
    with pytest.raises(ResponseFormatError):
        decode(body)
    assert gc.isenabled()


def test_many_rows_are_built_paused_and_few_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _collector_seen_by(monkeypatch, _models_live, "_live_agents")
    assert len(live_agents([_row(i) for i in range(LARGE_ROWS)])) == LARGE_ROWS
    assert len(live_agents([_row(i) for i in range(3)])) == 3
    assert seen == [False, True]
    assert gc.isenabled()


def test_a_bad_row_among_many_raises_with_the_collector_back_on() -> None:
    rows = [_row(i) for i in range(LARGE_ROWS)]
    rows[-1]["time"] = "1700000000000"  # milliseconds: out of range
    with pytest.raises(ValueError, match="time"):
        live_agents(rows)
    assert gc.isenabled()
