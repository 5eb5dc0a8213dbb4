"""Every public call that sends a request, against every kind of broken or hostile reply:
typed models, or one of the library's errors naming the call and holding no secret.
Never a bare exception, a hang, a resend the retry policy does not allow, a write
reported done that the server did not report done, nor a count or text the server
did not send.

One test per call runs the whole list of replies through one client, so a failure
lists every reply that call mishandles (and the module stays fast)."""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape

import anyio
import attrs
import httpx
import pytest

from contactnow_async import (
    APIError,
    ContactNow,
    ContactNowError,
    HTTPStatusError,
    LiveSnapshot,
    ReportRow,
    ResponseFormatError,
    Token,
    WriteResult,
)
from contactnow_async._models_records import RECORD_ATTRIBUTES
from tests._helpers import PASSWORD, chain_texts, client_for, on_each_backend_in_turn, script_of
from tests.test_ecnow import DOC_DATASET, DOC_FIELD, DOC_OUTCOMES, DOC_QUEUE, DOC_RECORD
from tests.test_models import AGENT_ROW as MODELS_AGENT_ROW
from tests.test_reports import DOC_CALLS_ROW, DOC_CDR_ROW, SESSION_ROW
from tests.test_resources_hostile import LIVE_ROW, LOG_ROW, PRIORITY

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

TOKEN = "f00d" * 10

Call = Callable[[ContactNow], Awaitable[Any]]


@attrs.frozen
class Target:
    """A public call: what it does, the script it asks, whether it writes."""

    call: Call
    script: str
    write: bool = False
    #: Where the hostile reply goes: the data call (None), or token.php's get or validate.
    token_action: str | None = None


def _download(cn: ContactNow) -> Awaitable[Any]:
    return cn.recordings.download(90000001, io.BytesIO())


async def _cdr(cn: ContactNow) -> list[Any]:
    return [row async for row in cn.reports.cdr(["callid"], start=0, stop=10)]


#: Every public method that sends a request (each of control's actions takes one path).
TARGETS: dict[str, Target] = {
    "agents.read": Target(lambda cn: cn.agents.read(), "database"),
    "agents.create": Target(lambda cn: cn.agents.create([{"name": "Ann"}]), "database", True),
    "agents.update": Target(
        lambda cn: cn.agents.update([{"agentid": "1", "name": "Ann"}]), "database", True
    ),
    "priorities.read": Target(lambda cn: cn.priorities.read(), "database"),
    "priorities.create": Target(
        lambda cn: cn.priorities.create([{"agentid": 1, "qid": 2, "level": 3}]), "database", True
    ),
    "priorities.update": Target(
        lambda cn: cn.priorities.update([{"agentid": 1, "qid": 2, "level": 3}]), "database", True
    ),
    "status_log.read": Target(lambda cn: cn.status_log.read(), "database"),
    "live.agents": Target(lambda cn: cn.live.agents(), "ajax"),
    "live.snapshot": Target(lambda cn: cn.live.snapshot(), "ajax"),
    "records.read": Target(lambda cn: cn.records.read(table="T"), "ecnow"),
    "records.create": Target(
        lambda cn: cn.records.create([{"dataset": 1, "HomePhone": "0123"}]), "ecnow", True
    ),
    "records.update": Target(
        lambda cn: cn.records.update([{"id": 1, "dataset": 1, "FirstName": "Ann"}]), "ecnow", True
    ),
    "campaigns.tables": Target(lambda cn: cn.campaigns.tables(), "ecnow"),
    "campaigns.fields": Target(lambda cn: cn.campaigns.fields("T"), "ecnow"),
    "datasets.read": Target(lambda cn: cn.datasets.read(), "ecnow"),
    "datasets.create": Target(
        lambda cn: cn.datasets.create([{"qid": 1, "d_status": "HOLD"}]), "ecnow", True
    ),
    "datasets.update": Target(
        lambda cn: cn.datasets.update([{"dataset": 1, "d_priority": 5}]), "ecnow", True
    ),
    "datasets.set_status": Target(lambda cn: cn.datasets.set_status(1, "LIVE"), "ecnow", True),
    "queues.read": Target(lambda cn: cn.queues.read(), "database"),
    "outcome_codes.read": Target(lambda cn: cn.outcome_codes.read(), "database"),
    "reports.calls": Target(
        lambda cn: cn.reports.calls(["nc_all"], start=0, stop=10, group_by="qid"), "reporting"
    ),
    "reports.cdr": Target(_cdr, "reporting"),
    "reports.cdr_list": Target(
        lambda cn: cn.reports.cdr_list(["callid"], start=0, stop=10), "reporting"
    ),
    "reports.agents": Target(lambda cn: cn.reports.agents(start=0, stop=10), "reporting"),
    "control.ready": Target(lambda cn: cn.control.ready(1), "agent", True),
    "control.wrap": Target(lambda cn: cn.control.wrap(1, "Home"), "agent", True),
    "control.agent_dial": Target(lambda cn: cn.control.agent_dial(1), "agent", True),
    "control.manual_dial": Target(lambda cn: cn.control.manual_dial(1, "0123"), "agent", True),
    "control.disposition": Target(lambda cn: cn.control.disposition(7, 100), "agent", True),
    "control.callback": Target(
        lambda cn: cn.control.callback(7, 1_800_000_000, notes="x"), "agent", True
    ),
    "recordings.download": Target(_download, "recording"),
    # The escape hatch, for a script the groups do not cover.
    "request": Target(
        lambda cn: cn.request("click2dial", method="dial", action="read"), "click2dial"
    ),
    "tokens.get": Target(lambda cn: cn.tokens.get(), "token", token_action="get"),
    "tokens.get(address)": Target(
        lambda cn: cn.tokens.get(address="10.0.0.7"), "token", token_action="get"
    ),
    "tokens.refresh": Target(lambda cn: cn.tokens.refresh(), "token", token_action="get"),
    "tokens.validate": Target(lambda cn: cn.tokens.validate(), "token", token_action="validate"),
}


