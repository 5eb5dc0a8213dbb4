"""Replies a broken server sends, met by the command: a time out of range in the live status
or the status log, and a token whose ``expire`` is no unix time. Each was a traceback (or
the usage exit code); now the watcher reports a failed poll and goes on, and the others
are one ``contactnow: error:`` line with exit code 5 (a reply that is not the API's).

The replies come from the misbehaving server of ``tests/hostile`` on 127.0.0.1, or, for
``token.php`` (which that server always answers well), a ``MockTransport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contactnow_async import ContactNow
from contactnow_async._cli import _common
from tests._helpers import BASE_URL, json_reply, script_of
from tests._helpers import PASSWORD as MOCK_PASSWORD
from tests._helpers import USERNAME as MOCK_USERNAME
from tests.hostile._server import PASSWORD, USERNAME, Peer, Request, envelope, reply, serve
from tests.test_ecnow import xml_body

from .conftest import CliInvoker, assert_one_error, run_subprocess

pytestmark = pytest.mark.integration

#: Live ``time`` or status_log ``uts`` in milliseconds, and a time past any datetime.
OUT_OF_RANGE = [pytest.param("1700000000000", id="milliseconds"), pytest.param(1e15, id="1e15")]


def _env(base_url: str) -> dict[str, str | None]:
    return {
        "CONTACTNOW_USERNAME": USERNAME,
        "CONTACTNOW_PASSWORD": PASSWORD,
        "CONTACTNOW_BASE_URL": base_url,
    }


def _answer(request: Request, body: dict[str, Any], item: str) -> bytes:
    """``body`` in the format the request asks for."""
    if request.params.get("format") == "xml":
        return reply(200, xml_body(body, item), content_type="text/xml")
    return reply(200, envelope(body))


# -- contactnow watch ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_watch_reports_a_live_time_out_of_range_as_a_failed_poll_and_goes_on(time: Any) -> None:
    polls = 0

    def agent(status: str, started: Any) -> dict[str, Any]:
        return {"uid": "1001", "name": "Ann", "status": status, "statuscode": "", "time": started,
                "srvtime": 1_700_000_100}  # fmt: skip

    async def live(request: Request, peer: Peer) -> None:
        nonlocal polls
        polls += 1
        # Poll 1: Ann waits; polls 2 and 3: her time is out of range; then she is on a call.
        row = (
            agent("wait", 1_700_000_000)
            if polls == 1
            else agent("wait", time)
            if polls <= 3
            else agent("call", 1_700_000_090)
        )
        await peer.send(_answer(request, {"success": True, "total": 1, "list": [row]}, "agent"))

    with serve(live) as server:
        # A subprocess: a real run's stderr, where the command says how polling goes (and
        # where the watcher's own warning would go too, through logging's last resort).
        out = run_subprocess(
            # Four polls at 0.05 s take a fraction of the 3 s, even on a loaded machine.
            ["watch", "--json", "--include-offline", "--interval", "0.05", "--duration", "3"],
            env=_env(server.base_url),
        )
    assert out.code == 0, out  # was a traceback: an ExceptionGroup out of the poll loop
    assert "Traceback" not in out.output
    reason = (
        "ResponseFormatError: live.agents: a record of the wrong shape (field 'time' is not a "
        "unix time in seconds (1970 to 9999)); its fields are "
        "{name, srvtime, status, statuscode, time, uid}"
    )
    assert out.error_lines == [  # each once: the command's own lines, not the log's too
        f"poll failed (1 in a row): {reason}",
        f"poll failed (2 in a row): {reason}",
        "polling recovered after 2 failed poll(s) in all",
    ]
    events = [json.loads(line) for line in out.stdout.splitlines()]
    # The failed polls emitted nothing and made nobody disappear: the next good poll is
    # Ann's change from the state of the last good one.
    assert [(e["kind"], e["after"]["status"]) for e in events] == [
        ("appeared", "wait"),
        ("changed", "call"),
    ]
    assert events[1]["before"]["started_ts"] == 1_700_000_000
    assert events[1]["previous_duration"] == 90.0
    assert polls > 4  # it went on polling after the change


# -- contactnow status-log ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("uts", OUT_OF_RANGE)
def test_status_log_with_a_time_out_of_range_is_one_line_and_exit_5(
    invoke: CliInvoker, uts: Any, fmt: str
) -> None:
    row = {"uid": "77", "uts": uts, "agent": "1001", "status": "wait", "subcode": "",
           "callid": "0"}  # fmt: skip

    async def log(request: Request, peer: Peer) -> None:
        body = {"success": True, "total": 1, "list": [row]}
        await peer.send(_answer(request, body, "status_log"))

    with serve(log) as server:
        # The table shows each row's start as a date: before the fix, a traceback
        # (ValueError: year is out of range) after a successful read.
        out = invoke(["--format", fmt, "status-log", "--since", "30m"], env=_env(server.base_url))
        (request,) = server.data_requests  # refused at the first piece, not retried
    line = assert_one_error(out, 5)
    assert line == (
        "contactnow: error: status_log.read: a record of the wrong shape (field 'uts' is not a "
        "unix time in seconds (1970 to 9999)); its fields are "
        "{agent, callid, status, subcode, uid, uts}"
    )
    assert out.stdout == ""
    assert request.params["method"] == "status_log"


# -- contactnow token get --------------------------------------------------------------


@pytest.fixture
def token_php(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[httpx.Request]]:
    """``token_php(expire)``: the command's client talks to a ``MockTransport`` whose
    ``token.php`` answers success with that ``expire``; returns the requests it gets."""

    def answering(expire: Any) -> list[httpx.Request]:
        requests: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            assert script_of(request) == "token"
            return json_reply({"success": True, "token": "a" * 40, "expire": expire})

        class OnMock(ContactNow):
            def __init__(self, **options: Any) -> None:
                super().__init__(**{**options, "transport": httpx.MockTransport(handler)})

        monkeypatch.setattr(_common, "ContactNow", OnMock)
        return requests

    return answering


@pytest.mark.parametrize(
    "expire",
    [
        pytest.param(10**30, id="10**30"),
        pytest.param("abc", id="abc"),
        pytest.param(1e300, id="1e300"),
        pytest.param("1700000000000000", id="microseconds"),
    ],
)
def test_token_get_with_an_expire_that_is_no_unix_time_is_one_line_and_exit_5(
    invoke: CliInvoker, token_php: Callable[[Any], list[httpx.Request]], expire: Any
) -> None:
    requests = token_php(expire)
    env = {
        "CONTACTNOW_USERNAME": MOCK_USERNAME,
        "CONTACTNOW_PASSWORD": MOCK_PASSWORD,
        "CONTACTNOW_BASE_URL": BASE_URL,
    }
    out = invoke(["token", "get"], env=env)
    # Was exit 2 ("usage") for "abc", and a traceback (OverflowError) for 10**30.
    line = assert_one_error(out, 5)
    assert "token.php answered an expire time that is not a unix time" in line
    assert out.stdout == ""
    assert MOCK_PASSWORD not in out.output
    assert len(requests) == 1  # a reply of the wrong shape is not fetched again


# -- contactnow records create ---------------------------------------------------------


def test_records_create_prints_a_note_that_echoes_a_secret_redacted(invoke: CliInvoker) -> None:
    # Each row's line of --json carries the API's note on its write (WriteResult.info):
    # one that echoed the password or the token printed them.
    async def created(request: Request, peer: Peer) -> None:
        note = f"Record for {PASSWORD} ({request.params['token']}) is LIVE on the dialer."
        body = {"success": True, "total": 1, "bad": 0, "key": "4711", "info": note}
        await peer.send(_answer(request, body, "record"))

    with serve(created) as server:
        out = invoke(
            ["records", "create", "-", "--dataset", "351", "--json"],
            env=_env(server.base_url),
            input='{"MobilePhone": "07700900201"}\n',
        )
        (token,) = server.tokens
    assert out.code == 0, out
    assert json.loads(out.stdout) == {
        "line": 1,
        "record_id": "4711",
        "info": "Record for <redacted> (<redacted>) is LIVE on the dialer.",
    }
    assert PASSWORD not in out.output and token not in out.output


# -- the API's error text --------------------------------------------------------------


def test_a_refusal_whose_text_holds_control_characters_is_one_harmless_line(
    invoke: CliInvoker,
) -> None:
    # The API's error text went to stderr as it came: a newline broke the one error line,
    # an OSC sequence retitled the terminal, a bidi override turned the rest around.
    async def refused(request: Request, peer: Peer) -> None:
        body = {"success": False, "error": "No\nway \x1b]0;pwned\x07 \u202eevil"}
        await peer.send(_answer(request, body, "agent"))

    with serve(refused) as server:
        out = invoke(["agents", "list"], env=_env(server.base_url))
    line = assert_one_error(out, 4)
    assert line.endswith("failed: No\\nway \\x1b]0;pwned\\x07 \\u202eevil"), line
    assert out.stdout == ""


def test_agents_create_prints_a_key_with_control_characters_escaped(invoke: CliInvoker) -> None:
    # The new agent's id is the API's text, printed as it came: a terminal escape in it
    # reached the terminal.
    async def created(request: Request, peer: Peer) -> None:
        body = {"success": True, "total": 1, "key": "77\x1b]0;pwned\x07"}
        await peer.send(_answer(request, body, "agent"))

    with serve(created) as server:
        out = invoke(
            ["agents", "create", "--name", "N", "--username", "n", "--password-stdin"],
            env=_env(server.base_url),
            input="agent-Pw-1\n",
        )
    assert out.code == 0, out
    assert out.stdout == "created agent 77\\x1b]0;pwned\\x07\n"
