"""The campaign database resources through ``MockTransport``: what goes on the wire, in
JSON and XML, and what the documented replies become (datasets, records, campaigns,
queues, outcome codes)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import httpx
import pytest

from contactnow_async import (
    CampaignField,
    ContactNow,
    Dataset,
    DatasetInput,
    DatasetStatus,
    OutcomeCode,
    Queue,
    QueueType,
    Record,
    RecordInput,
    ResponseFormatError,
    TransportError,
    WriteError,
    resend_is_safe,
)
from contactnow_async._wire import Format
from tests._helpers import FakeAPI, Route, client_for, json_reply, sending_nothing_to
from tests.test_retries import processed_then

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

FORMATS = [pytest.param("json", id="json"), pytest.param("xml", id="xml")]

# -- the documented replies (ECNOW.md, DATABASE.md, index.php) ------------------------

DOC_DATASET = {
    "dataset": "351", "qid": "75674454", "d_status": "LIVE", "d_priority": "0",
    "notes": "Loaded by Importer 2.1", "callbacks": "none", "crm_account": "0",
    "crm_campaign": "", "description": "MyNumber", "locked": "0",
}  # fmt: skip
DOC_RECORD = {
    "Address1": "", "Address2": "", "Address3": "", "Address4": "", "Address5": "",
    "Address6": "", "AgentRef": "0", "Agent_Specific": "", "appointment": "",
    "callback": "0000-00-00 00:00:00", "Call_Back_Notes": "", "Call_Back_Sametime": "",
    "Customer_Email": "", "datasetid": "3", "FirstName": "", "flgid": "", "HomePhone": "",
    "id": "411", "LastName": "", "loaddate": "2015-01-23", "MobilePhone": "01234567890",
    "notes": "", "outcomecode": "100", "Postcode": "", "ProcessDate": "0000-00-00 00:00:00",
    "ProcessType": "EXPIRED", "sourcefile": "01234567890 SMS Broadcast test.csv", "Testy": "",
    "ThisIsATimeField": "", "Title": "", "URN": "", "VENDOR_URN": "", "WorkPhone": "",
}  # fmt: skip
DOC_FIELD = {
    "position": "1", "table": "Willtest", "name": "id", "size": "200", "standard_field": "1",
    "group_name": "system", "type": "int", "prompt": "id", "readonly": "Y", "search": "yes",
    "hidden": "N", "hidden_on_script": "N", "order": "0", "picklist": "", "required": "N",
}  # fmt: skip
DOC_QUEUE = {
    "qid": "504025", "type": "outbound", "description": "William Outbound",
    "callerid": "01234567890", "campaignid": "500650", "announce": "0", "monitor": "1",
    "amd": "1", "level": "100", "key": "0", "sequential": "0", "redirect": "", "max_wait": "0",
    "sametime": "0", "autohangup": "0", "tod": "0", "announce_jump": "0",
    "max_wait_redirect": "", "filter": "0", "tpt_record": "1", "alt_redirect": "",
    "redirect_id": "0", "announce_vm": "0", "aod_ringtime": "30", "aod_maxdial": "1",
    "aod_passthru": "1", "stop_monitor": "1", "numbers": "01234567890,01234567892",
}  # fmt: skip
DOC_OUTCOMES = [
    {"outcome": "510456", "description": "Sales Completed", "complete": "Y", "dmc": "Y",
     "sale": "Y", "do_not_call": "N", "answerphone": "0"},
    {"outcome": "501638", "description": "Need more information", "complete": "N", "dmc": "Y",
     "sale": "Y", "do_not_call": "N", "answerphone": "0"},
]  # fmt: skip

DATASETS = ("ecnow", "ecnow_datasets")
RECORDS = ("ecnow", "ecnow_records")


def xml_body(reply: Mapping[str, Any], item: str) -> bytes:
    """``reply`` as the API's XML: ``<result>``, ``1``/``0``, list rows as ``<item>``."""

    def element(name: str, value: Any) -> str:
        if isinstance(value, bool):
            value = int(value)
        if value is None or value == "":
            return f"<{name}/>"
        return f"<{name}>{escape(str(value))}</{name}>"

    parts = ["<?xml version='1.0' encoding='utf-8'?><result>"]
    for key, value in reply.items():
        if key == "list":
            rows = "".join(
                f"<{item}>" + "".join(element(k, v) for k, v in row.items()) + f"</{item}>"
                for row in value
            )
            parts.append(f"<list>{rows}</list>")
        else:
            parts.append(element(key, value))
    parts.append("</result>")
    return "".join(parts).encode()


