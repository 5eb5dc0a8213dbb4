"""``token.php`` replies that lie about ``expire``: no token storm, no untyped error."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import anyio
import httpx
import pytest

from contactnow_async import ResponseFormatError, TokenError, VirtualClock
from tests._helpers import AGENT_ROW, client_for, json_reply, script_of

pytestmark = pytest.mark.anyio


class TokenAPI:
    """Issues tokens whose ``expire`` is the JSON text ``expire(now)``; accepts any it issued."""

    def __init__(self, clock: VirtualClock, expire: Callable[[float], str]) -> None:
        self.clock = clock
        self.expire = expire
        self.issued: set[str] = set()
        self.token_gets = 0
        self.reads = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if script_of(request) == "token":
            self.token_gets += 1
            token = secrets.token_hex(20)
            self.issued.add(token)
            body = f'{{"success":true,"token":"{token}","expire":{self.expire(self.clock.now())}}}'
            return httpx.Response(200, content=body.encode())
        if request.url.params.get("token") not in self.issued:
            return json_reply({"success": False, "error": "Invalid token"})
        self.reads += 1
        return json_reply({"success": True, "total": 1, "list": [AGENT_ROW]})


SHORT_EXPIRES: dict[str, Callable[[float], str]] = {
    "an-hour-ago": lambda now: str(int(now) - 3600),
    "minus-one": lambda now: "-1",
    "inside-the-margin": lambda now: str(int(now) + 30),  # the margin is 60 s
}


@pytest.mark.parametrize("expire", SHORT_EXPIRES.values(), ids=list(SHORT_EXPIRES))
async def test_tokens_that_expire_at_once_cause_no_token_storm(
    expire: Callable[[float], str],
) -> None:
    clock = VirtualClock()
    api = TokenAPI(clock, expire)
    cn, http = client_for(api, clock=clock, token_margin=60)
    async with http, cn:
        for _ in range(20):
            await cn.agents.read()
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(cn.agents.read)
        assert api.reads == 40
        assert api.token_gets <= 3  # not one per call

        async def read_as_time_passes() -> None:
            for _ in range(20):
                clock.advance(120)
                await cn.agents.read()

        # Every new token is as short: the client says so rather than fetch forever.
        with pytest.raises(TokenError, match="tokens in a row that expire within 60s"):
            await read_as_time_passes()
    assert api.token_gets <= 5


@pytest.mark.parametrize(
    "expire",
    ['"1800000000.0"', '"1800000000"', "1800000000.0", "1800000000", "1800000000.5"],
)
async def test_a_whole_number_expire_in_any_spelling_is_accepted(expire: str) -> None:
    # A fraction of a second is the second before it (never late).
    api = TokenAPI(VirtualClock(), lambda now: expire)
    cn, http = client_for(api, clock=api.clock)
    async with http, cn:
        assert len(await cn.agents.read()) == 1
        assert (await cn.tokens.get()).expires_ts == 1_800_000_000
    assert api.token_gets == 1


@pytest.mark.parametrize(
    "expire",
    ['"abc"', "{}", "[]", "NaN", "Infinity", "1e400", str(10**30), "true", "null", '"-1.5"'],
)
async def test_an_expire_that_is_not_a_unix_time_is_a_format_error(expire: str) -> None:
    api = TokenAPI(VirtualClock(), lambda now: expire)
    cn, http = client_for(api, clock=api.clock)
    async with http, cn:
        # NaN, Infinity and 1e400 are refused with the body, as no JSON number: a garbled
        # body, fetched again as one is (twice, by default), which a wrong expire is not.
        garbled = expire in ("NaN", "Infinity", "1e400")
        shown = "a JSON number that is not finite" if garbled else "expire time that is not"
        with pytest.raises(ResponseFormatError, match=shown):
            await cn.agents.read()
    assert (api.token_gets, api.reads) == (3 if garbled else 1, 0)
