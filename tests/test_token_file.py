"""FileTokenStore's lock: processes sharing one token file take turns through it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from contactnow_async import FileTokenStore, RequestTimeout, Token
from contactnow_async.simulator import Simulator, serve
from tests._helpers import (
    AGENT_ROW,
    BASE_URL,
    FakeAPI,
    LateThreads,
    agents_list,
    client_for,
    record_flock_tries,
)

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]
READ = ("database", "agents", "read")
TOKEN = Token("a" * 40, 2_000_000_000)


def _start(role: str, path: Path, *options: str) -> subprocess.Popen[bytes]:
    """A child of tests/_token_file_procs.py, once it said ``ready``: it waits for go."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests._token_file_procs", role, str(path), *options],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    if process.stdout.readline() != b"ready\n":  # EOF: it failed before, and says why
        process.kill()
        raise AssertionError(process.communicate(timeout=30)[1].decode())
    return process


def _go(*processes: subprocess.Popen[bytes]) -> None:
    """Let every child go at once (each is blocked reading its stdin)."""
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.flush()


def _finish(process: subprocess.Popen[bytes]) -> bytes:
    """The child's stdout, once it ended well."""
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    return out


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The test's child processes, killed at its end if still running."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _held_elsewhere(lock_path: Path) -> bool:
    """Whether another open file (another process's) holds the lock, tried without waiting."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # frees it, if this took it
    return False


@contextmanager
def _held_here(lock_path: Path) -> Iterator[None]:
    """The lock held on an open file of its own, as another process holds it."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """The lock of tmp_path/tokens.json held, as another process would hold it (a lock on
    another open file of it: flock locks of two open files exclude each other); calling
    it lets go."""
    fd = os.open(tmp_path / "tokens.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held = [fd]

    def let_go() -> None:
        while held:
            os.close(held.pop())

    try:
        yield let_go
    finally:
        let_go()


@pytest.mark.slow
def test_two_processes_saving_at_once_lose_no_entry(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    # Each read the file, added its key and renamed its copy over the other's.
    path = tmp_path / "tokens.json"
    for tag in ("ann", "bob"):
        children.append(_start("save", path, "--tag", tag, "--count", "150"))
    _go(*children)
    for process in children:
        _finish(process)
    entries = json.loads(path.read_text())
    assert len(entries) == 300
    assert sorted(os.listdir(tmp_path)) == ["tokens.json", "tokens.json.lock"]


@pytest.mark.slow
async def test_four_cold_processes_make_one_token_request(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    path = tmp_path / "tokens.json"
    sim = Simulator(username="demo", password="demo", agents=5, seed=3)
    async with serve(sim) as base_url:
        for _ in range(4):
            children.append(
                await anyio.to_thread.run_sync(_start, "burst", path, "--base-url", base_url)
            )
        _go(*children)
        outputs = [await anyio.to_thread.run_sync(_finish, process) for process in children]
    assert sim.stats.token_gets == 1
    assert sorted(json.loads(out)["fetches"] for out in outputs) == [0, 0, 0, 1]
    assert sim.stats.count("ajax", "agents", "read") == 20


@pytest.mark.slow
async def test_a_killed_holder_frees_the_lock(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    path = tmp_path / "tokens.json"
    process = await anyio.to_thread.run_sync(_start, "hold", path)
    children.append(process)
    _go(process)
    assert process.stdout is not None
    assert await anyio.to_thread.run_sync(process.stdout.readline) == b"held\n"
    assert _held_elsewhere(path.with_name("tokens.json.lock"))
    process.kill()  # SIGKILL: no finally of its own runs
    await anyio.to_thread.run_sync(process.wait)
    store = FileTokenStore(path)
    with anyio.fail_after(10):  # a guard, not a bound: taken at the first try
        async with store.lock("k"):
            await store.save("k", TOKEN)
    assert await store.load("k") == TOKEN


async def test_waiting_for_the_lock_is_cancelled_and_leaves_nothing_behind(
    tmp_path: Path, holder: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every try is LOCK_NB: no worker thread is left blocked in flock by the cancel.
    operations, waiting = record_flock_tries(monkeypatch)
    store = FileTokenStore(tmp_path / "tokens.json")
    entered: list[bool] = []
    open_files = len(os.listdir("/proc/self/fd"))

    async def wait_for_lock() -> None:
        async with store.lock("k"):
            entered.append(True)  # pragma: no cover -- cancelled before

    async with anyio.create_task_group() as group:
        group.start_soon(wait_for_lock)
        await waiting.wait()
        group.cancel_scope.cancel()
    assert entered == []
    assert operations and all(operation & fcntl.LOCK_NB for operation in operations)
    assert len(os.listdir("/proc/self/fd")) == open_files  # its lock file closed
    holder()  # the other process lets go: the cancelled waiter took nothing
    assert not _held_elsewhere(tmp_path / "tokens.json.lock")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # asyncio's own cancellation
async def test_a_task_cancelled_while_its_lock_file_opens_leaves_it_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncio's ``task.cancel()`` (``asyncio.timeout`` around a call on a cold client)
    ends the wait for the worker thread opening the lock file, and the thread goes on:
    the descriptor it then opened was never closed, one more with each such cancel."""
    import asyncio

    store = FileTokenStore(tmp_path / "tokens.json")
    threads = LateThreads(monkeypatch)

    async def take_lock() -> None:
        async with store.lock("k"):
            pass  # pragma: no cover -- cancelled before

    task = asyncio.ensure_future(take_lock())
    await threads.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (fd,) = threads.finish()  # the thread opens the lock file after its caller is gone
    with pytest.raises(OSError, match=os.strerror(errno.EBADF)):
        os.fstat(fd)


