"""Models: the same data in JSON and in XML gives equal models (invariant 3)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import timezone
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contactnow_async import (
    Agent,
    AgentInput,
    Call,
    LiveAgent,
    QueueAssignment,
    StatusLogEntry,
    Token,
)
from contactnow_async._models import AGENT_FIELDS, agent_attribute
from contactnow_async._models_live import live_agents
from contactnow_async._values import MAX_UNIX_TIME, as_text
from contactnow_async._wire import decode
from tests._helpers import examples
from tests._text import text


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _xml_value(name: str, value: Any) -> str:
    """One field the way the API writes XML: ``None``/``""``/``[]`` as an empty element."""
    if value is None or value in ("", []):
        return f"<{name}/>"
    if isinstance(value, list):
        items = "".join(f"<item>{_xml_fields(item)}</item>" for item in value)
        return f"<{name}>{items}</{name}>"
    return f"<{name}>{_escape(str(value))}</{name}>"


def _xml_fields(record: Mapping[str, Any]) -> str:
    return "\n    ".join(_xml_value(name, value) for name, value in record.items())


def as_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"success": True, "total": len(rows), "list": rows}).encode()


def as_xml(rows: list[dict[str, Any]], item: str) -> bytes:
    body = "".join(f"\n  <{item}>\n    {_xml_fields(row)}\n  </{item}>" for row in rows)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<result>\n  <success>1</success>\n'
        f"  <total>{len(rows)}</total>\n  <list>{body}\n  </list>\n</result>\n"
    ).encode()


def both(rows: list[dict[str, Any]], item: str) -> tuple[tuple[dict[str, Any], ...], ...]:
    return decode(as_json(rows)).records, decode(as_xml(rows, item)).records


AGENT_ROW = {
    "agentid": "550423",
    "name": "Joe Blogs",
    "moh": "none",
    "userfield": "",
    "filter": "0",
    "pin": "123456",
    "username": "Joe",
    "password": "Pa$$w0rd",
    "phone": None,
    "customer": "0",
    "default_status": "wrap",
    "agent_version": "2",
    "last_broadcast_msg": "",
    "selfserve_id": "0",
    "aod": "no",
    "aod_lock": "0",
    "audio_id": "0",
    "auth_level": "admin",
    "auth_admin": "N",
    "auth_supervisor": "N",
    "auth_reports": None,
}


def test_agent_json_equals_xml_phone_null_vs_empty_element() -> None:
    json_rows, xml_rows = both([AGENT_ROW], "agent")
    from_json = [Agent.from_record(row) for row in json_rows]
    from_xml = [Agent.from_record(row) for row in xml_rows]
    assert from_json == from_xml
    assert from_xml == from_json
    assert from_json[0].phone == from_xml[0].phone == ""
    assert from_json[0].name == "Joe Blogs"
    # Not vacuous: a different name makes them differ.
    other = dict(AGENT_ROW, name="Ann")
    assert Agent.from_record(decode(as_xml([other], "agent")).records[0]) != from_json[0]


CALLS = {
    "none": [],
    "one": [{"callid": "9001", "number": "0123"}],
    "two": [{"callid": "9001", "number": "0123"}, {"callid": "9002", "number": "0456"}],
}


@pytest.mark.parametrize("calls", CALLS.values(), ids=list(CALLS))
def test_live_agent_json_equals_xml(calls: list[dict[str, str]]) -> None:
    row = {
        "uid": "1226353",
        "name": "Administrator",
        "moh": "none",
        "status": "call" if calls else "offline",
        "statuscode": "Home",
        "time": "1550245970",
        "srvtime": "1550247582",
        "ccname": "Ion_Test",
        "customer": "0",
        "call": calls,
    }
    json_rows, xml_rows = both([row], "agent")
    from_json = LiveAgent.from_record(json_rows[0])
    from_xml = LiveAgent.from_record(xml_rows[0])
    assert from_json == from_xml
    assert from_xml == from_json
    assert [call.call_id for call in from_json.calls] == [call["callid"] for call in calls]
    assert from_json.call_id == (calls[0]["callid"] if calls else None)
    assert from_json.time_in_status == 1550247582 - 1550245970


def test_live_agent_call_as_repeated_elements() -> None:
    # A server could also repeat <call> per call; one and many are both lists.
    body = (
        b"<result><success>1</success><list><agent><uid>1</uid><name>A</name>"
        b"<status>call</status><call><callid>5</callid></call></agent></list></result>"
    )
    assert LiveAgent.from_record(decode(body).records[0]).calls == (Call(call_id="5"),)
    body2 = body.replace(
        b"<call><callid>5</callid></call>",
        b"<call><callid>5</callid></call><call><callid>6</callid></call>",
    )
    live = LiveAgent.from_record(decode(body2).records[0])
    assert live.calls == (Call(call_id="5"), Call(call_id="6"))


@pytest.mark.parametrize(
    "call", [{"callid": "0"}, {"callid": None}, {"callid": ""}, {"number": "1"}]
)
def test_a_live_agents_call_without_an_id_gives_call_id_none(call: dict[str, Any]) -> None:
    """As the status log's ``callid`` "0" is None: not ``""`` or ``"0"``, a call id no
    call has (docs/fields.md: ``call_id``, None for "0")."""
    row = {"uid": "1", "name": "A", "status": "call", "call": [call]}
    for record in both([row], "agent"):
        agent = LiveAgent.from_record(record[0])
        assert agent.call_id is None
        assert len(agent.calls) == 1  # still on a call


def test_status_log_entry_json_equals_xml() -> None:
    rows = [
        {"uid": "12345678901", "uts": "1234567890", "agent": "1234567", "status": "offline",
         "subcode": "", "callid": "0"},
        {"uid": "12345678902", "uts": "1234567899", "agent": "1234567", "status": "call",
         "subcode": "Sales", "callid": "777"},
    ]  # fmt: skip
    json_rows, xml_rows = both(rows, "status_log")
    from_json = [StatusLogEntry.from_record(row) for row in json_rows]
    from_xml = [StatusLogEntry.from_record(row) for row in xml_rows]
    assert from_json == from_xml
    assert from_xml == from_json
    assert from_json[1].log_id == 12345678902
    assert from_json[1].call_id == "777"
    assert from_json[0].started_at.tzinfo is timezone.utc


@pytest.mark.parametrize("count", [1, 2, 3])
def test_queue_assignment_json_equals_xml_one_or_many(count: int) -> None:
    rows = [{"agentid": "1234", "qid": str(1000 + n), "level": str(n * 50)} for n in range(count)]
    json_rows, xml_rows = both(rows, "priority")
    from_json = [QueueAssignment.from_record(row) for row in json_rows]
    from_xml = [QueueAssignment.from_record(row) for row in xml_rows]
    assert len(from_json) == count
    assert from_json == from_xml
    assert from_xml == from_json
    assert [assignment.level for assignment in from_json] == [n * 50 for n in range(count)]


# Names a real agent could have, but not made only of a line break and indentation
# (the XML layout the decoder must drop).
names = st.text(
    st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
        + "\ufffe\uffff",
    ),
    max_size=30,
).filter(lambda text: text.strip() != "" or "\n" not in text)


@settings(max_examples=examples(150), deadline=None)
@given(name=names, status=names, agent=st.integers(0, 10**12).map(str))
def test_any_text_gives_equal_models_from_json_and_xml(name: str, status: str, agent: str) -> None:
    agent_row = dict(AGENT_ROW, name=name, agentid=agent, userfield=status)
    json_rows, xml_rows = both([agent_row], "agent")
    assert Agent.from_record(json_rows[0]) == Agent.from_record(xml_rows[0])
    assert Agent.from_record(xml_rows[0]).name == name
    live_row = {"uid": agent, "name": name, "status": status, "time": "1", "srvtime": "5",
                "call": []}  # fmt: skip
    json_rows, xml_rows = both([live_row], "agent")
    assert LiveAgent.from_record(json_rows[0]) == LiveAgent.from_record(xml_rows[0])
    log_row = {"uid": "1", "uts": "2", "agent": agent, "status": status, "subcode": name,
               "callid": "0"}  # fmt: skip
    json_rows, xml_rows = both([log_row], "status_log")
    assert StatusLogEntry.from_record(json_rows[0]) == StatusLogEntry.from_record(xml_rows[0])


def test_models_are_frozen_and_keep_raw() -> None:
    agent = Agent.from_record({"agentid": "1", "name": "A", "undocumented": "kept"})
    assert agent.raw["undocumented"] == "kept"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        agent.name = "B"  # type: ignore[misc]  # the point: frozen


def test_agent_input_to_record_uses_api_names_and_drops_none() -> None:
    record = AgentInput(agent_id="550423", name="John Dow", password="pw").to_record()
    assert record == {"agentid": "550423", "name": "John Dow", "password": "pw"}
    assert "pw" not in repr(AgentInput(password="pw"))


def test_token_deadline_follows_the_server_clock() -> None:
    token = Token(value="t" * 40, expires_ts=10_000, clock_offset=600.0)
    assert token.local_deadline() == 9_400
    assert token.is_fresh(9_339, margin=60)
    assert not token.is_fresh(9_341, margin=60)
    assert "t" * 40 not in repr(token)


_agent_values = st.one_of(
    text(max_size=4),
    st.integers(-(2**70), 2**70),
    st.none(),
    st.booleans(),
    st.floats(),
    st.dictionaries(text(max_size=2), text(max_size=2), max_size=1),
    st.lists(text(max_size=2), max_size=1),
)


@settings(max_examples=examples(100), deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*AGENT_FIELDS, "extra"]), _agent_values, max_size=len(AGENT_FIELDS)
    ),
    st.one_of(st.none(), st.integers(0, 10**9).map(str)),
)
def test_the_fast_agent_build_reads_each_field_as_text(
    record: dict[str, object], agent_id: str | None
) -> None:
    if agent_id is not None:  # most rows name their agent: the other fields are read
        record = {**record, "agentid": agent_id}
    first = record.get("agentid")  # read first: its error, if any, is the one raised
    if not isinstance(first, (dict, list, bool)) and not as_text(first).strip():
        # No agent's id (missing, null, empty or blank): no agent of id "".
        with pytest.raises(ValueError, match="'agentid' is missing or empty"):
            Agent.from_record(record)
        return
    if any(isinstance(record.get(wire), (dict, list, bool)) for wire in AGENT_FIELDS):
        # A nested value, or a bool (not "True": no API text reads so), names its field.
        with pytest.raises(ValueError, match=r"not a scalar|boolean, not text"):
            Agent.from_record(record)
        return
    agent = Agent.from_record(record)
    plain = Agent(
        **{agent_attribute(wire): as_text(record.get(wire)) for wire in AGENT_FIELDS}, raw=record
    )
    assert agent == plain
    assert agent.raw is record
    assert repr(agent) == repr(plain)
    assert hash(agent) == hash(plain)
    assert type(agent) is Agent  # the fast build's own class never leaves it
    assert all(type(getattr(agent, field.name)) is str for field in attrs.fields(Agent)[:-1])


_LOG_ROW = {"uid": "7", "uts": "1700000000", "agent": "1001", "status": "Ready",
            "subcode": "", "callid": "0"}  # fmt: skip
_log_numbers = st.one_of(
    st.integers(-3, 2**40).map(str),  # the API's own: plain digits, within range or not
    st.sampled_from(["", "0", " 12", "1_000", "+7", "\u0663", "1e3", "12.0", "9" * 5000]),
    _agent_values,
)
_log_texts = st.one_of(text(max_size=4), st.sampled_from(["", "0"]), _agent_values)


class _ByTheRules(StatusLogEntry):
    """A subclass: its rows are built by the general rules, never the fast build."""


@settings(max_examples=examples(150), deadline=None)
@given(
    changed=st.fixed_dictionaries(
        {},
        optional={"uid": _log_numbers, "uts": _log_numbers, "agent": _log_texts,
                  "status": _log_texts, "subcode": _log_texts, "callid": _log_texts},
    ),
    missing=st.sets(st.sampled_from(sorted(_LOG_ROW)), max_size=2),
)  # fmt: skip
@example(changed={"uid": "0"}, missing=set())
@example(changed={"uts": str(MAX_UNIX_TIME + 1)}, missing=set())
@example(changed={"callid": ""}, missing=set())
@example(changed={"callid": 0}, missing=set())
@example(changed={}, missing={"callid"})
def test_the_fast_status_log_build_gives_what_the_rules_give(
    changed: dict[str, object], missing: set[str]
) -> None:
    record = {name: value for name, value in {**_LOG_ROW, **changed}.items() if name not in missing}
    refused: Exception | None = None
    try:
        expected = _ByTheRules.from_record(record)
    except (ValueError, TypeError) as exc:
        refused = exc
    if refused is not None:
        with pytest.raises(type(refused), match=f"^{re.escape(str(refused))}$"):
            StatusLogEntry.from_record(record)
        return
    entry = StatusLogEntry.from_record(record)
    assert type(entry) is StatusLogEntry  # the fast build's own class never leaves it
    assert attrs.astuple(entry, recurse=False) == attrs.astuple(expected, recurse=False)
    assert entry.raw is record
    assert repr(entry) == repr(expected).replace("_ByTheRules", "StatusLogEntry")
    assert hash(entry) == hash(StatusLogEntry(**attrs.asdict(expected, recurse=False)))
    assert {type(value) for value in (entry.log_id, entry.started_ts)} == {int}


def test_a_row_of_the_api_takes_the_fast_status_log_build() -> None:
    entry = StatusLogEntry.from_record(_LOG_ROW)
    assert (entry.log_id, entry.started_ts, entry.agent_id, entry.call_id) == (
        7,
        1_700_000_000,
        "1001",
        None,
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        entry.status = "Busy"  # type: ignore[misc]  # the point: frozen as attrs' own


def test_a_subclass_of_agent_reads_through_its_own_class() -> None:
    class Mine(Agent):
        pass

    mine = Mine.from_record({"agentid": 7, "name": None, "phone": "1"})
    assert type(mine) is Mine
    assert (mine.agent_id, mine.name, mine.phone, mine.moh) == ("7", "", "1", "")


@pytest.mark.parametrize("nested", [{"a": "1"}, ["1"]])
@pytest.mark.parametrize(
    ("model", "record", "field"),
    [
        (Agent, {"agentid": "1", "name": "A"}, "name"),
        (Agent, {"agentid": "1", "password": "p"}, "password"),
        (StatusLogEntry, {"uid": "1", "uts": "1700000000", "agent": "1"}, "callid"),
        (StatusLogEntry, {"uid": "1", "uts": "1700000000", "agent": "1"}, "agent"),
        (QueueAssignment, {"agentid": "1", "qid": "2", "level": "1"}, "qid"),
    ],
)
def test_a_nested_value_in_a_text_field_is_refused(
    model: Any, record: dict[str, object], field: str, nested: object
) -> None:
    # Not kept as Python's text of it ("{'a': '1'}"), as if the API had sent that.
    with pytest.raises(ValueError, match=f"{field!r} is not a scalar"):
        model.from_record({**record, field: nested})


def test_an_id_sent_as_a_whole_json_float_reads_as_the_whole_number() -> None:
    # PHP's json_encode writes a float id as 12.0: the id is "12", not "12.0", and a
    # queue assignment or a live row must name the same agent as an int 12 would.
    assert Agent.from_record({"agentid": 12.0, "phone": 4.4123e10}).agent_id == "12"
    assert Agent.from_record({"agentid": 12.0, "phone": 4.4123e10}).phone == "44123000000"
    assert Agent.from_record({"agentid": 12.5}).agent_id == "12.5"  # not a whole number
    assert Agent.from_record({"agentid": 1e300}).agent_id == "1e+300"  # past exact ints
    live = live_agents([{"uid": 7.0, "name": "A", "status": "Ready", "time": "1", "srvtime": "1"}])
    assert live[0].agent_id == "7"
    entry = StatusLogEntry.from_record({"uid": 3, "agent": 7.0, "status": "Ready"})
    assert entry.agent_id == "7"


@pytest.mark.parametrize("level", [True, 1.7, " 12 ", "1e3", None, math.inf, math.nan, [1]])
def test_a_queue_assignment_refuses_a_level_that_is_no_whole_number(level: object) -> None:
    # The level went through int(): True was level 1, 1.7 level 1 and " 12 " level 12,
    # all sent as if given so, and None or inf a bare TypeError or OverflowError.
    with pytest.raises(ValueError, match="level must be a whole number"):
        QueueAssignment(agent_id="1", queue_id="2", level=level)  # type: ignore[arg-type]  # what a caller may pass


def test_a_queue_assignment_takes_a_level_as_an_int_or_its_plain_text() -> None:
    assert QueueAssignment(agent_id="1", queue_id="2", level="100").level == 100
    assert QueueAssignment(agent_id="1", queue_id="2", level=100.0).level == 100
    assert QueueAssignment(agent_id="1", queue_id="2", level=0).level == 0


def test_a_priority_row_whose_level_is_no_whole_number_is_refused() -> None:
    # " 12", "1_2" and "1.2e1" were read as int() reads them: level 12.
    for level in (" 12", "1_2", "1.2e1", True):
        with pytest.raises(ValueError, match="field 'level' is not a whole number"):
            QueueAssignment.from_record({"agentid": "1", "qid": "2", "level": level})
    assert QueueAssignment.from_record({"agentid": "1", "qid": "2", "level": "5.0"}).level == 5
