"""Fidelity of the campaign database and the dialler: ``ecnow.php`` datasets, records,
campaign tables and fields, ``database.php`` queues and outcome codes, spoken to with
plain httpx as the vendor's documents describe them (no part of the client library)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest

from contactnow_async.simulator import Dwell, Simulator, VirtualClock
from contactnow_async.simulator._dialler import CALLBACK_DELAY, DIAL_DELAY

from .sim_helpers import START, api_params, json_of, xml_root

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

RECORD_KEYS = {
    "id", "datasetid", "AgentRef", "Agent_Specific", "callback", "Call_Back_Notes",
    "Call_Back_Sametime", "HomePhone", "MobilePhone", "WorkPhone", "outcomecode", "ProcessDate",
    "ProcessType", "notes", "loaddate", "sourcefile", "URN", "VENDOR_URN", "Title", "FirstName",
    "LastName", "Address1", "Address2", "Address3", "Address4", "Address5", "Address6",
    "Postcode",
}  # fmt: skip
WILLTEST_OWN = {"appointment", "Customer_Email", "flgid", "Testy", "ThisIsATimeField"}
#: The fields of the documented record 411 (a Willtest record), in the documented order.
DOCUMENTED_RECORD_ORDER = [
    "Address1", "Address2", "Address3", "Address4", "Address5", "Address6", "AgentRef",
    "Agent_Specific", "appointment", "callback", "Call_Back_Notes", "Call_Back_Sametime",
    "Customer_Email", "datasetid", "FirstName", "flgid", "HomePhone", "id", "LastName",
    "loaddate", "MobilePhone", "notes", "outcomecode", "Postcode", "ProcessDate", "ProcessType",
    "sourcefile", "Testy", "ThisIsATimeField", "Title", "URN", "VENDOR_URN", "WorkPhone",
]  # fmt: skip


class Api:
    """The documented calls, each one HTTP request to the simulator."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    async def read(self, script: str, method: str, **args: str) -> dict[str, Any]:
        reply: dict[str, Any] = json_of(
            await self.http.get(
                f"{script}.php", params=api_params(self.token, method, "read", **args)
            )
        )
        return reply

    async def rows(self, script: str, method: str, **args: str) -> list[dict[str, str]]:
        reply = await self.read(script, method, **args)
        assert reply["success"] is True, reply
        assert reply["total"] == len(reply["list"])
        rows: list[dict[str, str]] = reply["list"]
        return rows

    async def write(
        self, script: str, method: str, action: str, records: list[dict[str, Any]]
    ) -> dict[str, Any]:
        reply: dict[str, Any] = json_of(
            await self.http.post(
                f"{script}.php",
                params=api_params(self.token, method, action),
                content=json.dumps(records),
            )
        )
        return reply

    async def create(self, *leads: dict[str, Any]) -> int:
        """Create leads; return the last one's id."""
        reply = await self.write("ecnow", "ecnow_records", "create", list(leads))
        assert reply["bad"] == 0, reply
        key: int = reply["key"]
        return key

    async def record(self, record_id: str | int) -> dict[str, Any]:
        """The record of that id, in whichever campaign table holds it (a read names one)."""
        tables = [row["name"] for row in await self.rows("ecnow", "campaign_tables")]
        (row,) = [
            row
            for table in tables
            for row in await self.rows("ecnow", "ecnow_records", table=table, id=str(record_id))
        ]
        return row


@pytest.fixture
def api(http: httpx.AsyncClient, token: str) -> Api:
    return Api(http, token)


# -- reads: the documented rows --------------------------------------------------------


async def test_campaign_tables_and_fields(api: Api) -> None:
    tables = await api.rows("ecnow", "campaign_tables")
    assert tables == [{"name": "APItestcampaign"}, {"name": "BradOutbound"}, {"name": "Willtest"}]
    fields = await api.rows("ecnow", "campaign_fields", table="Willtest")
    assert len(fields) == 33  # as the documented reply's total
    assert fields[0] == {
        "position": "1", "table": "Willtest", "name": "id", "size": "200",
        "standard_field": "1", "group_name": "system", "type": "int", "prompt": "id",
        "readonly": "Y", "search": "yes", "hidden": "N", "hidden_on_script": "N", "order": "0",
        "picklist": "", "required": "N",
    }  # fmt: skip
    assert {f["name"] for f in fields if f["standard_field"] == "0"} == WILLTEST_OWN
    assert {f["name"] for f in fields if f["standard_field"] == "1"} == RECORD_KEYS
    assert await api.rows("ecnow", "campaign_fields", table="Willtest", name="testy") == [
        fields[-2]
    ]
    everything = await api.rows("ecnow", "campaign_fields")
    assert len(everything) == 33 + 28 + 31
    assert (await api.read("ecnow", "campaign_fields", table="Nope"))["error"] == (
        "Bad argument: table [Nope] does not exist."
    )


