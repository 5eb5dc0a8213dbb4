"""The token file: tokens kept between runs, and the lock the processes sharing it take."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import logging
import math
import os
import stat
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

import anyio

from ._threads import run_owned

if TYPE_CHECKING:
    from ._models import Token

__all__ = ["FileTokenStore"]

logger = logging.getLogger("contactnow_async")

T = TypeVar("T")


class _Hold:
    """A lock file held by a task, and by the tasks it starts while it holds it."""

    __slots__ = ("lock_path", "on")

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self.on = True


#: The lock files the current task holds: the token manager saves inside ``lock(key)``,
#: and a second flock of the file from this task would wait for itself. A task started
#: in the hold keeps this context after it ends: ``on`` tells it the hold is over.
_HOLDS: ContextVar[tuple[_Hold, ...]] = ContextVar("contactnow_async_token_file_holds", default=())

#: Seconds between two tries at a lock another process holds: doubled from the first to
#: the last. Polled, not a blocking flock: a thread blocked in flock cannot be cancelled.
FIRST_POLL, LAST_POLL = 0.002, 0.05


async def _in_thread(work: Callable[[], T]) -> T:
    """Run ``work`` in a worker thread; anyio.to_thread is imported at the first file
    access, not with the client (a client without a FileTokenStore never needs it)."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(work)


def _has_flock() -> bool:
    """Whether this platform locks files between processes (Windows has no fcntl)."""
    try:
        import fcntl  # noqa: F401 -- only whether there is one: _try_lock uses it
    except ImportError:
        return False
    return True


#: The largest token file read: an entry takes a few hundred bytes, so a larger file is
#: none this store wrote, and is not read whole into memory (treated as corrupt).
MAX_FILE_BYTES = 2**20

_NOT_INHERITED = getattr(os, "O_CLOEXEC", 0)
_NOT_BLOCKING = getattr(os, "O_NONBLOCK", 0)  # neither is on Windows

#: The heartbeats of this process's holds: every one different, so a waiter sees each.
_BEATS = itertools.count(1)


def _close(fd: int | None) -> None:
    """Close a lock file :meth:`FileTokenStore._open_lock` opened (if it did)."""
    if fd is not None:
        os.close(fd)


