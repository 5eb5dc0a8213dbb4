"""Live agents built fast: the same models as the plain reading of a row, from either
JSON decoder (the standard library's, or orjson from the ``[speed]`` extra)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async import Call, Envelope, LiveAgent, ResponseFormatError
from contactnow_async._models_live import live_agents
from contactnow_async._values import _t, unix_seconds
from contactnow_async._wire import decode, json_decoder, set_json_decoder, xml_list
from tests._helpers import FakeAPI, client_for, examples
from tests._text import text

pytest.importorskip("orjson", reason="the [speed] extra (orjson) is part of [test]")


@pytest.fixture(params=["stdlib", "orjson"])
def decoder(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each JSON decoder in turn, whatever is installed; back to automatic after."""
    set_json_decoder(request.param)
    try:
        yield str(request.param)
    finally:
        set_json_decoder("auto")


_TEXT = ("uid", "name", "status", "statuscode", "moh", "ccname", "customer")


def plain(record: Mapping[str, Any]) -> LiveAgent:
    """A row read field by field through attrs' own __init__: the definition."""
    # The text first, then the times and the calls: the order the fields are checked in.
    text = {wire: _t(record.get(wire), wire) for wire in _TEXT}
    if not text["uid"].strip():  # no agent's row: missing, null, empty or blank
        raise ValueError("field 'uid' is missing or empty")
    return LiveAgent(
        agent_id=text["uid"],
        name=text["name"],
        status=text["status"],
        sub_status=text["statuscode"],
        started_ts=unix_seconds(record.get("time"), "time"),
        server_ts=unix_seconds(record.get("srvtime"), "srvtime"),
        moh=text["moh"],
        centre_name=text["ccname"],
        customer=text["customer"],
        calls=tuple(Call.from_record(item) for item in xml_list(record.get("call"))),
        raw=record,
    )


_times = st.one_of(
    st.integers(-5, 2**64),
    st.integers(0, 253_402_300_799).map(str),
    st.sampled_from(["", "1700000000.0", "1e3", " 17 ", "1_700", "x", "NaN", "-1"]),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)
_values = st.one_of(
    text(max_size=5), st.integers(-(2**70), 2**70), st.none(), st.booleans(), st.floats(),
    st.just({"a": "1"}), st.just(["x"]),  # nested: an XML element with children
)  # fmt: skip
_calls = st.one_of(
    st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(["callid", "id", "uid", "qid"]), _values), _values
        ),
        max_size=2,
    ),
    _values,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "uid": _values,
        "name": _values,
        "status": _values,
        "statuscode": _values,
        "time": _times,
        "srvtime": _times,
        "moh": _values,
        "ccname": _values,
        "customer": _values,
        "call": _calls,
        "extra": _values,
    },
)
# Most rows with an agent's id (a row without one is refused, whatever else it holds).
_ids = st.fixed_dictionaries({"uid": st.integers(0, 10**9).map(str)})
_rows = st.one_of(_fields, st.tuples(_fields, _ids).map(lambda pair: {**pair[0], **pair[1]}))


def _outcome(build: Any, rows: Any) -> Any:
    try:
        return build(rows)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(_rows, max_size=4))
def test_the_fast_build_gives_the_plain_models(rows: list[dict[str, Any]]) -> None:
    assert _outcome(live_agents, rows) == _outcome(lambda rows: [plain(r) for r in rows], rows)


_usual = st.fixed_dictionaries(
    {
        "uid": st.integers(0, 10**9).map(str),
        "name": text(max_size=3),
        "status": st.sampled_from(["call", "ready"]),
        "statuscode": st.one_of(text(max_size=2), st.none()),  # XML: <statuscode/>
        # Few distinct times, so a row often repeats the srvtime before it (the fast
        # build reuses that row's int) and an odd row sits between two usual ones.
        "time": st.sampled_from(["1700000000", "1700000001", "1700000000.0", " 1700000000"]),
        "srvtime": st.sampled_from(
            [*["1700000005"] * 8, "1700000006", 1700000005, "99999999999999", "x"]
        ),
        "moh": text(max_size=2),
        "ccname": text(max_size=2),
        "customer": text(max_size=2),
        "call": st.one_of(
            st.lists(
                st.fixed_dictionaries({"callid": st.sampled_from(["1", 2, None])}), max_size=2
            ),
            st.none(),  # XML: <call/>
        ),
    }
)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.one_of(_usual, _usual, _rows), max_size=8))
def test_usual_and_odd_rows_mixed_give_the_plain_models(rows: list[dict[str, Any]]) -> None:
    built = _outcome(live_agents, rows)
    assert built == _outcome(lambda rows: [plain(r) for r in rows], rows)
    if isinstance(built, list):  # every model of the fast build is the public class itself
        assert all(type(agent) is LiveAgent for agent in built)
        assert all(type(call) is Call for agent in built for call in agent.calls)
        assert [agent.raw for agent in built] == rows
        assert all(agent.raw is row for agent, row in zip(built, rows, strict=True))
        assert [hash(agent) for agent in built] == [hash(plain(row)) for row in rows]


@pytest.mark.slow
@settings(max_examples=examples(20), deadline=None)
@given(st.lists(st.one_of(_usual, _usual, _rows), min_size=33, max_size=40))
def test_a_long_page_read_by_its_first_rows_keys_gives_the_plain_models(
    rows: list[dict[str, Any]],
) -> None:
    # Past 32 rows the fields are looked up by the first row's own key objects,
    # whatever that row lacks; a row with other keys (or fewer) still reads right.
    assert _outcome(live_agents, rows) == _outcome(lambda rows: [plain(r) for r in rows], rows)
    assert _outcome(live_agents, iter(rows)) == _outcome(live_agents, rows)
    by_uid = dict(enumerate(rows))
    assert _outcome(live_agents, by_uid.values()) == _outcome(live_agents, rows)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(_rows, max_size=4), st.sampled_from([b"", b" ", b"\n"]))