async def test_datasets_read_filters(api: Api) -> None:
    every = await api.rows("ecnow", "ecnow_datasets")
    assert [d["dataset"] for d in every] == ["350", "351", "352", "353"]
    assert list(every[1]) == [
        "dataset", "qid", "d_status", "d_priority", "notes", "callbacks", "crm_account",
        "crm_campaign", "description", "locked", "reccount",
    ]  # fmt: skip
    assert every[1]["description"] == "MyNumber"
    live = await api.rows("ecnow", "ecnow_datasets", table="Willtest", state="LIVE")
    assert [d["dataset"] for d in live] == ["351"]
    assert [d["dataset"] for d in await api.rows("ecnow", "ecnow_datasets", qid="2002,9")] == [
        "353"
    ]
    assert await api.rows("ecnow", "ecnow_datasets", description="mynumber") == [every[1]]
    assert await api.rows("ecnow", "ecnow_datasets", dataset="352") == [every[2]]


async def test_queues_and_their_filter_expression(api: Api) -> None:
    every = await api.rows("database", "queues")
    assert {q["type"] for q in every} == {
        "inbound", "outbound", "ivr", "broadcast", "message", "sms_out", "sms_broadcast",
    }  # fmt: skip
    assert "numbers" in every[0] and "aod_ringtime" in every[0]
    # The vendor's own call: the campaign's inbound and outbound queues, deleted ones left out.
    mine = await api.rows(
        "database", "queues", table="Willtest", type="outbound,inbound", filter="!= 999"
    )
    assert [q["qid"] for q in mine] == ["1007", "2001"]
    deleted = await api.rows("database", "queues", filter="NOT IN (0, 505050)")
    assert [q["qid"] for q in deleted] == ["1099"]
    bad = await api.read("database", "queues", filter="IN 999")
    assert bad == {"success": False, "error": "Bad argument: filter"}


async def test_agents_read_understands_the_vendors_filter_expressions(api: Api) -> None:
    every = await api.rows("database", "agents")
    assert await api.rows("database", "agents", filter="!= 999") == every
    assert await api.rows("database", "agents", filter="NOT IN (999, 505050)") == every
    assert await api.rows("database", "agents", filter="0") == every  # a plain value: equality
    assert await api.rows("database", "agents", filter="= 999") == []


async def test_outcome_codes(api: Api) -> None:
    codes = await api.rows("database", "outcomecodes")
    sale = next(code for code in codes if code["outcome"] == "510456")
    assert sale == {
        "outcome": "510456", "description": "Sales Completed", "complete": "Y", "dmc": "Y",
        "sale": "Y", "do_not_call": "N", "answerphone": "0",
    }  # fmt: skip
    system = await api.rows("database", "outcomecodes", mode="system")
    assert {code["outcome"] for code in system} == {"100", "101", "102", "103", "104", "109"}
    picked = await api.rows("database", "outcomecodes", uid="501638,510456")
    assert {code["outcome"] for code in picked} == {"501638", "510456"}


async def test_xml_rows_are_named_after_their_record_type(
    http: httpx.AsyncClient, token: str
) -> None:
    for script, method, item in [
        ("ecnow", "ecnow_datasets", "dataset"),
        ("ecnow", "campaign_tables", "table"),
        ("ecnow", "campaign_fields", "field"),
        ("database", "queues", "queue"),
        ("database", "outcomecodes", "outcomecode"),
    ]:
        params = api_params(token, method, "read", format="xml", table="Willtest")
        root = xml_root(await http.get(f"{script}.php", params=params))
        rows = root.find("list")
        assert rows is not None
        assert {child.tag for child in rows} == {item}, method


# -- records: reads ----------------------------------------------------------------------


async def test_the_documented_expired_record(api: Api) -> None:
    record = await api.record(411)
    assert set(record) == RECORD_KEYS | WILLTEST_OWN
    # The order of the documented reply (ECNOW.md, "Reading data from ecnow_records":
    # "[AgentRef] => 0 / [Agent_Specific] => ... [callback] => ... [Call_Back_Notes] =>";
    # ReportingExamples.js's record alike): names compared in capitals, "_" after letters.
    assert list(record) == DOCUMENTED_RECORD_ORDER
    assert {k: record[k] for k in ("datasetid", "outcomecode", "ProcessType", "loaddate")} == {
        "datasetid": "350",
        "outcomecode": "100",
        "ProcessType": "EXPIRED",
        "loaddate": "2015-01-23",
    }
    assert record["callback"] == record["ProcessDate"] == "0000-00-00 00:00:00"