def answer(reply: Mapping[str, Any], item: str = "item") -> Route:
    """A route answering ``reply`` in the format the request asks for."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("format") == "xml":
            return httpx.Response(200, content=xml_body(reply, item))
        return json_reply(reply)

    return route


def rows(*records: Mapping[str, Any]) -> dict[str, Any]:
    return {"success": True, "total": len(records), "list": list(records)}


def sent(api: FakeAPI, script: str, method: str) -> httpx.Request:
    """The last request to ``script``/``method``."""
    return next(
        r
        for r in reversed(api.requests)
        if r.url.path.endswith(f"/{script}.php") and r.url.params.get("method") == method
    )


def params(request: httpx.Request) -> dict[str, str]:
    """Query and form fields of a request, token and envelope options left out."""
    fields = dict(request.url.params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields.update(httpx.QueryParams(request.content.decode()))
    for name in ("token", "format", "raw", "method", "action"):
        fields.pop(name, None)
    return fields


def body_records(request: httpx.Request, item: str) -> list[dict[str, str]]:
    """The records of a create/update body, JSON or ``<dxi>`` XML."""
    content = request.content.decode()
    if content.startswith("["):
        decoded: list[dict[str, str]] = json.loads(content)
        return decoded
    import xmltodict

    inner = xmltodict.parse(content)["dxi"][item]
    return inner if isinstance(inner, list) else [inner]


async def call_with(
    routes: Mapping[Any, Route],
    call: Callable[[ContactNow], Awaitable[Any]],
    *,
    format: Format = "json",
    **options: Any,
) -> tuple[Any, FakeAPI]:
    api = FakeAPI(routes)
    cn, http = client_for(api, format=format, **options)
    async with http, cn:
        return await call(cn), api


# -- datasets -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_datasets_read_the_documented_reply(fmt: Format) -> None:
    reply = rows(DOC_DATASET, {**DOC_DATASET, "dataset": "352", "d_status": "ARCHIVED"})
    datasets, api = await call_with(
        {(*DATASETS, "read"): answer(reply, "dataset")},
        lambda cn: cn.datasets.read(queue=[75674454, "2001"], state="LIVE", table="Willtest"),
        format=fmt,
    )
    assert params(sent(api, *DATASETS)) == {
        "qid": "75674454,2001",
        "state": "LIVE",
        "table": "Willtest",
    }
    first, second = datasets
    assert first == Dataset(
        dataset_id="351", queue_id="75674454", status=DatasetStatus.LIVE, priority=0,
        notes="Loaded by Importer 2.1", description="MyNumber", callbacks="none",
        crm_account="0", crm_campaign="", locked=False, record_count=None,
    )  # fmt: skip
    assert first.raw["d_status"] == "LIVE"
    # An undocumented status is a member of the open enum, not an error.
    assert second.status == "ARCHIVED"
    assert isinstance(second.status, DatasetStatus)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_dataset_writes_send_the_documented_records(fmt: Format) -> None:
    ok = {"success": True, "total": 1, "bad": 0, "key": 354}
    routes = {(*DATASETS, "create"): answer(ok), (*DATASETS, "update"): answer(ok)}

    async def writes(cn: ContactNow) -> list[Any]:
        return [
            await cn.datasets.create(
                [DatasetInput(queue_id="2001", description="June", priority=90)]
            ),
            await cn.datasets.update([{"dataset": 354, "d_priority": 10.0}]),
            await cn.datasets.set_status(354, DatasetStatus.LIVE),
            await cn.datasets.update([{"dataset": 354, "d_status": "hold"}]),  # as state= reads
        ]

    (created, *_), api = await call_with(routes, writes, format=fmt)
    assert created.key == "354"
    bodies = [body_records(r, "dataset") for r in api.requests if r.method == "POST"]
    assert bodies == [
        [{"qid": "2001", "d_priority": "90", "description": "June"}],
        [{"dataset": "354", "d_priority": "10"}],
        [{"dataset": "354", "d_status": "LIVE"}],
        [{"dataset": "354", "d_status": "HOLD"}],
    ]
    assert all(r.url.params["method"] == "ecnow_datasets" for r in api.requests[1:])


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"d_status": "LIVE"}, "needs a dataset"),
        ({"dataset": 1, "d_status": "PAUSED"}, "d_status must be one of"),
        ({"dataset": 1, "d_priority": 91}, "d_priority must be"),
        ({"dataset": 1, "d_priority": "high"}, "d_priority must be"),
        ({"dataset": 1, "d_priority": 45.7}, "d_priority must be"),  # int() made it 45: passed
        ({"dataset": 1, "d_priority": float("nan")}, "d_priority must be"),
        ({"dataset": 1, "d_priority": float("inf")}, "d_priority must be"),  # was OverflowError
        # The API ignores a field it does not write, and says success: the change was lost.
        ({"dataset": 1, "state": "LIVE"}, "unknown dataset fields state"),
        ({"dataset": 1, "locked": 1}, "read-only dataset fields locked"),
        ({"dataset": 1, "reccount": 0, "callbacks": "all"}, "fields callbacks, reccount"),
        ({"dataset": 1, "crm_account": 7, "crm_campaign": "x"}, "crm_account, crm_campaign"),
    ],
)
async def test_dataset_updates_are_checked_before_sending(
    record: dict[str, Any], message: str
) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=message):
            await cn.datasets.update([record])


# -- records --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_records_read_the_documented_record(fmt: Format) -> None:
    (record,), _ = await call_with(
        {(*RECORDS, "read"): answer(rows(DOC_RECORD), "record")},
        lambda cn: cn.records.read(table="Willtest"),
        format=fmt,
    )
    assert record == Record(
        record_id="411", dataset_id="3", agent_id=None, outcome_id="100",
        mobile_phone="01234567890", process_type="EXPIRED", callback_ts=None, processed_ts=None,
        loaded_ts=int(datetime(2015, 1, 23, tzinfo=timezone.utc).timestamp()),
        source_file="01234567890 SMS Broadcast test.csv",
        fields={"appointment": "", "Customer_Email": "", "flgid": "", "Testy": "",
                "ThisIsATimeField": ""},
    )  # fmt: skip
    assert record.callback_at is None
    assert record.processed_at is None
    assert record.phones == ("01234567890",)
    assert record.raw["ProcessType"] == "EXPIRED"


async def test_record_dates_are_read_and_written_in_record_tz() -> None:
    paris = timezone(timedelta(hours=1))
    row = {"id": "1", "datasetid": "3", "callback": "2017-12-10 10:00:00", "ProcessDate": ""}
    routes = {(*RECORDS, "read"): answer(rows(row))}

    async def read(cn: ContactNow) -> Any:
        return await cn.records.read(
            dataset=3,
            timetype="callback",
            tstart=date(2017, 12, 1),
            tstop=datetime(2017, 12, 31, 22, 59, 59, tzinfo=timezone.utc),
        )

    (record,), api = await call_with(routes, read, record_tz=paris)
    assert record.callback_at == datetime(2017, 12, 10, 9, 0, tzinfo=timezone.utc)
    assert record.processed_ts is None
    assert params(sent(api, *RECORDS)) == {
        "dataset": "3",
        "timetype": "callback",
        "tstart": "2017-12-01 00:00:00",
        "tstop": "2017-12-31 23:59:59",  # 22:59:59 UTC is 23:59:59 in the record zone
    }
    (utc_record,), _ = await call_with(routes, lambda cn: cn.records.read(dataset=3))
    assert utc_record.callback_at == datetime(2017, 12, 10, 10, 0, tzinfo=timezone.utc)


async def test_a_day_as_tstop_is_the_whole_day() -> None:
    """Its midnight would leave the day out: ``tstart=tstop=day`` would read nothing."""
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())},
        lambda cn: cn.records.read(
            dataset=3, timetype="processdate", tstart=date(2017, 11, 26), tstop=date(2017, 11, 26)
        ),
    )
    assert params(sent(api, *RECORDS)) == {
        "dataset": "3",
        "timetype": "processdate",
        "tstart": "2017-11-26 00:00:00",
        "tstop": "2017-11-26 23:59:59",
    }


async def test_a_day_as_tstop_whose_end_is_from_1970_on_is_sent_as_its_end() -> None:
    # Its midnight was checked, not the 23:59:59 sent: in Tokyo (UTC+9) 1 January 1970
    # began in 1969 UTC, and the day as a date was refused (as text it was sent).
    tokyo = ZoneInfo("Asia/Tokyo")
    for tstop in (date(1970, 1, 1), "1970-01-01"):

        async def read(cn: ContactNow, tstop: date | str = tstop) -> list[Record]:
            return await cn.records.read(dataset=3, timetype="processdate", tstart=0, tstop=tstop)

        _, api = await call_with({(*RECORDS, "read"): answer(rows())}, read, record_tz=tokyo)
        assert params(sent(api, *RECORDS))["tstop"] == "1970-01-01 23:59:59"


#: London's clocks go back at 01:00 UTC on 27 October 2024: 01:00 to 01:59:59 twice.
_BACK = datetime(2024, 10, 27, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("tstart", "tstop", "wanted"),
    [
        # 01:45 BST to 01:15 GMT, half an hour: refused as "tstart is after tstop".
        (_BACK - timedelta(minutes=15), _BACK + timedelta(minutes=15), ("01:00:00", "01:59:59")),
        # The same as unix times.
        (
            int((_BACK - timedelta(minutes=15)).timestamp()),
            int((_BACK + timedelta(minutes=15)).timestamp()),
            ("01:00:00", "01:59:59"),
        ),
        # 01:10 BST to 01:20 GMT: went as 01:10 to 01:20, ten of its seventy minutes.
        (_BACK - timedelta(minutes=50), _BACK + timedelta(minutes=20), ("01:00:00", "01:59:59")),
        # 00:30 BST to 01:20 GMT: its BST 01:20 to 01:59 were left out.
        (_BACK - timedelta(minutes=90), _BACK + timedelta(minutes=20), ("00:30:00", "01:59:59")),
        # 01:30 BST to 03:00 GMT: its GMT 01:00 to 01:29 were left out.
        (_BACK - timedelta(minutes=30), _BACK + timedelta(hours=2), ("01:00:00", "03:00:00")),
        # From 01:30 BST on: the GMT 01:00 to 01:29 too.
        (_BACK - timedelta(minutes=30), None, ("01:00:00", None)),
        # Up to 01:20 GMT: the BST 01:20 to 01:59 too.
        (None, _BACK + timedelta(minutes=20), (None, "01:59:59")),
        # Windows that do not cross the change are sent as they are.
        (_BACK - timedelta(minutes=50), _BACK - timedelta(minutes=40), ("01:10:00", "01:20:00")),
        (_BACK + timedelta(minutes=10), _BACK + timedelta(minutes=20), ("01:10:00", "01:20:00")),
        (_BACK + timedelta(minutes=10), None, ("01:10:00", None)),
        (None, _BACK - timedelta(minutes=40), (None, "01:20:00")),
    ],
)
async def test_a_window_crossing_the_hour_the_clocks_go_back_covers_that_whole_hour(
    tstart: datetime | int | None, tstop: datetime | int | None, wanted: tuple[str | None, ...]
) -> None:
    # Record dates are wall times in record_tz: one in the repeated hour names two moments.
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())},
        lambda cn: cn.records.read(dataset=3, timetype="callback", tstart=tstart, tstop=tstop),
        record_tz=ZoneInfo("Europe/London"),
    )
    query = params(sent(api, *RECORDS))
    expected = tuple(None if time is None else f"2024-10-27 {time}" for time in wanted)
    assert (query.get("tstart"), query.get("tstop")) == expected


@pytest.mark.parametrize(
    ("tstart", "tstop", "sent_start", "sent_stop"),
    [
        ("2017-11-01", "2017-11-26", "2017-11-01 00:00:00", "2017-11-26 23:59:59"),  # ECNOW.md's
        (
            " 2017-11-26 08:00:00",
            "2017-11-26 17:30:00 ",
            "2017-11-26 08:00:00",
            "2017-11-26 17:30:00",
        ),
    ],
)
async def test_a_time_as_text_is_sent_as_the_record_date_it_is(
    tstart: str, tstop: str, sent_start: str, sent_stop: str
) -> None:
    # A day as text is the day a date is: its tstop went as given, read as its midnight.
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())},
        lambda cn: cn.records.read(dataset=3, timetype="callback", tstart=tstart, tstop=tstop),
    )
    query = params(sent(api, *RECORDS))
    assert (query["tstart"], query["tstop"]) == (sent_start, sent_stop)


@pytest.mark.parametrize(
    "text",
    ["2017-11-26T08:00:00", "yesterday", "2017-02-30", "2017-11-26 24:00:00", "2017-1-26", ""],
)
@pytest.mark.parametrize("name", ["tstart", "tstop"])
async def test_a_time_as_text_the_api_cannot_read_is_refused_before_sending(
    text: str, name: str
) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    times: dict[str, Any] = {name: text}
    async with http, cn:
        with pytest.raises(ValueError, match=f"{name} must be a record date"):
            await cn.records.read(dataset=3, timetype="callback", **times)
    assert api.calls("ecnow") == 0


@pytest.mark.parametrize(
    ("callback", "hours"),
    [("9999-12-31 23:59:59", -5), ("0001-01-01 00:00:00", 9)],  # in UTC: 10000, the year 0
)
async def test_a_record_date_no_utc_datetime_holds_is_a_format_error(
    callback: str, hours: int
) -> None:
    # Read, not refused, it made a Record whose callback_at raised a bare ValueError.
    row = {"id": "1", "datasetid": "3", "callback": callback}
    with pytest.raises(ResponseFormatError, match="'callback'"):
        await call_with(
            {(*RECORDS, "read"): answer(rows(row))},
            lambda cn: cn.records.read(dataset=3),
            record_tz=timezone(timedelta(hours=hours)),
        )


@pytest.mark.parametrize(
    ("day", "wire"),
    [
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "0999-01-02 03:04:05"),
        (date(999, 1, 2), "0999-01-02 00:00:00"),
        (date(1960, 5, 1), "1960-05-01 00:00:00"),  # a callback's 1970 is no rule of these
    ],
)
async def test_record_dates_before_the_year_1000_are_written_with_four_digits(
    day: Any, wire: str
) -> None:
    # A campaign's own date field (a callback is a moment from 1970 on: refused below).
    ok = {"success": True, "total": 1, "bad": 0, "key": 5}
    _, api = await call_with(
        {(*RECORDS, "create"): answer(ok)},
        lambda cn: cn.records.create([{"dataset": 3, "HomePhone": "1", "Born": day}]),
    )
    assert body_records(sent(api, *RECORDS), "record")[0]["Born"] == wire


BEFORE_1970: list[Any] = [
    -5,  # was sent as "1969-12-31 23:59:55"
    -0.5,
    -30_610_310_400,  # the year 999
    datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    date(1969, 12, 31),
    "1969-12-31 23:59:59",  # in record_tz (UTC here)
    "1969-12-31",
]


@pytest.mark.parametrize("callback", BEFORE_1970)
async def test_a_callback_before_1970_is_refused_naming_it_before_sending(callback: Any) -> None:
    lead = RecordInput(dataset_id=3, home_phone="1", callback=callback)
    change = {"id": 5, "dataset": 3, "Callback": callback}  # in any case, as the API reads it
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=r"^records\.create: callback must be a moment from"):
            await cn.records.create([lead])
        with pytest.raises(ValueError, match=r"^records\.update: Callback must be a moment from"):
            await cn.records.update([change])


@pytest.mark.parametrize("moment", BEFORE_1970)
@pytest.mark.parametrize("name", ["tstart", "tstop"])
async def test_a_read_window_end_before_1970_is_refused_naming_it(moment: Any, name: str) -> None:
    times: dict[str, Any] = {name: moment}
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=f"^{name} must be a moment from 1970 on"):
            await cn.records.read(dataset=3, timetype="callback", **times)


async def test_a_callback_from_1970_on_in_record_tz_is_sent() -> None:
    # 1970 is the unix time's: midnight in Paris (UTC+1) was 23:00 UTC on 31 December 1969.
    ok = {"success": True, "total": 1, "bad": 0, "key": 5}
    paris = ZoneInfo("Europe/Paris")
    _, api = await call_with(
        {(*RECORDS, "create"): answer(ok)},
        lambda cn: cn.records.create([{"dataset": 3, "HomePhone": "1", "callback": 0}]),
        record_tz=paris,
    )
    assert body_records(sent(api, *RECORDS), "record")[0]["callback"] == "1970-01-01 01:00:00"
    api = FakeAPI()
    cn, http = client_for(api, record_tz=paris)
    async with http, cn:
        # A 1970 date refused as "not from 1970 on" alone: where 1970 begins in record_tz.
        with pytest.raises(
            ValueError,
            match=r"callback must be a moment from 1970 on \(1970-01-01 01:00:00 in record_tz\)",
        ):
            await cn.records.create([{"dataset": 3, "HomePhone": "1", "callback": "1970-01-01"}])
    assert api.calls("ecnow") == 0


@pytest.mark.parametrize(
    "callback",
    [1e20, -1e20, float("nan"), float("inf"), datetime.max.replace(tzinfo=timezone.utc)],
)
async def test_a_callback_no_record_date_can_hold_is_a_value_error(callback: Any) -> None:
    api = FakeAPI()
    cn, http = client_for(api, record_tz=timezone(timedelta(hours=1)))
    async with http, cn:
        with pytest.raises(ValueError, match="callback"):
            await cn.records.create([{"dataset": 3, "HomePhone": "1", "callback": callback}])
        with pytest.raises(ValueError, match="tstart"):
            await cn.records.read(dataset=3, timetype="callback", tstart=callback)
    assert api.calls("ecnow") == 0


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda cn: cn.records.read(dataset=3, timetype="callback", tstart=1_700_000_100,
                                    tstop=1_700_000_000), "tstart .* is after tstop"),
        (lambda cn: cn.records.read(search={"First]Name": "x"}), "holds no"),
        (lambda cn: cn.records.read(search={"a[b": "x"}), "holds no"),
    ],
)  # fmt: skip
async def test_records_read_refuses_a_window_or_a_search_php_would_misread(
    read: Callable[[ContactNow], Awaitable[Any]], message: str
) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=message):
            await read(cn)


async def test_records_read_sends_search_as_a_php_array() -> None:
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())},
        lambda cn: cn.records.read(
            table="Willtest", search={"FirstName": "john", "phone": "0123"}, exact=True, mode="live"
        ),
    )
    assert params(sent(api, *RECORDS)) == {
        "table": "Willtest",
        "search[FirstName]": "john",
        "search[phone]": "0123",
        "type": "exact",
        "mode": "live",
    }


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({}, "needs a table or a dataset"),
        # ECNOW.md, ecnow_records filters: "One of these is required: table: the campaign
        # table name / dataset: the dataset id"; id, outcome, agent, ddi and search follow
        # after a blank line, and the PHP example reads "All expect from 'table' are
        # optional". A record id is unique only in its campaign table.
        ({"id": 411}, "needs a table or a dataset"),
        ({"outcome": [100, 109]}, "needs a table or a dataset"),
        ({"agent": 503314}, "needs a table or a dataset"),
        ({"ddi": "01234567890"}, "needs a table or a dataset"),
        ({"search": {"FirstName": "jo"}, "mode": "live"}, "needs a table or a dataset"),
        ({"table": "T", "mode": "everything"}, "mode must be one of"),
        ({"table": "T", "exact": True}, "exact=True matches a search"),  # was left out
        ({"table": "T", "exact": True, "search": {"FirstName": None}}, "exact=True matches"),
        ({"table": "T", "tstart": "2017-11-01"}, "need timetype"),
        ({"table": "T", "timetype": "callback", "tstart": datetime(2017, 1, 1)}, "naive"),
        # An empty search is no filter: it was sent as a read of nothing in particular.
        ({"search": {}}, "needs a table or a dataset"),
        ({"search": {"FirstName": None}}, "needs a table or a dataset"),
        # search maps a field to a value: a nested one went out as search[FirstName][a]=b.
        ({"search": {"FirstName": {"a": "b"}}}, "search 'FirstName' must be a value"),
        ({"table": "T", "search": {"phone": ["0161", "0207"]}}, "search 'phone' must be a value"),
        # A blank value is no search at all (the API skips it): every record of the table.
        ({"table": "T", "search": {"FirstName": ""}}, "search 'FirstName' is blank"),
        ({"table": "T", "search": {"LastName": "Dow", "phone": "  "}}, "search 'phone' is blank"),
        # ECNOW.md: "supplying id will ignore every other search fields", silently.
        ({"table": "T", "search": {"id": 34, "FirstName": "jo"}}, "ignores the other search"),
        ({"table": "T", "search": {"record_id": 34, "phone": "0161"}}, "ignores the other search"),
    ],
)
async def test_records_read_is_checked_before_sending(
    filters: dict[str, Any], message: str
) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=message):
            await cn.records.read(**filters)


async def test_a_long_agent_list_read_goes_as_a_post_form() -> None:
    many = [str(1_000_000 + n) for n in range(300)]
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())}, lambda cn: cn.records.read(table="T", outcome=many)
    )
    request = sent(api, *RECORDS)
    assert request.method == "POST"
    assert "outcome" not in request.url.params
    assert params(request)["outcome"] == ",".join(many)


@pytest.mark.parametrize(
    ("ddi", "method"),
    [
        ("1" * 2000, "POST"),  # plain text past the limit (ddi= and 2,000)
        ("1" * 1980, "GET"),  # plain text within it (dataset=3 and the query's own aside)
        ("é" * 200, "GET"),  # 200 characters, 1,200 once encoded: within
        ("é" * 340, "POST"),  # 340 characters, 2,040 once encoded (2 UTF-8 bytes each): past it
        ("€" * 230, "POST"),  # 230 characters, 2,070 once encoded (3 UTF-8 bytes each)
    ],
)
async def test_the_encoded_query_length_decides_get_or_post_form(ddi: str, method: str) -> None:
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())}, lambda cn: cn.records.read(dataset=3, ddi=ddi)
    )
    request = sent(api, *RECORDS)
    assert request.method == method
    assert params(request)["ddi"] == ddi


@pytest.mark.parametrize("fmt", FORMATS)
async def test_records_create_sends_the_documented_lead(fmt: Format) -> None:
    created = {"success": True, "total": 1, "bad": 0, "key": 2499265,
               "info": "Record NOT live on the dialer."}  # fmt: skip
    lead = RecordInput(
        dataset_id=3,
        mobile_phone="01234567890",
        first_name="Jon",
        callback=datetime(2017, 12, 10, 10, 0, tzinfo=timezone.utc),
        agent_id=503314,
        outcome_id=109,
        callback_notes="This is a note for agent to see",
        notes_append="Add a log",
        fields={"Testy": "yes"},
    )
    result, api = await call_with(
        {(*RECORDS, "create"): answer(created)},
        lambda cn: cn.records.create([lead, {"dataset": 3, "HomePhone": "0161", "Title": "Mr."}]),
        format=fmt,
    )
    assert (result.key, result.info) == ("2499265", "Record NOT live on the dialer.")
    assert body_records(sent(api, *RECORDS), "record") == [
        {"dataset": "3", "MobilePhone": "01234567890", "FirstName": "Jon",
         "callback": "2017-12-10 10:00:00", "AgentRef": "503314", "outcomecode": "109",
         "Call_Back_Notes": "This is a note for agent to see", "notes_append": "Add a log",
         "Testy": "yes"},
        {"dataset": "3", "HomePhone": "0161", "Title": "Mr."},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"MobilePhone": "0123"}, "record 1 lacks dataset"),
        ({"dataset": 3, "HomePhone": " ", "WorkPhone": ""}, "one of HomePhone, WorkPhone"),
        ({}, "lacks dataset and one of HomePhone"),
        ({7: "x", "dataset": 3}, "lacks one of HomePhone"),  # was a bare AttributeError
        ({"dataset_id": 3, "mobile_phone": " "}, "record 1 lacks one of HomePhone"),
    ],
)
async def test_records_create_needs_a_dataset_and_a_phone(
    record: dict[str, Any], message: str
) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=message):
            await cn.records.create([{"dataset": 3, "MobilePhone": "1"}, record])
        with pytest.raises(ValueError, match="lacks id and dataset"):
            await cn.records.update([{"FirstName": "x"}])
        one: Any = {"dataset": 3, "MobilePhone": "1"}  # one record, not a list: the mistake
        with pytest.raises(TypeError, match="a list of records"):
            await cn.records.create(one)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        # fields={"dataset": 4} replaced dataset_id=3: the lead went to another dataset.
        (RecordInput(dataset_id=3, home_phone="0161", fields={"dataset": 4}), "dataset twice"),
        (
            RecordInput(dataset_id=3, home_phone="0161", fields={"HomePhone": "0207"}),
            "HomePhone twice",
        ),
        # The API reads field names in any case: both went, and one of them was lost.
        (
            RecordInput(
                dataset_id=3, first_name="Jon", fields={"firstname": "Ann", "WorkPhone": "1"}
            ),
            "FirstName twice",
        ),
        ({"dataset": 3, "MobilePhone": "0123", "mobilephone": "0999"}, "MobilePhone twice"),
        ({"dataset": 3, "home_phone": "0123", "homephone": "0999"}, "HomePhone twice"),
    ],
)
async def test_a_record_field_given_twice_is_refused(record: Any, message: str) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=message):
            await cn.records.create([record])


@pytest.mark.parametrize("fmt", FORMATS)
async def test_record_fields_named_by_their_attributes_go_by_their_wire_names(
    fmt: Format,
) -> None:
    """The API ignores a field it does not know and reports success: ``outcome_id`` (a
    Record's name) sent as given would leave the record on the dialler, silently."""
    ok = {"success": True, "total": 1, "bad": 0, "key": 5}
    routes = {(*RECORDS, "create"): answer(ok), (*RECORDS, "update"): answer(ok)}

    async def writes(cn: ContactNow) -> None:
        await cn.records.create(
            [{"dataset_id": 3, "mobile_phone": "0123", "first_name": "Jon", "Testy": "x"}]
        )
        await cn.records.update(
            [{"record_id": 5, "dataset_id": 3, "outcome_id": 510456, "callback_notes": "n"}]
        )
        # RecordInput's fields are the campaign's own, by their wire names: kept as given.
        await cn.records.update([RecordInput(record_id=5, dataset_id=3, fields={"last_name": 1})])

    _, api = await call_with(routes, writes, format=fmt)
    bodies = [body_records(r, "record") for r in api.requests if r.method == "POST"]
    assert bodies == [
        [{"dataset": "3", "MobilePhone": "0123", "FirstName": "Jon", "Testy": "x"}],
        [{"id": "5", "dataset": "3", "outcomecode": "510456", "Call_Back_Notes": "n"}],
        [{"id": "5", "dataset": "3", "last_name": "1"}],
    ]


def test_what_a_lead_lacks_counts_its_fields_by_record_input_names() -> None:
    """The CLI checks each row with ``lacks`` before create renames its fields: a CSV
    header of RecordInput's names (``dataset_id``, ``mobile_phone``) is a whole lead."""
    from contactnow_async.resources.records import lacks

    assert lacks({"dataset_id": 3, "mobile_phone": "0123"}) == []
    # Not RecordInput's names (create would send them as they are): not the API's either.
    assert lacks({"Dataset_Id": 3, "Mobile_Phone": "0123"}) == [
        "dataset",
        "one of HomePhone, WorkPhone or MobilePhone",
    ]
    assert lacks({"dataset": 3, "work_phone": ""}) == ["one of HomePhone, WorkPhone or MobilePhone"]


async def test_record_writes_refuse_a_field_twice_or_an_id_that_is_a_bool() -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match="gives FirstName twice"):
            await cn.records.create(
                [{"dataset": 3, "HomePhone": "1", "FirstName": "a", "first_name": "b"}]
            )
        with pytest.raises(TypeError, match="id must be an id, not a bool"):
            await cn.records.update([{"id": True, "dataset": 3, "FirstName": "a"}])
        with pytest.raises(TypeError, match="dataset must be an id, not a bool"):
            await cn.records.create([{"dataset": True, "HomePhone": "1"}])