def test_both_json_decoders_give_equal_models(rows: list[dict[str, Any]], pad: bytes) -> None:
    body = pad + json.dumps({"success": True, "total": len(rows), "list": rows}).encode() + pad
    outcomes: list[tuple[object, object]] = []
    for name in ("stdlib", "orjson"):  # the two literals of JsonDecoder
        set_json_decoder(name)
        try:
            envelope = decode(body)
            outcomes.append((envelope, _outcome(live_agents, list(envelope.records))))
        except ResponseFormatError as exc:
            outcomes.append((ResponseFormatError, str(exc)))
        finally:
            set_json_decoder("auto")
    assert outcomes[0] == outcomes[1]
    first, second = outcomes[0][0], outcomes[1][0]
    if isinstance(first, Envelope) and isinstance(second, Envelope):
        assert first.raw == second.raw


@pytest.mark.parametrize(
    "body",
    [
        b'{"success":true,"list":[{"uid":"1","time":NaN}]}',  # the stdlib reads NaN
        b'{"success":true,"total":123456789012345678901234567890,"list":[]}',
        b'{"success":true,"list":[{"uid":"\\ud800"}]}',  # a lone surrogate, escaped
        b"{success: true, list: []}",  # bare keys: the stdlib path's repair
        b'{"success":true,"list":[{"uid":"\xed\xa0\x80"}]}',  # an encoded surrogate
        b'{"success":true,"list":[{"uid":"1","uid":"2"}]}',
    ],
)
def test_what_orjson_refuses_reads_as_the_stdlib_reads_it(body: bytes) -> None:
    outcomes: list[object] = []
    for name in ("stdlib", "orjson"):  # the two literals of JsonDecoder
        set_json_decoder(name)
        try:
            outcomes.append(decode(body).records)
        except ResponseFormatError as exc:
            outcomes.append(str(exc))
        finally:
            set_json_decoder("auto")
    assert outcomes[0] == outcomes[1]


LIVE = ("ajax", "agents", "read")
ROWS: list[dict[str, Any]] = [
    {"uid": "1", "name": "Ann", "status": "ready", "statuscode": "", "time": "1700000000",
     "srvtime": "1700000005", "ccname": "C", "call": []},
    {"uid": "2", "name": "Bo", "status": "call", "time": 1700000001, "srvtime": 1700000005,
     "call": [{"callid": "9", "urn": "5"}]},
]  # fmt: skip


@pytest.mark.anyio
async def test_live_agents_read_with_each_decoder(decoder: str) -> None:
    assert json_decoder() == decoder
    api = FakeAPI({LIVE: lambda request: {"success": True, "total": 2, "list": ROWS}})
    cn, http = client_for(api)
    async with http, cn:
        agents = await cn.live.agents(include_offline=True)
    assert agents == [plain(row) for row in ROWS]
    assert agents[1].calls[0].record_id == "5"
    assert agents[0].raw == ROWS[0]


@pytest.mark.anyio
async def test_a_time_out_of_range_is_a_record_error(decoder: str) -> None:
    row = {**ROWS[0], "time": "1700000000000"}  # milliseconds
    api = FakeAPI({LIVE: lambda request: {"success": True, "total": 1, "list": [row]}})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="'time' is not a unix time"):
            await cn.live.agents(include_offline=True)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("field", "value"), [("name", {"first": "Ann"}), ("statuscode", ["a", "b"]), ("uid", {})]
)
async def test_a_nested_value_in_a_text_field_is_a_record_error(
    decoder: str, field: str, value: Any
) -> None:
    """Not Python's text of it ("{'first': 'Ann'}") kept as if the API had sent it."""
    row = {**ROWS[0], field: value}
    api = FakeAPI({LIVE: lambda request: {"success": True, "total": 1, "list": [row]}})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match=f"field '{field}' is not a scalar"):
            await cn.live.agents(include_offline=True)


@pytest.mark.parametrize(
    ("time", "srvtime", "seconds"),
    [
        ("1700000000", "1700000060", 60),
        ("1700000060", "1700000060", 0),
        (None, "1700000060", 0),  # no start: was 1,700,000,060 s (54 years)
        ("", "1700000060", 0),
        ("1700000090", "1700000060", 0),  # a start after the server's clock: was -30
        ("1700000000", None, 0),
    ],
)
def test_time_in_status_is_never_a_lie_of_decades_or_negative(
    time: str | None, srvtime: str | None, seconds: int
) -> None:
    row = {"uid": "1", "name": "A", "status": "call", "time": time, "srvtime": srvtime}
    assert LiveAgent.from_record(row).time_in_status == seconds


@pytest.mark.parametrize(
    ("urn", "record_id"),
    [("5", "5"), (5, "5"), (12.0, "12"), (0, None), (0.0, None), ("0", None), (True, None)],
)
def test_a_calls_record_id_reads_as_every_other_models_id(urn: object, record_id: str) -> None:
    # str() of the wire value: PHP's whole float 12.0 was "12.0" (a CDR row's record_id
    # says "12"), a number 0 was "0", not None as the wire's "0" is, and True was "True".
    call = Call.from_record({"callid": "9", "urn": urn, "qtable": urn})
    assert call.record_id == record_id
    assert call.table == record_id
