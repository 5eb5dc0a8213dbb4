"""``contactnow status-log --summary``: each agent's time in each status over the window,
and only over it (simulators that have lived an hour on a virtual clock: one long ago, one
until now)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from contactnow_async.simulator import Simulator, VirtualClock

from .conftest import (
    PASSWORD,
    USERNAME,
    CliInvoker,
    Served,
    assert_one_error,
    served_in_thread,
)

pytestmark = pytest.mark.integration

START = 1_700_000_000


def _lived_an_hour(start: int) -> Iterator[Served]:
    clock = VirtualClock(start)
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=10, seed=2, clock=clock)
    clock.advance(3600)
    with served_in_thread(sim) as served:
        yield served


@pytest.fixture(scope="module")
def an_hour() -> Iterator[Served]:
    """A centre that lived from START to START + 3600, long ago."""
    yield from _lived_an_hour(START)


@pytest.fixture(scope="module")
def until_now() -> Iterator[Served]:
    """A centre that lived the hour until now (its clock then stops)."""
    yield from _lived_an_hour(int(time.time()) - 3600)


def _summary(invoke: CliInvoker, served: Served, *args: str) -> dict[str, dict[str, float]]:
    out = invoke(["status-log", "--summary", "--json", *args], env=served.env())
    assert out.code == 0, out
    summary: dict[str, dict[str, float]] = json.loads(out.stdout)
    return summary


def test_status_log_summary_as_a_table_and_as_json(invoke: CliInvoker, an_hour: Served) -> None:
    window = ["--since", str(START), "--until", str(START + 600)]
    table = invoke(["status-log", "--summary", *window], env=an_hour.env())
    assert table.code == 0, table
    assert table.stdout.splitlines()[0].split()[0] == "agent"
    data = _summary(invoke, an_hour, *window)
    assert len(data) == 10
    for agent_id, spent in data.items():
        assert all(seconds > 0 for seconds in spent.values())
        assert sum(spent.values()) == 600  # every agent has a row at START
        assert agent_id in table.stdout


def test_a_time_without_an_offset_is_read_in_the_record_zone(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # START is 2023-11-14T22:13:20Z, 17:13:20 in New York (UTC-5 in November): read as
    # UTC, the naive times were five hours after the centre's hour, where nothing is logged.
    utc = _summary(invoke, an_hour, "--since", str(START), "--until", str(START + 600))
    window = ["--since", "2023-11-14T17:13:20", "--until", "2023-11-14T17:23:20"]
    assert _summary(invoke, an_hour, *window, "--record-tz", "America/New_York") == utc
    assert len(utc) == 10
    # Without --record-tz, UTC: the window of the same wall-clock times, five hours earlier.
    assert _summary(invoke, an_hour, *window) == {}


def test_a_status_that_began_before_since_counts_from_since(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # Every agent has a row at START (its first status), so its status at START + 1800 is
    # known from the log: the summary counted only from each agent's first row in the
    # window, and left out an agent with no change in it.
    rows = invoke(
        ["status-log", "--json", "--since", str(START), "--until", str(START + 3600)],
        env=an_hour.env(),
    )
    agent_ids = {json.loads(line)["agent_id"] for line in rows.stdout.splitlines()}
    assert len(agent_ids) == 10
    half = _summary(invoke, an_hour, "--since", str(START + 1800), "--until", str(START + 3600))
    assert set(half) == agent_ids
    assert {agent_id: sum(spent.values()) for agent_id, spent in half.items()} == dict.fromkeys(
        agent_ids, 1800.0
    )
    # The rows printed without --summary are still the window's only.
    shown = invoke(
        ["status-log", "--json", "--since", str(START + 1800), "--until", str(START + 3600)],
        env=an_hour.env(),
    )
    assert all(json.loads(line)["started_ts"] >= START + 1800 for line in shown.stdout.splitlines())


def test_an_until_in_the_future_counts_no_time_that_has_not_passed(
    invoke: CliInvoker, until_now: Served
) -> None:
    # --until tomorrow: each agent's last status ran until tomorrow, a day of time in it.
    # The summary ends at the centre's now: its clock (stopped when the module's fixture
    # was made) plus the host's time since the token told it. The window starts half an
    # hour before the centre's clock, not the host's (the fixture may be seconds old).
    since = int(until_now.sim.clock.now()) - 1800
    tomorrow = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86_400))
    started = time.time()
    summary = _summary(invoke, until_now, "--since", str(since), "--until", tomorrow)
    took = time.time() - started
    assert len(summary) == 10
    for spent in summary.values():
        assert 1800 <= sum(spent.values()) <= 1800 + took


def test_a_summary_from_the_first_day_of_1970_reads_no_earlier(
    invoke: CliInvoker, served: Served
) -> None:
    # The day before --since was read too: before 1970, refused by the status log.
    window = ["--since", "1970-01-01T05:00:00Z", "--until", "1970-01-01T06:00:00Z"]
    assert _summary(invoke, served, *window) == {}


def test_a_summary_from_before_1970_is_one_error_line(invoke: CliInvoker, served: Served) -> None:
    # Near year 1, the day before --since was an OverflowError traceback.
    args = ["status-log", "--summary", "--since", "0001-01-01", "--until", "0001-01-01T00:00:01"]
    line = assert_one_error(invoke(args, env=served.env()), 2)
    assert "before 1970" in line


#: How far our clock runs ahead of the ``behind`` centre's (a host without NTP).
AHEAD = 7200


@pytest.fixture(scope="module")
def behind() -> Iterator[tuple[Served, int]]:
    """A centre that lived an hour until AHEAD seconds ago (its clock then stops), and
    its now."""
    now = int(time.time()) - AHEAD
    for served in _lived_an_hour(now - 3600):
        yield served, now


def test_the_summary_counts_no_time_past_the_centres_now_when_ours_is_ahead(
    invoke: CliInvoker, behind: tuple[Served, int]
) -> None:
    # Until now by our clock, two hours ahead of the centre's, each agent's last status
    # ran two hours past the centre's now. The API's Date (the token's clock_offset)
    # says where the centre's now is.
    served, centre_now = behind
    summary = _summary(invoke, served, "--since", str(centre_now - 1800))
    assert len(summary) == 10
    for spent in summary.values():
        # Within the Date's whole second, and what our clock ran on while reading.
        assert 1800 - 2 <= sum(spent.values()) <= 1800 + 2


def test_a_window_of_no_time_with_rows_read_does_not_say_nothing_was_logged(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # --since and --until the same second: the agents' rows were read (the day before it
    # too), but no time is in the window; it said nothing was logged, nor the day before.
    at = ["--since", str(START + 600), "--until", str(START + 600)]
    out = invoke(["status-log", "--summary", *at], env=an_hour.env())
    assert (out.code, out.stdout) == (0, "")
    assert out.error_lines == [
        "no time in a status to count: the window from 2023-11-14T22:23:20+00:00 to "
        "2023-11-14T22:23:20+00:00 ends where it starts"
    ]