async def test_a_callback_named_in_any_case_is_written_as_a_record_date() -> None:
    ok = {"success": True, "total": 1, "bad": 0, "key": 5}
    _, api = await call_with(
        {(*RECORDS, "create"): answer(ok)},
        lambda cn: cn.records.create([{"dataset": 3, "HomePhone": "1", "Callback": 1_512_900_000}]),
    )
    assert body_records(sent(api, *RECORDS), "record") == [
        {"dataset": "3", "HomePhone": "1", "Callback": "2017-12-10 10:00:00"}
    ]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_record_fields_given_as_bytes_go_as_their_text(fmt: Format) -> None:
    ok = {"success": True, "total": 1, "bad": 0, "key": 5}
    lead = {"dataset": 3, "HomePhone": b"0161", "FirstName": "Zo\u00eb".encode()}
    _, api = await call_with(
        {(*RECORDS, "create"): answer(ok)}, lambda cn: cn.records.create([lead]), format=fmt
    )
    # Not "b'0161'", Python's text of the bytes.
    assert body_records(sent(api, *RECORDS), "record") == [
        {"dataset": "3", "HomePhone": "0161", "FirstName": "Zo\u00eb"}
    ]


async def test_a_field_named_by_a_number_is_its_text() -> None:
    ok = {"success": True, "total": 1, "bad": 0, "key": 5}
    lead: Any = {"dataset": 3, "HomePhone": "1", 7: "x"}  # a name a type checker refuses
    _, api = await call_with(
        {(*RECORDS, "create"): answer(ok)}, lambda cn: cn.records.create([lead])
    )
    assert body_records(sent(api, *RECORDS), "record") == [
        {"dataset": "3", "HomePhone": "1", "7": "x"}
    ]
    api = FakeAPI()
    cn, http = client_for(api, format="xml")
    async with http, cn:  # was a TypeError from inside re
        with pytest.raises(ValueError, match="'7' cannot be an XML element name"):
            await cn.records.create([lead])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1}, "field 'Extra' holds a dict"),
        (["a", "b"], "field 'Extra' holds a list"),
        (b"\xff\xfe", "field 'Extra' holds bytes that are not UTF-8"),
    ],
)
async def test_a_record_field_that_is_no_scalar_is_refused_before_sending(
    fmt: Format, value: Any, message: str
) -> None:
    # It went out as Python's text of it ("{'a': 1}") and was written to the lead.
    api = FakeAPI()
    cn, http = client_for(api, format=fmt)
    async with http, cn:
        with pytest.raises(ValueError, match=message):
            await cn.records.create([{"dataset": 3, "HomePhone": "1", "Extra": value}])
    assert api.calls("ecnow") == 0