async def test_a_records_unset_urns_read_null(api: Api) -> None:
    """A record's URN and VENDOR_URN read ``""`` when unset; the vendor's record reads
    ``null`` there, beside ``""`` for its other empty fields."""
    # ReportingExamples.js, getcustomerRecordByCDR's console log: "URN": null,
    # "VENDOR_URN": null, "Agent_Specific": "", "Address2": "", "flgid": "".
    key = await api.create({"dataset": 351, "MobilePhone": "07700900555"})
    for number in (411, key):
        record = await api.record(number)
        assert (record["URN"], record["VENDOR_URN"]) == (None, None)
        assert (record["Agent_Specific"], record["Address2"], record["flgid"]) == ("", "", "")
    key = await api.create({"dataset": 351, "MobilePhone": "07700900556", "URN": "A-7"})
    record = await api.record(key)
    assert (record["URN"], record["VENDOR_URN"]) == ("A-7", None)


@pytest.mark.parametrize(
    "filters",
    [
        {"mode": "live"},
        # ECNOW.md: "One of these is required: table ... dataset ..."; id, outcome, agent,
        # ddi and search are the optional filters after them (a record id is unique only
        # in its campaign table, and the dataset names the table).
        {"id": "411"},
        {"outcome": "100"},
        {"agent": "0"},
        {"ddi": "01234567890"},
        {"search[FirstName]": "Jon"},
    ],
)
async def test_records_read_needs_a_table_or_a_dataset(api: Api, filters: dict[str, str]) -> None:
    assert await api.read("ecnow", "ecnow_records", **filters) == {
        "success": False,
        "error": "Bad argument: one of table or dataset is required",
    }


async def test_records_read_refuses_what_it_cannot_read(api: Api) -> None:
    assert (await api.read("ecnow", "ecnow_records", table="Nope"))["error"] == (
        "Bad argument: table [Nope] does not exist."
    )
    for bad in (
        {"mode": "everything"},
        {"timetype": "loaded"},
        {"timetype": "callback", "tstart": "x"},
    ):
        reply = await api.read("ecnow", "ecnow_records", table="Willtest", **bad)
        assert reply["success"] is False
        assert reply["error"].startswith("Bad argument")


async def test_read_modes_follow_process_type(api: Api) -> None:
    await api.write("ecnow", "ecnow_records", "create", [
        {"dataset": 351, "HomePhone": "01614960100"},  # New Prospect
        {"dataset": 351, "HomePhone": "01614960101", "outcomecode": 109,
         "callback": "2030-01-01 10:00:00"},  # NEEDSMOREWORK
        {"dataset": 352, "HomePhone": "01614960102", "outcomecode": 501638},  # HOLD: NEEDSMOREWORK
    ])  # fmt: skip

    async def kinds(mode: str) -> list[str]:
        rows = await api.rows("ecnow", "ecnow_records", table="Willtest", mode=mode)
        return sorted(row["ProcessType"] for row in rows)

    assert await kinds("active") == [
        "HOLD: NEEDSMOREWORK", "HOLD: New Prospect", "HOLD: New Prospect", "HOLD: New Prospect",
        "NEEDSMOREWORK", "New Prospect",
    ]  # fmt: skip
    assert await kinds("live") == ["NEEDSMOREWORK", "New Prospect"]
    assert await kinds("callbacks") == ["HOLD: NEEDSMOREWORK", "NEEDSMOREWORK"]
    assert await kinds("live-callbacks") == ["NEEDSMOREWORK"]
    unexpired = await kinds("unexpired")
    assert "EXPIRED" not in unexpired
    assert unexpired.count("COMPLETE") == 2
    assert len(unexpired) == len(await api.rows("ecnow", "ecnow_records", table="Willtest")) - 1


async def test_search_is_a_wildcard_unless_exact(api: Api) -> None:
    await api.write("ecnow", "ecnow_records", "create", [
        {"dataset": 352, "MobilePhone": "07700900001", "FirstName": "John", "LastName": "Cole"},
        {"dataset": 352, "MobilePhone": "07700900002", "FirstName": "Johnny", "LastName": "C"},
    ])  # fmt: skip

    async def names(**args: str) -> list[str]:
        rows = await api.rows("ecnow", "ecnow_records", dataset="352", **args)
        return [row["FirstName"] for row in rows]

    # The documented example: lower-case names, a wildcard search.
    assert await names(**{"search[firstname]": "john", "search[lastname]": "c"}) == [
        "John",
        "Johnny",
    ]
    assert await names(**{"search[FirstName]": "JOHN", "type": "exact"}) == ["John"]
    assert await names(**{"search[FirstName]": "j%y"}) == ["Johnny"]
    assert await names(**{"search[phone]": "900002"}) == ["Johnny"]
    assert await names(**{"search[phone]": "900002", "type": "exact"}) == []
    assert await names(**{"search[id]": "414", "search[FirstName]": "John"}) == ["Ann"]
    assert await names(ddi="07700900001") == ["John"]
    assert await names(ddi="0770090000") == []  # ddi is the whole number