def _last_beat(fd: int) -> bytes:
    """The lock file's heartbeat, as the holder wrote it last (empty if none or unreadable)."""
    try:
        return os.pread(fd, 64, 0)
    except OSError:
        return b""


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` if no other process holds it: whether it was taken."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class FileTokenStore:
    """Tokens kept in a JSON file, so a restarted process reuses its token.

    The file is written atomically (a temporary file renamed over it) with mode
    0600, holds one token per base URL and username, and a corrupt or unreadable
    file is treated as empty (the next save replaces it), as is one past 1 MiB, not a
    regular file (a FIFO, a device) or another user's (on POSIX: it was not written
    by this store for this user), and an entry whose times are out of range.

    On POSIX the processes sharing the file take turns through a lock file beside it
    (``path`` + ``.lock``, mode 0600, ``flock``): a save never loses another process's
    entry, and the token manager holds ``lock(key)`` around a fetch, so processes that
    start cold at once make one token request. The system frees the lock of a process
    that dies. A holder writes a heartbeat into the lock file every ``lock_wait / 3``
    seconds, so a fetch slower than ``lock_wait`` (a call's deadline is 110 s) is waited
    for; a holder alive but stuck (stopped: Ctrl-Z) beats no more, and is waited for
    ``lock_wait`` seconds after its last beat, then the store goes on without the lock
    (logged). Where no lock file can be made (a read-only directory) or the one there is
    another user's (warned once), and on Windows, the lock is this process's only.
    """

    # Saves run in worker threads: tasks sharing a hold of the lock file (and, with no lock
    # file, every client of the file in this process) must not lose an entry between one's
    # read and the other's rename.
    _locks: ClassVar[dict[Path, threading.Lock]] = {}
    _locks_guard: ClassVar[threading.Lock] = threading.Lock()
    _warned: ClassVar[set[Path]] = set()

    def __init__(self, path: str | os.PathLike[str], *, lock_wait: float = 60.0) -> None:
        if not 0 < lock_wait < math.inf:  # NaN fails too
            raise ValueError("lock_wait must be positive seconds")
        self.path = Path(path)
        self.lock_path = Path(f"{self.path}.lock")
        self.lock_wait = lock_wait
        self._lock_key = self.lock_path.absolute()
        with self._locks_guard:
            self._lock = self._locks.setdefault(self.path.absolute(), threading.Lock())

    async def load(self, key: str) -> Token | None:
        # At the first load: the models are not needed at import.
        from ._models import stored_token

        entry = (await _in_thread(self._read)).get(key)
        if not isinstance(entry, dict):
            return None
        return stored_token(
            entry.get("value"), entry.get("expires_at"), entry.get("clock_offset", 0.0)
        )

    async def save(self, key: str, token: Token) -> None:
        def put(entries: dict[str, object]) -> bool:
            entries[key] = {
                "value": token.value,
                "expires_at": token.expires_ts,
                "clock_offset": token.clock_offset,
            }
            return True

        await self._update(put)

    async def delete(self, key: str, token: Token) -> None:
        def forget(entries: dict[str, object]) -> bool:
            entry = entries.get(key)
            if isinstance(entry, dict) and entry.get("value") == token.value:
                del entries[key]
                return True
            return False

        await self._update(forget)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the lock every process using the file shares, around fetching ``key``'s token.

        One lock for the whole file, whatever the key. Waiting for it is cancelled as
        any await is (a call's deadline); the task holding it may save and delete
        inside, and take it again, without waiting for itself.
        """
        async with self._held():
            yield

    async def _update(self, change: Callable[[dict[str, object]], bool]) -> None:
        """Read the file, ``change`` its entries, write them if it says so: under the lock."""

        def update() -> None:
            with self._lock:
                entries = self._read()
                if change(entries):
                    self._write(entries)

        async with self._held():
            await _in_thread(update)

    @asynccontextmanager
    async def _held(self) -> AsyncIterator[None]:
        """Hold the lock file for the body, or go on in this task's hold of it."""
        holds = tuple(hold for hold in _HOLDS.get() if hold.on)
        if any(hold.lock_path == self._lock_key for hold in holds):
            yield
            return
        fd = await run_owned(self._open_lock, _close) if _has_flock() else None
        try:
            beating = fd if fd is not None and await self._wait(fd) else None
            hold = _Hold(self._lock_key)
            mark = _HOLDS.set((*holds, hold))
            try:
                failure: Exception | None = None
                async with anyio.create_task_group() as group:
                    if beating is not None:
                        group.start_soon(self._beat, beating)
                    try:
                        yield
                    except Exception as exc:  # raised below as itself, not in a group
                        failure = exc
                    group.cancel_scope.cancel()
                if failure is not None:
                    raise failure
            finally:
                hold.on = False
                _HOLDS.reset(mark)
        finally:
            if fd is not None:
                os.close(fd)  # frees the lock

    def _open_lock(self) -> int | None:
        """The lock file opened (made if missing), or None if it cannot be (warned once)."""
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(
                self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600
            )
        except OSError as exc:
            self._warn_once(exc)
            return None
        if os.fstat(fd).st_uid != os.geteuid():
            # Another user's (left in /tmp): held and beaten by them, it would be waited
            # on for ever.
            os.close(fd)
            self._warn_once(PermissionError(errno.EPERM, "the lock file is another user's"))
            return None
        return fd

    async def _wait(self, fd: int) -> bool:
        """Take the lock on ``fd`` (whether it was taken); once the holder has not beaten
        for ``lock_wait`` seconds, go on without it."""
        give_up_at = anyio.current_time() + self.lock_wait
        beat = _last_beat(fd)
        delay = FIRST_POLL
        while True:
            try:
                if _try_lock(fd):
                    return True
            except OSError as exc:  # a file system that has no flock (some network ones)
                self._warn_once(exc)
                return False
            if anyio.current_time() >= give_up_at:
                if (beat_now := _last_beat(fd)) != beat:  # alive, and still at it: a slow fetch
                    beat = beat_now
                    give_up_at = anyio.current_time() + self.lock_wait
                    continue
                # Alive (a dead holder's lock is freed) but stuck, or stopped (Ctrl-Z):
                # waiting on would stop this process too, for a lock that only saves work.
                logger.warning(
                    "waited %g s for the token file's lock %s (another process holds it); "
                    "going on without it",
                    self.lock_wait,
                    self.lock_path,
                )
                return False
            await anyio.sleep(delay)
            delay = min(delay * 2, LAST_POLL)

    async def _beat(self, fd: int) -> None:
        """While this task holds the lock on ``fd``: a new heartbeat in the lock file every
        third of ``lock_wait``, which tells the processes waiting that the holder lives."""
        while True:
            await anyio.sleep(self.lock_wait / 3)
            try:
                os.pwrite(fd, b"%10d %20d\n" % (os.getpid(), next(_BEATS)), 0)
            except OSError:
                return  # the waiters go on without the lock after lock_wait: work, not harm

    def _warn_once(self, exc: OSError) -> None:
        with self._locks_guard:
            if self._lock_key in self._warned:
                return
            self._warned.add(self._lock_key)
        logger.warning(
            "cannot lock the token file %s with %s (%s: %s); other processes sharing it may "
            "each fetch a token, and a save may lose another's entry",
            self.path,
            self.lock_path,
            type(exc).__name__,
            exc.strerror or exc,
        )

    def _read(self) -> dict[str, object]:
        try:
            # Not blocking: a FIFO at the path opens at once, to be refused below, not
            # waited on for a writer in a thread no deadline cancels.
            fd = os.open(self.path, os.O_RDONLY | _NOT_INHERITED | _NOT_BLOCKING)
        except OSError:
            return {}
        try:
            with os.fdopen(fd, "rb") as file:  # closed whatever fails
                facts = os.fstat(fd)
                if not stat.S_ISREG(facts.st_mode):
                    return {}  # a FIFO, a device (/dev/zero has no end to read to)
                if hasattr(os, "geteuid") and facts.st_uid != os.geteuid():
                    # Another user's (left in /tmp): its token would act on their account.
                    return {}
                content = file.read(MAX_FILE_BYTES + 1)
            if len(content) > MAX_FILE_BYTES:
                return {}
            entries = json.loads(content.decode("utf-8"))
        except (OSError, ValueError, RecursionError):  # Recursion: nested deeper than json reads
            return {}
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:  # closed whatever fails
                os.fchmod(fd, 0o600)
                json.dump(entries, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"
