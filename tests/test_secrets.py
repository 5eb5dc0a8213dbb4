"""Invariant 6: no password or token text in any log line, exception message or repr."""

from __future__ import annotations

import contextvars
import gc
import itertools
import json
import logging
import re
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from contactnow_async import (
    Agent,
    AgentInput,
    APIError,
    ContactNow,
    ContactNowError,
    FileTokenStore,
    Token,
    WriteError,
    WriteResult,
    _redact,
)
from contactnow_async._redact import REDACTED, SENDING, redact_text
from contactnow_async._wire import decode
from tests._helpers import (
    PASSWORD,
    USERNAME,
    FakeAPI,
    agents_list,
    client_for,
    exception_texts,
    json_reply,
)

pytestmark = pytest.mark.anyio

READ = ("database", "agents", "read")
WRONG_PASSWORD = "Wr0ng-Pa55w0rd-zz"
AGENT_PASSWORD = "Agent-Pa55-77q"


class Collect(logging.Handler):
    """Every record, fully formatted (message, arguments and traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


def status_text(
    phrase: Callable[[httpx.Request], str], *, status: int = 500, content: bytes = b""
) -> Callable[[httpx.Request], httpx.Response]:
    """A route whose reply has ``phrase(request)`` as its status text, which httpx logs as
    the server wrote it (a PHP header() of a message)."""

    def route(request: httpx.Request) -> httpx.Response:
        reason = phrase(request).encode()
        return httpx.Response(status, content=content, extensions={"reason_phrase": reason})

    return route


def httpx_lines(logs: Collect) -> list[str]:
    """The lines httpx's own logger wrote."""
    return [line for line in logs.lines if line.startswith("httpx ")]


@pytest.fixture
def all_logs() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    loggers = [
        root,
        *(logging.getLogger(name) for name in ("httpx", "httpcore", "contactnow_async")),
    ]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


TOKEN_STYLES: dict[str, Callable[[], str]] = {
    "hex": lambda: secrets.token_hex(20),
    "opaque": lambda: "tok_" + secrets.token_urlsafe(18),
}