async def test_a_cdr_rows_urn_and_qtable_read_back_its_record(
    api: Api, clock: VirtualClock
) -> None:
    # REPORTING.md, "Requesting full customer data from cdr data":
    # ecnow.php?method=ecnow_records&action=read&urn=THE-URN&table=THE-qTable
    key = await api.create({"dataset": 351, "MobilePhone": "07700900123"})
    clock.advance(3600)
    reply = json_of(
        await api.http.get(
            "reporting.php",
            params={
                "token": api.token,
                "method": "cdr",
                "fields": "urn,qtable",
                "range": f"{int(START)}:{int(START) + 3600}",
                "urn": str(key),
            },
        )
    )
    cdr = reply["list"][0]
    rows = await api.rows("ecnow", "ecnow_records", urn=cdr["urn"], table=cdr["qtable"])
    assert [row["id"] for row in rows] == [str(key)]


async def test_time_windows_read_callback_and_process_dates(api: Api) -> None:
    reply = await api.write("ecnow", "ecnow_records", "create", [
        {"dataset": 352, "WorkPhone": "1", "callback": "2017-11-26 23:59:59"},
        {"dataset": 352, "WorkPhone": "2", "callback": "2017-12-01 10:00:00"},
    ])  # fmt: skip
    last = reply["key"]

    async def ids(**args: str) -> list[str]:
        rows = await api.rows("ecnow", "ecnow_records", table="Willtest", **args)
        return [row["id"] for row in rows]

    november = await ids(timetype="callback", tstart="2017-11-01", tstop="2017-11-26")
    assert november == [str(last - 1)]  # a date-only tstop is the whole day
    assert await ids(timetype="callback", tstart="2017-11-27") == [str(last)]
    processed = await ids(timetype="processdate")
    assert processed == ["412", "413"]  # the two records processed before the start


# -- records: writes ---------------------------------------------------------------------


async def test_create_as_documented(api: Api, clock: VirtualClock) -> None:
    reply = await api.write("ecnow", "ecnow_records", "create", [
        {"dataset": 3 + 349, "HomePhone": "", "WorkPhone": "", "MobilePhone": "01234567890",
         "Title": "Mr.", "FirstName": "Jon", "LastName": "Dow", "Postcode": "Postal Code",
         "callback": "2017-12-10 10:00:00", "AgentRef": 503314, "outcomecode": 109,
         "Call_Back_Notes": "This is a note for agent to see", "notes_append": "Add a log",
         "Testy": "own field", "NoSuchField": "ignored", "ProcessType": "ignored"},
    ])  # fmt: skip
    assert reply == {
        "success": True,
        "total": 1,
        "bad": 0,
        "key": 2499265,
        "info": "Record NOT live on the dialer.",  # dataset 352 is on HOLD
    }
    record = await api.record(2499265)
    assert record["datasetid"] == "352"
    assert record["ProcessType"] == "HOLD: NEEDSMOREWORK"
    assert record["callback"] == "2017-12-10 10:00:00"
    assert (record["AgentRef"], record["outcomecode"], record["Testy"]) == (
        "503314",
        "109",
        "own field",
    )
    assert record["notes"] == "Add a log"
    assert record["sourcefile"] == "API"
    assert "NoSuchField" not in record
    live = await api.write("ecnow", "ecnow_records", "create", [
        {"dataset": "351", "mobilephone": "07700900123"},  # the documented lower-case name
    ])  # fmt: skip
    assert (live["key"], live["info"]) == (2499266, "Record is LIVE on the dialer.")
    assert (await api.record(2499266))["MobilePhone"] == "07700900123"


@pytest.mark.parametrize(
    ("lead", "error"),
    [
        ({"dataset": 351, "HomePhone": "", "FirstName": "No phone"},
         "Bad argument: one of HomePhone, WorkPhone or MobilePhone is required"),
        ({"MobilePhone": "1"}, "Bad argument: dataset is required"),
        ({"dataset": 999, "MobilePhone": "1"}, "Bad argument: dataset [999] does not exist."),
        ({"dataset": 350, "MobilePhone": "1"}, "Bad argument: dataset [350] is EXPIRED"),
        ({"dataset": 351, "MobilePhone": "1", "callback": "soon"}, "Bad argument: callback"),
        ({"dataset": 351, "MobilePhone": "1", "outcomecode": 7},
         "Bad argument: outcomecode [7] does not exist."),
        ({"dataset": 351, "MobilePhone": {"n": 1}}, "Bad argument: MobilePhone"),
    ],
)  # fmt: skip
async def test_a_refused_lead_is_bad_and_the_others_are_written(
    api: Api, lead: dict[str, Any], error: str
) -> None:
    good = {"dataset": 351, "MobilePhone": "07700900555"}
    reply = await api.write("ecnow", "ecnow_records", "create", [good, lead, good])
    assert reply["success"] is True
    assert (reply["total"], reply["bad"], reply["error"]) == (2, 1, error)


async def test_a_callback_before_the_year_1000_is_kept_as_written(
    api: Api, clock: VirtualClock
) -> None:
    # strftime("%Y") writes the year 999 as "999": a record stored so could not be read
    # back, and the dialler, reading every open record's callback, failed every request.
    key = await api.create({"dataset": 351, "HomePhone": "1", "callback": "0999-01-01 10:00:00"})
    assert (await api.record(key))["callback"] == "0999-01-01 10:00:00"
    clock.advance(60)
    assert (await api.read("ajax", "agents"))["success"] is True