@pytest.mark.parametrize("fmt", FORMATS)
async def test_an_unknown_record_update_is_a_write_error(fmt: Format) -> None:
    failed = {"success": True, "total": 0, "bad": 1,
              "error": "Record id [2499265] does not exist."}  # fmt: skip
    api = FakeAPI({(*RECORDS, "update"): answer(failed)})
    cn, http = client_for(api, format=fmt)
    async with http, cn:
        with pytest.raises(WriteError, match=r"Record id \[2499265\] does not exist\.") as info:
            await cn.records.update([{"id": 2499265, "dataset": 3, "outcomecode": 510456}])
    assert (info.value.result.total, info.value.result.bad) == (0, 1)


async def test_a_record_create_is_resent_only_when_provably_not_sent() -> None:
    ok = {"success": True, "total": 1, "bad": 0, "key": 7}
    lead = [{"dataset": 3, "MobilePhone": "0123"}]
    api = FakeAPI({(*RECORDS, "create"): processed_then(httpx.ReadError, ok)})
    cn, http = client_for(api, max_retries=3)
    async with http, cn:
        with pytest.raises(TransportError) as info:
            await cn.records.create(lead)
    assert info.value.sent is True
    assert api.calls(*RECORDS, "create") == 1
    api = FakeAPI({(*RECORDS, "create"): processed_then(httpx.ConnectError, ok)})
    cn, http = client_for(api, max_retries=3)
    async with http, cn:
        assert (await cn.records.create(lead)).key == "7"
    assert api.calls(*RECORDS, "create") == 2