async def test_a_call_s_deadline_bounds_its_wait_for_the_lock(
    tmp_path: Path, holder: Callable[[], None]
) -> None:
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    cn, http = client_for(api, token_store=FileTokenStore(tmp_path / "tokens.json"), deadline=0.2)
    async with http, cn:
        with pytest.raises(RequestTimeout, match="token fetch") as timeout:
            await cn.agents.read()
        assert timeout.value.sent is False
        assert api.token_gets == 0
        holder()  # the other process lets go
        await cn.agents.read()
    assert api.token_gets == 1


async def test_a_holder_stuck_past_lock_wait_is_gone_around(
    tmp_path: Path, holder: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    # Alive but stopped (Ctrl-Z in another terminal): every other process waited for ever.
    store = FileTokenStore(tmp_path / "tokens.json", lock_wait=0.05)
    await store.save("k", TOKEN)
    assert await store.load("k") == TOKEN
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "going on without it" in warning


async def test_a_lock_file_that_cannot_be_made_is_warned_once_and_the_file_still_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A read-only directory holding a writable token file (made so here: tests run as root).
    path = tmp_path / "tokens.json"
    real_open = os.open

    def read_only_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(file) == path.with_name("tokens.json.lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    api = FakeAPI({READ: agents_list(AGENT_ROW)})
    for _ in range(2):  # two runs: the second reuses the first's token
        cn, http = client_for(api, token_store=FileTokenStore(path))
        async with http, cn:
            await cn.agents.read()
            await cn.tokens.refresh()
    assert api.token_gets == 3  # a read and a refresh, then a refresh only
    assert json.loads(path.read_text())[f"{BASE_URL}|api-user"]["value"] == api.issued[-1]
    assert os.listdir(tmp_path) == ["tokens.json"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "cannot lock the token file" in warnings[0]
    assert "Read-only file system" in warnings[0]


async def test_without_fcntl_the_lock_is_this_process_s_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Windows: no lock file, no warning; saves still take turns within the process.
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl raises ImportError
    store = FileTokenStore(tmp_path / "tokens.json")
    async with store.lock("k"):
        await store.save("k", TOKEN)
    assert await store.load("k") == TOKEN
    assert os.listdir(tmp_path) == ["tokens.json"]
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


async def test_the_task_holding_the_lock_saves_and_locks_again_without_waiting_for_itself(
    tmp_path: Path,
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    other = FileTokenStore(tmp_path / "tokens.json")  # another client's store, same file
    with anyio.fail_after(10):  # a guard: waiting for itself, it never ended
        async with store.lock("k"):
            await other.save("k", TOKEN)
            async with other.lock("k"):
                await store.delete("k", TOKEN)
    assert await store.load("k") is None
    assert not _held_elsewhere(tmp_path / "tokens.json.lock")


async def test_a_task_started_in_the_hold_takes_the_lock_itself_once_the_hold_is_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It inherits the holder's context: it saved unlocked, over another process's turn.
    _, waiting = record_flock_tries(monkeypatch)
    store = FileTokenStore(tmp_path / "tokens.json")
    hold_over = anyio.Event()
    saved: list[bool] = []

    async def save_later() -> None:
        await hold_over.wait()
        await store.save("k", TOKEN)
        saved.append(True)
        waiting.set()  # not waiting after all: the assertion below says so

    async with anyio.create_task_group() as group:
        async with store.lock("k"):
            group.start_soon(save_later)
        with _held_here(tmp_path / "tokens.json.lock"):  # another process's turn
            hold_over.set()
            await waiting.wait()  # for the other process: saving, it waited for nothing
            assert saved == []
    assert saved == [True]
    assert await store.load("k") == TOKEN


@pytest.mark.parametrize("lock_wait", [0, -1, float("nan"), float("inf")])
def test_lock_wait_must_be_finite_positive_seconds(tmp_path: Path, lock_wait: float) -> None:
    with pytest.raises(ValueError, match="lock_wait"):
        FileTokenStore(tmp_path / "tokens.json", lock_wait=lock_wait)


async def test_a_fifo_at_the_path_is_no_file_and_not_waited_on(tmp_path: Path) -> None:
    # Opened to be read, a FIFO waits for a writer, then for its end, in a worker thread
    # no deadline cancels: the store would hang. Here a writer comes, and the entry it
    # writes is what the store would load.
    path = tmp_path / "tokens.json"
    os.mkfifo(path)
    entry = json.dumps({"k": {"value": TOKEN.value, "expires_at": TOKEN.expires_ts}})

    def write_entry() -> None:
        with contextlib.suppress(BrokenPipeError):  # the store closed its end first
            fd = os.open(path, os.O_WRONLY)  # waits for a reader
            try:
                os.write(fd, entry.encode())
            finally:
                os.close(fd)

    writer = threading.Thread(target=write_entry)
    writer.start()
    try:
        assert await FileTokenStore(path).load("k") is None
    finally:
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # lets a waiting writer on
        writer.join()
        os.close(reader)


async def test_a_file_larger_than_any_token_file_is_not_read(tmp_path: Path) -> None:
    # Read whole, a huge file (or a hostile one) would take as much memory.
    path = tmp_path / "tokens.json"
    entries = {"k": {"value": TOKEN.value, "expires_at": TOKEN.expires_ts}, "pad": "x" * 2**20}
    path.write_text(json.dumps(entries))
    store = FileTokenStore(path)
    assert await store.load("k") is None
    await store.save("k", TOKEN)  # replaced by a file the store reads
    assert await store.load("k") == TOKEN


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
async def test_a_file_another_user_owns_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a directory others write to (/tmp), another user could leave a token of theirs
    # at the path: the calls would act on their account. The store writes its files
    # 0600, so one of another user's is never the store's own for this one.
    path = tmp_path / "tokens.json"
    await FileTokenStore(path).save("k", TOKEN)
    monkeypatch.setattr(os, "geteuid", lambda: path.stat().st_uid + 1)
    assert await FileTokenStore(path).load("k") is None


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
async def test_a_lock_file_another_user_owns_is_not_waited_on(
    tmp_path: Path,
    holder: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Another user's lock file (left in /tmp), held and beaten by them: every token fetch
    # of this user's waited on it, for ever while the beats came.
    tries, _ = record_flock_tries(monkeypatch)
    lock_path = tmp_path / "tokens.json.lock"
    monkeypatch.setattr(os, "geteuid", lambda: lock_path.stat().st_uid + 1)
    store = FileTokenStore(tmp_path / "tokens.json", lock_wait=0.05)
    async with store.lock("k"):
        pass
    assert tries == []
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "cannot lock the token file" in warning and "another user" in warning
