"""A real redis-server on 127.0.0.1 for the Redis tests, started once per session.

redis-server must be on PATH (Debian: ``apt-get install -y redis-server``).
Without it the Redis tests are skipped locally, and fail in CI (``CI=true``),
where a missing server is a broken setup, not a reason to pass.
"""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.abc
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from .._helpers import free_port

REPO = Path(__file__).resolve().parents[2]


def _serves(port: int, pid: int) -> bool:
    """Whether redis-server process ``pid`` answers on ``port``.

    Not just any server: under pytest-xdist each worker starts its own, and a server
    that lost the race for a port must not be mistaken for the one that won it.
    """
    client = SyncRedis(host="127.0.0.1", port=port, socket_timeout=0.2)
    try:
        return int(client.info("server")["process_id"]) == pid
    except RedisError:
        return False
    finally:
        client.close()


def _start(binary: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    for _attempt in range(5):  # the free port may be taken between probe and bind
        port = free_port()
        server = subprocess.Popen(
            [
                binary,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--unixsocket", str(directory / "redis.sock"),
                "--dir", str(directory),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", str(directory / "redis.log"),
            ],
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            if _serves(port, server.pid):
                return server, port
            time.sleep(0.02)
        server.kill()
        server.wait()
    log = (directory / "redis.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"redis-server did not start on 127.0.0.1; its log ends:\n{log}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The URL and the unix socket of a redis-server started for this test session,
    stopped at its end."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not on PATH (apt-get install -y redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the Redis tests")
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("redis")
    server, port = _start(binary, directory)
    try:
        yield f"redis://127.0.0.1:{port}/0", directory / "redis.sock"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def redis_url(redis_server: tuple[str, Path]) -> str:
    """The URL of the session's redis-server."""
    return redis_server[0]


@pytest.fixture(scope="session")
def redis_socket(redis_server: tuple[str, Path]) -> Path:
    """The unix socket of the session's redis-server."""
    return redis_server[1]


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio API is asyncio only: these tests do not run under trio."""
    return "asyncio"


# The reply shapes a user's client may give. RESP3 (protocol=3, Redis 6 and later) changes
# some: XREAD and XREADGROUP answer a dict of streams, each a list holding the list of
# entries; redis-py 8's unified shapes (legacy_responses=False) drop that inner list.
# redis-py 8 speaks RESP3 by default, in RESP2's shapes: the plain `redis` fixture.
PROTOCOLS = [
    pytest.param({"protocol": 2}, id="resp2"),
    pytest.param({"protocol": 3}, id="resp3"),
    *(
        [pytest.param({"protocol": 3, "legacy_responses": False}, id="resp3-unified")]
        if "legacy_responses" in inspect.signature(Redis).parameters
        else []  # redis-py before 8: no unified shapes to try
    ),
]

each_protocol = pytest.mark.parametrize("redis", PROTOCOLS, indirect=True)
"""Runs a test that takes the ``redis`` fixture once with a client of each of PROTOCOLS."""


@pytest.fixture
async def redis(redis_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    """A client on an emptied database (made with the options of ``each_protocol``'s
    parameter, if the test has it)."""
    options: dict[str, Any] = getattr(request, "param", {})
    client = Redis.from_url(redis_url, **options)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.01
) -> None:
    """Wait until ``check()`` is true: another process's progress, seen in Redis.

    Raises TimeoutError after ``within`` seconds.
    """
    with anyio.fail_after(within):
        while not await check():  # noqa: ASYNC110 -- another process's state: no event to await
            await anyio.sleep(every)


async def stream_entries(redis: Redis, stream: str) -> list[tuple[str, dict[bytes, bytes]]]:
    """Every entry of ``stream``, oldest first (a client without decode_responses)."""
    raw = cast("list[tuple[bytes, dict[bytes, bytes]]]", await redis.xrange(stream))
    return [(entry_id.decode(), fields) for entry_id, fields in raw]


def text(value: object) -> str:
    """A Redis reply as text (bytes decoded)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def lose_first_reply(monkeypatch: pytest.MonkeyPatch, redis: Redis, command: str) -> anyio.Event:
    """Make ``redis.<command>`` (``evalsha`` for a script) reach Redis, and its first reply
    not come back: the returned event is set once Redis has carried it out, the caller then
    waiting as for a reply on its way when a cancellation comes."""
    real = getattr(redis, command)
    done = anyio.Event()

    async def carried_out(*args: Any, **kwargs: Any) -> Any:
        reply = await real(*args, **kwargs)
        if not done.is_set():
            done.set()
            await anyio.sleep_forever()
        return reply

    monkeypatch.setattr(redis, command, carried_out)
    return done


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, which the test may stop (SIGSTOP)."""
    binary = shutil.which("redis-server")
    if binary is None:  # pragma: no cover -- the session's redis_url fixture says why
        pytest.skip("redis-server is not on PATH")
    server, port = _start(binary, tmp_path)
    try:
        yield f"redis://127.0.0.1:{port}/0", server
    finally:
        server.send_signal(signal.SIGCONT)
        server.kill()
        server.wait()


async def cancel_while_stopped(
    server: subprocess.Popen[bytes], group: anyio.abc.TaskGroup, ended: list[float]
) -> float:
    """Stop ``server`` (SIGSTOP), cancel ``group``, and wait for its task to append its
    end time to ``ended``, or wake Redis after 5 s; seconds from the stop to that end."""
    server.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    group.cancel_scope.cancel()
    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
        while not ended:  # noqa: ASYNC110 -- the task's own end, not an event
            await anyio.sleep(0.01)
    server.send_signal(signal.SIGCONT)
    assert ended, "the cancelled task did not end"
    return ended[0] - stopped