async def test_a_record_update_is_resent_unless_it_appends_notes() -> None:
    ok = {"success": True, "total": 1, "bad": 0}
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"id": 1, "dataset": 3, "outcomecode": 510456}, True),
        ({"id": 1, "dataset": 3, "notes_append": "called"}, False),
        ({"id": 1, "dataset": 3, "Notes_Append": "called"}, False),  # the API ignores case
    ]
    for update, resent in cases:
        api = FakeAPI({(*RECORDS, "update"): processed_then(httpx.ReadError, ok)})
        cn, http = client_for(api)
        async with http, cn:
            if resent:
                assert (await cn.records.update([update])).total == 1
            else:
                with pytest.raises(TransportError):
                    await cn.records.update([update])
        assert api.calls(*RECORDS, "update") == (2 if resent else 1)


async def test_a_dataset_update_is_resent_unless_it_expires_the_dataset() -> None:
    """A resend of an update that expired the dataset finds it EXPIRED and is refused:
    a lost reply became a WriteError saying nothing was written, of a dataset the first
    send did expire. Sent once, the lost reply says it may have been done."""
    ok = {"success": True, "total": 1, "bad": 0}
    cases: list[tuple[Any, bool]] = [
        ({"dataset": 351, "d_status": "LIVE", "d_priority": 40}, True),
        ({"dataset": 351, "d_status": "EXPIRED"}, False),
        ({"dataset": 351, "d_status": "expired"}, False),  # as the state filter reads it
        (DatasetInput(dataset_id="351", status=DatasetStatus.EXPIRED), False),
    ]
    for update, resent in cases:
        api = FakeAPI({(*DATASETS, "update"): processed_then(httpx.ReadError, ok)})
        cn, http = client_for(api)
        async with http, cn:
            if resent:
                assert (await cn.datasets.update([update])).total == 1
            else:
                with pytest.raises(TransportError) as info:
                    await cn.datasets.update([{"dataset": 350, "d_priority": 5}, update])
                assert info.value.sent is True
        assert api.calls(*DATASETS, "update") == (2 if resent else 1)
    api = FakeAPI({(*DATASETS, "update"): processed_then(httpx.ReadError, ok)})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TransportError):
            await cn.datasets.set_status(351, DatasetStatus.EXPIRED)
    assert api.calls(*DATASETS, "update") == 1