@pytest.mark.parametrize("style", list(TOKEN_STYLES))
async def test_a_run_full_of_failures_leaks_no_secret(style: str, all_logs: Collect) -> None:
    failures: list[BaseException] = []
    counter = itertools.count()

    def echo_body(request: httpx.Request) -> httpx.Response:
        token = request.url.params["token"]
        bodies = [
            # HTML error pages and garbage echoing what they were sent, in every shape.
            f"<html><body>{'x' * 170}{token} {PASSWORD}</body></html>",
            f"<html>token={token}&password={PASSWORD}</html>",
            f'{{"success":true,"token":"{token}","password":"{PASSWORD}","list":[',
            f"Fatal error: {request.url} {PASSWORD}",
            f"{token}{PASSWORD}" * 20,
        ]
        return httpx.Response(
            200, content=bodies[next(counter) % len(bodies)].encode(), headers={"x": "y"}
        )

    def api_error_echo(request: httpx.Request) -> dict[str, object]:
        token = request.url.params["token"]
        return {"success": False, "error": f"Bad request {token} for {PASSWORD}"}

    faults = itertools.cycle(
        [httpx.ReadTimeout("timed out"), httpx.ReadError("Connection reset by peer"),
         httpx.ConnectError("[Errno 111] Connection refused"),
         httpx.RemoteProtocolError("Server disconnected without sending a response.")]
    )  # fmt: skip

    def fault(request: httpx.Request) -> httpx.Response:
        error = next(faults)
        raise type(error)(str(error), request=request)

    api = FakeAPI(
        {
            ("database", "agents", "read"): echo_body,
            ("database", "agents", "create"): fault,
            ("database", "priority", "read"): lambda request: httpx.Response(500, content=b"oops"),
            ("database", "status_log", "read"): api_error_echo,
            ("ajax", "agents", "read"): lambda request: {
                "success": False,
                "error": "Invalid token",
                "expire": -1,
            },
        },
        new_token=TOKEN_STYLES[style],
    )

    async def attempt(call: Callable[[], object]) -> None:
        try:
            await call()  # type: ignore[misc]  # each call is a coroutine function
        except ContactNowError as exc:
            failures.append(exc)

    cn, http = client_for(api, max_retries=1)
    async with http, cn:
        for _ in range(5):
            await attempt(cn.agents.read)
        for _ in range(4):
            await attempt(lambda: cn.agents.create([AgentInput(name="A", password=AGENT_PASSWORD)]))
        await attempt(cn.priorities.read)
        await attempt(cn.status_log.read)
        await attempt(cn.live.agents)  # refused twice: TokenError
        api.expire_all()
        await attempt(cn.tokens.validate)
        await attempt(lambda: cn.agents.read(password=AGENT_PASSWORD))
        client_repr = repr(cn)
        token = await cn.tokens.get()
    bad, bad_http = client_for(api, password=WRONG_PASSWORD)
    async with bad_http, bad:
        await attempt(bad.agents.read)

    assert len(failures) >= 14
    assert api.token_gets >= 3
    agent = Agent.from_record({"agentid": "1", "name": "A", "password": AGENT_PASSWORD,
                               "pin": "9911"})  # fmt: skip
    token_envelope = decode(
        f'{{"success":true,"token":"{token.value}","expire":1,"list":[{{"password":"{PASSWORD}"}}]}}'.encode()
    )
    texts = [
        *all_logs.lines,
        *(text for failure in failures for text in exception_texts(failure)),
        client_repr,
        repr(token),
        str(token),
        repr(agent),
        str(agent),
        repr(AgentInput(password=AGENT_PASSWORD, pin="9911")),
        repr(token_envelope),
        repr(FileTokenStore("/tmp/x.json")),
    ]
    secret_values = [PASSWORD, WRONG_PASSWORD, AGENT_PASSWORD, "9911", *api.issued]
    leaks = [(secret, text) for text in texts for secret in secret_values if secret in text]
    assert not leaks, "\n".join(f"{secret!r} in {text[-400:]!r}" for secret, text in leaks)
    # The run really was full of the things that could leak.
    assert any("ResponseFormatError" in text for text in texts)
    assert any("TokenError" in text for text in texts)
    assert any("AuthenticationError" in text for text in texts)
    assert any("RequestTimeout" in text for text in texts)
    assert any(record.name == "httpx" for record in all_logs.records)


async def test_one_debug_line_per_request(all_logs: Collect) -> None:
    calls = itertools.count()

    def flaky(request: httpx.Request) -> httpx.Response:
        if next(calls) % 2 == 0:
            return httpx.Response(503, content=b"busy")
        return json_reply({"success": True, "list": []})

    api = FakeAPI({("database", "agents", "read"): flaky})
    cn, http = client_for(api)
    async with http, cn:
        for _ in range(3):
            await cn.agents.read()
    lines = [
        record.getMessage()
        for record in all_logs.records
        if record.name == "contactnow_async" and record.levelno == logging.DEBUG
        and " status=" in record.getMessage()
    ]  # fmt: skip
    assert len(lines) == len(api.requests) == 7  # 1 token get + 3 x (503, then 200)
    pattern = re.compile(
        r"^(?P<script>\w+)\.php method=(?P<method>\w+) action=(?P<action>\w+) "
        r"status=(?P<status>\d+) duration=[\d.]+ms attempt=(?P<attempt>\d+)$"
    )
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["script"], m["status"], m["attempt"]) for m in parsed if m] == [
        ("token", "200", "1"),
        *[("database", "503", "1"), ("database", "200", "2")] * 3,
    ]


def test_token_repr_and_str_hide_the_value() -> None:
    token = Token(value="f00d" * 10, expires_ts=1)
    assert "f00d" not in repr(token)
    assert "f00d" not in str(token)


