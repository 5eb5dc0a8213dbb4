"""A ``rediss://`` Redis whose TLS certificate is not trusted: no outage to wait out.

The relay and the stream reader retried it every second for ever, logging a warning
each time; they end at once with one error that says so, without the URL's password.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import anyio
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from contactnow_async import ContactNow
from contactnow_async.redis import StreamReader, refusal, run_relay

from ..cli.conftest import Outcome, run_subprocess
from ._tls import SECRET, self_signed, untrusted_redis

pytestmark = pytest.mark.anyio

#: How the errors read: the certificate, and why retrying is no use.
UNTRUSTED = "TLS certificate is not trusted"


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def untrusted_url(tls_context: ssl.SSLContext) -> AsyncIterator[str]:
    async with untrusted_redis(tls_context) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio API is asyncio only."""
    return "asyncio"


def assert_untrusted(error: BaseException) -> None:
    assert UNTRUSTED in str(error), error
    assert "self-signed certificate" in str(error), error
    assert SECRET not in str(error)


@pytest.mark.slow
async def test_an_untrusted_certificate_ends_the_relay(untrusted_url: str) -> None:
    async with ContactNow(username="demo", password="demo", base_url="http://127.0.0.1:1") as cn:
        with anyio.fail_after(5), pytest.raises(RedisConnectionError) as caught:
            await run_relay(redis_url=untrusted_url, stream="s", client=cn, lease_ttl=0.5)
    assert_untrusted(caught.value)


@pytest.mark.slow
async def test_an_untrusted_certificate_ends_a_stream_reader(untrusted_url: str) -> None:
    redis = Redis.from_url(untrusted_url)
    try:
        reader = StreamReader(redis, "s", group="g", consumer="c", block=0.1)
        with anyio.fail_after(5), pytest.raises(RedisConnectionError) as caught:
            async for _ in reader:
                pass  # pragma: no cover -- nothing to read
    finally:
        await redis.aclose()
    assert_untrusted(caught.value)


async def test_refusal_tells_an_untrusted_certificate_from_an_outage(untrusted_url: str) -> None:
    redis = Redis.from_url(untrusted_url)
    try:
        with pytest.raises(RedisConnectionError) as caught:
            await redis.ping()
    finally:
        await redis.aclose()
    refused = refusal(caught.value)
    assert isinstance(refused, RedisConnectionError)
    assert_untrusted(refused)
    closed = RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
    assert refusal(closed) is None  # an outage: retried


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "who"),
    [
        (["--simulate", "relay", "--lease-ttl", "0.5"], "the relay"),
        (["serve", "--port", "0"], "the wallboard"),  # its page served 503s for ever
    ],
    ids=["relay", "serve"],
)
def test_the_command_ends_naming_the_url_without_its_password(
    tls_context: ssl.SSLContext, args: list[str], who: str
) -> None:
    async def main() -> Outcome:
        async with untrusted_redis(tls_context) as url:
            command = [*args, "--redis", f"{url}?ssl_password={SECRET}"]
            return await anyio.to_thread.run_sync(lambda: run_subprocess(command, timeout=30))

    out = anyio.run(main)
    assert out.code == 5, out  # EXIT_NETWORK, as for an API's certificate not trusted
    # serve's source logs its stop too (as for a refused password): one error line.
    (line,) = [line for line in out.error_lines if line.startswith("contactnow: error: ")]
    assert "Traceback" not in out.stderr
    assert f"{who} cannot use Redis at rediss://127.0.0.1:" in line
    assert UNTRUSTED in line
    assert SECRET not in out.stdout + out.stderr