async def test_a_search_by_attribute_name_goes_by_its_wire_name() -> None:
    """As a write's fields do: ``first_name`` sent as given names no column, and the read
    found nothing, without a word (a Record's ``dataset_id`` is its ``datasetid``)."""
    search = {"first_name": "jon", "mobile_phone": "0123", "dataset_id": 352, "Testy": "x"}
    _, api = await call_with(
        {(*RECORDS, "read"): answer(rows())},
        lambda cn: cn.records.read(table="Willtest", search=search),
    )
    assert params(sent(api, *RECORDS)) == {
        "table": "Willtest",
        "search[FirstName]": "jon",
        "search[MobilePhone]": "0123",
        "search[datasetid]": "352",
        "search[Testy]": "x",
    }
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match="search gives FirstName twice"):
            await cn.records.read(table="T", search={"FirstName": "a", "first_name": "b"})


FLOAT_ID: Any = 2499265.0  # not a RecordInput's type: the mistake


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # Each went out as "2499265.0", which names no record ("does not exist").
        (lambda cn: cn.records.update([{"id": 2499265.0, "dataset": 3, "FirstName": "a"}]),
         r"records.update: id must be an id, not a float \(2499265.0\)"),
        (lambda cn: cn.records.update([RecordInput(record_id=FLOAT_ID, dataset_id=3)]),
         "records.update: id must be an id, not a float"),
        (lambda cn: cn.records.create([{"dataset": 3.0, "HomePhone": "1"}]),
         "records.create: dataset must be an id, not a float"),
        (lambda cn: cn.records.create([{"Dataset": 3.0, "HomePhone": "1"}]),
         "records.create: Dataset must be an id, not a float"),
        (lambda cn: cn.records.create([{"dataset": 3, "HomePhone": "1", "agent_id": 503314.0}]),
         "records.create: AgentRef must be an id, not a float"),
        (lambda cn: cn.records.update([{"id": 1, "dataset": 3, "outcomecode": 510456.0}]),
         "records.update: outcomecode must be an id, not a float"),
        (lambda cn: cn.records.update([{"id": 1, "dataset": 3, "AgentRef": True}]),
         "records.update: AgentRef must be an id, not a bool"),
        (lambda cn: cn.records.read(table="T", search={"id": 2499265.0}),
         "search 'id' must be an id, not a float"),
        (lambda cn: cn.records.read(table="T", search={"record_id": 2499265.0}),
         "search 'record_id' must be an id, not a float"),
        # A phone as a float, as ddi=7700900123.0 is refused: it went as "7700900123.0".
        (lambda cn: cn.records.read(table="T", search={"phone": 7700900123.0}),
         "search 'phone' must be a phone number as text, not a float"),
        (lambda cn: cn.records.read(table="T", search={"mobile_phone": 7700900123.0}),
         "search 'mobile_phone' must be a phone number as text"),
        # ECNOW.md: a "String of phone number". A number has lost its leading 0 (07700...).
        (lambda cn: cn.records.read(table="T", search={"phone": 7700900123}),
         "search 'phone' must be a phone number as text, not a whole number"),
        (lambda cn: cn.records.read(table="T", ddi=7700900123),
         "ddi must be a phone number as text, not a whole number"),
        (lambda cn: cn.records.create([{"dataset": 3, "MobilePhone": 7700900123}]),
         "MobilePhone must be a phone number as text, not a whole number"),
        (lambda cn: cn.records.update([RecordInput(record_id=1, dataset_id=3, home_phone=True)]),  # type: ignore[arg-type]  # the mistake
         "HomePhone must be a phone number as text, not a bool"),
    ],
)  # fmt: skip
async def test_a_float_id_or_phone_is_refused_before_sending(
    call: Callable[[ContactNow], Awaitable[Any]], message: str
) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(TypeError, match=message):
            await call(cn)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        # Each went out as "15000000000.0": a pandas column of phones is floats.
        ({"dataset": 3, "MobilePhone": 7700900123.0}, "MobilePhone must be a phone number as"),
        ({"dataset": 3, "homephone": 161496.0}, "homephone must be a phone number as text"),
        ({"dataset": 3, "work_phone": 161496.0}, "WorkPhone must be a phone number as text"),
        # It went out as "1", a callback at no date.
        ({"dataset": 3, "HomePhone": "1", "callback": True}, "callback must be a datetime"),
    ],
)
async def test_a_phone_as_a_float_or_a_callback_as_a_bool_is_refused(
    record: dict[str, Any], message: str
) -> None:
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(TypeError, match=message):
            await cn.records.create([record])


@pytest.mark.parametrize(
    "callback",
    [
        "10/12/2017 10:00",  # the API reads it as it pleases: a zero date, a wrong day
        "2017-02-30 10:00:00",
        "2017-12-10T10:00:00+05:00",  # the offset is not read: another moment
        "tomorrow",
    ],
)
async def test_a_callback_that_is_not_a_record_date_is_refused_before_sending(
    callback: str,
) -> None:
    """A write's callback text is checked as a read's tstart is: it went as it was."""
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match="callback must be a record date"):
            await cn.records.create([{"dataset": 3, "HomePhone": "0161", "callback": callback}])
        with pytest.raises(ValueError, match="Callback must be a record date"):
            await cn.records.update([{"id": 5, "dataset": 3, "Callback": callback}])
        with pytest.raises(ValueError, match="callback must be a record date"):
            await cn.records.update([RecordInput(record_id=5, dataset_id=3, callback=callback)])