class _Stream(httpx.AsyncByteStream):
    """A body httpx does not read ahead: the client's own decoder undoes its encoding."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body


@attrs.frozen
class Hostile:
    """A reply, and the error every call must raise for it (None: models or any
    library error)."""

    body: bytes
    status: int = 200
    content_type: str | None = "application/json"
    encoding: str | None = None
    streamed: bool = False
    raises: type[ContactNowError] | None = None

    def response(self) -> httpx.Response:
        headers = {"content-type": self.content_type} if self.content_type else {}
        if self.encoding:
            headers["content-encoding"] = self.encoding
        if self.streamed:
            return httpx.Response(self.status, headers=headers, stream=_Stream(self.body))
        return httpx.Response(self.status, headers=headers, content=self.body)


def _json(text: str, **options: Any) -> Hostile:
    return Hostile(text.encode(), **options)


def _xml(text: str, **options: Any) -> Hostile:
    return Hostile(text.encode(), content_type="text/xml", **options)


FORMAT = ResponseFormatError
MAX_BYTES = 4096  # the matrix's clients' max_response_bytes
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
GOOD = b'{"success":true,"total":0,"list":[]}'
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><result><success>1</success>'
    "<error>&d;</error></result>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<result><success>1</success><error>&x;</error></result>"
)
ROW = (
    '{"agentid":"1","uid":"1","qid":"2","level":"3","callid":"7","name":"Ann","uts":"1700000000",'
    '"time":"1700000000","srvtime":"1700000000","outcome":"100","dataset":"1","id":"1"}'
)


def _rows(*rows: str, total: int = 1) -> str:
    return f'{{"success":true,"total":{total},"list":[{",".join(rows)}]}}'


def _fields(value: str, **options: Any) -> Hostile:
    """The good row with each ``"1"`` replaced by ``value`` (JSON)."""
    return _json(_rows(ROW.replace('"1"', value)), **options)


#: What no error shows: the client's, and an agent row's password and pin.
SECRETS = (TOKEN, PASSWORD, str(MODELS_AGENT_ROW["password"]), str(MODELS_AGENT_ROW["pin"]))
ECHO = f"{PASSWORD} for {TOKEN}"  # what was sent, echoed back

REPLIES: dict[str, Hostile] = {
    # Not an envelope at all.
    "html 200": Hostile(HTML, content_type="text/html", raises=FORMAT),
    "html 500": Hostile(HTML, status=500, content_type="text/html", raises=HTTPStatusError),
    "html 502": Hostile(HTML, status=502, content_type="text/html", raises=HTTPStatusError),
    "html 404": Hostile(HTML, status=404, content_type="text/html", raises=FORMAT),
    "empty": _json("", raises=FORMAT),
    "empty 204": _json("", status=204, raises=FORMAT),
    "truncated": _json('{"success":true,"total":1,"list":[{"agentid":"55', raises=FORMAT),
    "null": _json("null", raises=FORMAT),
    "array": _json("[]", raises=FORMAT),
    "string": _json('"text"', raises=FORMAT),
    "number": _json("42", raises=FORMAT),
    "utf-16 xml": Hostile(
        "<result><success>1</success></result>".encode("utf-16"),
        content_type="text/xml",
        raises=FORMAT,
    ),
    # The envelope's success.
    "success missing": _json('{"total":0,"list":[]}', raises=FORMAT),
    "success '0'": _json('{"success":"0"}', raises=APIError),
    "success 'false'": _json('{"success":"false","error":"refused"}', raises=APIError),
    "success 'yes'": _json('{"success":"yes","total":0,"list":[]}'),
    "success null": _json('{"success":null,"total":0}', raises=FORMAT),
    "success object": _json('{"success":{"a":1}}', raises=FORMAT),
    "success 2 in xml": _xml(
        "<result><success>1</success><success>0</success></result>", raises=FORMAT
    ),
    "success nested xml": _xml("<result><success><a>1</a></success></result>", raises=FORMAT),
    "success as attribute": _xml('<result success="1"><total>0</total></result>', raises=FORMAT),
    # A TokenError from tokens.validate, an AuthenticationError from the others.
    "401 refusal": _json(
        '{"success":false,"error":"Authentication failure"}', status=401, raises=APIError
    ),
    "400 success": _json('{"success":true,"total":0}', status=400, raises=HTTPStatusError),
    # The list.
    "list null": _json('{"success":true,"list":null}'),
    "list object": _json('{"success":true,"list":{"a":1}}', raises=FORMAT),
    "list object of rows": _json(f'{{"success":true,"list":{{"0":{ROW}}}}}'),
    "list string": _json('{"success":true,"list":"abc"}', raises=FORMAT),
    "list number": _json('{"success":true,"list":5}', raises=FORMAT),
    "list text in xml": _xml("<result><success>1</success><list>hi</list></result>", raises=FORMAT),
    "row number": _json('{"success":true,"list":[1]}', raises=FORMAT),
    "row string": _json('{"success":true,"list":["x"]}', raises=FORMAT),
    "row list": _json('{"success":true,"list":[[1,2]]}', raises=FORMAT),
    "row empty": _json('{"success":true,"list":[{}]}'),
    "row null": _json('{"success":true,"list":[null]}'),
    "row good": _json(_rows(ROW)),
    "rows twice": _json(_rows(ROW, ROW, total=2)),
    # Counts.
    "total text": _json('{"success":true,"total":"abc","list":[]}', raises=FORMAT),
    "total 1.5": _json('{"success":true,"total":1.5,"list":[]}', raises=FORMAT),
    "total 1e400": _json('{"success":true,"total":1e400,"list":[]}', raises=FORMAT),
    "total NaN": _json('{"success":true,"total":NaN,"list":[]}', raises=FORMAT),
    "total object": _json('{"success":true,"total":{},"list":[]}', raises=FORMAT),
    "total bool": _json('{"success":true,"total":true,"list":[]}', raises=FORMAT),
    "total -3": _json('{"success":true,"total":-3,"list":[]}', raises=FORMAT),
    "total 10**30": _json(f'{{"success":true,"total":{10**30},"list":[]}}'),
    "bad -1": _json('{"success":true,"total":1,"bad":-1}', raises=FORMAT),
    "bad text": _json('{"success":true,"total":1,"bad":"x"}', raises=FORMAT),
    "total 2 in xml": _xml(
        "<result><success>1</success><total>1</total><total>2</total></result>", raises=FORMAT
    ),
    # Texts.
    "error object": _json('{"success":false,"error":{"a":1}}', raises=FORMAT),
    "error list": _json('{"success":true,"error":[1]}', raises=FORMAT),
    "key object": _json('{"success":true,"total":1,"key":{"a":1}}', raises=FORMAT),
    "key NaN": _json('{"success":true,"total":1,"key":NaN}', raises=FORMAT),
    "error 2 in xml": _xml(
        "<result><success>0</success><error>a</error><error>b</error></result>", raises=FORMAT
    ),
    # Fields of the wrong type (a model refuses them, or does not read them).
    "fields NaN": _fields("NaN", raises=FORMAT),
    "fields Infinity": _fields("-Infinity", raises=FORMAT),
    "fields 1e400": _fields("1e400", raises=FORMAT),
    "fields 10**30": _fields(str(10**30)),
    "fields negative": _fields("-5"),
    "fields objects": _fields('{"a":1}'),
    "fields lists": _fields("[1]"),
    "fields bools": _fields("true"),
    # JSON oddities.
    "duplicate keys": _json('{"success":true,"success":false,"error":"no"}', raises=APIError),
    "bom": Hostile(b"\xef\xbb\xbf" + GOOD),
    "latin-1 charset": Hostile(GOOD, content_type="application/json; charset=iso-8859-1"),
    "bad utf-8": Hostile(b'{"success":true,"list":[{"name":"\xe9"}]}', raises=FORMAT),
    # Echoes of what was sent: hidden in every message, snippet and exception behind them.
    "success echoes secrets": _json(f'{{"success":"{ECHO}"}}', raises=FORMAT),
    "total echoes secrets": _json(f'{{"success":true,"total":"{ECHO}"}}', raises=FORMAT),
    "error echoes secrets": _json(f'{{"success":false,"error":"{ECHO}"}}', raises=APIError),
    "page echoes secrets": Hostile(
        f"<html>{ECHO}</html>".encode(), status=404, content_type="text/html", raises=FORMAT
    ),
    # XML oddities.
    "billion laughs": _xml(LAUGHS, raises=FORMAT),
    "external entity": _xml(EXTERNAL, raises=FORMAT),
    "doctype": _xml("<!DOCTYPE result><result><success>1</success><total>0</total></result>"),
    "namespace prefix": _xml(
        '<r:result xmlns:r="urn:x"><r:success>1</r:success></r:result>', raises=FORMAT
    ),
    "default namespace": _xml('<result xmlns="urn:x"><success>1</success></result>'),
    "cdata": _xml("<result><success><![CDATA[1]]></success><total>0</total></result>"),
    "xml truncated": _xml("<result><success>1</success><list><agent><agentid>1", raises=FORMAT),
    "xml row attribute": _xml(
        '<result><success>1</success><list><agent id="3"><agentid>1</agentid></agent></list>'
        "</result>"
    ),
    # Content-Encoding that is not what it says (through the client's own decoder).
    "gzip that is not": Hostile(GOOD, encoding="gzip", streamed=True, raises=FORMAT),
    "gzip cut short": Hostile(
        gzip.compress(GOOD)[:-8], encoding="gzip", streamed=True, raises=FORMAT
    ),
    "deflate that is not": Hostile(GOOD, encoding="deflate", streamed=True, raises=FORMAT),
    "br": Hostile(GOOD, encoding="br", streamed=True, raises=FORMAT),
    "gzip good": Hostile(gzip.compress(GOOD), encoding="gzip", streamed=True),
    # Past the client's max_response_bytes (MAX_BYTES here): not read to the end.
    "huge": _json(GOOD.decode()[:-1] + "," + " " * MAX_BYTES + "}", raises=FORMAT),
    # A Content-Type that is not what the body is: the body tells its format.
    "json as text/html": Hostile(GOOD, content_type="text/html"),
    "json as text/plain": Hostile(GOOD, content_type="text/plain"),
    "json without content-type": Hostile(GOOD, content_type=None),
    "xml as json": Hostile(b"<result><success>1</success><total>0</total></result>"),
    "html as json": Hostile(HTML, raises=FORMAT),
    # A 200 whose envelope is a refusal (the vendor's XML error form says success 1).
    "200 bad argument": _json('{"success":false,"error":"Bad argument: agent"}', raises=APIError),
    "200 success with error": _json('{"success":true,"error":"Bad argument: x"}', raises=APIError),
    "200 xml success with error": _xml(
        "<result><success>1</success><error>Bad argument: x</error></result>", raises=APIError
    ),
}


def _handler(target: Target, reply: list[Hostile], hits: list[int]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        script = script_of(request)
        action = request.url.params.get("action")
        if script == "token" and action != target.token_action:
            return httpx.Response(
                200, json={"success": True, "token": TOKEN, "expire": 1_900_000_000}
            )
        hits[0] += 1
        return reply[0].response()

    return handle


def _check_typed(value: Any, what: str) -> list[str]:
    """What is wrong with a returned value: a field not of its model's type (a None or
    a number where text is promised, a count below 0), a write not reported done."""
    items = value if isinstance(value, list) else [value]
    wrong: list[str] = []
    for item in items:
        if isinstance(item, (str, ReportRow)):  # a row is a mapping of the values sent
            continue
        if isinstance(item, WriteResult):
            if not item.success or item.bad != 0 or item.total < 0:
                wrong.append(f"{what}: {item!r}")
            continue
        if not attrs.has(type(item)) and not isinstance(item, Token):
            wrong.append(f"{what}: a {type(item).__name__}")
            continue
        for field in attrs.fields(type(item)):
            got = getattr(item, field.name)
            kind = {"str": str, "int": int, "bool": bool}.get(str(field.type))
            # A bool is an int to isinstance, but no count or level.
            if kind is not None and (
                not isinstance(got, kind) or (kind is int and isinstance(got, bool))
            ):
                wrong.append(f"{what}: {type(item).__name__}.{field.name} is {got!r}")
    return wrong


async def _outcome(
    cn: ContactNow,
    name: str,
    target: Target,
    reply: str,
    hostile: Hostile,
    check: Callable[[Any, str], list[str]] = _check_typed,
    field: str | None = None,
) -> list[str]:
    what = f"{name} <- {reply}"
    try:
        with anyio.fail_after(5):  # no reply here waits on anything: a hang fails fast
            value = await target.call(cn)
            if isinstance(value, LiveSnapshot):  # built lazily: its agents are the reply too
                value = value.agents()
    except ContactNowError as exc:
        problems = []
        if hostile.raises is not None and not isinstance(exc, hostile.raises):
            problems.append(f"{what}: {type(exc).__name__}, not {hostile.raises.__name__}")
        message = str(exc)
        group = name.split(".")[0] + "."  # a record's error names its group's call
        if f"{target.script}.php" not in message and not message.startswith(group):
            problems.append(f"{what}: the message does not name the call: {message[:160]}")
        if any(secret in text for text in chain_texts(exc) for secret in SECRETS):
            problems.append(f"{what}: the error shows a secret")
        if field is not None and isinstance(exc, FORMAT) and field not in message:
            problems.append(f"{what}: the message does not name the field: {message[:160]}")
        return problems
    except Exception as exc:  # a bare exception: the defect this module looks for
        return [f"{what}: bare {type(exc).__name__}: {exc}"]
    if hostile.raises is not None:
        return [f"{what}: returned {value!r:.100}, not {hostile.raises.__name__}"]
    return check(value, what)


@on_each_backend_in_turn("name", list(TARGETS))
async def test_every_hostile_reply_gives_models_or_a_library_error(name: str) -> None:
    target = TARGETS[name]
    problems: list[str] = []
    for fmt, replies in (("json", list(REPLIES)), ("xml", AS_XML)):
        problems += await _each_reply(name, target, fmt, replies)
    assert not problems, "\n".join(problems)


#: The replies asked for in XML too (format=xml): the JSON ones a server sends anyway,
#: pages, and broken XML. (The body tells its format: the rest read as in JSON.)
AS_XML = [
    "html 200", "html 500", "html 404", "empty", "truncated", "row good", "fields objects",
    "fields bools", "list object", "xml truncated", "xml row attribute", "success 2 in xml",
    "200 xml success with error", "total text", "key object",
]  # fmt: skip


async def _each_reply(name: str, target: Target, fmt: str, replies: list[str]) -> list[str]:
    reply = [REPLIES["html 200"]]
    hits = [0]
    cn, http = client_for(
        _handler(target, reply, hits), max_retries=0, max_response_bytes=MAX_BYTES, format=fmt
    )
    problems: list[str] = []
    async with http, cn:
        for label in replies:
            reply[0] = hostile = REPLIES[label]
            label = f"{label} ({fmt})"
            before = hits[0]
            problems += await _outcome(cn, name, target, label, hostile)
            # No retries (max_retries=0): one request, or the pages of a paged read
            # (which stop at a page that adds nothing).
            if not 1 <= hits[0] - before <= 2:
                problems.append(f"{name} <- {label}: {hits[0] - before} requests")
    return problems


@pytest.mark.parametrize("name", [name for name, target in TARGETS.items() if target.write])
@pytest.mark.parametrize("retries", [0, 2])
async def test_a_write_the_server_did_not_report_done_is_never_a_success(
    name: str, retries: int
) -> None:
    """A write's reply that says neither done nor refused (garbled, HTML, a count that
    is no count) raises; and with retries allowed, a write that is not idempotent is
    not sent again after a reply came."""
    target = TARGETS[name]
    for hostile in ("html 200", "truncated", "total -3", "bad -1", "total text", "key NaN"):
        reply = [REPLIES[hostile]]
        hits = [0]
        cn, http = client_for(_handler(target, reply, hits), max_retries=retries)
        async with http, cn:
            with pytest.raises(ContactNowError):
                await target.call(cn)
        # Not idempotent: the creates (not an assignment's) and agent.php's actions.
        once = name in ("agents.create", "records.create", "datasets.create")
        once = once or target.script == "agent"
        assert hits[0] == 1 if once else hits[0] >= 1


def test_the_matrix_covers_every_public_call_that_sends_a_request() -> None:
    """A new public method of a group is added to TARGETS (or this list says why not)."""
    from contactnow_async.resources import GROUPS

    not_sending = {"tokens.fetches"}  # a count the client keeps
    # Each is control.ready's path with another action.
    control = {
        "pause",
        "unpause",
        "hangup",
        "hangup_ready",
        "logout",
        "park",
        "unpark",
        "unpark_tpt",
    }
    missing = []
    for attribute, (module, cls, _) in GROUPS.items():
        group = getattr(__import__(f"contactnow_async.resources.{module}", fromlist=[cls]), cls)
        for member in dir(group):
            name = f"{attribute}.{member}"
            if member.startswith("_") or member.isupper() or name in not_sending:
                continue
            if attribute == "control" and member in control:
                continue
            if name not in TARGETS and f"{name}(address)" not in TARGETS:
                missing.append(name)
    assert missing == []


def test_the_replies_are_what_they_say() -> None:
    """The JSON cases that claim to be well-formed are (only the broken ones fail)."""
    for name in ("row good", "rows twice", "list object of rows", "fields 10**30"):
        assert json.loads(REPLIES[name].body)["success"] is True
    assert math.isnan(json.loads(REPLIES["fields NaN"].body)["list"][0]["agentid"])


# -- each field of each read's row, of every wrong kind, in JSON and in XML ----------------

RECORD_WIRE = {*RECORD_ATTRIBUTES.values(), "Address1"}
QUEUE_WIRE = {"qid", "type", "description", "callerid", "campaignid", "level", "redirect",
              "max_wait", "numbers", "filter", "key"}  # fmt: skip
WRITES = ("agents.create", "priorities.update", "records.create", "datasets.update",
          "control.ready")  # fmt: skip
#: A documented row of each read that returns rows, and the XML name of a row.
ROWS: dict[str, tuple[dict[str, Any], str]] = {
    "agents.read": (MODELS_AGENT_ROW, "agent"),
    "priorities.read": (PRIORITY, "priority"),
    "status_log.read": (LOG_ROW, "status_log"),
    "live.agents": (LIVE_ROW, "agent"),
    "live.snapshot": (LIVE_ROW, "agent"),
    # The documented fields, and one the docs do not list (each such reads alike).
    "records.read": ({k: v for k, v in DOC_RECORD.items() if k in RECORD_WIRE}, "record"),
    "campaigns.tables": ({"name": "Willtest"}, "table"),
    "campaigns.fields": (DOC_FIELD, "field"),
    "datasets.read": (DOC_DATASET, "dataset"),
    "queues.read": ({k: v for k, v in DOC_QUEUE.items() if k in QUEUE_WIRE}, "queue"),
    "outcome_codes.read": (DOC_OUTCOMES[0], "outcomecode"),
    # A group key, a count, seconds, a cost, a flag and a text: each figure of a kind
    # reads alike (the whole documented row made this test take a second more).
    "reports.calls": (
        {
            key: DOC_CALLS_ROW[key]
            for key in ("qid", "nc_all", "sec_dur", "cost_cust", "ocis_sale", "ccnm", "dsnm")
        },
        "row",
    ),
    "reports.cdr": (DOC_CDR_ROW, "row"),
    "reports.agents": (SESSION_ROW, "row"),
    # A write's reply: the envelope's own fields, beside success (a write of each script:
    # the others read their replies as these do).
    **dict.fromkeys(WRITES, ({"total": "1", "bad": "0", "key": "9", "info": "x"}, "")),
    # The escape hatch's Envelope: each of its own fields.
    "request": ({"total": "0", "bad": "0", "key": "9", "account_id": "77"}, ""),
    # token.php's own fields, beside success.
    # (tokens.get without an address returns the token the first reply gave.)
    "tokens.get(address)": ({"token": TOKEN, "expire": 1_900_000_000}, ""),
    "tokens.refresh": ({"token": TOKEN, "expire": 1_900_000_000}, ""),
    "tokens.validate": ({"expire": 1_900_000_000}, ""),
}
MISSING = object()
#: What a field holds instead of its value: in JSON, and in XML (an element's text).
WRONG_JSON: dict[str, Any] = {
    "null": None, "missing": MISSING, "number": 12345, "fraction": 1.5, "blank": " ",
    "object": {"a": "1"}, "list": ["1", "2"], "bool": True, "false": False, "echo": ECHO,
}  # fmt: skip
#: (XML's own shapes only: a field missing, or of text, reads as JSON's once decoded.)
WRONG_XML: dict[str, str] = {
    "empty": "<{0}/>", "nested": "<{0}><a>1</a></{0}>", "twice": "<{0}>1</{0}><{0}>2</{0}>",
    "attribute": '<{0} a="1">1</{0}>',
}  # fmt: skip
#: Python's text of a value no wire text is: a field holding one read a value as text.
PYTHON_TEXTS = ("None", "True", "False", "{'", "['")


def _xml_value(name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return f"<{name}/>"
    if isinstance(value, list):  # a live row's calls
        return f"<{name}>" + "".join(_xml_value("item", item) for item in value) + f"</{name}>"
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml_value(k, v) for k, v in value.items()) + f"</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def _with_field(name: str, field: str, kind: str, fmt: str) -> Hostile:
    """The good reply of ``name`` with ``field`` holding the wrong ``kind``."""
    row, item = ROWS[name]
    if fmt == "json":
        wrong = dict(row)
        if WRONG_JSON[kind] is MISSING:
            del wrong[field]
        else:
            wrong[field] = WRONG_JSON[kind]
        body = {"success": True, **wrong} if not item else {"success": True, "list": [wrong]}
        return _json(json.dumps(body))
    fields = "".join(
        WRONG_XML[kind].format(key) if key == field else _xml_value(key, value)
        for key, value in row.items()
    )
    inner = fields if not item else f"<total>1</total><list><{item}>{fields}</{item}></list>"
    return _xml(f"<result><success>1</success>{inner}</result>")


def _check_texts(value: Any, what: str) -> list[str]:
    """Values of a model read from a reply with a wrong field: of their declared type
    (``str | None`` is text or None), never Python's text of a null, a bool or a nested
    value, and a report row's figures text or numbers; a live agent's calls too."""
    items = list(value) if isinstance(value, list) else [value]
    wrong: list[str] = []
    for item in items:
        items += getattr(item, "calls", ())  # checked in turn, as models of their own
        if isinstance(item, Token) and not item.value.strip():
            wrong.append(f"{what}: a blank token")
        values: dict[str, Any]
        if isinstance(item, ReportRow):
            values = dict(item.items())
        elif attrs.has(type(item)):
            values = {f.name: getattr(item, f.name) for f in attrs.fields(type(item))}
            for field in attrs.fields(type(item)):
                kinds: dict[str, type] = {"str | None": str, "int | None": int}
                got = values[field.name]
                if got is not None and not isinstance(got, kinds.get(str(field.type), object)):
                    wrong.append(f"{what}: {type(item).__name__}.{field.name} is {got!r}")
            values.pop("raw", None)
        else:
            continue
        for key, got in values.items():
            # A mapping of the fields the docs do not list (a record's): each is text.
            inner = got.items() if isinstance(got, Mapping) else [(key, got)]
            for each, text in inner:
                if isinstance(text, (dict, list)) or (
                    isinstance(text, str) and text.startswith(PYTHON_TEXTS)
                ):
                    wrong.append(f"{what}: {type(item).__name__}.{each} is {text!r:.60}")
    return wrong + _check_typed(value, what)


def _good(name: str) -> Hostile:
    row, item = ROWS[name]
    body = {"success": True, "total": 1, "list": [row]} if item else {"success": True, **row}
    return _json(json.dumps(body))


@on_each_backend_in_turn("name", list(ROWS))
async def test_every_field_of_every_row_of_the_wrong_kind_gives_models_or_a_library_error(
    name: str,
) -> None:
    """A null, a number, a nested value or a bool in each field of a documented row (in
    XML: an empty, nested, repeated or attributed element): a model as docs/fields.md
    reads it, or a library error naming the call; never a bare exception nor a model
    holding ``"None"``, ``"True"`` or ``"{'a': '1'}"``."""
    target = TARGETS[name]
    row, _ = ROWS[name]
    problems: list[str] = []
    for fmt, kinds in (("json", list(WRONG_JSON)), ("xml", list(WRONG_XML))):
        reply = [_good(name)]
        hits = [0]
        cn, http = client_for(_handler(target, reply, hits), max_retries=0, format=fmt)
        async with http, cn:
            # The good row reads: each wrong one's outcome is its field's.
            assert await _outcome(cn, name, target, "good", reply[0], _check_texts) == []
            for field in row:
                for kind in kinds:
                    reply[0] = _with_field(name, field, kind, fmt)
                    what = f"{field} {kind} ({fmt})"
                    before = hits[0]
                    problems += await _outcome(
                        cn, name, target, what, reply[0], _check_texts, field
                    )
                    if hits[0] == before:  # a value kept from before: the reply unread
                        problems.append(f"{name} <- {what}: not asked")
    assert not problems, "\n".join(problems)


async def _cdr_pages(cn: ContactNow) -> list[Any]:
    return [row async for row in cn.reports.cdr(["callid"], start=0, stop=10, page_size=1)]


#: Each read in pages, asking for pages of one row.
PAGED: dict[str, Call] = {
    "live.agents": lambda cn: cn.live.agents(page_size=1),
    "live.snapshot": lambda cn: cn.live.snapshot(page_size=1),
    "reports.cdr": _cdr_pages,
    "reports.cdr_list": lambda cn: cn.reports.cdr_list(["callid"], start=0, stop=10, page_size=1),
}


@on_each_backend_in_turn("name", list(PAGED))
async def test_every_hostile_reply_as_a_later_page_gives_models_or_a_library_error(
    name: str,
) -> None:
    """The first page good and saying there is more, the next one each hostile reply:
    the read raises the library's error (or returns what it read, typed), never a bare
    exception, nor rows built from the broken page."""
    target = attrs.evolve(TARGETS[name], call=PAGED[name])
    first = _json(_rows('{"uid":"41","callid":"41","name":"Ann"}', total=2))
    reply = [first]
    pages = [0]

    def handle(request: httpx.Request) -> httpx.Response:
        if script_of(request) == "token":
            return httpx.Response(
                200, json={"success": True, "token": TOKEN, "expire": 1_900_000_000}
            )
        pages[0] += 1
        return (first if pages[0] == 1 else reply[0]).response()

    cn, http = client_for(handle, max_retries=0, max_response_bytes=MAX_BYTES)
    problems: list[str] = []
    async with http, cn:
        for label, hostile in REPLIES.items():
            reply[0] = hostile
            pages[0] = 0
            problems += await _outcome(cn, name, target, f"page 2 {label}", hostile)
    assert not problems, "\n".join(problems)