def test_a_short_secret_is_hidden_where_it_stands_alone_only() -> None:
    text = "Bad argument: pin [1234] for agent 212345, pin=1234; 1234"
    assert redact_text(text, ["1234"]) == (
        "Bad argument: pin [<redacted>] for agent 212345, pin=<redacted>; <redacted>"
    )
    assert redact_text("id 91234567 and x-Pw-9f2c-SECRET-qx-y", ["Pw-9f2c-SECRET-qx"]) == (
        "id 91234567 and x-<redacted>-y"
    )


def test_a_base_url_password_is_hidden_from_the_clients_reprs() -> None:
    # A gateway's credentials in the base URL (sent as Basic auth) were printed whole by
    # repr(cn) and repr(cn.options), which end up in logs and tracebacks.
    cn = ContactNow(username="ops", password=PASSWORD, base_url="http://gw:Gw-S3cret@127.0.0.1:9/")
    assert cn.base_url == "http://gw:Gw-S3cret@127.0.0.1:9/"  # kept, to be sent
    for text in (repr(cn), repr(cn.options), str(cn.options)):
        assert "Gw-S3cret" not in text
        assert "gw:<redacted>@127.0.0.1:9" in text


async def test_a_base_url_password_stays_out_of_the_token_store(tmp_path: Path) -> None:
    # The store's key named the base URL whole: the gateway's password was written into
    # the token file (and, with RedisTokenStore, into a Redis key name and its log lines).
    api = FakeAPI({("database", "agents", "read"): agents_list()})
    store = FileTokenStore(tmp_path / "token.json")
    for _ in range(2):  # the second client finds the first one's token under the same key
        cn, http = client_for(api, base_url="https://gw:Gw-S3cret@api.test/", token_store=store)
        async with http, cn:
            await cn.agents.read()
    saved = (tmp_path / "token.json").read_text()
    assert "Gw-S3cret" not in saved
    assert list(json.loads(saved)) == [f"https://api.test/|{USERNAME}"]
    assert api.token_gets == 1


async def test_a_password_echoed_in_a_status_text_is_hidden_from_httpxs_log(
    all_logs: Collect,
) -> None:
    # httpx logs each reply's status line, the status text as the server wrote it: one
    # that echoes the password (a PHP header() of a message) printed it in the log.
    echo = status_text(lambda request: f"Login {PASSWORD} refused")
    api = FakeAPI({("database", "agents", "read"): echo})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(ContactNowError):
            await cn.agents.read()
    lines = httpx_lines(all_logs)
    assert any('"HTTP/1.1 500 Login <redacted> refused"' in line for line in lines), lines
    assert not [line for line in all_logs.lines if PASSWORD in line]


@pytest.mark.parametrize("status", [500, 429, 404])
async def test_an_http_client_that_raises_for_status_leaks_no_token(status: int) -> None:
    # httpx's own HTTPStatusError (a caller's raise_for_status hook) quotes the whole URL,
    # the token and, from token.php, the password: it reached the caller as it was.
    async def raise_for_status(response: httpx.Response) -> None:
        response.raise_for_status()

    api = FakeAPI({("database", "agents", "read"): lambda request: json_reply({}, status=status)})
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(api), event_hooks={"response": [raise_for_status]}
    )
    cn = ContactNow(
        username=USERNAME, password=PASSWORD, base_url="https://api.example.invalid/api/",
        http_client=http, max_retries=1, retry_backoff=0,
    )  # fmt: skip
    async with http, cn:
        with pytest.raises(ContactNowError) as info:
            await cn.agents.read()
    assert info.value.status_code == status  # type: ignore[attr-defined]
    text = "\n".join(exception_texts(info.value))
    assert api.issued
    assert api.issued[-1] not in text and PASSWORD not in text
    assert "token=" not in text


OPAQUE_TOKENS: dict[str, Callable[[], str]] = {
    # Tokens no hex pattern catches: a simulator option's, a custom token store's.
    "dashed": lambda: f"tok-{secrets.token_urlsafe(12)}-Zq",
    "short": lambda: f"Zq{secrets.randbelow(10**6):06d}",
}


