"""Queues, outcome codes, priorities, status log, tokens, campaigns and datasets against
a hostile server and careless input: typed models or a library error, never a bare
exception, silently wrong data, or a filter the API would misread."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from contactnow_async import (
    ContactNow,
    DatasetStatus,
    QueueType,
    ResponseFormatError,
    TokenError,
)
from contactnow_async._wire import Format
from tests._helpers import FakeAPI, client_for, json_reply
from tests.test_ecnow import (
    DOC_DATASET,
    DOC_OUTCOMES,
    DOC_QUEUE,
    FORMATS,
    answer,
    body_records,
    call_with,
    params,
    rows,
    sent,
)

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

LOG_ROW = {"uid": "7", "uts": "1700000000", "agent": "1", "status": "wait", "subcode": "",
           "callid": "0"}  # fmt: skip
PRIORITY = {"agentid": "1234", "qid": "1007", "level": "100"}

Call = Callable[[ContactNow], Awaitable[Any]]
#: Each read of this part, its route, a good row and the XML name of a row.
READS: dict[str, tuple[tuple[str, str, str], Call, dict[str, Any], str]] = {
    "queues": (("database", "queues", "read"), lambda cn: cn.queues.read(), DOC_QUEUE, "queue"),
    "outcomes": (
        ("database", "outcomecodes", "read"),
        lambda cn: cn.outcome_codes.read(),
        DOC_OUTCOMES[0],
        "outcomecode",
    ),
    "priorities": (
        ("database", "priority", "read"),
        lambda cn: cn.priorities.read(),
        PRIORITY,
        "priority",
    ),
    "status_log": (
        ("database", "status_log", "read"),
        lambda cn: cn.status_log.read(),
        LOG_ROW,
        "status_log",
    ),
    "tables": (
        ("ecnow", "campaign_tables", "read"),
        lambda cn: cn.campaigns.tables(),
        {"name": "Willtest"},
        "table",
    ),
    "datasets": (
        ("ecnow", "ecnow_datasets", "read"),
        lambda cn: cn.datasets.read(),
        DOC_DATASET,
        "dataset",
    ),
}


async def read_reply(name: str, reply: httpx.Response | dict[str, Any]) -> Any:
    key, call, _, _ = READS[name]
    api = FakeAPI({key: lambda request: reply})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        return await call(cn)


# -- replies ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(READS))
async def test_a_total_above_the_rows_is_a_format_error(name: str, fmt: Format) -> None:
    """A reply that says it holds more rows than it carries lost some: a read that
    returned the rest as if they were all would be silently partial."""
    key, call, row, item = READS[name]
    reply = {"success": True, "total": 3, "list": [row]}
    with pytest.raises(ResponseFormatError, match=r"total.*3.*1"):
        await call_with({key: answer(reply, item)}, call, format=fmt, max_retries=0)


@pytest.mark.parametrize("name", list(READS))
async def test_a_total_that_agrees_or_is_absent_is_fine(name: str) -> None:
    _, _, row, _ = READS[name]
    assert len(await read_reply(name, json_reply({"success": True, "total": 1, "list": [row]})))
    assert len(await read_reply(name, json_reply({"success": True, "list": [row]})))
    assert await read_reply(name, json_reply({"success": True, "total": "0", "list": []})) == []


@pytest.mark.parametrize("name", list(READS))
async def test_several_xml_list_elements_are_read_as_one_list(name: str) -> None:
    """``<list>`` twice: each row read, not one empty model per ``<list>``."""
    _, _, row, item = READS[name]
    fields = "".join(f"<{k}>{v}</{k}>" if v else f"<{k}/>" for k, v in row.items())
    one = f"<list><{item}>{fields}</{item}></list>"
    body = f"<result><success>1</success>{one}{one}</result>".encode()
    models = await read_reply(name, httpx.Response(200, content=body))
    single = await read_reply(
        name, httpx.Response(200, content=f"<result><success>1</success>{one}</result>".encode())
    )
    assert models == single * 2


@pytest.mark.parametrize("uid", [None, "", "-3", "0"])
async def test_a_status_log_row_without_a_uid_is_a_format_error(uid: str | None) -> None:
    """``log_id`` is the backfill cursor: a row without one is no row of the log."""
    with pytest.raises(ResponseFormatError, match="uid"):
        await read_reply("status_log", json_reply(rows({**LOG_ROW, "uid": uid})))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", ["missing", None, "", " "])
@pytest.mark.parametrize("field", ["agentid", "qid", "level"])
async def test_a_priority_row_without_its_agent_queue_or_level_is_a_format_error(
    field: str, value: str | None, fmt: Format
) -> None:
    """Not an assignment of agent "" or to queue "", nor one at level 0: the row says
    nothing of the assignment it stands for."""
    key, call, _, item = READS["priorities"]
    row: dict[str, Any] = {**PRIORITY, field: value}
    if value == "missing":
        del row[field]
    with pytest.raises(ResponseFormatError, match=rf"priorities\.read.*'{field}' is missing"):
        await call_with({key: answer(rows(row), item)}, call, format=fmt, max_retries=0)


#: An id as a server may leave it out: the key missing, null, empty, blank.
NO_ID: list[str | None] = ["missing", None, "", " "]
AGENT = {"agentid": "550423", "name": "Joe Blogs"}
LIVE_ROW = {"uid": "3", "name": "Ann", "status": "ready", "statuscode": "", "time": "1700000000",
            "srvtime": "1700000005", "call": []}  # fmt: skip


def without(row: dict[str, Any], field: str, value: str | None) -> dict[str, Any]:
    """``row`` with ``field`` set to ``value`` (``"missing"``: left out)."""
    row = {**row, field: value}
    if value == "missing":
        del row[field]
    return row


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", NO_ID)
async def test_an_agent_row_without_its_agentid_is_a_format_error(
    value: str | None, fmt: Format
) -> None:
    """Not an agent of id "": the row says nothing of which agent it is."""
    route = answer(rows(AGENT, without(AGENT, "agentid", value)), "agent")
    with pytest.raises(ResponseFormatError, match=r"agents\.read.*'agentid' is missing"):
        await call_with(
            {("database", "agents", "read"): route}, lambda cn: cn.agents.read(), format=fmt
        )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", NO_ID)
@pytest.mark.parametrize(
    ("name", "field"), [("queues", "qid"), ("outcomes", "outcome"), ("status_log", "agent")]
)
async def test_a_queue_outcome_or_log_row_without_its_id_is_a_format_error(
    name: str, field: str, value: str | None, fmt: Format
) -> None:
    """Not a queue "" nor an outcome code "", nor a status change of agent "" (a backfill
    made an event of no agent of it): the row says nothing of which it is."""
    key, call, row, item = READS[name]
    route = answer(rows(row, without(row, field, value)), item)
    with pytest.raises(ResponseFormatError, match=rf"\.read.*'{field}' is missing"):
        await call_with({key: route}, call, format=fmt, max_retries=0)


def live_pages(records: list[dict[str, Any]]) -> Callable[[httpx.Request], Any]:
    """ajax.php answering ``records``, a ``limit``/``start`` page of them if asked."""

    def route(request: httpx.Request) -> Any:
        start = int(request.url.params.get("start", 0))
        limit = int(request.url.params.get("limit", len(records)))
        page = {"success": True, "total": len(records), "list": records[start : start + limit]}
        return answer(page, "agent")(request)

    return route


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", NO_ID)
async def test_a_live_row_without_its_uid_is_a_format_error(value: str | None, fmt: Format) -> None:
    """Not an agent "" (two rows without a uid made one, the snapshot's count said
    "incomplete" and the list nothing): every way of reading the snapshot says so."""
    records = [without(LIVE_ROW, "uid", value), {**LIVE_ROW, "uid": None}, LIVE_ROW]
    cn, http = client_for(FakeAPI({("ajax", "agents", "read"): live_pages(records)}), format=fmt)
    error = r"live\.agents.*'uid' is missing or empty"
    async with http, cn:
        with pytest.raises(ResponseFormatError, match=error):
            await cn.live.agents(include_offline=True)
        with pytest.raises(ResponseFormatError, match=error):
            await cn.live.snapshot(page_size=2)  # paged: keyed as the pages come
        snapshot = await cn.live.snapshot()  # one page: keyed when first asked
        assert "without its uid" in repr(snapshot)
        reads: list[Callable[[], object]] = [
            lambda: snapshot.rows, lambda: len(snapshot), lambda: "3" in snapshot,
            lambda: snapshot["3"], snapshot.agents, lambda: snapshot.server_ts,
        ]  # fmt: skip
        for read in reads:
            with pytest.raises(ResponseFormatError, match=error):
                read()


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("status_log", "agent"),
        ("status_log", "status"),
        ("status_log", "callid"),
        ("priorities", "agentid"),
        ("priorities", "qid"),
        ("queues", "qid"),
        ("queues", "description"),
        ("outcomes", "outcome"),
        ("datasets", "dataset"),
        ("datasets", "qid"),
    ],
)
@pytest.mark.parametrize("value", [True, False])
async def test_a_boolean_where_text_is_expected_is_a_format_error(
    name: str, field: str, value: bool
) -> None:
    """JSON ``true`` is no id or text: not ``"True"`` (Python's word, not the API's)."""
    _, _, row, _ = READS[name]
    with pytest.raises(ResponseFormatError, match=field):
        await read_reply(name, json_reply(rows({**row, field: value})))


@pytest.mark.parametrize(
    ("wire", "member"),
    [
        ("live", DatasetStatus.LIVE),
        ("Hold", DatasetStatus.HOLD),
        ("OUTBOUND", QueueType.OUTBOUND),
        ("Sms_Out", QueueType.SMS_OUT),
    ],
)
def test_a_documented_state_in_another_case_is_its_member(wire: str, member: Any) -> None:
    """Not a look-alike member (``<DatasetStatus.LIVE: 'live'>``) unequal to ``LIVE``."""
    assert type(member)(wire) is member


def test_an_undocumented_state_is_still_a_new_member() -> None:
    assert DatasetStatus("ARCHIVED") == "ARCHIVED"
    assert QueueType("fax").value == "fax"


class ErrorOnValidate(FakeAPI):
    """Tokens as usual; ``validate`` answers success with the error beside it."""

    async def _token(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("action") != "validate":
            return await super()._token(request)
        if request.url.params.get("format") == "xml":
            body = b"<result><success>1</success><error>Invalid token</error></result>"
            return httpx.Response(200, content=body)
        return json_reply({"success": True, "error": "Invalid token"})


@pytest.mark.parametrize("fmt", FORMATS)
async def test_token_validate_judges_the_error_beside_success(fmt: Format) -> None:
    """The vendor's XML error examples say ``<success>1</success>`` with the error."""
    api = ErrorOnValidate()
    cn, http = client_for(api, format=fmt)
    async with http, cn:
        with pytest.raises(TokenError, match="Invalid token"):
            await cn.tokens.validate()


