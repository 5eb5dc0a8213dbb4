"""Queues, outcome codes, priorities, status log, tokens, campaigns and datasets against
a hostile server and careless input: typed models or a library error, never a bare
exception, silently wrong data, or a filter the API would misread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from contactnow_async import (
    ContactNow,
    DatasetStatus,
    QueueType,
    ResponseFormatError,
)
from contactnow_async._wire import Format
from tests._helpers import FakeAPI, client_for
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

pytestmark = pytest.mark.anyio

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
    pytest.param(lambda cn: cn.queues.read(type=[]), id="queues type empty"),
    pytest.param(lambda cn: cn.queues.read(type=["outbound", None]), id="queues type None"),
    pytest.param(lambda cn: cn.queues.read(type=True), id="queues type bool"),
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
    pytest.param(lambda cn: cn.priorities.create([{**PRIORITY, "lvl": 5}]), id="priority field"),
    pytest.param(
        lambda cn: cn.priorities.create([{**PRIORITY, "agent_id": "9"}]), id="agentid twice"
    ),
    pytest.param(lambda cn: cn.datasets.create([{"qid": "1", "queue_id": "2"}]), id="qid twice"),
    pytest.param(
        lambda cn: cn.datasets.update([{"dataset": True, "d_status": "LIVE"}]), id="dataset bool"
    ),
    pytest.param(lambda cn: cn.datasets.set_status([351], "LIVE"), id="set_status list"),
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