@pytest.mark.parametrize("style", list(OPAQUE_TOKENS))
async def test_an_opaque_token_echoed_in_a_status_text_is_hidden_from_httpxs_log(
    style: str, all_logs: Collect
) -> None:
    # The filter learnt each client's password, but hid a token only where it looked
    # like the usual 40 hex digits: httpx's reply line showed any other as echoed.
    echo = status_text(lambda request: f"Token {request.url.params['token']} refused")
    api = FakeAPI({("database", "agents", "read"): echo}, new_token=OPAQUE_TOKENS[style])
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(ContactNowError):
            await cn.agents.read()
    (token,) = api.issued
    lines = httpx_lines(all_logs)
    assert any('"HTTP/1.1 500 Token <redacted> refused"' in line for line in lines), lines
    assert not [line for line in all_logs.lines if token in line]


async def test_a_token_replaced_since_its_request_was_sent_is_still_hidden(
    all_logs: Collect,
) -> None:
    # httpx logs a request once its reply came: one sent with the token a concurrent
    # call has since replaced is logged after the client holds the new one.
    api = FakeAPI(
        {("database", "agents", "read"): agents_list()}, new_token=OPAQUE_TOKENS["dashed"]
    )
    cn, http = client_for(api)
    async with http, cn:
        await cn.agents.read()
        api.expire_all()
        await cn.agents.read()  # refused, a new token, sent again
        old, new = api.issued
        logging.getLogger("httpx").info("late reply of a request sent with %s", old)
        logging.getLogger("httpcore.http11").debug("headers [(b'X-Echo', b'%s')]", new)
    assert "late reply of a request sent with <redacted>" in all_logs.lines[-2]
    assert "(b'X-Echo', b'<redacted>')" in all_logs.lines[-1]
    assert not [line for line in all_logs.lines if old in line or new in line]


def test_the_log_filter_forgets_a_client_once_it_is_gone(all_logs: Collect) -> None:
    # The filter kept every password it learnt, for the life of the process: one per
    # client ever made, each redacted (and its forms computed) in every later log line.
    password = f"Gone-{secrets.token_urlsafe(8)}"
    cn = ContactNow(username=USERNAME, password=password, base_url="http://127.0.0.1:9/")
    httpx_log = logging.getLogger("httpx")
    httpx_log.info("echo %s", password)
    assert all_logs.lines[-1] == "httpx INFO echo <redacted>"
    del cn
    gc.collect()
    httpx_log.info("echo %s", password)
    assert all_logs.lines[-1] == f"httpx INFO echo {password}"  # nothing of it was kept


@pytest.mark.slow
def test_clients_made_and_logged_in_many_threads_at_once_leave_the_filter_whole(
    all_logs: Collect,
) -> None:
    # Clients are made (and dropped) in some threads while others log through the filter.
    kept = ContactNow(username=USERNAME, password=PASSWORD, base_url="http://127.0.0.1:9/")
    httpx_log = logging.getLogger("httpx")
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        for n in range(300):
            ContactNow(username=USERNAME, password=f"Many-{n}-pw", base_url="http://127.0.0.1:9/")

    def log() -> None:
        start.wait()
        for _ in range(300):
            try:
                httpx_log.info("echo %s", PASSWORD)
            except Exception as exc:  # a filter that raises breaks httpx's own call
                failures.append(exc)
                return

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work) for work in [make, log] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert not failures
    assert kept.username == USERNAME
    echoes = [line for line in all_logs.lines if line.startswith("httpx INFO echo")]
    assert len(echoes) == 1200
    assert set(echoes) == {"httpx INFO echo <redacted>"}