@pytest.mark.parametrize(
    ("callback", "hours"),
    [("0001-01-01 00:00:00", 14), ("9999-12-31 23:59:59", -12)],  # UTC: the year 0, 10000
)
async def test_a_callback_a_datetime_cannot_hold_is_refused(callback: str, hours: int) -> None:
    zone = timezone(timedelta(hours=hours))
    sim = Simulator(agents=1, seed=1, clock=VirtualClock(START), record_tz=zone)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        api = Api(http, sim.issue_token())
        lead = {"dataset": 351, "HomePhone": "1", "callback": callback}
        reply = await api.write("ecnow", "ecnow_records", "create", [lead])
    assert (reply["total"], reply["bad"], reply["error"]) == (0, 1, "Bad argument: callback")


async def test_update_as_documented(api: Api) -> None:
    key = await api.create({"dataset": 351, "HomePhone": "0161"})
    completed = await api.write("ecnow", "ecnow_records", "update", [
        {"id": key, "dataset": 351, "outcomecode": 510456,
         "notes_append": "Setting record to Complete."},
    ])  # fmt: skip
    assert completed == {
        "success": True,
        "total": 1,
        "bad": 0,
        "info": "Record is NOT live on the dialer due having a complete outcome.",
    }
    record = await api.record(key)
    assert (record["ProcessType"], record["notes"]) == ("COMPLETE", "Setting record to Complete.")
    # The documented failure: the id is not in that dataset.
    assert await api.write("ecnow", "ecnow_records", "update", [
        {"id": key, "dataset": 3, "outcomecode": 510456},
    ]) == {"success": True, "total": 0, "bad": 1,
           "error": f"Record id [{key}] does not exist."}  # fmt: skip
    missing = await api.write("ecnow", "ecnow_records", "update", [{"id": 2499999, "dataset": 351}])
    assert missing["error"] == "Record id [2499999] does not exist."
    expired = await api.write("ecnow", "ecnow_records", "update", [
        {"id": 411, "dataset": 350, "FirstName": "Reopen"},
    ])  # fmt: skip
    assert (expired["bad"], expired["error"]) == (1, "Bad argument: dataset [350] is EXPIRED")
    assert (await api.record(411))["FirstName"] == ""


async def test_an_xml_payload_creates_records(
    http: httpx.AsyncClient, token: str, api: Api
) -> None:
    body = (
        "<?xml version='1.0' encoding='utf-8'?><dxi>"
        "<record><dataset>352</dataset><WorkPhone>0207</WorkPhone><FirstName>A&amp;B</FirstName></record>"
        "<record><dataset>352</dataset><WorkPhone>0208</WorkPhone></record></dxi>"
    )
    reply = json_of(
        await http.post(
            "ecnow.php", params=api_params(token, "ecnow_records", "create"), content=body
        )
    )
    assert (reply["total"], reply["bad"]) == (2, 0)
    assert (await api.record(reply["key"] - 1))["FirstName"] == "A&B"


@pytest.mark.parametrize("empty", ["<FirstName/>", "<FirstName></FirstName>"])
async def test_an_empty_xml_element_empties_the_field_as_json_does(
    http: httpx.AsyncClient, token: str, api: Api, empty: str
) -> None:
    """An XML update's empty element left the field as it was; JSON's ``""`` empties it.
    The vendor writes an empty field as an empty element: its XML agent payload has
    ``<userfield/>`` where the JSON one has ``"userfield": ""`` (seeds/001, "Create an
    Agent Using database.php Endpoint"), and a reply's ``<phone/>`` is empty."""
    params = {"token": token, "action": "update"}
    json_empty = {"id": 414, "dataset": 352, "FirstName": ""}
    await api.write("ecnow", "ecnow_records", "update", [json_empty])
    body = f"<dxi><record><id>415</id><dataset>352</dataset>{empty}</record></dxi>"
    reply = json_of(
        await http.post("ecnow.php", params={**params, "method": "ecnow_records"}, content=body)
    )
    assert (reply["total"], reply["bad"]) == (1, 0)
    assert [(await api.record(n))["FirstName"] for n in (414, 415)] == ["", ""]
    body = "<dxi><dataset><dataset>352</dataset><description/></dataset></dxi>"
    reply = json_of(
        await http.post("ecnow.php", params={**params, "method": "ecnow_datasets"}, content=body)
    )
    assert (reply["total"], reply["bad"]) == (1, 0)
    (dataset,) = await api.rows("ecnow", "ecnow_datasets", dataset="352")
    assert dataset["description"] == ""


