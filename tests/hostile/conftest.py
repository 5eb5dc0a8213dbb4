"""Fixtures of the hostile-server tests: a decompression bomb, and every log line."""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile._server import WIRE

# Each set to DEBUG, not just the root: any of them may have a level of its own.
LOGGERS = (
    "contactnow_async",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
)

#: What the bomb inflates to: two gibibytes of zeros.
BOMB_SIZE = 2 << 30
_MIB = 1 << 20


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """A valid ``Content-Encoding: gzip, gzip`` body of a few KB that inflates to
    :data:`BOMB_SIZE` bytes.

    Built without compressing gigabytes: after a full flush deflate starts afresh,
    so every further MiB of zeros compresses to the same bytes, repeated.
    """
    zeros = bytes(_MIB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH) == again
    crc = 0
    for _ in range(BOMB_SIZE // _MIB):
        crc = zlib.crc32(zeros, crc)
    final_empty_block = b"\x01\x00\x00\xff\xff"  # a last, empty stored block
    inner = (
        first
        + again * (BOMB_SIZE // _MIB - 1)
        + final_empty_block
        + struct.pack("<II", crc, BOMB_SIZE % (1 << 32))
    )
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return outer.compress(inner) + outer.flush()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` at DEBUG for every logger, httpx's and httpcore's included."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture(params=["given", "httpx", "aiohttp"], autouse=True)
def wire(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every hostile client test over an httpx client of the caller's own
    (``given``), the client's own pool on plain httpx, and on aiohttp (the
    ``[speed]`` wire) on asyncio; the other pairs are deselected below."""
    if request.param == "aiohttp":
        pytest.importorskip("aiohttp", reason="the [speed] extra is part of [test]")
    WIRE["transport"] = request.param
    try:
        yield str(request.param)
    finally:
        WIRE["transport"] = "given"


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop aiohttp runs of tests that are not async, or run on trio (aiohttp cannot),
    and own-pool runs of tests that are not async (they make no client)."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        wire, backend = params.get("wire"), params.get("anyio_backend")
        dropped = HERE in item.path.parents and (
            (wire == "aiohttp" and backend != "asyncio") or (wire == "httpx" and backend is None)
        )
        (drop if dropped else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