# -- inputs -----------------------------------------------------------------------------

REFUSED: list[Any] = [
    # a list, a bool or None inside an id list, bytes: never sent as "True", "None", "49,50"
    pytest.param(lambda cn: cn.status_log.read(agent=True), id="status_log agent bool"),
    pytest.param(lambda cn: cn.status_log.read(agent=["1", None]), id="status_log agent None"),
    pytest.param(lambda cn: cn.status_log.read(agent=b"12"), id="status_log agent bytes"),
    pytest.param(lambda cn: cn.status_log.read(agent=1.5), id="status_log agent float"),
    pytest.param(lambda cn: cn.queues.read(queue=[1, True]), id="queues queue bool"),
    pytest.param(lambda cn: cn.outcome_codes.read(outcome=[None]), id="outcome None"),
    pytest.param(lambda cn: cn.datasets.read(queue=False), id="datasets queue bool"),
    # uid and uid_range: whole numbers only, not truncated, not a string's characters
    pytest.param(lambda cn: cn.status_log.read(uid=True), id="uid bool"),
    pytest.param(lambda cn: cn.status_log.read(uid=1.7), id="uid fraction"),
    pytest.param(lambda cn: cn.status_log.read(uid="abc"), id="uid text"),
    pytest.param(lambda cn: cn.status_log.read(uid_range="12"), id="uid_range text"),
    pytest.param(lambda cn: cn.status_log.read(uid_range=(1, 2, 3)), id="uid_range three"),
    pytest.param(lambda cn: cn.status_log.read(uid_range=(1.5, 3)), id="uid_range fraction"),
    # one value filters: a list would go as PHP's table[]=..., a bool as "1"
    pytest.param(lambda cn: cn.queues.read(table=["a", "b"]), id="queues table list"),
    pytest.param(lambda cn: cn.queues.read(filter=True), id="queues filter bool"),
    # a blank table is no filter: every campaign's queues, not this one's
    pytest.param(lambda cn: cn.queues.read(table=""), id="queues table empty"),
    pytest.param(lambda cn: cn.queues.read(table=" "), id="queues table blank"),
    pytest.param(lambda cn: cn.queues.read(type=[]), id="queues type empty"),
    pytest.param(lambda cn: cn.queues.read(type=["outbound", None]), id="queues type None"),
    pytest.param(lambda cn: cn.queues.read(type=True), id="queues type bool"),
    # a blank id is no filter either: every queue, every outcome code
    pytest.param(lambda cn: cn.queues.read(queue=" "), id="queues queue blank"),
    pytest.param(lambda cn: cn.queues.read(queue=[2001, " "]), id="queues queue one blank"),
    pytest.param(lambda cn: cn.queues.read(type=" "), id="queues type blank"),
    pytest.param(lambda cn: cn.outcome_codes.read(outcome=" "), id="outcome blank"),
    pytest.param(lambda cn: cn.outcome_codes.read(uid=["\t"]), id="uid blank"),
    pytest.param(lambda cn: cn.priorities.read(agent=["1", "2"]), id="priorities agent list"),
    pytest.param(lambda cn: cn.priorities.read(queue=True), id="priorities queue bool"),
    pytest.param(lambda cn: cn.campaigns.fields(["Willtest"]), id="fields table list"),
    pytest.param(lambda cn: cn.campaigns.fields("T", name={"a": 1}), id="fields name dict"),
    pytest.param(lambda cn: cn.datasets.read(dataset=[351]), id="datasets dataset list"),
    pytest.param(lambda cn: cn.datasets.read(table=True), id="datasets table bool"),
    pytest.param(lambda cn: cn.datasets.read(state=["LIVE", "HOLD"]), id="state list"),
    pytest.param(lambda cn: cn.datasets.read(state="LIVVE"), id="state unknown"),
    # writes: a level or a dataset the API would misread
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "level": True}]), id="level bool"),
    pytest.param(lambda cn: cn.priorities.update([{**PRIORITY, "level": "high"}]), id="level text"),
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "level": 1.5}]), id="level 1.5"),
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "level": " 12"}]), id="level  12"),
    pytest.param(lambda cn: cn.priorities.update([{**PRIORITY, "level": -5}]), id="level -5"),
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "level": "-1"}]), id="level '-1'"),
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "agentid": "1,2"}]), id="pri 1,2"),
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "lvl": 5}]), id="priority field"),
    pytest.param(
        lambda cn: cn.priorities.create([{**PRIORITY, "agent_id": "9"}]), id="agentid twice"
    ),
    pytest.param(lambda cn: cn.datasets.create([{"qid": "1", "queue_id": "2"}]), id="qid twice"),
    pytest.param(
        lambda cn: cn.datasets.update([{"dataset": True, "d_status": "LIVE"}]), id="dataset bool"
    ),
    pytest.param(lambda cn: cn.datasets.set_status([351], "LIVE"), id="set_status list"),
    # a field the API does not know is ignored, and the write says success: the filter's
    # name for the status, or a typo, left the dataset as it was
    pytest.param(lambda cn: cn.datasets.update([{"dataset": 351, "state": "LIVE"}]), id="state"),
    pytest.param(lambda cn: cn.datasets.create([{"qid": 1, "d_priorty": 5}]), id="d_priorty"),
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "agentid": " "}]), id="blank id"),
    # the other groups' one value filters and options: not name[]=..., nor True as "1"
    pytest.param(lambda cn: cn.agents.read(name=["Ann", "Bob"]), id="agents name list"),
    pytest.param(lambda cn: cn.agents.read(agent_id=True), id="agents agent_id bool"),
    pytest.param(lambda cn: cn.agents.read(name={"a": 1}), id="agents name dict"),
    # an update's agent: one id, not True sent as "1" (another agent), nor 12.0 as "12.0"
    pytest.param(lambda cn: cn.agents.update([{"agentid": True, "name": "A"}]), id="agentid bool"),
    pytest.param(lambda cn: cn.agents.update([{"agent_id": 12.0, "name": "A"}]), id="agentid 12.0"),
    pytest.param(lambda cn: cn.agents.update([{"agentid": " ", "name": "A"}]), id="agentid blank"),
    pytest.param(lambda cn: cn.agents.update([{"agentid": "1,2", "name": "A"}]), id="agentid 1,2"),
    pytest.param(lambda cn: cn.live.agents(agent=[1, 2]), id="live agent list"),
    pytest.param(lambda cn: cn.live.agents(agent=True), id="live agent bool"),
    pytest.param(lambda cn: cn.live.agents(page_size=True), id="live page_size bool"),
    pytest.param(lambda cn: cn.live.agents(page_size=2.5), id="live page_size fraction"),
    pytest.param(lambda cn: cn.live.snapshot(max_pages=math.nan), id="live max_pages nan"),
    pytest.param(lambda cn: cn.records.read(table=["a", "b"]), id="records table list"),
    pytest.param(lambda cn: cn.records.read(dataset=True), id="records dataset bool"),
    pytest.param(lambda cn: cn.records.read(table="T", agent=[1, 2]), id="records agent list"),
    pytest.param(lambda cn: cn.records.read(table="T", ddi=["0123"]), id="records ddi list"),
    pytest.param(lambda cn: cn.records.read(table="T", timetype="bogus"), id="records timetype"),
    # a blank filter is no filter: every dataset's, table's, agent's or number's rows
    pytest.param(lambda cn: cn.records.read(table="T", dataset=" "), id="records dataset blank"),
    pytest.param(lambda cn: cn.records.read(table="", dataset="5"), id="records table empty"),
    pytest.param(lambda cn: cn.records.read(table="T", agent=""), id="records agent empty"),
    pytest.param(lambda cn: cn.records.read(table="T", ddi="  "), id="records ddi blank"),
    pytest.param(lambda cn: cn.datasets.read(table=""), id="datasets table empty"),
    pytest.param(lambda cn: cn.datasets.read(table=" "), id="datasets table blank"),
    pytest.param(lambda cn: cn.datasets.read(dataset=""), id="datasets dataset empty"),
    pytest.param(lambda cn: cn.control.wrap(1, ["Home"]), id="control subcode list"),
    pytest.param(lambda cn: cn.control.manual_dial(1, "0123", queue=True), id="control queue bool"),
    pytest.param(lambda cn: cn.control.manual_dial(1, "0123", queue=[5]), id="control queue list"),
    pytest.param(lambda cn: cn.control.callback(7, 1_800_000_000, notes=["x"]), id="notes list"),
    pytest.param(lambda cn: cn.control.agent_dial(1, line=[1]), id="control extra list"),
    pytest.param(lambda cn: cn.tokens.get(address=167772167), id="token address int"),
]