@pytest.mark.parametrize(
    ("method", "action", "item", "error"),
    [
        ("ecnow_records", "create", {"dataset": "\u00b2", "MobilePhone": "1"},
         "Bad argument: dataset [\u00b2] does not exist."),
        ("ecnow_records", "create", {"dataset": "\u0663\u0665\u0661", "MobilePhone": "1"},
         "Bad argument: dataset [\u0663\u0665\u0661] does not exist."),
        ("ecnow_records", "create", {"dataset": "9" * 5000, "MobilePhone": "1"},
         f"Bad argument: dataset [{'9' * 5000}] does not exist."),
        ("ecnow_records", "create", {"dataset": 351, "MobilePhone": "1", "AgentRef": "\u00b2"},
         "Bad argument: AgentRef"),
        ("ecnow_records", "update", {"id": "\u00b2", "dataset": 351},
         "Record id [\u00b2] does not exist."),
        ("ecnow_records", "update", {"id": "4" * 5000, "dataset": 351},
         f"Record id [{'4' * 5000}] does not exist."),
        ("ecnow_datasets", "update", {"dataset": "\u00b2", "d_status": "LIVE"},
         "Bad argument: dataset [\u00b2] does not exist."),
        ("ecnow_datasets", "create", {"qid": 2001, "d_priority": "\u00b2"},
         "Bad argument: d_priority must be 0 to 90"),
        ("ecnow_datasets", "create", {"qid": 2001, "d_priority": "\u0661\u0660"},
         "Bad argument: d_priority must be 0 to 90"),
        ("ecnow_datasets", "create", {"qid": 2001, "d_priority": "0" * 5000},
         "Bad argument: d_priority must be 0 to 90"),
    ],
)  # fmt: skip
async def test_a_number_int_cannot_read_is_refused_not_a_crash(
    api: Api, method: str, action: str, item: dict[str, Any], error: str
) -> None:
    # str.isdigit() is true for "\u00b2" and Arabic-Indic digits, and int() refuses
    # 4,300 digits and more: such an id or priority is refused like any other bad one.
    reply = await api.write("ecnow", method, action, [item])
    assert (reply["success"], reply["total"], reply["bad"], reply["error"]) == (True, 0, 1, error)


# -- datasets: writes ---------------------------------------------------------------------


async def test_dataset_status_moves_its_records(api: Api) -> None:
    created = await api.write("ecnow", "ecnow_datasets", "create", [
        {"qid": 2001, "description": "June", "d_priority": 90},
    ])  # fmt: skip
    assert (created["total"], created["key"]) == (1, 354)
    (june,) = await api.rows("ecnow", "ecnow_datasets", dataset="354")
    assert (june["d_status"], june["d_priority"], june["qid"]) == ("HOLD", "90", "2001")
    await api.write("ecnow", "ecnow_records", "create", [{"dataset": 354, "HomePhone": "1"}])

    async def kinds() -> list[str]:
        return [
            r["ProcessType"] for r in await api.rows("ecnow", "ecnow_records", dataset="352,354")
        ]

    assert await kinds() == ["HOLD: New Prospect"] * 4
    assert (await api.write("ecnow", "ecnow_datasets", "update", [
        {"dataset": 352, "d_status": "LIVE"}, {"dataset": 354, "d_status": "LIVE"},
    ]))["total"] == 2  # fmt: skip
    assert await kinds() == ["New Prospect"] * 4
    await api.write("ecnow", "ecnow_datasets", "update", [{"dataset": 354, "d_status": "EXPIRED"}])
    assert await kinds() == ["New Prospect"] * 3 + ["EXPIRED"]
    refused = await api.write(
        "ecnow", "ecnow_datasets", "update", [{"dataset": 354, "d_status": "LIVE"}]
    )
    assert (refused["bad"], refused["error"]) == (1, "Bad argument: dataset [354] is EXPIRED")


@pytest.mark.parametrize(
    ("action", "dataset", "error"),
    [
        ("create", {"qid": 1007}, "Bad argument: qid [1007] is not an outbound queue"),
        ("create", {"qid": 2001, "d_priority": 91}, "Bad argument: d_priority must be 0 to 90"),
        ("create", {"qid": 2001, "d_status": "PAUSED"},
         "Bad argument: d_status must be HOLD, LIVE or EXPIRED"),
        ("update", {"dataset": 9, "d_status": "LIVE"}, "Bad argument: dataset [9] does not exist."),
        ("update", {"dataset": 351, "qid": 2002},
         "Bad argument: qid [2002] dials another campaign"),
    ],
)  # fmt: skip
async def test_dataset_writes_refused(
    api: Api, action: str, dataset: dict[str, Any], error: str
) -> None:
    reply = await api.write("ecnow", "ecnow_datasets", action, [dataset])
    assert (reply["success"], reply["total"], reply["bad"], reply["error"]) == (True, 0, 1, error)


