"""Every everyday command against a simulator served on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from .._helpers import free_port
from .conftest import (
    PASSWORD,
    CliInvoker,
    Outcome,
    Served,
    assert_no_secret,
    assert_one_error,
    run_until,
    subprocess_env,
)

pytestmark = pytest.mark.integration


def _ok(outcome: Outcome) -> Outcome:
    assert outcome.code == 0, outcome
    return outcome


def _agents(invoke: CliInvoker, served: Served, *args: str) -> list[dict[str, str]]:
    out = _ok(invoke(["agents", "list", "--json", *args], env=served.env()))
    return [json.loads(line) for line in out.stdout.splitlines()]


def _agent_id(invoke: CliInvoker, served: Served, name: str) -> str:
    (found,) = _agents(invoke, served, "--name", name)
    return found["agent_id"]


# -- token ------------------------------------------------------------------------


def test_token_get_is_masked_by_default(invoke: CliInvoker, served: Served) -> None:
    before = served.sim.stats.token_gets
    out = _ok(invoke(["token", "get"], env=served.env()))
    assert served.sim.stats.token_gets == before + 1
    first, second = out.stdout.splitlines()
    assert first.startswith("token ")
    assert "--show to print" in first
    assert second.startswith("expires 20")
    shown = _ok(invoke(["token", "get", "--show"], env=served.env())).stdout.splitlines()[0]
    value = shown.removeprefix("token ")
    assert len(value) >= 20
    assert value.isalnum()
    assert value not in out.stdout  # the masked run printed no whole token
    assert f"({len(value)} chars" in first


def test_token_get_json(invoke: CliInvoker, served: Served) -> None:
    # Without --show, "token" held the masked text: a script took it for the token.
    data = json.loads(_ok(invoke(["token", "get", "--json"], env=served.env())).stdout)
    assert set(data) == {"token", "token_start", "token_length", "expires_at"}
    assert data["token"] is None
    shown = json.loads(_ok(invoke(["token", "get", "--json", "--show"], env=served.env())).stdout)
    assert set(shown) == {"token", "expires_at"}
    assert shown["token"].startswith(data["token_start"])
    assert len(shown["token"]) == data["token_length"]
    assert len(data["token_start"]) == 4


def test_token_validate(invoke: CliInvoker, served: Served) -> None:
    before = served.sim.stats.token_validates
    out = _ok(invoke(["token", "validate"], env=served.env()))
    assert out.stdout.startswith("valid until 20")
    assert served.sim.stats.token_validates == before + 1


def test_token_file_is_reused_across_runs(
    invoke: CliInvoker, served: Served, tmp_path: Path
) -> None:
    token_file = tmp_path / "token.json"
    args = ["--token-file", str(token_file), "agents", "list", "--name", "Agent 1"]
    before = served.sim.stats.token_gets
    _ok(invoke(args, env=served.env()))
    assert served.sim.stats.token_gets == before + 1
    assert token_file.exists()
    assert PASSWORD not in token_file.read_text()
    out = _ok(invoke(args, env=served.env()))
    assert "Agent 1" in out.stdout
    assert served.sim.stats.token_gets == before + 1  # the second run reused the file's token


def test_a_token_file_under_the_home_directory_goes_there(
    invoke: CliInvoker, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``--token-file=~/token.json`` (no shell expands a ~ after "="): the check wrote its
    # probe in the home directory, but the token went to ./~/token.json, a directory
    # named "~" made in the working directory.
    home, elsewhere = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    _ok(invoke(["--token-file=~/token.json", "token", "get"], env=served.env()))
    assert sorted(path.name for path in home.iterdir()) == ["token.json", "token.json.lock"]
    assert list(elsewhere.iterdir()) == []


# -- agents -----------------------------------------------------------------------


def test_agents_list_table(invoke: CliInvoker, served: Served) -> None:
    out = _ok(invoke(["agents", "list"], env=served.env()))
    header = out.stdout.splitlines()[0]
    for column in ("agent_id", "name", "username", "default_status"):
        assert column in header
    for n in range(1, 11):
        assert f"Agent {n} " in out.stdout


def test_agents_list_by_name(invoke: CliInvoker, served: Served) -> None:
    out = _ok(invoke(["agents", "list", "--name", "Agent 3"], env=served.env()))
    assert "Agent 3" in out.stdout
    assert "Agent 4" not in out.stdout
    assert "Agent 1 " not in out.stdout


def test_agents_list_json(invoke: CliInvoker, served: Served) -> None:
    found = _agents(invoke, served)
    names = {agent["name"] for agent in found}
    assert {f"Agent {n}" for n in range(1, 11)} <= names
    for agent in found:
        assert agent["agent_id"].isdigit()
        assert "password" not in agent
        assert "pin" not in agent


def test_agents_create_reads_the_password_from_stdin(invoke: CliInvoker, served: Served) -> None:
    secret = "agent-Pw-71x"
    out = _ok(
        invoke(
            ["agents", "create", "--name", "Ann", "--username", "ann", "--password-stdin"],
            env=served.env(),
            input=secret + "\n",
        )
    )
    assert out.stdout.startswith("created agent ")
    assert secret not in out.output
    new_id = out.stdout.split()[2]
    (ann,) = _agents(invoke, served, "--name", "Ann")
    assert ann["agent_id"] == new_id
    assert ann["username"] == "ann"
    table = _ok(invoke(["agents", "list", "--name", "Ann"], env=served.env())).stdout
    assert "Ann" in table
    assert new_id in table
    # the simulator keeps the password it was sent
    sim_agent = next(a for a in served.sim.requests if a.action == "create" and b"ann" in a.body)
    assert secret.encode() in sim_agent.body


def test_agents_create_refuses_an_empty_password(invoke: CliInvoker, served: Served) -> None:
    out = invoke(
        ["agents", "create", "--name", "Nobody", "--username", "nobody", "--password-stdin"],
        env=served.env(),
        input="\n",
    )
    assert out.code == 2
    assert out.stderr.startswith("contactnow: error: ")
    assert _agents(invoke, served, "--name", "Nobody") == []


def test_agents_update(invoke: CliInvoker, served: Served) -> None:
    agent_id = _agent_id(invoke, served, "Agent 5")
    out = _ok(invoke(["agents", "update", agent_id, "--name", "John Dow"], env=served.env()))
    assert out.stdout.startswith(f"updated agent {agent_id}")
    (john,) = _agents(invoke, served, "--name", "John Dow")
    assert john["agent_id"] == agent_id
    out = _ok(
        invoke(
            ["agents", "update", agent_id, "--name=Agent 5", "--phone", "0123"], env=served.env()
        )
    )
    (back,) = _agents(invoke, served, "--name", "Agent 5")
    assert back["phone"] == "0123"


# -- status log ---------------------------------------------------------------------


def test_status_log_rows(invoke: CliInvoker, served: Served) -> None:
    out = _ok(invoke(["status-log", "--since", "1h", "--until", "now"], env=served.env()))
    header = out.stdout.splitlines()[0]
    for column in ("log id", "started", "agent", "status"):
        assert column in header
    agent_id = _agent_id(invoke, served, "Agent 2")
    assert agent_id in out.stdout  # every agent has a row for its first status


def test_status_log_rows_show_their_start_in_the_record_tz(
    invoke: CliInvoker, served: Served
) -> None:
    # --since and --until are read in --record-tz, and a refusal shows them there: the
    # rows' "started" column was in UTC all the same.
    args = ["status-log", "--since", "1h", "--until", "now"]
    utc = _ok(invoke(args, env=served.env())).stdout.splitlines()[2:]
    tokyo = _ok(invoke([*args, "--record-tz", "Asia/Tokyo"], env=served.env())).stdout
    rows = tokyo.splitlines()[2:]
    assert rows and all("+09:00" in row for row in rows), tokyo
    assert all("+00:00" in row for row in utc[: len(rows)])


def test_status_log_json(invoke: CliInvoker, served: Served) -> None:
    out = _ok(invoke(["status-log", "--json"], env=served.env()))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 10
    assert set(rows[0]) == {"log_id", "started_ts", "agent_id", "status", "sub_status", "call_id"}
    uids = [row["log_id"] for row in rows]
    assert uids == sorted(set(uids))  # ascending, each once


def test_status_log_for_one_agent(invoke: CliInvoker, served: Served) -> None:
    agent_id = _agent_id(invoke, served, "Agent 2")
    out = _ok(invoke(["status-log", "--json", "--agent", agent_id], env=served.env()))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows
    assert {row["agent_id"] for row in rows} == {agent_id}


def test_status_log_iso_and_unix_times(invoke: CliInvoker, served: Served) -> None:
    now = int(time.time())
    out = _ok(
        invoke(
            ["status-log", "--json", "--since", str(now - 3600), "--until", "now"], env=served.env()
        )
    )
    assert out.stdout.strip()
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600))
    out2 = _ok(invoke(["status-log", "--json", "--since", iso], env=served.env()))
    assert out2.stdout.strip()


def test_status_log_until_before_since(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["status-log", "--since", "now", "--until", "1h"], env=served.env())
    assert out.code == 2
    assert out.stderr.startswith("contactnow: error: --until")


# -- priorities ----------------------------------------------------------------------


def test_priorities_list(invoke: CliInvoker, served: Served) -> None:
    out = _ok(invoke(["priorities", "list"], env=served.env()))
    assert (
        out.stdout.split()[:3] == ["agent", "┃", "queue"] or "queue" in out.stdout.splitlines()[0]
    )
    rows = [
        json.loads(line)
        for line in _ok(
            invoke(["priorities", "list", "--json"], env=served.env())
        ).stdout.splitlines()
    ]
    assert rows
    assert set(rows[0]) == {"agent_id", "queue_id", "level"}
    queue = rows[0]["queue_id"]
    by_queue = _ok(invoke(["priorities", "list", "--json", "--queue", queue], env=served.env()))
    assert {json.loads(line)["queue_id"] for line in by_queue.stdout.splitlines()} == {queue}


def test_priorities_set_assigns_then_updates(invoke: CliInvoker, served: Served) -> None:
    agent_id = _agent_id(invoke, served, "Agent 9")
    # start from no assignment to queue 1007
    listed = _ok(invoke(["priorities", "list", "--json", "--agent", agent_id], env=served.env()))
    queues = {json.loads(line)["queue_id"] for line in listed.stdout.splitlines()}
    queue = next(q for q in ("1007", "1008", "1009", "4242") if q not in queues)
    first = _ok(invoke(["priorities", "set", agent_id, queue, "50"], env=served.env()))
    assert first.stdout.startswith(f"assigned agent {agent_id} to queue {queue} at level 50")
    second = _ok(invoke(["priorities", "set", agent_id, queue, "70"], env=served.env()))
    assert second.stdout.startswith(f"updated agent {agent_id} to queue {queue} at level 70")
    listed = _ok(invoke(["priorities", "list", "--json", "--agent", agent_id], env=served.env()))
    levels = {
        json.loads(line)["queue_id"]: json.loads(line)["level"]
        for line in listed.stdout.splitlines()
    }
    assert str(levels[queue]) == "70"


# -- wire format -----------------------------------------------------------------------


def test_format_xml(invoke: CliInvoker, served: Served) -> None:
    out = _ok(invoke(["--format", "xml", "agents", "list", "--name", "Agent 3"], env=served.env()))
    assert "Agent 3" in out.stdout
    assert "agent3" in out.stdout
    last = served.sim.requests[-1]
    assert last.script == "database"
    assert last.action == "read"
    assert last.args.get("format") == "xml"


# -- simulate --------------------------------------------------------------------------


def _simulate_on_a_free_port(*args: str) -> tuple[subprocess.Popen[str], int, str]:
    """``contactnow simulate --port N ARGS`` on a free port: the process, N, its banner."""
    for _attempt in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "contactnow_async", "simulate", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        if banner:
            return proc, port, banner
        # No banner: the port was taken between the probe and the bind (by another
        # test's connection, or another pytest-xdist worker's). Try another.
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 5 and "cannot serve" in err, err
    raise AssertionError("no free port for contactnow simulate in 5 attempts")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)],
    ids=["ctrl-c-exits-130", "sigterm-ends-by-the-signal"],
)
def test_simulate_serves_the_api(stop: signal.Signals, code: int) -> None:
    # The exit codes of the README's table: Ctrl-C is 130 (it was 0, as if the server
    # had ended of its own accord), SIGTERM ends the process by the signal (143 in a
    # shell) once uvicorn has stopped.
    proc, port, banner = _simulate_on_a_free_port(
        "--agents", "3", "--username", "u1", "--password", "simulate-Pw-9"
    )
    try:
        assert f"http://127.0.0.1:{port}/" in banner
        assert "username=u1" in banner
        assert "simulate-Pw-9" not in banner
        reply = httpx.get(
            f"http://127.0.0.1:{port}/token.php",
            params={"action": "get", "username": "u1", "password": "simulate-Pw-9"},
            timeout=10,
        )
        body = reply.json()
        assert body["success"] is True
        assert body["token"]
        refused = httpx.get(
            f"http://127.0.0.1:{port}/token.php",
            params={"action": "get", "username": "u1", "password": "nope"},
            timeout=10,
        ).json()
        assert refused["success"] is False
    finally:
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == code, err
    assert "simulate-Pw-9" not in out + err
    assert "Traceback" not in err


def test_simulate_with_an_embedded_simulator(invoke: CliInvoker) -> None:
    out = _ok(invoke(["--simulate", "--sim-agents", "4", "agents", "list", "--json"]))
    assert len(out.stdout.splitlines()) == 4
    assert_no_secret(out)


def test_agents_create_prompts_without_echo(invoke: CliInvoker, served: Served) -> None:
    secret = "prompted-Pw-55"
    out = _ok(
        invoke(
            ["agents", "create", "--name", "Bea", "--username", "bea", "--json"],
            env=served.env(),
            input=f"{secret}\n{secret}\n",
        )
    )
    assert "Agent password" in out.output
    assert secret not in out.output  # hidden input: never echoed
    created = json.loads(out.stdout.splitlines()[-1])
    assert created["total"] == 1
    (bea,) = _agents(invoke, served, "--name", "Bea")
    assert bea["agent_id"] == str(created["agent_id"])


# -- watch -----------------------------------------------------------------------------


@pytest.mark.slow
def test_watch_against_a_served_simulator(invoke: CliInvoker, served: Served) -> None:
    # Read until the line looked for, then Ctrl-C: a fixed --duration (1 s, the token
    # fetch and the first poll included) let a loaded machine print nothing (seen so).
    agent_id = _agent_id(invoke, served, "Agent 4")
    args = ["watch", "--json", "--include-offline", "--agent", agent_id]
    lines, out = run_until(args, lambda line: True, env=served.env())
    assert out.code == 130, out  # stopped by the Ctrl-C, not by an error
    (first,) = [json.loads(line) for line in lines]  # the first poll shows the agent
    assert first["agent_id"] == agent_id  # --agent: not Agent 1, the picture's first
    assert first["kind"] == "appeared"
    wanted = f"Agent 4 [{agent_id}]"
    lines, plain = run_until(
        ["watch", "--include-offline"], lambda line: wanted in line, env=served.env()
    )
    assert plain.code == 130, plain
    assert wanted in lines[-1]
    assert " appeared " in lines[-1]


@pytest.mark.slow
def test_watch_backfill_resumes_after_a_uid(invoke: CliInvoker, served: Served) -> None:
    rows = [
        json.loads(line)
        for line in _ok(invoke(["status-log", "--json"], env=served.env())).stdout.splitlines()
    ]
    since = rows[0]["log_id"]
    lines, out = run_until(
        ["watch", "--json", "--since-uid", str(since)],
        lambda line: json.loads(line)["log_id"] is not None,
        env=served.env(),
    )
    assert out.code == 130, out
    uids = [event["log_id"] for event in map(json.loads, lines) if event["log_id"] is not None]
    assert uids
    assert min(uids) > since


def test_flags_override_the_environment(invoke: CliInvoker, served: Served) -> None:
    env = served.env(CONTACTNOW_USERNAME="nobody", CONTACTNOW_BASE_URL="http://127.0.0.1:1/")
    out = _ok(
        invoke(["--username", "ops", "--base-url", served.base_url, "token", "validate"], env=env)
    )
    assert out.stdout.startswith("valid until")


def test_the_secret_check_can_fail() -> None:
    with pytest.raises(AssertionError, match="password printed"):
        assert_no_secret(Outcome(code=0, stdout="", stderr=f"login ops:{PASSWORD}\n"))


def test_relay_since_log_id_implies_backfill(
    invoke: CliInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for watch: a starting log id is a status_log position, read only with backfill.
    import contactnow_async.redis

    given: dict[str, Any] = {}

    async def fake_relay(**options: Any) -> None:
        given.update(options)

    monkeypatch.setattr(contactnow_async.redis, "run_relay", fake_relay)
    out = invoke(["--simulate", "relay", "--redis", "redis://127.0.0.1:1/0", "--since-log-id", "7"])
    assert out.code == 0, out
    assert (given["since_log_id"], given["backfill"]) == (7, True)  # was ignored without --backfill


def _commands_on(
    monkeypatch: pytest.MonkeyPatch,
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    tokens: bool = True,
) -> None:
    """Make the CLI's clients send their requests to ``handler`` (an httpx.MockTransport);
    ``tokens``: token.php is answered here (a token that lasts), ``handler`` gets the rest."""
    from contactnow_async import ContactNow
    from contactnow_async._cli import _common

    def answer(request: httpx.Request) -> httpx.Response:
        if tokens and request.url.path.endswith("/token.php"):
            return httpx.Response(200, json={"success": True, "token": "a" * 40, "expire": 2**31})
        return handler(request)

    class OnMock(ContactNow):
        def __init__(self, **options: Any) -> None:
            super().__init__(**{**options, "transport": httpx.MockTransport(answer)})

    monkeypatch.setattr(_common, "ContactNow", OnMock)


def test_a_region_flag_overrides_the_base_url_variable(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--region us` went to $CONTACTNOW_BASE_URL: a variable beat the flag. A mock transport
    # answers in the US host's place (nothing leaves the process).
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={"success": True, "token": "a" * 40, "expire": 2**31})

    _commands_on(monkeypatch, handler, tokens=False)
    _ok(invoke(["--region", "us", "token", "get"], env=served.env()))
    assert hosts == ["api.contactnow.8x8.com"]


def test_priorities_set_whose_create_was_resent_does_not_claim_an_update(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The create was made and its reply lost; its resend found the pair there (total 0),
    # and the update then set the level again: it printed "updated agent ...", of an
    # assignment this very command had made.
    writes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        writes.append(request.url.params["action"])
        if len(writes) == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        total = 1 if writes[-1] == "update" else 0
        return httpx.Response(200, json={"success": True, "total": total, "bad": 0})

    _commands_on(monkeypatch, handler)
    out = _ok(invoke(["priorities", "set", "1001", "2002", "50"], env=served.env())).stdout
    assert writes == ["create", "create", "update"]
    assert out.startswith("assigned or updated agent 1001 to queue 2002 at level 50")
    assert "reply was lost" in out


def test_priorities_set_that_writes_nothing_is_an_error(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both writes taken, 0 records each: it printed "updated agent ..." and exited 0.
    writes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        writes.append(request.url.params["action"])
        return httpx.Response(200, json={"success": True, "total": 0, "bad": 0})

    _commands_on(monkeypatch, handler)
    out = invoke(["priorities", "set", "1001", "2002", "50"], env=served.env())
    assert writes == ["create", "update"]
    line = assert_one_error(out, 4)
    assert "neither created nor updated" in line
    assert out.stdout == ""


def test_serve_simulate_talks_the_wire_format_given() -> None:
    # `contactnow --simulate --format xml serve` talked JSON to its simulator, without a
    # word: every other command's --simulate client takes --format.
    import anyio

    from contactnow_async._cli._common import Settings
    from contactnow_async._cli._serve import _client

    async def main() -> str:
        settings = Settings(simulate=True, wire_format="xml", sim_agents=1)
        async with _client(settings, timezone.utc) as (client, _):
            return str(client.format)

    assert anyio.run(main) == "xml"


def test_serve_record_tz_is_the_day_the_queue_kpis_count() -> None:
    # `contactnow serve` had no zone: its queue KPIs counted "today" from midnight UTC,
    # the evening before for a centre in New York. --record-tz is the client's record_tz,
    # from whose midnight QueueKpis counts.
    import anyio

    from contactnow_async._cli._common import Settings
    from contactnow_async._cli._serve import _client
    from contactnow_async.kpis import QueueKpis

    new_york = ZoneInfo("America/New_York")

    async def main() -> int | None:
        async with _client(Settings(simulate=True, sim_agents=1), new_york) as (client, clock):
            kpis = QueueKpis(client, clock=clock)
            assert await kpis.refresh()
            return kpis.start_ts

    start = anyio.run(main)
    assert start is not None
    midnight = datetime.fromtimestamp(start, new_york)
    assert (midnight.hour, midnight.minute, midnight.second) == (0, 0, 0)
    assert datetime.fromtimestamp(start, timezone.utc).hour in (4, 5)  # EDT, EST


def test_status_log_failing_midway_says_how_far_it_read(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long window failing at its 3rd hourly request was one error line: which hours had
    # been read, where to go on from, was not said.
    from contactnow_async.resources.status_log import StatusLog

    read, pieces = StatusLog.read, []

    async def read_then_fail(self: StatusLog, **filters: Any) -> Any:
        pieces.append(filters)
        if len(pieces) == 3:  # this hour's request and its 2 retries answer HTTP 500
            served.sim.faults.inject("http_500", script="database", method="status_log", times=3)
        return await read(self, **filters)

    monkeypatch.setattr(StatusLog, "read", read_then_fail)
    since = "2026-12-01T00:00:00+00:00"
    out = invoke(
        ["status-log", "--since", since, "--until", "2026-12-01T05:00:00+00:00", "--json"],
        env=served.env(),
    )
    assert out.code == 5, out
    assert out.stdout == ""
    assert out.error_lines[1:] == [
        f"status-log: 2 of 5 hourly requests read, from {since} to 2026-12-01T02:00:00+00:00, "
        "before it stopped; nothing was printed"
    ]
