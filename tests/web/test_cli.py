"""``contactnow serve``: what it refuses, where it listens, and the wallboard over a real
socket (uvicorn on 127.0.0.1): resume by header, heartbeat-free streaming, Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from ..cli.conftest import run_subprocess
from ._served import serving

pytestmark = pytest.mark.integration


def invoke(*args: str, token: str | None = None) -> tuple[int, str, str]:
    from contactnow_async._cli import cli

    env = {"CONTACTNOW_WEB_TOKEN": token}
    result = CliRunner().invoke(cli, list(args), env=env, prog_name="contactnow")
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (("serve", "--stream", "s"), None, "give --redis too"),
        (("--simulate", "serve", "--redis", "redis://127.0.0.1:1/0"), None, "pick one"),
        (("--simulate", "serve"), " ", "CONTACTNOW_WEB_TOKEN is set but empty"),
        # The poller's options, with a relay polling: taken without a word, and unused
        # (192.0.2.1 cannot be bound: nothing is served, nor Redis asked, either way).
        *(
            (
                ("serve", "--host", "192.0.2.1", "--redis", "redis://127.0.0.1:1/0", *flag),
                None,
                f"{flag[0]} is the poller's: with --redis",
            )
            for flag in (("--interval", "2"), ("--include-offline",))
        ),
        # No browser's Origin ends in a slash: CORS stayed shut without a word. Refused
        # before anything starts (192.0.2.1 cannot be bound: nothing is served either way).
        (
            ("--simulate", "serve", "--host", "192.0.2.1", "--cors-origin", "https://ops.example/"),
            None,
            "--cors-origin 'https://ops.example/' is not an origin",
        ),
    ],
)
def test_serve_refuses_what_cannot_work(
    args: tuple[str, ...], token: str | None, message: str
) -> None:
    code, _, stderr = invoke(*args, token=token)
    assert code == 2
    assert message in stderr


def test_another_host_without_a_token_is_served_with_a_warning() -> None:
    # 192.0.2.1 (TEST-NET-1) is nobody's address: the bind fails after the warning,
    # so nothing listens beyond 127.0.0.1.
    code, _, stderr = invoke("--simulate", "serve", "--host", "192.0.2.1", "--port", "0")
    lines = stderr.splitlines()
    assert lines[0].startswith(
        "contactnow: warning: serving on 192.0.2.1 without CONTACTNOW_WEB_TOKEN"
    )
    assert code == 5
    assert "cannot serve on 192.0.2.1:0" in lines[1]
    code, _, stderr = invoke(
        "--simulate", "serve", "--host", "192.0.2.1", "--port", "0", token="a-secret"
    )
    assert "warning" not in stderr
    assert code == 5


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://nobody:s3cret@{host}/0", "Redis refused the wallboard's credentials in --redis"),
        ("redis://board:s3cret@{host}/0", "may not use what the wallboard needs (+@read"),
    ],
    ids=["password", "acl-user"],
)
def test_serve_with_a_refused_redis_user_is_one_line_and_the_auth_exit_code(
    redis_url: str, url: str, message: str
) -> None:
    # It served, its source retrying the refusal for ever, every endpoint a 503.
    from redis import Redis

    with Redis.from_url(redis_url) as admin:
        admin.acl_setuser("board", enabled=True, passwords=["+s3cret"], keys=["*"],
                          commands=["+@all", "-xrange"])  # fmt: skip
        try:
            host = redis_url.split("//")[1].split("/")[0]
            code, stdout, stderr = invoke("serve", "--port", "0", "--redis", url.format(host=host))
        finally:
            admin.acl_deluser("board")
    assert code == 3, stderr  # EXIT_AUTH
    lines = [line for line in stderr.splitlines() if line.startswith("contactnow: error:")]
    assert len(lines) == 1 and message in lines[0], stderr
    assert "wallboard at" not in stdout
    assert "s3cret" not in stdout + stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_serve_refused_by_redis_at_start_prints_one_line_in_a_real_process(
    redis_url: str,
) -> None:
    # In a process of its own (pytest's log capture hides it in CliRunner): the source's
    # log line of the refusal came first, "stopped reading 'contactnow:agents' for good:
    # AuthenticationError: ...", then the command's own line saying the same.
    host = redis_url.split("//")[1].split("/")[0]
    out = run_subprocess(["serve", "--port", "0", "--redis", f"redis://nobody:s3cret@{host}/0"])
    assert out.code == 3, out.stderr  # EXIT_AUTH
    assert len(out.stderr.splitlines()) == 1, out.stderr
    assert "Redis refused the wallboard's credentials in --redis" in out.stderr
    assert "s3cret" not in out.output


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret/0",
        "redis://user:s3cret@127.0.0.1:xx/0",
        "http://u:s3cret@h/0",
        # Arguments redis-py parses but no connection takes: a bug's message at connect.
        "redis://127.0.0.1:1/0?ssl_password=s3cret",  # rediss:// only
        "redis://127.0.0.1:1/0?colour=s3cret",
        # One redis-py refuses at connect with its own error (a RedisError): "a bug".
        "rediss://:s3cret@127.0.0.1:1/0?ssl_cert_reqs=bogus",
    ],
)
def test_serve_with_a_redis_url_that_does_not_parse_never_shows_its_password(url: str) -> None:
    # The lifespan raised it: uvicorn printed the traceback, the password in it, and
    # ended with its own exit code, 3.
    code, _, stderr = invoke("serve", "--port", "0", "--redis", url)
    assert code == 2, stderr
    assert stderr.startswith("contactnow: error: --redis: "), stderr
    assert "s3cret" not in stderr
    assert "Traceback" not in stderr


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with serving() as running:
        yield running.url


def test_the_wallboard_over_a_socket_resumes_from_the_last_event_id_header(served: str) -> None:
    with httpx.Client(base_url=served, timeout=20) as http:
        assert http.get("/healthz").json()["healthy"] is True
        snapshot = http.get("/snapshot").json()
        assert snapshot["clock_speed"] == 60.0  # the simulator's pace, for the page's clock
        assert (
            "access-control-allow-origin"
            not in http.get("/snapshot", headers={"origin": "https://elsewhere.example"}).headers
        )
        kpis = http.get("/kpis").json()  # a client, so queue KPIs (figures once read)
        assert kpis["cutoff"] == 20
        assert kpis["queues"] is None or len(kpis["queues"]) <= 3
        first = read_events(http, {"Last-Event-ID": snapshot["cursor"]}, 3)
        again = read_events(http, {"Last-Event-ID": first[0][0]}, 2)
    assert [event_id for event_id, _ in again] == [event_id for event_id, _ in first[1:]]
    assert all(json.loads(data)["log_id"] == int(event_id) for event_id, data in first)


@pytest.mark.slow
def test_starlettes_own_replies_over_a_socket_are_nosniff(served: str) -> None:
    # An unknown path (404) and a wrong method (405) answered without the headers that
    # every endpoint's reply carries.
    with httpx.Client(base_url=served, timeout=20) as http:
        replies = [http.get("/no-such-page"), http.post("/snapshot"), http.delete("/")]
    assert [reply.status_code for reply in replies] == [404, 405, 405]
    for reply in replies:
        assert reply.headers["x-content-type-options"] == "nosniff", reply.headers
        assert reply.headers["cache-control"] == "no-store", reply.headers


def read_events(http: httpx.Client, headers: dict[str, str], count: int) -> list[tuple[str, str]]:
    """The first ``count`` (id, data) pairs of ``/events``' agent events (the queue KPIs'
    ``event: kpis`` frames between them have no id, and are skipped)."""
    events: list[tuple[str, str]] = []
    event_id, kind = "", ""
    with http.stream("GET", "/events", headers=headers) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "agent":
                events.append((event_id, line[6:]))
                if len(events) == count:
                    break
            elif not line:
                event_id, kind = "", ""
    return events


@pytest.mark.slow
def test_ctrl_c_ends_the_open_streams_and_the_server_promptly() -> None:
    with serving() as running:
        ended = threading.Event()
        opened = threading.Event()

        def listen() -> None:
            with (
                contextlib.suppress(httpx.HTTPError),
                httpx.stream("GET", running.url + "events", timeout=30) as reply,
            ):
                opened.set()
                for _ in reply.iter_lines():
                    pass
            ended.set()

        threading.Thread(target=listen, daemon=True).start()
        assert opened.wait(20)
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=10) == 130  # as every command on Ctrl-C
        assert ended.wait(5)  # the stream ended; uvicorn did not wait on it


@pytest.mark.slow
def test_ctrl_c_with_a_client_that_reads_nothing_drops_it_at_once_and_quietly() -> None:
    # A stream whose client takes nothing cannot send its end: uvicorn waited the whole
    # graceful-shutdown timeout for it, then cancelled it with a traceback per stream
    # ("Exception in ASGI application"): a thousand frozen browsers, a thousand of them.
    busy = ("--sim-speed", "600", "--sim-agents", "300")  # about a megabyte a second
    with serving(demo=busy) as running, socket.socket() as frozen:
        frozen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        frozen.connect(("127.0.0.1", int(running.url.rsplit(":", 1)[1].strip("/"))))
        frozen.sendall(b"GET /events HTTP/1.1\r\nHost: wallboard\r\n\r\n")
        # Far more than the kernel's and uvicorn's buffers hold, all of it sent to the
        # frozen client too: its stream is stuck in a write (not yet for write_timeout).
        with httpx.Client(base_url=running.url, timeout=20) as http:
            read_events(http, {}, 2_000)
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=30) == 130
        assert running.process.stderr is not None
        errors = running.process.stderr.read()
    assert "graceful shutdown exceeded" not in errors, errors[-2000:]
    assert "Exception in ASGI application" not in errors, errors[-2000:]