@pytest.mark.parametrize("method", ["ecnow_records", "ecnow_datasets"])
@pytest.mark.parametrize("action", ["create", "update"])
async def test_a_write_without_records_answers_the_documented_error(
    http: httpx.AsyncClient, token: str, method: str, action: str
) -> None:
    # ECNOW.md, "Creating new lead on ContactNow": a POST without its records ("your
    # code did not POST a file") answers {success: false, error: "No file uploaded.
    # Missing 'easycall' section?"}.
    params = api_params(token, method, action)
    for body in (b"", b"  \n"):
        reply = json_of(await http.post("ecnow.php", params=params, content=body))
        assert reply == {"success": False, "error": "No file uploaded. Missing 'easycall' section?"}
    root = xml_root(await http.post("ecnow.php", params={**params, "format": "xml"}))
    assert [(child.tag, child.text) for child in root] == [
        ("success", "0"),
        ("error", "No file uploaded. Missing 'easycall' section?"),
    ]


async def test_records_uploaded_as_the_easycall_file_are_written(
    http: httpx.AsyncClient, token: str, api: Api
) -> None:
    # ECNOW.md names the upload's section 'easycall' (its error when none was POSTed):
    # the records may come as that multipart file rather than as the body.
    leads = json.dumps([{"dataset": 351, "MobilePhone": "07700900777", "FirstName": "Up"}])
    reply = json_of(
        await http.post(
            "ecnow.php",
            params=api_params(token, "ecnow_records", "create"),
            files={"easycall": ("leads.json", leads.encode(), "application/json")},
        )
    )
    assert (reply["success"], reply["total"], reply["bad"]) == (True, 1, 0)
    assert (await api.record(reply["key"]))["FirstName"] == "Up"


# -- the dialler ---------------------------------------------------------------------------


async def test_a_live_lead_is_dialled_by_a_waiting_agent(
    api: Api, sim: Simulator, clock: VirtualClock
) -> None:
    created = await api.write("ecnow", "ecnow_records", "create", [
        {"dataset": 351, "MobilePhone": "07700900123", "FirstName": "Jon"},
    ])  # fmt: skip
    key = str(created["key"])
    call: dict[str, str] = {}
    agent = ""
    for _ in range(200):
        clock.advance(DIAL_DELAY)
        for row in await api.rows("ajax", "agents"):
            calls: Any = row["call"]
            if calls and calls[0].get("urn") == key:
                agent, call = row["uid"], calls[0]
        if call:
            break
    assert call["qtable"] == "Willtest"
    assert (call["qid"], call["cli"], call["direction"]) == ("2001", "07700900123", "out")
    assignment = await api.rows("database", "priority", agent=agent, qid="2001")
    assert assignment, "the agent is assigned to the dataset's outbound queue"
    log = await api.rows("database", "status_log", agent=agent)
    dialled = next(i for i, row in enumerate(log) if row["callid"] == call["callid"])
    assert log[dialled]["status"] == "call"
    assert log[dialled - 1]["status"] == "wait"  # it was waiting, and the dial took DIAL_DELAY
    assert int(log[dialled]["uts"]) - int(log[dialled - 1]["uts"]) <= DIAL_DELAY
    assert (await api.record(key))["outcomecode"] == ""  # not before the call ends
    while True:
        clock.advance(60)
        record = await api.record(key)
        if record["outcomecode"]:
            break
    after = await api.rows("database", "status_log", agent=agent, uid=log[dialled]["uid"])
    ended = next(row for row in after if row["status"] == "wrap")
    assert record["ProcessDate"] == _date(int(ended["uts"]))
    assert record["ProcessType"] in ("COMPLETE", "NEEDSMOREWORK")
    assert (
        f"Call {call['callid']} by agent {agent}: outcome {record['outcomecode']}"
        in record["notes"]
    )
    del sim


def _date(when: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when))


def _calls(record: dict[str, str]) -> list[str]:
    """The call ids in a record's notes, in order."""
    return [line.split()[3] for line in record["notes"].splitlines() if " Call " in line]


async def test_a_non_complete_outcome_calls_back_later_and_hold_is_never_dialled() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=6, seed=5, clock=clock, dwell=Dwell.uniform(30))
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        api = Api(http, token)
        leads = [{"dataset": 351, "HomePhone": f"016149601{n:02d}"} for n in range(12)]
        first = (await api.write("ecnow", "ecnow_records", "create", leads))["key"] - 11
        held = (
            await api.write(
                "ecnow", "ecnow_records", "create", [{"dataset": 352, "HomePhone": "1"}]
            )
        )["key"]
        clock.advance(CALLBACK_DELAY * 3)
        records = [await api.record(first + n) for n in range(12)]
        again = [r for r in records if len(_calls(r)) > 1]
        assert again, "some record got a non-complete outcome and was called back"
        for record in records:
            assert _calls(record), "every live lead was dialled"
            last = record["notes"].splitlines()[-1]
            complete = record["ProcessType"] == "COMPLETE"
            assert complete == (record["outcomecode"] in ("510456", "510457"))
            assert (record["callback"] == "0000-00-00 00:00:00") == complete, last
        for record in again:
            assert record["ProcessType"] in ("NEEDSMOREWORK", "COMPLETE")
        assert (await api.record(held))["notes"] == ""