@pytest.mark.parametrize(
    ("callback", "sent"),
    [
        ("2017-12-10 10:00:00", "2017-12-10 10:00:00"),
        (" 2017-12-10 10:00:00 ", "2017-12-10 10:00:00"),
        ("2017-12-10", "2017-12-10 00:00:00"),  # the day's start, as a date is sent
        ("", ""),  # no callback: the zero date
        ("0000-00-00 00:00:00", "0000-00-00 00:00:00"),
    ],
)
async def test_a_callback_as_record_date_text_is_sent(callback: str, sent: str) -> None:
    ok = {"success": True, "total": 1, "bad": 0}
    _, api = await call_with(
        {(*RECORDS, "update"): answer(ok)},
        lambda cn: cn.records.update([{"id": 5, "dataset": 3, "callback": callback}]),
    )
    (body,) = [body_records(r, "record") for r in api.requests if r.method == "POST"]
    assert body == [{"id": "5", "dataset": "3", "callback": sent}]


async def test_a_search_value_that_is_not_finite_is_refused_before_sending() -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:  # it went out as search[Age]=nan
        with pytest.raises(ValueError, match="search 'Age' is nan, not a finite number"):
            await cn.records.read(table="T", search={"Age": float("nan")})
    assert api.calls("ecnow") == 0


CREATES: dict[str, tuple[tuple[str, str], Callable[[ContactNow], Awaitable[Any]]]] = {
    "records": (RECORDS, lambda cn: cn.records.create([{"dataset": 3, "HomePhone": "0161"}])),
    "datasets": (DATASETS, lambda cn: cn.datasets.create([DatasetInput(queue_id=2001)])),
    # database.php: a create adds an agent every time (a duplicate, if it exists).
    "agents": (("database", "agents"), lambda cn: cn.agents.create([{"name": "Ann"}])),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(CREATES))
async def test_a_create_that_created_nothing_raises(name: str, fmt: Format) -> None:
    """ECNOW.md: a create's ``total`` is "the total number of record that was successfully
    inserted"; a reply of 0 (none refused either) was returned as a success, with a key."""
    route, call = CREATES[name]
    nothing = {"success": True, "total": 0, "bad": 0, "key": 0, "info": "Record NOT live."}
    api = FakeAPI({(*route, "create"): answer(nothing)})
    cn, http = client_for(api, format=fmt, max_retries=3)
    async with http, cn:
        with pytest.raises(WriteError, match=f"{name}.create: .*nothing created") as info:
            await call(cn)
        assert (info.value.result.total, info.value.result.bad) == (0, 0)
    assert api.calls(*route, "create") == 1  # not resent: it is no transient fault


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(CREATES))
@pytest.mark.parametrize("total", [None, ""], ids=["null", "empty"])
async def test_a_create_reply_without_a_total_is_a_format_error(
    name: str, fmt: Format, total: Any
) -> None:
    route, call = CREATES[name]
    api = FakeAPI({(*route, "create"): answer({"success": True, "total": total, "key": 5})})
    cn, http = client_for(api, format=fmt)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match=f"{name}.create: .* no total"):
            await call(cn)


def test_the_resend_rule_of_the_campaign_database() -> None:
    assert resend_is_safe("ecnow", "ecnow_records", "read")
    assert resend_is_safe("ecnow", "campaign_fields", "read")
    assert resend_is_safe("database", "queues", "read")
    # An update may expire its dataset, which refuses a resend: cn.datasets.update
    # declares the others idempotent itself.
    assert not resend_is_safe("ecnow", "ecnow_datasets", "update")
    assert not resend_is_safe("ecnow", "ecnow_datasets", "create")
    assert not resend_is_safe("ecnow", "ecnow_records", "create")
    assert not resend_is_safe("ecnow", "ecnow_records", "update")


# -- campaigns, queues, outcome codes -------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_campaign_tables_and_fields(fmt: Format) -> None:
    tables = rows({"name": "APItestcampaign"}, {"name": "BradOutbound"}, {"name": "Willtest"})
    routes = {
        ("ecnow", "campaign_tables", "read"): answer(tables, "table"),
        ("ecnow", "campaign_fields", "read"): answer(rows(DOC_FIELD), "field"),
    }

    async def read(cn: ContactNow) -> Any:
        return await cn.campaigns.tables(), await cn.campaigns.fields("Willtest", name="id")

    (names, fields), api = await call_with(routes, read, format=fmt)
    assert names == ["APItestcampaign", "BradOutbound", "Willtest"]
    assert params(sent(api, "ecnow", "campaign_fields")) == {"table": "Willtest", "name": "id"}
    assert fields == [
        CampaignField(
            name="id", table="Willtest", position=1, size=200, standard=True, group="system",
            type="int", prompt="id", readonly=True, search=True, hidden=False,
            hidden_on_script=False, required=False, order=0, picklist="",
        )
    ]  # fmt: skip


async def test_a_list_with_gaps_in_its_indices_reads_as_its_rows_in_order() -> None:
    # ECNOW.md prints the tables as [0], [2], [3]: PHP's json_encode writes such an array
    # as an object keyed by its indices, not as a JSON list.
    tables = {
        "success": True,
        "total": 3,
        "list": {"0": {"name": "APItestcampaign"}, "2": {"name": "BradOutbound"},
                 "3": {"name": "Willtest"}},
    }  # fmt: skip
    names, _ = await call_with(
        {("ecnow", "campaign_tables", "read"): answer(tables)}, lambda cn: cn.campaigns.tables()
    )
    assert names == ["APItestcampaign", "BradOutbound", "Willtest"]


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda cn, blank: cn.campaigns.fields(blank), "needs a table name"),
        (lambda cn, blank: cn.campaigns.fields("Willtest", name=blank), "name must not be blank"),
        (
            lambda cn, blank: cn.datasets.read(table="Willtest", description=blank),
            "description must not be blank",
        ),
    ],
    ids=["fields table", "fields name", "datasets description"],
)
async def test_a_blank_filter_is_refused_before_sending(
    read: Callable[[ContactNow, str], Awaitable[object]], message: str, blank: str
) -> None:
    """A blank table, field name or description is no filter: the simulator answered every
    table's fields, every field as the one named, every dataset as those asked for."""
    async with sending_nothing_to("ecnow") as cn:
        with pytest.raises(ValueError, match=message):
            await read(cn, blank)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_queues_read(fmt: Format) -> None:
    queues, api = await call_with(
        {("database", "queues", "read"): answer(rows(DOC_QUEUE, {**DOC_QUEUE, "type": "fax"}))},
        lambda cn: cn.queues.read(
            type=[QueueType.OUTBOUND, "inbound"], table="Willtest", filter="!= 999"
        ),
        format=fmt,
    )
    assert params(sent(api, "database", "queues")) == {
        "type": "outbound,inbound",
        "table": "Willtest",
        "filter": "!= 999",
    }
    assert queues[0] == Queue(
        queue_id="504025", type=QueueType.OUTBOUND, description="William Outbound",
        caller_id="01234567890", campaign_id="500650", level=100, redirect="", max_wait=0,
        filter="0", numbers=("01234567890", "01234567892"),
    )  # fmt: skip
    assert queues[0].raw["aod_ringtime"] == "30"
    assert queues[1].type == "fax"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_outcome_codes_read(fmt: Format) -> None:
    codes, api = await call_with(
        {("database", "outcomecodes", "read"): answer(rows(*DOC_OUTCOMES), "outcomecode")},
        lambda cn: cn.outcome_codes.read(outcome=[510456, 501638], system=True),
        format=fmt,
    )
    assert params(sent(api, "database", "outcomecodes")) == {
        "uid": "510456,501638",
        "mode": "system",
    }
    assert codes == [
        OutcomeCode("510456", "Sales Completed", complete=True, sale=True, dmc=True),
        OutcomeCode("501638", "Need more information", complete=False, sale=True, dmc=True),
    ]


