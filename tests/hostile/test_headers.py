"""Reply heads that are large but valid, and one too large: the same on every wire."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from contactnow_async import ContactNowError, ResponseFormatError, TransportError
from tests.hostile._server import answering, client, serve

pytestmark = pytest.mark.anyio

GUARD = 10
AGENTS = b'{"success":true,"total":1,"list":[{"agentid":"1","name":"Joe"}]}'


@pytest.mark.parametrize(
    "headers",
    [
        [("Set-Cookie", "lb=" + "x" * 20_000)],
        [("Content-Security-Policy", "default-src " + "a" * 60_000)],
        [(f"X-Trace-{index}", "v") for index in range(200)],
    ],
    ids=["one-20k-cookie", "one-60k-policy", "200-headers"],
)
async def test_a_large_valid_head_is_read_on_every_wire(headers: list[tuple[str, str]]) -> None:
    """httpx reads a head of up to 100 KiB, however it is split: aiohttp refused a
    line past 8 KiB or more than 128 headers, so a reply the plain wire took was a
    TransportError on the [speed] wire (and a create that the server did was raised)."""
    with serve(answering(AGENTS, headers=headers)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            (agent,) = await cn.agents.read()
    assert agent.agent_id == "1"


async def test_a_head_far_past_100_kib_is_refused_on_every_wire() -> None:
    """Memory stays bounded: httpx refuses a head still incomplete past 100 KiB (one a
    little longer may arrive whole first), aiohttp a line past 100 KiB."""
    headers = [("X-Padding", "p" * 300_000)]
    with serve(answering(AGENTS, headers=headers)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(TransportError, match="after the request was sent") as info:
                await cn.agents.read()
    assert info.value.sent is True


@pytest.mark.parametrize("call", ["read", "download"])
async def test_a_content_length_of_thousands_of_digits_is_read_or_refused(
    call: str, tmp_path: Path
) -> None:
    """aiohttp's parser takes a length of 5,000 zeros and then the length itself (httpx's
    refuses it): ``int()`` refused more than 4,300 digits with a ValueError, which reached
    the caller of every call on the [speed] wire bare."""
    headers = [("Content-Length", "0" * 5000 + str(len(AGENTS)))]
    behaviour = answering(AGENTS, headers=headers, declare_length=False, content_type=None)
    outcome: object
    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            try:
                if call == "read":
                    outcome = await cn.agents.read()
                else:
                    outcome = await cn.recordings.download(7, tmp_path / "call.wav")
            except ContactNowError as exc:
                outcome = exc
    if isinstance(outcome, TransportError):  # httpx's parser refuses the head
        assert "bad Content-Length" in str(outcome)
    elif call == "read":  # aiohttp's reads it: the reply's length after the zeros
        assert isinstance(outcome, list)
        assert [agent.agent_id for agent in outcome] == ["1"]
    else:  # an envelope where the recording should be
        assert isinstance(outcome, ResponseFormatError)
        assert "recording.php answered an envelope" in str(outcome)
