"""`contactnow relay`: the command wires the relay to a client and a Redis stream."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from typing import Any

import anyio
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from contactnow_async.redis import event_from_fields
from contactnow_async.simulator import Simulator

from ..cli.conftest import (
    PASSWORD,
    USERNAME,
    WRONG_PASSWORD,
    CliInvoker,
    assert_one_error,
    run_subprocess,
    served_in_thread,
    subprocess_env,
)
from .conftest import REPO, eventually, stream_entries, text

pytestmark = [pytest.mark.redis, pytest.mark.anyio]


@pytest.mark.slow
async def test_the_relay_command_publishes_gap_free_events_and_stops_on_ctrl_c(
    redis: Redis, redis_url: str
) -> None:
    stream = "cli:agents"
    command = [
        sys.executable, "-m", "contactnow_async", "--simulate", "--sim-speed", "200",
        "relay", "--redis", redis_url, "--stream", stream, "--backfill",
        "--since-uid", "0", "--lease-ttl", "2", "--interval", "0.2", "--owner", "relay-1",
    ]  # fmt: skip
    relay = subprocess.Popen(  # noqa: ASYNC220 -- starting it does not block; the wait is below
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:

        async def enough() -> bool:
            return await redis.xlen(stream) >= 40

        await eventually(enough, within=60, every=0.05)
        # "<fence>:<owner>": fence 1, or a later one where a loaded machine kept the only
        # relay from renewing within the TTL and it took the lease again (2 was seen so).
        lease = await redis.get(f"{stream}:lease")
        assert lease is not None and re.fullmatch(r"[1-9][0-9]*:relay-1", text(lease)), lease
    finally:
        relay.send_signal(signal.SIGINT)
        _, err = relay.communicate(timeout=30)
    assert relay.returncode == 130, err.decode()
    assert b"Traceback" not in err
    events = [event_from_fields(fields) for _, fields in await stream_entries(redis, stream)]
    uids = [event.log_id for event in events]
    assert None not in uids and len(uids) == len(set(uids))
    assert uids == sorted(uids)  # type: ignore[type-var]  # no None, checked above
    assert {event.source for event in events} == {"status_log"}


@pytest.mark.slow
def test_a_refused_redis_password_is_one_line_and_the_auth_exit_code(redis_url: str) -> None:
    refused = redis_url.replace("redis://", "redis://nobody:s3cret@")
    command = [sys.executable, "-m", "contactnow_async", "--simulate", "relay", "--redis", refused]
    done = subprocess.run(command, cwd=REPO, capture_output=True, timeout=60, check=False)
    err = done.stderr.decode()
    assert done.returncode == 3, err  # EXIT_AUTH
    assert "Traceback" not in err
    assert "s3cret" not in err
    assert "contactnow: error: Redis refused" in err


@pytest.mark.slow
def test_a_refused_contactnow_password_is_one_error_line(redis_url: str) -> None:
    # The watcher's own "watcher stopped: ..." log line came before the command's error
    # line: the same refusal twice on stderr, where every error is one line.
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=3, seed=2)
    with served_in_thread(sim) as served:
        for extra in ([], ["--backfill", "--since-log-id", "0"]):
            out = run_subprocess(
                ["relay", "--redis", redis_url, *extra],
                env=served.env(CONTACTNOW_PASSWORD=WRONG_PASSWORD),
            )
            assert "refused" in assert_one_error(out, 3)


def bound_the_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the CLI's relay under a 30 s guard: a relay that does not stop as it should
    fails the test instead of running for ever (a guard, not a measure)."""
    import contactnow_async.redis

    relay = contactnow_async.redis.run_relay

    async def bounded(**options: Any) -> None:
        with anyio.fail_after(30):
            await relay(**options)

    monkeypatch.setattr(contactnow_async.redis, "run_relay", bounded)


def test_a_since_log_id_the_status_log_refuses_is_one_error_line(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The relay reported a failed poll every interval, for ever. The simulator reads no
    # id of more than 20 digits: the read after this one asks for uid 10**20.
    bound_the_relay(monkeypatch)
    since = str(10**20 - 1)
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=3, seed=2)
    with served_in_thread(sim) as served:
        out = CliInvoker()(
            ["relay", "--redis", redis_url, "--stream", "refused:agents", "--since-log-id", since],
            env=served.env(),
        )
    line = assert_one_error(out, 2)  # bad input, as a malformed flag
    assert f"after log id {since}" in line and "Bad argument: uid" in line


