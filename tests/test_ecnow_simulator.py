"""The campaign database resources against the simulator, in process: every resource
round-trips, in JSON and XML, and both formats give equal models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone, tzinfo

import httpx
import pytest

from contactnow_async import (
    ContactNow,
    DatasetInput,
    DatasetStatus,
    QueueType,
    RecordInput,
    TransportError,
    WriteError,
)
from contactnow_async._wire import Format
from contactnow_async.simulator import Simulator, VirtualClock

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

START = 1_700_000_000.0
FORMATS = [pytest.param("json", id="json"), pytest.param("xml", id="xml")]


def client(sim: Simulator, fmt: Format = "json", record_tz: tzinfo = timezone.utc) -> ContactNow:
    http = httpx.AsyncClient(transport=sim.transport())
    return ContactNow(
        username="demo",
        password="demo",
        base_url="http://sim/",
        http_client=http,
        clock=sim.clock,
        format=fmt,
        record_tz=record_tz,
        retry_backoff=0,
    )


@pytest.fixture
def sim() -> Simulator:
    return Simulator(agents=10, seed=4, clock=VirtualClock(START))


@pytest.fixture(params=FORMATS)
async def cn(sim: Simulator, request: pytest.FixtureRequest) -> AsyncIterator[ContactNow]:
    async with client(sim, request.param) as cn:
        yield cn


async def test_datasets_round_trip(cn: ContactNow) -> None:
    created = await cn.datasets.create(
        [DatasetInput(queue_id="2001", description="June", priority=40, notes="from a test")]
    )
    assert created.key == "354"
    (june,) = await cn.datasets.read(dataset=created.key)
    assert (june.queue_id, june.status, june.priority) == ("2001", DatasetStatus.HOLD, 40)
    assert (june.description, june.notes, june.record_count) == ("June", "from a test", 0)
    await cn.datasets.update([{"dataset": created.key, "d_priority": 90}])
    await cn.datasets.set_status(created.key, "LIVE")
    live = await cn.datasets.read(table="Willtest", state=DatasetStatus.LIVE)
    assert [(d.dataset_id, d.priority) for d in live] == [("351", 0), ("354", 90)]
    assert [d.dataset_id for d in await cn.datasets.read(queue=["2002"])] == ["353"]
    await cn.datasets.set_status(created.key, DatasetStatus.EXPIRED)
    with pytest.raises(WriteError, match=r"dataset \[354\] is EXPIRED"):
        await cn.datasets.set_status(created.key, "LIVE")


async def test_a_lost_reply_to_expiring_a_dataset_is_not_resent(
    cn: ContactNow, sim: Simulator
) -> None:
    """The simulator expires the dataset and drops the reply: a resend was refused
    ("dataset [351] is EXPIRED"), a WriteError of a change that was made."""
    sim.faults.inject("drop_after", script="ecnow", method="ecnow_datasets", action="update")
    with pytest.raises(TransportError) as info:
        await cn.datasets.set_status(351, DatasetStatus.EXPIRED)
    assert info.value.sent is True
    assert sim.stats.count("ecnow", "ecnow_datasets", "update") == 1
    (dataset,) = await cn.datasets.read(dataset=351)
    assert dataset.status == DatasetStatus.EXPIRED
    sim.faults.inject("drop_after", script="ecnow", method="ecnow_datasets", action="update")
    await cn.datasets.update([{"dataset": 352, "d_priority": 30}])  # resent: the same again
    assert sim.stats.count("ecnow", "ecnow_datasets", "update") == 3


async def test_records_round_trip(cn: ContactNow) -> None:
    callback = datetime(2030, 5, 1, 9, 30, tzinfo=timezone.utc)
    lead = RecordInput(
        dataset_id=352,
        mobile_phone="07700900123",
        first_name="Jon",
        last_name="Dow",
        callback=callback,
        callback_notes="call after 9",
        fields={"Testy": "own"},
        notes_append="loaded by a test",
    )
    created = await cn.records.create([lead, {"dataset": 351, "HomePhone": "0161496"}])
    assert (created.total, created.info) == (2, "Record is LIVE on the dialer.")
    first = str(int(created.key or 0) - 1)
    (record,) = await cn.records.read(dataset=352, id=first)
    assert (record.dataset_id, record.first_name, record.mobile_phone) == (
        "352",
        "Jon",
        "07700900123",
    )
    assert record.callback_at == callback
    assert record.process_type == "HOLD: NEEDSMOREWORK"
    assert (record.callback_notes, record.notes, record.fields["Testy"]) == (
        "call after 9",
        "loaded by a test",
        "own",
    )
    assert record.source_file == "API"
    assert record.phones == ("07700900123",)

    found = await cn.records.read(table="Willtest", search={"lastname": "do"})
    assert [r.record_id for r in found] == [first]
    assert await cn.records.read(table="Willtest", search={"lastname": "do"}, exact=True) == []
    assert [r.record_id for r in await cn.records.read(table="Willtest", ddi="07700900123")] == [
        first
    ]
    window = await cn.records.read(
        table="Willtest", timetype="callback", tstart=callback, tstop=callback + timedelta(hours=1)
    )
    assert [r.record_id for r in window] == [first]

    done = await cn.records.update(
        [RecordInput(record_id=first, dataset_id=352, outcome_id=510456, notes_append="sold")]
    )
    assert done.info == "Record is NOT live on the dialer due having a complete outcome."
    (record,) = await cn.records.read(dataset=352, id=first, outcome=[510456])
    assert (record.outcome_id, record.process_type) == ("510456", "COMPLETE")
    assert record.notes.splitlines() == ["loaded by a test", "sold"]
    with pytest.raises(WriteError, match=r"Record id \[2499999\] does not exist\.") as info:
        await cn.records.update([{"id": 2499999, "dataset": 351, "FirstName": "x"}])
    assert info.value.result.bad == 1


async def test_campaigns_queues_and_outcome_codes(cn: ContactNow) -> None:
    assert await cn.campaigns.tables() == ["APItestcampaign", "BradOutbound", "Willtest"]
    fields = await cn.campaigns.fields("Willtest")
    assert len(fields) == 33
    assert [f.name for f in fields if not f.standard] == [
        "appointment", "Customer_Email", "flgid", "Testy", "ThisIsATimeField",
    ]  # fmt: skip
    (record_id,) = await cn.campaigns.fields("Willtest", name="id")
    assert (record_id.readonly, record_id.search, record_id.type) == (True, True, "int")
    queues = await cn.queues.read(table="Willtest", type=["outbound", "inbound"], filter="!= 999")
    assert [(q.queue_id, q.type) for q in queues] == [
        ("1007", QueueType.INBOUND),
        ("2001", QueueType.OUTBOUND),
    ]
    assert queues[0].numbers == ("01234567890", "01234567892")
    assert queues[1].campaign_id == "500650"
    assert {q.type for q in await cn.queues.read()} == set(QueueType)
    codes = {code.outcome_id: code for code in await cn.outcome_codes.read()}
    assert codes["510456"].complete and codes["510456"].sale
    assert not codes["501638"].complete
    assert codes["101"].answerphone
    assert codes["510458"].do_not_call
    system = await cn.outcome_codes.read(system=True)
    assert {code.outcome_id for code in system} == {"100", "101", "102", "103", "104", "109"}
    assert [code.outcome_id for code in await cn.outcome_codes.read(outcome=104)] == ["104"]


async def test_agents_read_with_the_vendors_filter(cn: ContactNow) -> None:
    everyone = await cn.agents.read()
    assert len(everyone) == 10
    assert await cn.agents.read(filter="!= 999") == everyone
    assert await cn.agents.read(filter="NOT IN (999, 505050)") == everyone
    assert await cn.agents.read(filter="= 999") == []


async def test_json_and_xml_give_equal_models(sim: Simulator) -> None:
    models = []
    for fmt in ("json", "xml"):
        async with client(sim, fmt) as cn:
            models.append(
                (
                    await cn.datasets.read(),
                    await cn.records.read(table="Willtest"),
                    await cn.campaigns.fields("APItestcampaign"),
                    await cn.queues.read(),
                    await cn.outcome_codes.read(),
                )
            )
    assert models[0] == models[1]
    assert all(models[0])


async def test_record_dates_in_the_centres_zone() -> None:
    zone = timezone(timedelta(hours=-5))
    sim = Simulator(agents=2, seed=1, clock=VirtualClock(START), record_tz=zone)
    callback = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    async with client(sim, record_tz=zone) as cn:
        created = await cn.records.create(
            [{"dataset": 352, "HomePhone": "1", "callback": callback}]
        )
        (record,) = await cn.records.read(dataset=352, id=created.key)
        assert record.raw["callback"] == "2030-01-01 22:04:05"  # the wire: the centre's clock
        assert record.callback_at == callback
    async with client(sim) as utc_cn:  # a client told the wrong zone reads a shifted moment
        (shifted,) = await utc_cn.records.read(dataset=352, id=created.key)
        assert shifted.callback_at == callback - timedelta(hours=5)


async def test_records_create_takes_the_phone_names_of_the_docs_defaults(cn: ContactNow) -> None:
    # ECNOW.md's defaults block writes the phones in lower case (homephone, mobilephone,
    # workphone); field names ignore case, as MySQL's do, so the API takes them.
    created = await cn.records.create([{"dataset": 351, "mobilephone": "07700900124"}])
    (record,) = await cn.records.read(dataset=351, id=created.key)
    assert record.mobile_phone == "07700900124"
    with pytest.raises(ValueError, match="one of HomePhone"):
        await cn.records.create([{"dataset": 351, "mobilephone": " "}])


#: Texts a lead may hold that a format could mangle: spaces at either end, carriage
#: returns (an XML parser reads a literal one as a line feed), CSV-ish commas and quotes,
#: markup, wildcards, and text beyond Latin-1.
AWKWARD_TEXTS = (
    "  spaced  ", " ", "a,b,\"c\"", "line1\nline2", "crlf\r\nend\r", "tab\there",
    "<b>&amp;</b> ]]>", "50%_off", "Zo\u00eb \u4e2d\u6587 \U0001f600", "back\\slash",
)  # fmt: skip


@pytest.mark.parametrize("read_fmt", FORMATS)
@pytest.mark.parametrize("write_fmt", FORMATS)
async def test_record_texts_read_back_as_written(
    sim: Simulator, write_fmt: Format, read_fmt: Format
) -> None:
    """A lead's texts come back as they were written, whichever format wrote or reads them
    (XML writes lost the spaces at either end, XML reads the carriage returns)."""
    async with client(sim, write_fmt) as writer, client(sim, read_fmt) as reader:
        for text in AWKWARD_TEXTS:
            lead = {"dataset": 352, "MobilePhone": "0770", "FirstName": text, "Testy": text}
            created = await writer.records.create([{**lead, "notes_append": text}])
            (record,) = await reader.records.read(dataset=352, id=created.key)
            assert (record.first_name, record.fields["Testy"], record.notes) == (text,) * 3
        created = await writer.datasets.create(
            [{"qid": 2001, "description": '  June, "B"\r\n', "notes": " n\r\n"}]
        )
        (dataset,) = await reader.datasets.read(dataset=created.key)
        assert (dataset.description, dataset.notes) == ('  June, "B"\r\n', " n\r\n")


async def test_a_day_as_tstop_reads_that_whole_day(cn: ContactNow) -> None:
    created = await cn.records.create(
        [{"dataset": 352, "HomePhone": "1", "callback": "2030-05-03 15:00:00"}]
    )
    day = date(2030, 5, 3)
    for start in (date(2030, 5, 1), day):
        found = await cn.records.read(dataset=352, timetype="callback", tstart=start, tstop=day)
        assert [r.record_id for r in found] == [created.key]


async def test_record_fields_named_by_their_attributes_are_written(cn: ContactNow) -> None:
    created = await cn.records.create(
        [{"dataset_id": 351, "mobile_phone": "07700900125", "first_name": "Ann"}]
    )
    await cn.records.update(
        [{"record_id": created.key, "dataset_id": 351, "outcome_id": 510456, "last_name": "Lee"}]
    )
    (record,) = await cn.records.read(dataset=351, id=created.key)
    assert (record.first_name, record.last_name, record.mobile_phone) == (
        "Ann",
        "Lee",
        "07700900125",
    )
    assert (record.outcome_id, record.process_type) == ("510456", "COMPLETE")


async def test_a_search_by_attribute_name_finds_the_record(cn: ContactNow) -> None:
    # It went out as search[first_name], a column no record has: nothing was found.
    created = await cn.records.create(
        [RecordInput(dataset_id=352, home_phone="0161", first_name="Zed")]
    )
    by_wire = await cn.records.read(table="Willtest", search={"FirstName": "zed"})
    by_name = await cn.records.read(
        table="Willtest", search={"first_name": "zed", "dataset_id": 352}
    )
    assert [r.record_id for r in by_name] == [r.record_id for r in by_wire] == [created.key]
