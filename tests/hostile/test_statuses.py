"""Informational and bodiless statuses as a server may misuse them: the same on every wire."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import pytest

from contactnow_async import ContactNow
from tests.hostile._server import Peer, Request, fails_after_sending

pytestmark = pytest.mark.anyio

AGENTS = b'{"success":true,"total":1,"list":[{"agentid":"1","name":"Joe"}]}'


async def read_agents(cn: ContactNow) -> object:
    return await cn.agents.read()


async def create_agent(cn: ContactNow) -> object:
    return await cn.agents.create([{"name": "Ann Example", "username": "ann", "password": "x"}])


async def switches_protocols(request: Request, peer: Peer) -> None:
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
    await peer.send(head + AGENTS)


async def download(cn: ContactNow) -> object:
    return await cn.recordings.download(7, io.BytesIO())


@pytest.mark.parametrize(
    ("call", "attempts"),
    [(read_agents, 3), (download, 3), (create_agent, 1)],
    ids=["read-is-retried", "download-is-retried", "create-is-never-resent"],
)
async def test_a_switch_of_protocols_nobody_asked_for_is_a_failed_connection(
    call: Callable[[ContactNow], Awaitable[object]], attempts: int
) -> None:
    """No request asks for an upgrade: httpx's parser refuses a 101 as a broken reply (a
    TransportError, sent); aiohttp handed it over as the final reply, read as an empty
    body (a ResponseFormatError, and a read not tried again)."""
    await fails_after_sending(switches_protocols, call, attempts)
