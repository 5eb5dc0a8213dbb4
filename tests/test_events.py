"""The public event JSON codec: every event kind round-trips; anything else is a ValueError."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import attrs
import pytest

from contactnow_async import AgentEvent, Call, LiveAgent
from contactnow_async.events import from_dict, from_json, to_dict, to_json
from contactnow_async.watch._events import EventKind, EventSource
from tests._helpers import cpu_seconds

T0 = 1_795_428_000
NOW = datetime(2026, 11, 23, 10, 0, 1, 250_000, tzinfo=timezone.utc)


def agent(
    status: str, started_ts: int, *, name: str = "Agent 1", calls: tuple[Call, ...] = ()
) -> LiveAgent:
    return LiveAgent(agent_id="1226353", name=name, status=status, started_ts=started_ts,
                     server_ts=started_ts + 1, calls=calls)  # fmt: skip


def event(
    kind: EventKind,
    before: LiveAgent | None,
    after: LiveAgent | None,
    *,
    source: EventSource = "poll",
    log_id: int | None = None,
    previous_duration: float | None = None,
) -> AgentEvent:
    return AgentEvent(kind=kind, agent_id="1226353", before=before, after=after,
                      changed_at=NOW - timedelta(seconds=1), observed_at=NOW, source=source,
                      log_id=log_id, previous_duration=previous_duration, id="x")  # fmt: skip


EVENTS = [
    event("appeared", None, agent("wait", T0)),
    event("changed", agent("wait", T0), agent("call", T0 + 42), previous_duration=42.0),
    event("disappeared", agent("call", T0 + 42), None),
    event(
        "changed",
        agent("wait", 0),
        # Its server_ts is the last second of 9999.
        agent("ünïcødé ☎", 253_402_300_798, name="名前 \U0001f600\x00"),
        source="status_log",
        log_id=12_345_678_950_123_456_789,
    ),
]


@pytest.mark.parametrize("original", EVENTS, ids=lambda e: e.kind)
def test_every_event_kind_round_trips(original: AgentEvent) -> None:
    assert from_json(to_json(original)) == original
    assert from_json(to_json(original).encode()) == original
    assert from_dict(to_dict(original)) == original


def test_an_event_of_live_rows_round_trips() -> None:
    # A watcher's agents come from ajax.php rows, which set every field of a LiveAgent.
    def live(status: str, started: int) -> LiveAgent:
        return LiveAgent.from_record(
            {"uid": "1226353", "name": "Agent 1", "status": status, "statuscode": "",
             "time": str(started), "srvtime": str(started + 1), "moh": "none",
             "ccname": "Demo_Centre", "customer": "0", "call": []}
        )  # fmt: skip

    original = event("changed", live("wait", T0), live("call", T0 + 42), previous_duration=42.0)
    assert from_json(to_json(original)) == original


def test_a_document_without_the_later_agent_keys_still_reads() -> None:
    document = to_dict(EVENTS[1])
    for agent in (document["before"], document["after"]):
        for key in ("moh", "centre_name", "customer", "call_records"):
            del agent[key]
    assert from_dict(document) == EVENTS[1]


DIALLED = Call.from_record({"callid": "90000001", "urn": "2499265", "qtable": "Willtest",
                            "qid": "2001", "direction": "out"})  # fmt: skip
INBOUND = Call.from_record({"callid": "90000002", "qid": "1001", "direction": "in"})


def test_a_call_keeps_the_record_it_is_about() -> None:
    # The JSON kept only the call ids: a consumer of the relay's stream or of the wallboard
    # could not link a dialled call to its ecnow record (ajax call[].urn and qtable).
    original = event("changed", agent("wait", T0), agent("call", T0 + 42, calls=(DIALLED, INBOUND)))
    document = to_dict(original)
    assert document["after"]["calls"] == ["90000001", "90000002"]
    assert document["after"]["call_records"] == [
        {"call_id": "90000001", "record_id": "2499265", "table": "Willtest"}
    ]
    assert document["before"]["call_records"] == []
    read = from_json(to_json(original))
    assert read == original
    assert read.after is not None
    assert [(c.call_id, c.record_id, c.table) for c in read.after.calls] == [
        ("90000001", "2499265", "Willtest"),
        ("90000002", None, None),
    ]
    # A document written before call_records reads its calls without a record.
    del document["after"]["call_records"]
    old = from_dict(document)
    assert old.after is not None
    assert [(c.call_id, c.record_id) for c in old.after.calls] == [
        ("90000001", None),
        ("90000002", None),
    ]


def test_calls_that_share_an_id_each_keep_their_own_record() -> None:
    # A live row's calls without a callid are all "": their records were keyed by id, so
    # the last one's went to every such call (or the one call with a record lost it).
    first = Call.from_record({"urn": "2499265", "qtable": "Willtest"})
    second = Call.from_record({"qtable": "Other"})
    third = Call.from_record({})
    for calls in [(first, second), (third, first), (first, third, second), (DIALLED, third)]:
        original = event("changed", agent("wait", T0), agent("call", T0 + 1, calls=calls))
        read = from_json(to_json(original))
        assert read.after is not None
        assert [(c.call_id, c.record_id, c.table) for c in read.after.calls] == [
            (c.call_id, c.record_id, c.table) for c in calls
        ]
    # A document with more records of an id than calls of it is no watcher's.
    document = to_dict(event("changed", agent("wait", T0), agent("call", T0 + 1, calls=(first,))))
    document["after"]["call_records"] *= 2
    with pytest.raises(ValueError, match=r"after\.call_records"):
        from_dict(document)


def _with_calls(count: int) -> AgentEvent:
    calls = tuple(Call.from_record({"callid": str(i), "urn": str(i)}) for i in range(count))
    return event("changed", agent("wait", T0), agent("call", T0 + 1, calls=calls))


def test_an_agent_of_many_calls_is_written_and_read_in_linear_time() -> None:
    # Each call record was looked up in the list of call ids (and counted there), in both
    # directions: a 1.2 MB line of 20,000 calls took 13 s to read and 8 s to write.
    # Eight times the calls: linear is 8 times the time, quadratic 64 (a loaded machine's
    # noise stays well inside the margin between them).
    small, large = _with_calls(500), _with_calls(4_000)
    for work in (to_json, lambda event: from_json(to_json(event))):
        assert cpu_seconds(partial(work, large)) < 24 * cpu_seconds(partial(work, small)) + 0.02
    assert from_json(to_json(large)) == large


@pytest.mark.parametrize("name", ["\ud800", "Ann \udfff\ud800 \U0001f600 é"])
def test_a_lone_surrogate_is_written_as_its_json_escape(name: str) -> None:
    # The API's "\ud800" decodes to a lone surrogate, which has no UTF-8: the JSON could
    # not be written anywhere (the relay's publish raised UnicodeEncodeError for ever).
    original = event("appeared", None, agent("wait", T0, name=name))
    text = to_json(original)
    assert "\\ud800" in text
    assert "\U0001f600 é" in text or "\U0001f600" not in name  # the rest stays as it is
    assert from_json(text.encode("utf-8")) == original
    assert from_json(text) == original


GOOD = json.loads(to_json(EVENTS[1]))


def changed(**changes: Any) -> str:
    document = dict(GOOD)
    document.update(changes)
    return json.dumps(document)


def changed_after(**changes: Any) -> str:
    return changed(after={**GOOD["after"], **changes})


HOSTILE = {
    "not an object": "[]",
    "null": "null",
    "a number": "1",
    "not JSON": "{",
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "no kind": changed(kind=None),
    "an unknown kind": changed(kind="exploded"),
    "an unknown source": changed(source="pigeon"),
    "changed_at a number": changed(changed_at=5),
    "changed_at not a time": changed(changed_at="yesterday"),
    "changed_at without a zone": changed(changed_at="2026-11-23T10:00:00"),
    "observed_at missing": changed(observed_at=None),
    "log_id infinite": changed(source="status_log", log_id=1).replace(
        '"log_id": 1', '"log_id": 1e400'
    ),
    "log_id NaN": changed(source="status_log", log_id=1).replace('"log_id": 1', '"log_id": NaN'),
    "log_id a fraction": changed(source="status_log", log_id=1.5),
    "log_id true": changed(source="status_log", log_id=True),
    "log_id text": changed(source="status_log", log_id="12"),
    # No status_log row has one; the relay orders uids as decimal text, without a sign.
    "log_id negative": changed(source="status_log", log_id=-5),
    "previous_duration text": changed(previous_duration="42"),
    "previous_duration infinite": changed(previous_duration=1).replace(
        '"previous_duration": 1', '"previous_duration": Infinity'
    ),
    "previous_duration past a float": changed(previous_duration=10**400),
    # Valid in their zone, but past the year 9999 (or before 1) in UTC: to_json cannot write them.
    "changed_at past 9999 in UTC": changed(changed_at="9999-12-31T23:59:59-01:00"),
    "observed_at before year 1 in UTC": changed(observed_at="0001-01-01T00:00:00+01:00"),
    "agent_id a number": changed(agent_id=1226353),
    "id null": changed(id=None),
    "before text": changed(before="x"),
    "before a list": changed(before=[1]),
    "after without status": changed(after={"agent_id": "1"}),
    "after status null": changed_after(status=None),
    "after calls a number": changed_after(calls=5),
    "after calls text": changed_after(calls="123"),
    "after calls of numbers": changed_after(calls=[9]),
    "after centre_name null": changed_after(centre_name=None),
    "after call_records an object": changed_after(call_records={}),
    "after call_records of call ids": changed_after(calls=["9"], call_records=["9"]),
    "after call_records of another call": changed_after(
        calls=["9"], call_records=[{"call_id": "8", "record_id": "5", "table": "t"}]
    ),
    "after call_records without call_id": changed_after(
        calls=["9"], call_records=[{"record_id": "5", "table": "t"}]
    ),
    "after call_records record_id a number": changed_after(
        calls=["9"], call_records=[{"call_id": "9", "record_id": 5, "table": "t"}]
    ),
    "after call_records table a list": changed_after(
        calls=["9"], call_records=[{"call_id": "9", "record_id": "5", "table": ["t"]}]
    ),
    "after started_ts huge": changed_after(started_ts=10**30),
    "after started_ts negative": changed_after(started_ts=-1),
    "after started_ts a fraction": changed_after(started_ts=1.7),
    "after server_ts text": changed_after(server_ts="1795428043"),
    # A document whose parts disagree: what no watcher writes, and what a consumer would
    # trip on (an appearance with a previous state, a change to nothing, another agent).
    "appeared with a before": changed(kind="appeared"),
    "disappeared with an after": changed(kind="disappeared"),
    "changed to nothing": changed(after=None),
    "appeared with no after": changed(kind="appeared", before=None, after=None),
    "disappeared with no before": changed(kind="disappeared", before=None, after=None),
    "after another agent's": changed_after(agent_id="999"),
    "before another agent's": changed(before={**GOOD["before"], "agent_id": "999"}),
    # A resume reads after a status_log event's log_id: one without it would start afresh.
    "status_log without a log_id": changed(source="status_log"),
    "poll with a log_id": changed(log_id=12),
}


#: Events whose parts disagree, built directly (no watcher makes them).
DISAGREEING = {
    "status_log without a log_id": event("appeared", None, agent("wait", T0), source="status_log"),
    "poll with a log_id": event("appeared", None, agent("wait", T0), log_id=12),
    "appeared with a before": event("appeared", agent("wait", T0), agent("call", T0)),
    "changed to nothing": event("changed", agent("wait", T0), None),
}

_CHANGE = EVENTS[1]
#: Events with a part to_json wrote and from_json (a browser's JSON.parse too) refused:
#: NaN and Infinity are no JSON; a naive time was read as the host's local time.
UNREADABLE = {
    "previous_duration NaN": (
        "previous_duration",
        attrs.evolve(_CHANGE, previous_duration=math.nan),
    ),
    "previous_duration infinite": (
        "previous_duration",
        attrs.evolve(_CHANGE, previous_duration=-math.inf),
    ),
    "previous_duration past a float": (
        "previous_duration",
        attrs.evolve(_CHANGE, previous_duration=10**400),
    ),
    "log_id negative": ("log_id", attrs.evolve(EVENTS[3], log_id=-1)),
    "changed_at naive": ("changed_at", attrs.evolve(_CHANGE, changed_at=datetime(2026, 11, 23))),
    "observed_at naive": ("observed_at", attrs.evolve(_CHANGE, observed_at=datetime(2026, 11, 23))),
    "changed_at before the year 1 in UTC": (
        "changed_at",
        attrs.evolve(_CHANGE, changed_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
    ),
}


@pytest.mark.parametrize(("key", "odd"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_event_no_reader_takes_back_is_not_written(key: str, odd: AgentEvent) -> None:
    # to_json wrote NaN and Infinity (no JSON: from_json and a browser's JSON.parse refuse
    # them), a naive time as the host's local time, and raised OverflowError for a time
    # before the year 1 in UTC.
    with pytest.raises(ValueError, match=rf"not an agent event a watcher makes: '{key}'"):
        to_json(odd)


@pytest.mark.parametrize("odd", DISAGREEING.values(), ids=DISAGREEING.keys())
def test_an_event_whose_parts_disagree_is_not_written(odd: AgentEvent) -> None:
    # to_json wrote what from_json then refused: a document no reader can take back.
    with pytest.raises(ValueError, match="not an agent event a watcher makes"):
        to_json(odd)
    with pytest.raises(ValueError, match="not an agent event a watcher makes"):
        to_dict(odd)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_anything_but_an_event_document_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="event"):
        from_json(text)


@pytest.mark.parametrize("key", list(GOOD))
def test_a_document_without_a_key_is_a_value_error_naming_it(key: str) -> None:
    # A missing key was filled in: source "poll" (for an event with a log_id), log_id
    # None (for a status_log event), started_ts 0, no calls...
    document = dict(GOOD)
    del document[key]
    with pytest.raises(ValueError, match=rf"'{key}' is missing"):
        from_dict(document)


LATER_AGENT_KEYS = ("moh", "centre_name", "customer", "call_records")


@pytest.mark.parametrize("key", [key for key in GOOD["after"] if key not in LATER_AGENT_KEYS])
@pytest.mark.parametrize("side", ["before", "after"])
def test_an_agent_without_a_key_is_a_value_error_naming_it(side: str, key: str) -> None:
    # Only the keys added later may be missing (test above): the others were filled in.
    document = {**GOOD, side: {k: v for k, v in GOOD[side].items() if k != key}}
    with pytest.raises(ValueError, match=rf"'{side}\.{key}' is missing"):
        from_dict(document)
