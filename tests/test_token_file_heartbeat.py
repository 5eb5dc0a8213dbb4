"""FileTokenStore's heartbeat: a holder that lives is waited for past ``lock_wait``.

On the loop's virtual time (``tests/_loop_time.py``): the waits here are minutes long and
end when they should, in milliseconds. The lock is taken on the store's own open files,
so two tasks of one process exclude each other as two processes do.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from contactnow_async import FileTokenStore, Token
from tests._helpers import record_flock_tries
from tests._loop_time import BACKENDS, backend

pytestmark = pytest.mark.anyio

TOKEN = Token("a" * 40, 2_000_000_000)


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return backend(request.param)


async def _hold_for(
    store: FileTokenStore, seconds: float, held: anyio.Event, waiting: anyio.Event
) -> float:
    """Hold the lock; once another task waits for it, keep it ``seconds`` more (a slow token
    fetch: a call's deadline is 110 s). When the wait began."""
    async with store.lock("k"):
        held.set()
        # Not timed from before: the clock jumps (the heartbeat's timers) while a worker
        # thread opens the waiter's lock file.
        await waiting.wait()
        began = anyio.current_time()
        await anyio.sleep(seconds)
    return began


async def test_a_holder_slower_than_lock_wait_is_waited_for_while_it_beats(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the heartbeat the waiter gave up at 60 s and fetched a token of its own.
    path = tmp_path / "tokens.json"
    holder, waiter = FileTokenStore(path), FileTokenStore(path)
    held, (_, waiting) = anyio.Event(), record_flock_tries(monkeypatch)
    began: list[float] = []

    async def hold() -> None:
        began.append(await _hold_for(holder, 100.0, held, waiting))

    async with anyio.create_task_group() as group:
        group.start_soon(hold)
        await held.wait()
        async with waiter.lock("k"):
            waited = anyio.current_time() - began[0]
    assert 100 <= waited < 101
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


async def test_a_holder_that_stops_beating_is_gone_around_lock_wait_after_its_last_beat(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # It beat once, long ago (stopped since, as Ctrl-Z stops it): no more waiting than that.
    lock_path = tmp_path / "tokens.json.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, b"%10d %20d\n" % (4242, 7), 0)
        store = FileTokenStore(tmp_path / "tokens.json", lock_wait=30)
        started = anyio.current_time()
        await store.save("k", TOKEN)
        waited = anyio.current_time() - started
    finally:
        os.close(fd)
    assert 30 <= waited < 31
    assert await store.load("k") == TOKEN
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "going on without it" in warning


async def test_the_heartbeat_ends_with_the_hold_and_a_failure_leaves_as_itself(
    tmp_path: Path,
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json", lock_wait=3)

    async def fail_in_the_hold() -> None:
        async with store.lock("k"):
            await anyio.sleep(2.5)  # beaten at 1 and 2
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):  # not an exception group
        await fail_in_the_hold()
    beat = (tmp_path / "tokens.json.lock").read_bytes()
    assert beat.split()[0] == str(os.getpid()).encode()
    await anyio.sleep(10)  # no task of the hold is left to beat again
    assert (tmp_path / "tokens.json.lock").read_bytes() == beat