@pytest.mark.parametrize("call", REFUSED)
async def test_bad_input_is_refused_before_sending(call: Call) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises((TypeError, ValueError)) as caught:
            await call(cn)
    assert not isinstance(caught.value, ResponseFormatError)
    assert str(caught.value)  # a message that says what is wrong
    assert api.requests == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_writes_take_the_attribute_names_too(fmt: Format) -> None:
    """``agent_id``/``queue_id`` in a priority, ``queue_id``/``status``/``priority`` in a
    dataset: sent by their wire names (the API ignores a name it does not know)."""
    done = answer({"success": True, "total": 1, "bad": 0, "key": "9"}, "item")
    routes = {
        ("database", "priority", "create"): done,
        ("ecnow", "ecnow_datasets", "create"): done,
    }

    async def write(cn: ContactNow) -> None:
        await cn.priorities.create([{"agent_id": "1234", "queue_id": 1007, "level": 100.0}])
        await cn.datasets.create(
            [{"queue_id": "2001", "status": DatasetStatus.LIVE, "priority": 50, "notes": "x"}]
        )

    _, api = await call_with(routes, write, format=fmt)
    assert body_records(sent(api, "database", "priority"), "priority") == [
        {"agentid": "1234", "qid": "1007", "level": "100"}
    ]
    assert body_records(sent(api, "ecnow", "ecnow_datasets"), "dataset") == [
        {"qid": "2001", "d_status": "LIVE", "d_priority": "50", "notes": "x"}
    ]


