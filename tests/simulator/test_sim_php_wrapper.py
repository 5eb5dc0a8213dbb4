"""The vendor's PHP wrapper, re-enacted with plain httpx against a uvicorn-served simulator.

What ``includes/api-wrappers.php`` does on the wire: a token by GET with the
credentials in the query; every call with ``token``, ``format``, ``campaign``
and ``raw=1`` in the query; reads as POST form fields (curl turns a nested PHP
array in them into the text ``Array``); writes as a raw JSON array body (curl's
default form Content-Type); on ``Expired token`` or ``Unknown token`` (or
``expire == -1``) one fresh token and one resend.
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
        self, script: str, get: dict[str, str], post: dict[str, Any], import_: Any
    ) -> dict[str, Any]:
        if self.token is None:
            await self.get_auth_token()
        reply = await self._send(script, get, post, import_)
        if reply.get("error") in ("Expired token", "Unknown token") or reply.get("expire") == -1:
            await self.get_auth_token()
            reply = await self._send(script, get, post, import_)
        return reply

    async def _send(
        self, script: str, get: dict[str, str], post: dict[str, Any], import_: Any
    ) -> dict[str, Any]:
        assert self.token is not None
        query = {**get, "token": self.token, "format": "json", "campaign": CAMPAIGN, "raw": "1"}
        if post:
            # curl's CURLOPT_POSTFIELDS takes scalars; a nested array is sent as "Array".
            form = {
                key: "Array" if isinstance(value, dict) else str(value)
                for key, value in post.items()
            }
            response = await self.http.post(f"{script}.php", params=query, data=form)
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

    async def api(self, script: str, method: str, action: str, data: Any = None) -> dict[str, Any]:
        data = data or {}
        get = {"method": method, "action": action}
        if action in ("create", "update", "delete"):
            return await self.dxi(script, get, {}, data)
        return await self.dxi(script, get, data, data)

    async def api_ecnow(self, method: str, action: str, data: Any = None) -> dict[str, Any]:
        return await self.api("ecnow", method, action, data)

    async def api_db(self, method: str, action: str, data: Any = None) -> dict[str, Any]:
        # persistECNExtraObjects returns a successful reply as it is.
        return await self.api("database", method, action, data)


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


#: The documented lead (ECNOW.md, "Creating new lead on ContactNow"), in dataset 351.
DOC_LEAD = {
    "dataset": 351, "HomePhone": "", "WorkPhone": "", "MobilePhone": "01234567890",
    "Title": "Mr.", "FirstName": "Jon", "LastName": "Dow", "Address1": "123 Street Name",
    "Address2": "Address line 2", "Address3": "Town", "Address4": "City", "Address5": "State",
    "Address6": "Country", "Postcode": "Postal Code", "callback": "2017-12-10 10:00:00",
    "AgentRef": 503314, "outcomecode": 109, "Call_Back_Notes": "This is a note for agent to see",
    "notes_append": "2017-12-01 09:00:00: Add a log",
}  # fmt: skip


async def test_php_wrapper_ecnow_session(clock: VirtualClock, stage: Stage) -> None:
    """The vendor's ecnow and database calls, as ECNOW.md, DATABASE.md, index.php and
    wait-for-lead-and-push.php make them."""
    sim = Simulator(username="demo", password="demo", agents=12, seed=21, clock=clock)
    async with stage.showing(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        php = PhpWrapper(http)

        tables = await php.api_ecnow("campaign_tables", "read")
        assert [row["name"] for row in tables["list"]] == [
            "APItestcampaign", "BradOutbound", "Willtest",
        ]  # fmt: skip
        schema = await php.api_ecnow("campaign_fields", "read", {"table": "Willtest"})
        assert (schema["success"], schema["total"]) == (True, 33)
        datasets = await php.api_ecnow(
            "ecnow_datasets", "read", {"table": "Willtest", "state": "LIVE"}
        )
        assert [row["dataset"] for row in datasets["list"]] == ["351"]

        created = await php.api_ecnow("ecnow_records", "create", [DOC_LEAD])
        assert (created["success"], created["total"], created["bad"]) == (True, 1, 0)
        assert created["info"] == "Record is LIVE on the dialer."
        key = created["key"]
        found = await php.api_ecnow(
            "ecnow_records",
            "read",
            {"table": "Willtest", "dataset": 351, "mode": "callbacks", "ddi": "01234567890"},
        )
        assert [row["id"] for row in found["list"]] == [str(key)]
        assert found["list"][0]["ProcessType"] == "NEEDSMOREWORK"
        # index.php's read: its search array reaches the API as "Array" and is ignored.
        read_all = await php.api_ecnow(
            "ecnow_records", "read", {"table": "Willtest", "search": {"id": 34}, "type": "exact"}
        )
        assert str(key) in [row["id"] for row in read_all["list"]]

        # wait-for-lead-and-push.php: copy the record into another dataset, complete the old.
        data = dict(found["list"][0])
        original, old_dataset = data["id"], data["datasetid"]
        data.update(outcomecode=109, ProcessType="NEEDSMOREWORK", notes_append="moved")
        for name in ("sourcefile", "loaddate", "id"):
            del data[name]
        data["dataset"] = data["datasetid"] = 352
        pushed = await php.api_ecnow("ecnow_records", "create", data)
        assert (pushed["total"], pushed["info"]) == (1, "Record NOT live on the dialer.")
        completed = await php.api_ecnow("ecnow_records", "update", {
            "id": original, "dataset": old_dataset, "outcomecode": 510456,
            "notes_append": "Record completed via API",
        })  # fmt: skip
        assert completed == {
            "success": True,
            "total": 1,
            "bad": 0,
            "info": "Record is NOT live on the dialer due having a complete outcome.",
        }
        failed = await php.api_ecnow(
            "ecnow_records", "update", {"id": 2499999, "dataset": 3, "outcomecode": 510456}
        )
        assert failed == {
            "success": True, "total": 0, "bad": 1, "error": "Record id [2499999] does not exist.",
        }  # fmt: skip

        queues = await php.api_db(
            "queues", "read", {"table": "Willtest", "type": "outbound,inbound", "filter": "!= 999"}
        )
        assert [(row["qid"], row["type"]) for row in queues["list"]] == [
            ("1007", "inbound"), ("2001", "outbound"),
        ]  # fmt: skip
        codes = await php.api_db("outcomecodes", "read")
        assert {"outcome": "510456", "description": "Sales Completed", "complete": "Y",
                "dmc": "Y", "sale": "Y", "do_not_call": "N",
                "answerphone": "0"} in codes["list"]  # fmt: skip
        agents = await php.api_db("agents", "read", {"filter": "NOT IN (999, 505050)"})
        assert agents["total"] == 12

    for record in sim.requests:
        if record.script != "token":
            assert record.args["campaign"] == CAMPAIGN
            assert record.http_method == "POST"