async def test_a_callback_an_hour_later_is_kept_over_the_hour_the_clocks_go_back() -> None:
    # London's clocks go back at 01:00 UTC on 2026-10-25: "01:30:00" that morning names
    # 00:30 and 01:30 UTC. An outcome at 00:30 UTC sets its callback an hour later, at the
    # second; read back as the first, the record was dialled again at once.
    back = 1_792_886_400.0  # 2026-10-25 00:00 UTC (01:00 BST), an hour before
    clock = VirtualClock(back)
    zone = ZoneInfo("Europe/London")
    sim = Simulator(agents=6, seed=5, clock=clock, dwell=Dwell.uniform(30), record_tz=zone)
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        api = Api(http, token)
        await api.create(*({"dataset": 351, "HomePhone": f"016149602{n:02d}"} for n in range(12)))
        clock.advance(3 * 3600)
        cdr = await api.rows(
            "reporting", "cdr", fields="callid,urn,ocid,tm_init,tm_disc", range=f"0:{2**31}"
        )
    calls: dict[str, list[dict[str, str]]] = {}
    for call in cdr:
        if call["urn"] != "0":
            calls.setdefault(call["urn"], []).append(call)
    again = [pair for record in calls.values() for pair in itertools.pairwise(record)]
    # Some record was called back after an outcome in the hour the clocks go back.
    assert any(back <= int(before["tm_disc"]) < back + 3600 for before, _ in again)
    for before, after in again:
        # Whole seconds: the callback is written to the second (the call ended within one).
        assert int(after["tm_init"]) >= int(before["tm_disc"]) + CALLBACK_DELAY, (before, after)


async def test_the_highest_dataset_priority_is_dialled_first() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=1, seed=2, clock=clock)  # agent 0: queues 2001 and 2002
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        api = Api(http, token)
        await api.write("ecnow", "ecnow_datasets", "create", [
            {"qid": 2001, "d_status": "LIVE", "d_priority": 90, "description": "urgent"},
        ])  # fmt: skip
        # One create: the dialler sees both records at once.
        high = await api.create(
            {"dataset": 351, "HomePhone": "1"}, {"dataset": 354, "HomePhone": "2"}
        )
        low = high - 1
        clock.advance(6 * 3600)
        low_calls, high_calls = _calls(await api.record(low)), _calls(await api.record(high))
    assert low_calls and high_calls
    assert int(high_calls[0]) < int(low_calls[0])


async def test_a_dataset_priority_does_not_reach_into_another_campaign() -> None:
    # ECNOW.md: "Dataset priorities do not affect other Datasets that are on a different
    # Campaign regardless of its priority." The dialler compared the priorities of every
    # dataset an agent could dial, so a priority-10 dataset of APItestcampaign went before
    # a Willtest lead loaded earlier on a queue of the same level.
    clock = VirtualClock(START)
    sim = Simulator(agents=1, seed=2, clock=clock)  # agent 0: queues 2001 and 2002
    token = sim.issue_token()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        api = Api(http, token)
        (agent,) = sim.agent_ids
        levels = [{"agentid": agent, "qid": qid, "level": "100"} for qid in ("2001", "2002")]
        assert (await api.write("database", "priority", "update", levels))["total"] == 2
        # 351 (Willtest, priority 0) and 353 (APItestcampaign, priority 10): both LIVE.
        later = await api.create(
            {"dataset": 351, "HomePhone": "1"}, {"dataset": 353, "HomePhone": "2"}
        )
        earlier = later - 1
        clock.advance(6 * 3600)
        first_calls = _calls(await api.record(earlier))
        later_calls = _calls(await api.record(later))
    assert first_calls and later_calls
    assert int(first_calls[0]) < int(later_calls[0])


def _history(steps: list[float]) -> tuple[Any, ...]:
    clock = VirtualClock(START)
    sim = Simulator(agents=8, seed=11, clock=clock, dwell=Dwell.uniform(40))
    token = sim.issue_token()
    transport = httpx.ASGITransport(app=sim)

    async def run() -> tuple[Any, ...]:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim/") as http:
            api = Api(http, token)
            clock.advance(100)
            leads = [{"dataset": 351, "HomePhone": f"0{n}"} for n in range(6)]
            await api.write("ecnow", "ecnow_records", "create", leads)
            for step in steps:
                clock.advance(step)
                sim.catch_up()
            records = await api.rows("ecnow", "ecnow_records", dataset="351")
        return sim.status_log(), sim.live_agents(), records

    return anyio.run(run)


def test_the_dialler_is_deterministic_whatever_the_catch_up_pattern() -> None:
    one_step = _history([7200.0])
    many_steps = _history([3.0] * 2400)
    assert one_step == many_steps
    assert sum(len(_calls(record)) for record in one_step[2]) >= 6