#: A write of each kind that builds a WriteResult: its route, and the call.
WRITES: dict[str, tuple[tuple[str, str | None, str], Callable[[ContactNow], Awaitable[object]]]] = {
    "agents.create": (
        ("database", "agents", "create"),
        lambda cn: cn.agents.create([AgentInput(name="A", password=AGENT_PASSWORD)]),
    ),
    "records.create": (
        ("ecnow", "ecnow_records", "create"),
        lambda cn: cn.records.create([{"dataset": 3, "HomePhone": "0161"}]),
    ),
    "control.ready": (("agent", None, "ready"), lambda cn: cn.control.ready(7)),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_a_write_note_that_echoes_a_secret_is_hidden(write: str) -> None:
    # WriteResult.info is the API's note on a write, as it wrote it: one that echoed the
    # token or the password (a hostile or misconfigured server) reached the caller's logs.
    route, call = WRITES[write]

    def echo(request: httpx.Request) -> dict[str, object]:
        note = f"Done for {request.url.params['token']} as {PASSWORD} with {AGENT_PASSWORD}"
        return {"success": True, "total": 1, "bad": 0, "key": "5", "info": note}

    api = FakeAPI({route: echo}, new_token=OPAQUE_TOKENS["dashed"])
    cn, http = client_for(api)
    async with http, cn:
        result = await call(cn)
    assert isinstance(result, WriteResult)
    # The agent's password is hidden where the write sent it, as in a refusal's text.
    agents = AGENT_PASSWORD if write != "agents.create" else REDACTED
    assert result.info == f"Done for {REDACTED} as {REDACTED} with {agents}"
    assert (result.total, result.key) == (1, "5")  # the rest as it came
    (token,) = api.issued
    assert token not in repr(result) and PASSWORD not in repr(result)


async def test_a_refused_write_note_that_echoes_a_secret_is_hidden() -> None:
    # A write with refused records raises WriteError, its result (and note) beside it.
    def refused(request: httpx.Request) -> dict[str, object]:
        note = f"token {request.url.params['token']} password {PASSWORD}"
        return {"success": True, "total": 0, "bad": 1, "error": "Bad argument: x", "info": note}

    api = FakeAPI({("database", "agents", "update"): refused}, new_token=OPAQUE_TOKENS["dashed"])
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(WriteError) as info:
            await cn.agents.update([{"agentid": "7", "name": "B"}])
    assert info.value.result.info == f"token {REDACTED} password {REDACTED}"
    assert info.value.result.error == "Bad argument: x"


def test_a_write_note_without_a_secret_is_kept_as_it_came() -> None:
    envelope = decode(b'{"success":1,"total":1,"key":"9","info":"Record is LIVE on the dialer."}')
    assert WriteResult.from_envelope(envelope).info == "Record is LIVE on the dialer."


async def test_an_error_text_that_echoes_a_secret_is_hidden_in_the_raw_reply_too() -> None:
    # The error's text was hidden, but the envelope the APIError carries kept it as it came
    # in `raw` (the whole reply, for fields the docs do not list): logging `exc.envelope.raw`
    # showed the token and the password.
    def echo(request: httpx.Request) -> dict[str, object]:
        return {"success": False, "error": f"Bad {request.url.params['token']} for {PASSWORD}"}

    api = FakeAPI({("database", "agents", "read"): echo}, new_token=OPAQUE_TOKENS["dashed"])
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(APIError) as info:
            await cn.agents.read()
    envelope = info.value.envelope
    assert envelope is not None
    assert envelope.error == envelope.raw["error"] == f"Bad {REDACTED} for {REDACTED}"
    assert envelope.raw["success"] is False  # the rest as it came


GATEWAY_PASSWORD = "Gw-S3cret-4u"
AGENT_PIN = "4821"


async def test_a_writes_agent_secrets_echoed_in_a_status_text_are_hidden_from_httpxs_log(
    all_logs: Collect,
) -> None:
    # The filter on httpx's log learnt each client's password and tokens, not what one
    # write sends: an agent's password and pin, echoed in a refusal's status text,
    # reached httpx's reply line as written (the exception hid them, the log did not).
    echo = status_text(lambda request: f"Agent {AGENT_PASSWORD} pin {AGENT_PIN} refused")
    api = FakeAPI({("database", "agents", "create"): echo})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(ContactNowError) as info:
            await cn.agents.create([AgentInput(name="A", password=AGENT_PASSWORD, pin=AGENT_PIN)])
    lines = httpx_lines(all_logs)
    assert any('"HTTP/1.1 500 Agent <redacted> pin <redacted> refused"' in line for line in lines)
    shown = [*all_logs.lines, *exception_texts(info.value)]
    assert not [text for text in shown if AGENT_PASSWORD in text or AGENT_PIN in text]


@pytest.mark.parametrize(
    ("password", "in_url"),
    [(GATEWAY_PASSWORD, GATEWAY_PASSWORD), ("Gw@päss-9", "Gw%40p%C3%A4ss-9")],
)
async def test_a_gateway_password_echoed_in_a_reply_is_hidden(
    password: str, in_url: str, all_logs: Collect
) -> None:
    # A gateway's password (the base URL's user info, sent as Basic auth) is no part of the
    # account: neither the exception's snippet nor httpx's reply line hid it when echoed.
    # httpx reads a status text as ASCII, dropping the rest: "Gw@pss-9" is what it shows.
    content = f"<html>Gateway login {password} refused</html>".encode()
    echo = status_text(lambda request: f"Gateway login {password} refused", status=502,
                       content=content)  # fmt: skip
    api = FakeAPI({("database", "agents", "read"): echo})
    cn, http = client_for(api, base_url=f"https://gw:{in_url}@api.test/", max_retries=0)
    async with http, cn:
        with pytest.raises(ContactNowError) as info:
            await cn.agents.read()
    lines = httpx_lines(all_logs)
    assert any('"HTTP/1.1 502 Gateway login <redacted> refused"' in line for line in lines)
    texts = exception_texts(info.value)
    assert any("Gateway login <redacted> refused" in text for text in texts), texts
    shown = [*all_logs.lines, *texts]
    for form in (password, password.encode("ascii", "ignore").decode(), in_url):
        assert not [text for text in shown if form in text], form


async def test_a_copy_of_the_context_made_while_sending_holds_no_secret_after() -> None:
    # The log filter learns a write's secrets from a context variable set for the
    # exchange. Whatever copied the context meanwhile (a deadline's timer handle, which a
    # cancelled one leaves in the event loop until it falls due) kept the agent's password
    # and pin for as long as it lived.
    copies: list[contextvars.Context] = []

    def created(request: httpx.Request) -> dict[str, object]:
        copies.append(contextvars.copy_context())
        return {"success": True, "total": 1, "bad": 0, "key": "5"}

    api = FakeAPI({("database", "agents", "create"): created})
    cn, http = client_for(api)
    async with http, cn:
        sent = AgentInput(name="A", password=AGENT_PASSWORD, pin=AGENT_PIN)
        await cn.agents.create([sent])
    (copy,) = copies
    left: list[str] = copy[SENDING]
    assert left == []
    held = [value for value in copy.values() if AGENT_PASSWORD in repr(value)]
    assert not held
    with pytest.raises(LookupError):
        SENDING.get()  # and nothing left set in the caller's own context


@pytest.mark.parametrize("name", ["username", "password"])
def test_a_credential_that_is_not_utf8_is_refused_when_made_without_quoting_it(name: str) -> None:
    # A byte a locale could not decode (an environment variable read under a C locale) is
    # kept as a lone surrogate: the client took it, and its first request failed with the
    # encoding error, which quotes that byte of the password and its position.
    credentials = {"username": USERNAME, "password": PASSWORD, name: "s3\udcffcret"}
    with pytest.raises(ValueError, match=f"the {name} is not UTF-8 text") as raised:
        ContactNow(
            username=credentials["username"],
            password=credentials["password"],
            base_url="http://127.0.0.1:9/",
        )
    texts = exception_texts(raised.value)
    assert not [text for text in texts if "\udcff" in text or "\\udcff" in text], texts
    assert raised.value.__context__ is None  # no encoding error holding the whole value


OTHER_AGENT_PASSWORD = "Other-Agent-Pw-5k"


@pytest.mark.parametrize("style", list(OPAQUE_TOKENS))
async def test_a_cut_xml_reply_hides_its_token_and_password_elements(
    style: str, all_logs: Collect
) -> None:
    """A JSON reply cut short hid its ``"token":``/``"password":`` values in the error's
    snippet; the XML one (``format="xml"``) showed ``<token>``/``<password>`` as they came:
    a token.php reply's new token (any but 40 hex digits), an agent's password."""
    token = OPAQUE_TOKENS[style]()
    bodies = {
        "token": f'<?xml version="1.0"?><result><success>1</success><token>{token}</token>'
        "<expire>17",
        "database": "<result><success>1</success><total>1</total><list><agent><agentid>7"
        f"</agentid><password>{OTHER_AGENT_PASSWORD}</password><PASSWORD> {token} </PASSWORD>",
    }
    served = {"token": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        script = request.url.path.rsplit("/", 1)[-1].removesuffix(".php")
        if script == "token" and served["token"]:
            body = json.dumps({"success": True, "token": "Zq-good-1", "expire": 1_800_000_000})
            return httpx.Response(200, content=body.encode())
        served[script] = served.get(script, 0) + 1
        return httpx.Response(200, content=bodies[script].encode())

    failures: list[BaseException] = []
    cn, http = client_for(handler, format="xml", max_retries=0)
    async with http, cn:
        for _ in range(2):  # the cut token.php reply, then the cut agents read
            try:
                await cn.agents.read()
            except ContactNowError as exc:
                failures.append(exc)
    assert len(failures) == 2
    assert served == {"token": 1, "database": 1}  # each cut reply was read
    texts = [*all_logs.lines, *(text for failure in failures for text in exception_texts(failure))]
    assert any(REDACTED in text for text in texts)
    leaks = [text for text in texts for secret in (token, OTHER_AGENT_PASSWORD) if secret in text]
    assert not leaks, [text[-300:] for text in leaks]


def test_secrets_find_their_forms_once_and_hide_what_a_plain_tuple_hides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = _count_forms_found(monkeypatch)
    text = f"echo {PASSWORD} and {PASSWORD.replace('-', '%2D')} and {AGENT_PASSWORD}"
    plain = (PASSWORD, AGENT_PASSWORD)
    assert redact_text(text, plain) == redact_text(text, plain)
    assert len(found) == 2  # a plain tuple: found for each text
    kept = _redact.Secrets(plain)
    assert redact_text(text, kept) == redact_text(text, kept) == redact_text(text, plain)
    assert len(found) == 4  # Secrets: once, then kept
    assert _redact.reused(kept, plain) is kept  # the same secrets: the same object
    assert _redact.reused(kept, (PASSWORD,)) == (PASSWORD,)  # others: new ones
    assert _redact.reused(plain, plain) is not plain  # a plain tuple is not reused


async def test_a_clients_failing_calls_find_the_secrets_forms_once_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each error quotes an HTML reply, redacted: finding the forms of the password and the
    # token was most of its cost, paid again for every error of every call.
    api = FakeAPI({READ: lambda _: httpx.Response(200, html=f"<b>{PASSWORD}</b> down")})
    cn, http = client_for(api, max_retries=0)
    found = _count_forms_found(monkeypatch)
    async with http, cn:
        for _ in range(5):
            with pytest.raises(ContactNowError) as caught:
                await cn.agents.read()
            assert PASSWORD not in "".join(exception_texts(caught.value))
        assert len(found) == 1
        api.expire_all()  # a new token: new secrets, their forms found once more
        for _ in range(3):
            with pytest.raises(ContactNowError):
                await cn.agents.read()
    assert len(found) == 2
    assert api.token_gets == 2


def _count_forms_found(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    real = _redact._forms_of

    def counted(secrets: Iterable[str]) -> list[str]:
        found.append(tuple(secrets))
        return real(found[-1])

    monkeypatch.setattr(_redact, "_forms_of", counted)
    return found