def test_a_stream_of_another_account_is_one_error_line(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relay for another account on the same stream name took it over: it skipped its
    # rows up to the other account's cursor and published the rest into its stream.
    bound_the_relay(monkeypatch)
    with SyncRedis.from_url(redis_url) as redis:
        redis.set("other:agents:account", "https://elsewhere.example/api/v2/|someone")
        redis.set("other:agents:cursor", "41")
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=3, seed=2)
    with served_in_thread(sim) as served:
        out = CliInvoker()(
            ["relay", "--redis", redis_url, "--stream", "other:agents", "--backfill"],
            env=served.env(),
        )
    line = assert_one_error(out, 2)  # a setting to change, as a bad flag
    assert "relayed for account https://elsewhere.example/api/v2/|someone" in line
    assert PASSWORD not in line and "--simulate" not in line
    with SyncRedis.from_url(redis_url) as redis:
        assert redis.get("other:agents:cursor") == b"41"
        assert redis.xlen("other:agents") == 0
    # A simulated centre's account is its address, a new port each run: the refusal named
    # two addresses and said nothing of why they differ.
    out = CliInvoker()(["--simulate", "relay", "--redis", redis_url, "--stream", "other:agents"])
    line = assert_one_error(out, 2)
    assert "relayed for account https://elsewhere.example/api/v2/|someone" in line
    assert "each --simulate run is a centre of its own" in line


def test_a_key_another_program_wrote_is_one_error_line(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cursor that is no number ended the relay as "an unexpected error (a bug ...)".
    bound_the_relay(monkeypatch)
    with SyncRedis.from_url(redis_url) as redis:
        redis.set("odd:agents:cursor", "not a uid")
    out = CliInvoker()(
        ["--simulate", "relay", "--redis", redis_url, "--stream", "odd:agents", "--backfill"]
    )
    line = assert_one_error(out, 2)  # a setting to change, as a bad flag
    assert "'odd:agents:cursor' holds 'not a uid', not a status_log uid" in line


def test_an_acl_user_that_may_not_run_scripts_is_one_line_and_the_auth_exit_code(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOPERM was taken for an outage: logged and retried every second, for ever.
    bound_the_relay(monkeypatch)
    user = "cli-relay-without-scripts"
    with SyncRedis.from_url(redis_url) as redis:
        redis.acl_setuser(user, enabled=True, passwords=["+s3cret"], keys=["*"],
                          commands=["+@all", "-@scripting"])  # fmt: skip
        try:
            url = redis_url.replace("redis://", f"redis://{user}:s3cret@")
            out = CliInvoker()(["--simulate", "relay", "--redis", url])
        finally:
            redis.acl_deluser(user)
    line = assert_one_error(out, 3)  # EXIT_AUTH, as for a refused password
    assert "may not use" in line and "evalsha" in line
    assert "s3cret" not in out.output


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("redis://default:s3cret", "s3cret"),
        ("redis://default:s3cret@127.0.0.1:s3cret/0", "s3cret"),
        # The parser's network location ends at # or ?: it quoted 's3' as the port.
        ("redis://default:s3#cret@127.0.0.1:6379", "s3"),
        ("redis://default:s3?cret@127.0.0.1:6379/0", "s3"),
    ],
    ids=["no-at-sign", "port", "hash-in-password", "question-mark-in-password"],
)
def test_a_malformed_redis_url_is_refused_without_its_password(url: str, secret: str) -> None:
    # Python's "Port could not be cast to integer value as 's3cret'": without an @, the
    # password is where the port goes, and the error line showed it.
    line = assert_one_error(CliInvoker()(["--simulate", "relay", "--redis", url]), 2)
    assert secret not in line
    assert "--redis" in line


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:1/abc", "redis://127.0.0.1:1/1/2", "redis://u:12/34@127.0.0.1:1/0"],
    ids=["word", "two-numbers", "slash-in-password"],
)
def test_a_redis_url_whose_path_is_not_a_database_number_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # redis-py read /abc as database 0 and /1/2 as database 12: the relay wrote elsewhere.
    import contactnow_async.redis

    async def not_run(**options: Any) -> None:
        raise AssertionError("the relay ran")

    monkeypatch.setattr(contactnow_async.redis, "run_relay", not_run)
    line = assert_one_error(CliInvoker()(["--simulate", "relay", "--redis", url]), 2)
    assert "database number" in line
    assert "12/34" not in line and "abc" not in line