async def test_read_filters_send_the_documented_values() -> None:
    """What is accepted goes as the API reads it."""
    routes = {
        ("database", "priority", "read"): answer(rows(PRIORITY)),
        ("ecnow", "ecnow_datasets", "read"): answer(rows(DOC_DATASET)),
        ("database", "queues", "read"): answer(rows(DOC_QUEUE)),
    }

    async def read(cn: ContactNow) -> None:
        await cn.priorities.read(agent=1234, queue="1007")
        await cn.datasets.read(state=DatasetStatus.LIVE, dataset=351, queue=[1, "2"])
        await cn.queues.read(type=QueueType.SMS_OUT, queue=5)

    _, api = await call_with(routes, read)
    assert params(sent(api, "database", "priority")) == {"agent": "1234", "qid": "1007"}
    assert params(sent(api, "ecnow", "ecnow_datasets")) == {
        "state": "LIVE",
        "dataset": "351",
        "qid": "1,2",
    }
    assert params(sent(api, "database", "queues")) == {"type": "sms_out", "qid": "5"}


#: Every yes-or-no argument of the resource methods, and a call that takes it.
FLAGS: dict[str, Callable[[ContactNow, Any], Awaitable[Any]]] = {
    "include_offline": lambda cn, value: cn.live.agents(include_offline=value),
    "include_offline ": lambda cn, value: cn.live.snapshot(include_offline=value),
    "system": lambda cn, value: cn.outcome_codes.read(system=value),
    "exact": lambda cn, value: cn.records.read(table="T", search={"a": "b"}, exact=value),
    "strict": lambda cn, value: cn.reports.calls(
        ["nc_all"], start=0, stop=60, group_by=["qid"], strict=value
    ),
    "strict ": lambda cn, value: cn.reports.cdr_list(["callid"], start=0, stop=60, strict=value),
    "logged_in_only": lambda cn, value: cn.reports.agents(start=0, stop=60, logged_in_only=value),
}


@pytest.mark.parametrize("value", ["no", "false", "", 0, 1, None, [False]])
@pytest.mark.parametrize("flag", list(FLAGS))
async def test_a_yes_or_no_argument_takes_only_a_bool(flag: str, value: Any) -> None:
    """``include_offline="no"`` was taken as True (a non-empty text is truthy): a flag is
    True or False, anything else a TypeError naming it, before anything is sent."""
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(TypeError, match=rf"^{flag.strip()} must be True or False, not "):
            await FLAGS[flag](cn, value)
    assert api.requests == []


async def test_include_offline_sends_mode_all_only_when_true() -> None:
    routes = {("ajax", "agents", "read"): answer({"success": True, "total": 0, "list": []})}

    async def read(cn: ContactNow) -> None:
        await cn.live.agents(include_offline=True)
        await cn.live.agents(include_offline=False)

    _, api = await call_with(routes, read)
    modes = [r.url.params.get("mode") for r in api.requests if r.url.path.endswith("/ajax.php")]
    assert modes == ["all", None]
