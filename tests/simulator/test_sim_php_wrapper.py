"""The vendor's PHP wrapper, re-enacted with plain httpx against a uvicorn-served simulator.

What ``includes/api-wrappers.php`` does on the wire: a token by GET with the
credentials in the query; every call with ``token``, ``format``, ``campaign``
and ``raw=1`` in the query; reads as POST form fields; writes as a raw JSON
array body (curl's default form Content-Type); on ``Expired token`` or
``Unknown token`` (or ``expire == -1``) one fresh token and one resend.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from contactnow_async.simulator import Simulator, VirtualClock

from .._stage import Stage
from .sim_helpers import DOC_AGENT

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

CAMPAIGN = "10278"


class PhpWrapper:
    """The PHP wrapper's ``dxi()``, ``api()`` and ``get_auth_token()``, in Python."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = None

    async def get_auth_token(self) -> str:
        response = await self.http.get(
            "token.php",
            params={"action": "get", "format": "json", "username": "demo", "password": "demo"},
        )
        reply = response.json()
        assert reply["success"] is True, reply
        self.token = str(reply["token"])
        return self.token

    async def dxi(
        self, script: str, get: dict[str, str], post: dict[str, str], import_: Any
    ) -> dict[str, Any]:
        if self.token is None:
            await self.get_auth_token()
        reply = await self._send(script, get, post, import_)
        if reply.get("error") in ("Expired token", "Unknown token") or reply.get("expire") == -1:
            await self.get_auth_token()
            reply = await self._send(script, get, post, import_)
        return reply

    async def _send(
        self, script: str, get: dict[str, str], post: dict[str, str], import_: Any
    ) -> dict[str, Any]:
        assert self.token is not None
        query = {**get, "token": self.token, "format": "json", "campaign": CAMPAIGN, "raw": "1"}
        if post:
            response = await self.http.post(f"{script}.php", params=query, data=post)
        else:
            body = json.dumps(import_)
            if not body.startswith("["):
                body = f"[{body}]"
            response = await self.http.post(
                f"{script}.php",
                params=query,
                content=body,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        assert response.status_code == 200
        reply: dict[str, Any] = response.json()
        return reply

    async def api(
        self, script: str, method: str, action: str, data: dict[str, str] | None = None
    ) -> dict[str, Any]:
        data = data or {}
        get = {"method": method, "action": action}
        if action in ("create", "update", "delete"):
            return await self.dxi(script, get, {}, data)
        return await self.dxi(script, get, data, data)


async def test_php_wrapper_session(clock: VirtualClock, stage: Stage) -> None:
    sim = Simulator(username="demo", password="demo", agents=12, seed=21, clock=clock)
    async with stage.showing(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        php = PhpWrapper(http)

        created = await php.api("database", "agents", "create", DOC_AGENT)
        assert (created["success"], created["total"], created["bad"]) == (True, 1, 0)
        key = str(created["key"])

        read = await php.api("database", "agents", "read", {"agentid": key})
        assert read["list"][0]["name"] == "Joe Blogs"

        updated = await php.api("database", "agents", "update", {"agentid": key, "name": "J. B."})
        assert updated["total"] == 1
        assert (await php.api("database", "agents", "read", {"agentid": key}))["list"][0][
            "name"
        ] == "J. B."

        assignment = {"agentid": key, "qid": "1007", "level": "100"}
        assert (await php.api("database", "priority", "create", assignment))["total"] == 1
        assert (await php.api("database", "priority", "create", assignment))["total"] == 0
        assert (await php.api("database", "priority", "read", {"agent": key}))["total"] == 1

        clock.advance(1200)
        log = await php.api("database", "status_log", "read", {"agent": sim.agent_ids[0]})
        assert log["total"] >= 1
        assert {row["agent"] for row in log["list"]} == {sim.agent_ids[0]}

        live = await php.api("ajax", "agents", "read", {"mode": "all"})
        assert live["total"] == 13

        # The wrapper's reads with no options post "[null]" as the body: harmless.
        online = await php.dxi("ajax", {"method": "agents", "action": "read"}, {}, None)
        assert online["success"] is True
        assert online["total"] == sum(row["status"] != "offline" for row in live["list"])

        # Expired token: one fresh token, one resend, and the work is done once.
        sim.expire_tokens()
        again = await php.api("database", "agents", "create", {"name": "After expiry"})
        assert again["total"] == 1

    assert sim.stats.token_gets == 2
    assert sim.stats.count("database", "agents", "create") == 3  # 1 + (1 refused + 1 resent)
    names = [agent["name"] for agent in sim.live_agents()]
    assert names.count("After expiry") == 1
    for record in sim.requests:
        if record.script != "token":
            assert record.args["campaign"] == CAMPAIGN
            assert record.args["raw"] == "1"
            assert record.http_method == "POST"
