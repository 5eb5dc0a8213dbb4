"""``contactnow watch``: how long it runs, and the group's options on either side of it."""

from __future__ import annotations

import json

import pytest

from contactnow_async.simulator import Simulator

from .conftest import (
    PASSWORD,
    USERNAME,
    WRONG_PASSWORD,
    CliInvoker,
    Served,
    assert_one_error,
    run_subprocess,
    served_in_thread,
)

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_duration_zero_stops_at_once(served: Served) -> None:
    # It ran forever: 0 was taken for "no --duration". Without the fix the timeout fails it.
    out = run_subprocess(
        ["watch", "--json", "--include-offline", "--duration", "0"], env=served.env(), timeout=30
    )
    assert out.code == 0, out
    assert out.stdout == ""  # stopped before the first poll's events
    assert out.stderr == ""


@pytest.mark.slow
def test_a_negative_duration_is_a_usage_error(served: Served) -> None:
    out = run_subprocess(["watch", "--duration", "-1"], env=served.env())
    assert "--duration" in assert_one_error(out, 2)


@pytest.mark.parametrize(
    "args",
    [
        [
            "--simulate",
            "--sim-agents",
            "3",
            "watch",
            "--json",
            "--include-offline",
        ],
        [
            "watch",
            "--json",
            "--simulate",
            "--include-offline",
            "--sim-agents",
            "3",
        ],
    ],
    ids=["before", "after"],
)
def test_simulate_before_or_after_the_command(invoke: CliInvoker, args: list[str]) -> None:
    # --duration includes the first poll (a token fetch and a read): on a loaded machine
    # it could end after 1 s, with no event at all (seen so). A run that saw too little
    # is made again, four times as long; a simulator not used never shows its 3 agents.
    for duration in ("1", "4", "16"):
        out = invoke([*args, "--duration", duration])  # after the command it was a usage error
        assert out.code == 0, out
        events = [json.loads(line) for line in out.stdout.splitlines()]
        appeared = {event["agent_id"] for event in events if event["kind"] == "appeared"}
        if len(appeared) == 3:
            break
    assert len(appeared) == 3  # every simulated agent, on the first poll


@pytest.mark.slow
def test_a_refused_password_is_one_line_and_exit_3(served: Served) -> None:
    # The watcher's own "watcher stopped: ..." log line came before the command's error:
    # the same words twice on stderr, where every error is one line.
    out = run_subprocess(
        ["watch", "--json", "--duration", "30"], env=served.env(CONTACTNOW_PASSWORD=WRONG_PASSWORD)
    )
    assert "refused" in assert_one_error(out, 3)
    assert out.stdout == ""


def test_a_since_log_id_the_status_log_refuses_is_one_line_and_exit_2(
    invoke: CliInvoker, served: Served
) -> None:
    # It printed "poll failed (N in a row): ... Bad argument: uid" every interval until
    # --duration ended (or for ever), and exited 0. The simulator reads no id of more
    # than 20 digits: the read after this one asks for uid 10**20.
    since = str(10**20 - 1)
    out = invoke(["watch", "--since-log-id", since, "--duration", "5"], env=served.env())
    line = assert_one_error(out, 2)  # bad input, as a malformed flag
    assert f"after log id {since}" in line and "Bad argument: uid" in line
    assert out.stdout == ""


def test_an_agent_id_the_account_lacks_is_refused_before_watching(
    invoke: CliInvoker, served: Served
) -> None:
    # A typo in --agent printed nothing, for ever, without a word.
    before = served.sim.stats.count("ajax", "agents")
    args = ["watch", "--agent", "1226353", "--agent", "999999", "--duration", "3"]
    out = invoke(args, env=served.env())  # before: 3 s of nothing, exit 0
    line = assert_one_error(out, 2)
    assert "--agent 999999: the account has no such agent" in line, line
    assert served.sim.stats.count("ajax", "agents") == before  # no poll made


def test_the_agent_ids_are_checked_in_one_request_and_a_deleted_one_refused(
    invoke: CliInvoker,
) -> None:
    # One database.php read per --agent: 50 ids were 50 requests before the first poll.
    # A deleted agent (filter 999) never logs in again: watched, it printed nothing, for ever.
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=4, seed=2)
    with served_in_thread(sim) as served:
        ids = [str(row["uid"]) for row in sim.live_agents()]
        deleted = ids[-1]
        done = invoke(["agents", "update", deleted, "--filter", "999"], env=served.env())
        assert done.code == 0, done
        before = sim.stats.count("database", "agents")
        args = ["watch", *(f"--agent={agent_id}" for agent_id in ids), "--duration", "1"]
        out = invoke(args, env=served.env())
        line = assert_one_error(out, 2)
        assert f"--agent {deleted}: that agent is deleted (filter 999)" in line, line
        assert sim.stats.count("database", "agents") == before + 1