def test_an_unexpected_error_in_the_relay_is_not_a_usage_error(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A UnicodeEncodeError (a ValueError) of the running relay exited 2, the code of a bad
    # flag, with the codec's message alone: a bug reported as the user's mistake.
    import contactnow_async.redis

    async def broken(**options: Any) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(contactnow_async.redis, "run_relay", broken)
    out = CliInvoker()(["--simulate", "relay", "--redis", redis_url])
    line = assert_one_error(out, 1)  # EXIT_ERROR: "a bug: run with --debug and report it"
    assert "unexpected error" in line and "UnicodeEncodeError" in line
    # A malformed --redis is still the user's to mend.
    assert "schemes" in assert_one_error(
        CliInvoker()(["--simulate", "relay", "--redis", "http://127.0.0.1:1/0"]), 2
    )


@pytest.mark.slow
async def test_the_relay_command_publishes_a_name_utf_8_cannot_carry(
    redis: Redis, redis_url: str
) -> None:
    # The API's "\ud800" decodes to a lone surrogate: its event's publish raised
    # UnicodeEncodeError, `contactnow relay` exited 2, and so did every restart, the
    # cursor still before that row.
    stream = "cli:odd"
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=3, seed=2)
    scenario = sim._scenario  # no request names one: PHP's json_decode refuses it
    online = next(row["uid"] for row in sim.live_agents() if row["status"] != "offline")
    agent = scenario.by_uid[str(online)]
    agent.record = {**scenario.record(agent), "name": "\ud800Ann"}
    command = [
        sys.executable, "-m", "contactnow_async", "relay", "--redis", redis_url,
        "--stream", stream, "--since-log-id", "0", "--interval", "0.2",
    ]  # fmt: skip

    async def published() -> bool:
        entries = await stream_entries(redis, stream)
        names = [event_from_fields(fields).after for _, fields in entries]
        return any(after is not None and after.name == "\ud800Ann" for after in names)

    async def published_or_ended() -> bool:
        return relay.poll() is not None or await published()

    with served_in_thread(sim) as served:
        relay = subprocess.Popen(  # noqa: ASYNC220 -- starting it does not block; the wait is below
            command,
            cwd=REPO,
            env=subprocess_env(**served.env()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            await eventually(published_or_ended, within=60, every=0.05)
        finally:
            relay.send_signal(signal.SIGINT)
            _, err = relay.communicate(timeout=30)
    assert relay.returncode == 130, err.decode()
    assert b"Traceback" not in err
    assert await published()


@pytest.mark.slow
async def test_sigterm_stops_the_relay_cleanly_and_hands_the_lease_over(
    redis: Redis, redis_url: str
) -> None:
    # systemd, Docker and Kubernetes stop a service with SIGTERM: it killed the relay with
    # its lease held, so no replica could take over for a whole lease TTL.
    stream = "cli:term"
    command = [
        sys.executable, "-m", "contactnow_async", "--simulate", "relay", "--redis", redis_url,
        "--stream", stream, "--lease-ttl", "60", "--interval", "0.2", "--owner", "relay-1",
    ]  # fmt: skip
    relay = subprocess.Popen(  # noqa: ASYNC220 -- starting it does not block; the wait is below
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:

        async def leads() -> bool:
            lease = await redis.get(f"{stream}:lease")
            return relay.poll() is not None or (lease is not None and text(lease) == "1:relay-1")

        await eventually(leads, within=60, every=0.05)
    finally:
        relay.send_signal(signal.SIGTERM)
        _, err = relay.communicate(timeout=30)
    # Ended by the signal once stopped, as `contactnow serve` (uvicorn) does: the shell
    # reports 143, and systemd counts it a clean stop.
    assert relay.returncode == -signal.SIGTERM, err.decode()
    assert err == b""
    assert await redis.get(f"{stream}:lease") is None  # given up, not left to expire
