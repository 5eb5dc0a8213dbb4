"""Content-Encodings and charsets that lie, stack up or explode."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable

import anyio
import pytest

from contactnow_async import ContactNow, ResponseFormatError
from tests.hostile._server import Peer, Request, answering, client, envelope, reply, serve

pytestmark = pytest.mark.anyio

GUARD = 10
AGENTS = envelope(
    {"success": True, "total": 1, "list": [{"agentid": "550423", "name": "Joe Blogs"}]}
)
AGENTS_XML = (
    b'<?xml version="1.0" encoding="utf-8"?><result><success>1</success><total>1</total>'
    b"<list><agent><agentid>550423</agentid><name>Joe Blogs</name></agent></list></result>"
)
_MB = 1 << 20


async def test_a_gzip_bomb_is_cut_at_the_cap_in_bounded_memory(gzip_bomb: bytes) -> None:
    """A few KB of ``gzip, gzip`` that inflate to 2 GiB: refused at 1 MB, not inflated."""
    assert len(gzip_bomb) < 8 * 1024
    behaviour = answering(gzip_bomb, headers=[("Content-Encoding", "gzip, gzip")])
    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with client(server, max_response_bytes=1_000_000, max_retries=0) as cn:
            await cn.tokens.get()  # the token fetch is not what is measured
            tracemalloc.start()
            try:
                with pytest.raises(ResponseFormatError, match="max_response_bytes"):
                    await cn.agents.read()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert peak < 50 * _MB
    assert len(server.data_requests) == 1


def _zlib(data: bytes) -> bytes:
    return zlib.compress(data)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("content_encoding", "steps"),
    [
        ("gzip, deflate", [gzip.compress, _zlib]),
        ("gzip, deflate", [gzip.compress, _raw_deflate]),
        ("deflate, gzip", [_raw_deflate, gzip.compress]),
        ("x-gzip, identity, GZIP", [gzip.compress, gzip.compress]),
    ],
    ids=["gzip-zlib", "gzip-raw-deflate", "raw-deflate-gzip", "x-gzip-identity-gzip"],
)
async def test_a_valid_stack_of_encodings_decodes(
    content_encoding: str, steps: list[Callable[[bytes], bytes]]
) -> None:
    body = AGENTS
    for step in steps:  # in the order the header lists them: the first applied first
        body = step(body)
    with serve(answering(body, headers=[("Content-Encoding", content_encoding)])) as server:
        with anyio.fail_after(GUARD):
            async with client(server) as cn:
                (agent,) = await cn.agents.read()
    assert agent.name == "Joe Blogs"


async def test_a_raw_deflate_body_whose_first_byte_arrives_alone_decodes() -> None:
    body = _raw_deflate(AGENTS)

    async def first_byte_alone(request: Request, peer: Peer) -> None:
        head = reply(200, headers=[("Content-Encoding", "deflate")], declare_length=False)
        await peer.send(head + body[:1])
        await asyncio.sleep(0.05)  # so the client reads the one byte before the rest
        await peer.send(body[1:])

    with serve(first_byte_alone) as server, anyio.fail_after(GUARD):
        async with client(server) as cn:
            (agent,) = await cn.agents.read()
    assert agent.name == "Joe Blogs"


@pytest.mark.parametrize("content_encoding", ["br", "zstd", "x-snappy", "gzip, br"])
async def test_an_encoding_the_client_cannot_undo_is_refused(content_encoding: str) -> None:
    # A plain envelope under the label: the client cannot know, so it must not guess.
    behaviour = answering(AGENTS, headers=[("Content-Encoding", content_encoding)])
    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(ResponseFormatError, match="unsupported content encoding"):
                await cn.agents.read()
    assert len(server.data_requests) == 1


async def _read(cn: ContactNow) -> object:
    return await cn.agents.read()


async def _create(cn: ContactNow) -> object:
    return await cn.agents.create([{"name": "Ann Example", "username": "ann", "password": "x"}])


@pytest.mark.parametrize(("call", "attempts"), [(_read, 1), (_create, 1)], ids=["read", "create"])
async def test_a_lying_gzip_header_on_a_plain_body(
    call: Callable[[ContactNow], Awaitable[object]], attempts: int
) -> None:
    behaviour = answering(AGENTS, headers=[("Content-Encoding", "gzip")])
    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=2) as cn:
            with pytest.raises(ResponseFormatError, match="decode") as info:
                await call(cn)
    assert type(info.value) is ResponseFormatError
    # A server that lies about its encoding lies again: not retried, even for a read.
    assert len(server.data_requests) == attempts


@pytest.mark.parametrize(
    "body",
    [
        AGENTS_XML.replace(b'encoding="utf-8"', b'encoding="UTF-16"'),
        AGENTS.replace(b"Joe Blogs", b"Jo\xffe Blogs"),
        AGENTS.replace(b"Joe Blogs", b"Jo\xed\xa0\x80e Blogs"),  # an encoded lone surrogate
        AGENTS.replace(b"Joe Blogs", b"Jo\xc3"),  # cut inside a character
    ],
    ids=["xml-declares-utf16", "json-invalid-utf8", "json-surrogate", "json-cut-character"],
)
async def test_a_body_that_lies_about_its_charset_is_a_format_error(body: bytes) -> None:
    with serve(answering(body)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(ResponseFormatError) as info:
                await cn.agents.read()
    assert type(info.value) is ResponseFormatError
    assert info.value.__cause__ is None  # no other exception behind it


@pytest.mark.parametrize(
    ("body", "format"), [(AGENTS, "json"), (AGENTS_XML, "xml")], ids=["json", "xml"]
)
async def test_a_byte_order_mark_before_the_body_is_accepted(body: bytes, format: str) -> None:
    with serve(answering(b"\xef\xbb\xbf" + body)) as server, anyio.fail_after(GUARD):
        async with client(server, format=format) as cn:
            (agent,) = await cn.agents.read()
    assert agent.name == "Joe Blogs"