async def test_agents_read_passes_the_filter_expression_as_given() -> None:
    _, api = await call_with(
        {("database", "agents", "read"): answer(rows())},
        lambda cn: cn.agents.read(filter="NOT IN (999, 505050)"),
    )
    assert params(sent(api, "database", "agents")) == {"filter": "NOT IN (999, 505050)"}


# docs/fields.md rule 8: read filters are the API's own filter names. ECNOW.md names the
# datasets' queue filter "qid: Queue id or comma separated list of queue id's", the priority
# article "Arguments: agent (optional: agent_id), qid (optional)", DATABASE.md the outcome
# codes' "uid: match outcome" and "mode: set to system to return just the ... system codes".
@pytest.mark.parametrize(
    ("route", "read", "wanted"),
    [
        pytest.param(
            DATASETS, lambda cn: cn.datasets.read(qid=[75674454, "2001"]),
            {"qid": "75674454,2001"}, id="datasets qid",
        ),
        pytest.param(
            ("database", "priority"), lambda cn: cn.priorities.read(agent=1234, qid=1007),
            {"agent": "1234", "qid": "1007"}, id="priority qid",
        ),
        pytest.param(
            ("database", "outcomecodes"),
            lambda cn: cn.outcome_codes.read(uid=[510456, 501638], mode="system"),
            {"uid": "510456,501638", "mode": "system"}, id="outcomecodes uid mode",
        ),
    ],
)  # fmt: skip
async def test_reads_take_the_documented_filter_names(
    route: tuple[str, str], read: Callable[[ContactNow], Awaitable[Any]], wanted: dict[str, str]
) -> None:
    _, api = await call_with({(*route, "read"): answer(rows())}, read)
    assert params(sent(api, *route)) == wanted


@pytest.mark.parametrize(
    ("read", "error", "message"),
    [
        (lambda cn: cn.datasets.read(qid=1, queue=2), TypeError, "qid or queue, not both"),
        (lambda cn: cn.priorities.read(qid=1, queue=2), TypeError, "qid or queue, not both"),
        (lambda cn: cn.outcome_codes.read(uid=1, outcome=2), TypeError, "uid or outcome"),
        # DATABASE.md documents one mode, "system": another would be sent and read as none.
        (lambda cn: cn.outcome_codes.read(mode="all"), ValueError, "mode must be 'system'"),
    ],
)
async def test_documented_filter_names_are_checked_before_sending(
    read: Callable[[ContactNow], Awaitable[Any]], error: type[Exception], message: str
) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(error, match=message):
            await read(cn)
    assert api.requests == []


# -- hostile replies: a ResponseFormatError, never another exception ------------------

HTML = b"<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>"
READS: dict[str, tuple[tuple[str, str, str], Callable[[ContactNow], Awaitable[Any]]]] = {
    "datasets": ((*DATASETS, "read"), lambda cn: cn.datasets.read()),
    "records": ((*RECORDS, "read"), lambda cn: cn.records.read(table="T")),
    "tables": (("ecnow", "campaign_tables", "read"), lambda cn: cn.campaigns.tables()),
    "fields": (("ecnow", "campaign_fields", "read"), lambda cn: cn.campaigns.fields("T")),
    "queues": (("database", "queues", "read"), lambda cn: cn.queues.read()),
    "outcomes": (("database", "outcomecodes", "read"), lambda cn: cn.outcome_codes.read()),
}
#: A row of each read with a field of the wrong type (a nested object, text for a number).
WRONG_ROWS: dict[str, dict[str, Any]] = {
    "datasets": {**DOC_DATASET, "d_priority": "high"},
    "records": {**DOC_RECORD, "callback": "next tuesday"},
    "tables": {"name": {"nested": "x"}},
    "fields": {**DOC_FIELD, "readonly": "perhaps"},
    "queues": {**DOC_QUEUE, "qid": ["504025"]},
    "outcomes": {**DOC_OUTCOMES[0], "complete": "maybe"},
}
HOSTILE: dict[str, Callable[[str], httpx.Response]] = {
    "html": lambda name: httpx.Response(200, content=HTML, headers={"content-type": "text/html"}),
    "truncated": lambda name: httpx.Response(200, content=b'{"success":true,"list":[{"datas'),
    "truncated xml": lambda name: httpx.Response(200, content=b"<result><success>1</success><li"),
    "null success": lambda name: json_reply({"success": None, "list": []}),
    "list of scalars": lambda name: json_reply({"success": True, "list": ["1", 2]}),
    "list is text": lambda name: json_reply({"success": True, "list": 7}),
    "wrong types": lambda name: json_reply(rows(WRONG_ROWS[name])),
    "null row": lambda name: json_reply({"success": True, "list": [None]}),
}


@pytest.mark.parametrize("hostile", list(HOSTILE))
@pytest.mark.parametrize("name", list(READS))
async def test_hostile_replies_raise_response_format_error(name: str, hostile: str) -> None:
    key, call = READS[name]
    api = FakeAPI({key: lambda request: HOSTILE[hostile](name)})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        if hostile == "null row" and name not in ("tables", "queues", "outcomes"):
            # A null record is an empty one: every field empty, not an error (but a
            # table, a queue or an outcome code of no name or id is none).
            assert len(await call(cn)) == 1
            return
        with pytest.raises(ResponseFormatError):
            await call(cn)


@pytest.mark.parametrize("name", list(READS))
async def test_null_fields_read_as_empty(name: str) -> None:
    key, call = READS[name]
    row = dict.fromkeys(WRONG_ROWS[name])
    if name == "tables":
        row = {"name": "Willtest"}
    ids = {"queues": "qid", "outcomes": "outcome"}  # a row is nothing without its id
    if name in ids:
        row[ids[name]] = "7"
    api = FakeAPI({key: lambda request: json_reply(rows(row))})
    cn, http = client_for(api)
    async with http, cn:
        assert len(await call(cn)) == 1


@pytest.mark.parametrize("reccount", ["-5", -5, -1.0])
async def test_a_dataset_of_a_negative_number_of_records_is_an_error(reccount: object) -> None:
    # It was read as it came: record_count -5.
    with pytest.raises(ValueError, match="'reccount' is a negative count"):
        Dataset.from_record({"dataset": "351", "reccount": reccount})
    api = FakeAPI({(*DATASETS, "read"): answer(rows({"dataset": "351", "reccount": reccount}))})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="reccount"):
            await cn.datasets.read()
    assert Dataset.from_record({"dataset": "351", "reccount": "0"}).record_count == 0


@pytest.mark.parametrize("loose", [" 12", "1_2", "+12", "\u0661\u0662", "1.2e1"])
@pytest.mark.parametrize(
    ("model", "record", "field"),
    [
        (Dataset, {"dataset": "351"}, "d_priority"),
        (Dataset, {"dataset": "351"}, "reccount"),
        (CampaignField, {"name": "FirstName"}, "position"),
        (CampaignField, {"name": "FirstName"}, "size"),
        (Queue, {"qid": "1007"}, "level"),
        (Queue, {"qid": "1007"}, "max_wait"),
    ],
)
def test_a_whole_number_written_loosely_is_refused_not_read(
    model: Any, record: dict[str, str], field: str, loose: str
) -> None:
    # Read as int() reads text: " 12", "1_2", "+12", "١٢" and "1.2e1" were all 12.
    with pytest.raises(ValueError, match=f"'{field}' is not a whole number"):
        model.from_record({**record, field: loose})
    read = model.from_record({**record, field: "12.0"})  # PHP's whole float: still 12
    name = {"d_priority": "priority", "reccount": "record_count"}.get(field, field)
    assert getattr(read, name) == 12
