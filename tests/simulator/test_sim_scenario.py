"""The scenario: deterministic, and the live state always equals what the log implies."""

from __future__ import annotations

import errno
import json
import math
import random
import socket

import anyio
import anyio.lowlevel
import httpx
import pytest

from contactnow_async.simulator import Dwell, ScaledClock, Simulator, VirtualClock, serve

from .sim_helpers import START, api_params, json_of


def advance_in_steps(sim: Simulator, clock: VirtualClock, steps: list[float]) -> None:
    for step in steps:
        clock.advance(step)
        sim.catch_up()


def test_same_seed_same_history_whatever_the_catch_up_pattern() -> None:
    histories = []
    for pattern in ([3600.0], [0.5] * 7200, [random.Random(9).uniform(0, 30) for _ in range(100)]):
        clock = VirtualClock(START)
        sim = Simulator(agents=40, seed=3, clock=clock, dwell=Dwell.uniform(20))
        advance_in_steps(sim, clock, pattern)
        clock.set(START + 3600)
        histories.append((sim.status_log(), sim.live_agents(), sim.transitions))
    assert histories[0][2] > 1000
    assert histories[0] == histories[1] == histories[2]


def test_different_seeds_differ() -> None:
    logs = []
    for seed in (1, 2):
        clock = VirtualClock(START)
        sim = Simulator(agents=10, seed=seed, clock=clock)
        clock.advance(3600)
        logs.append(sim.status_log())
    assert logs[0] != logs[1]


def test_the_log_opens_with_one_row_per_agent() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=15, seed=4, clock=clock)
    rows = sim.status_log()
    assert [row["agent"] for row in rows] == sim.agent_ids
    assert {row["uts"] for row in rows} == {str(int(START))}
    assert sim.transitions == 0


def test_statuses_and_codes_follow_the_documented_shape() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=30, seed=5, clock=clock, dwell=Dwell.uniform(10))
    clock.advance(3600)
    rows = sim.status_log()
    seen = {(row["status"], row["subcode"]) for row in rows}
    assert {status for status, _ in seen} == {"offline", "wait", "call", "wrap", "break"}
    assert {code for status, code in seen if status == "offline"} == {"Home"}
    assert {code for status, code in seen if status == "break"} == {"Lunch", "Training", "Comfort"}
    previous: dict[str, str] = {}
    allowed = {
        "offline": {"wait"},
        "wait": {"call", "break", "offline"},
        "call": {"wrap"},
        "wrap": {"wait"},
        "break": {"wait"},
    }
    for row in rows:
        if row["agent"] in previous:
            assert row["status"] in allowed[previous[row["agent"]]], row
        previous[row["agent"]] = row["status"]
    callids = [row["callid"] for row in rows if row["status"] == "call"]
    assert len(callids) == len(set(callids))


def implied_by_log(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    latest: dict[str, dict[str, str]] = {}
    for row in rows:
        latest[row["agent"]] = row
    return latest


@pytest.mark.anyio
async def test_live_state_equals_the_log_at_every_time(anyio_backend: str) -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=25, seed=6, clock=clock, dwell=Dwell.uniform(15))
    token = sim.issue_token()
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim/") as http:
        # An agent created through the API is part of the same story.
        await http.post(
            "database.php",
            params=api_params(token, "agents", "create"),
            content=json.dumps([{"name": "Static"}]),
        )
        for step in (0, 1, 7, 30, 45.5, 300, 900):
            clock.advance(step)
            live = json_of(
                await http.get("ajax.php", params=api_params(token, "agents", "read", mode="all"))
            )["list"]
            log = json_of(
                await http.get("database.php", params=api_params(token, "status_log", "read"))
            )["list"]
            implied = implied_by_log(log)
            assert len(live) == len(implied) == 26
            for row in live:
                last = implied[row["uid"]]
                assert row["status"] == last["status"]
                assert row["statuscode"] == last["subcode"]
                assert row["time"] == last["uts"]
                callid = row["call"][0]["callid"] if row["call"] else "0"
                assert callid == last["callid"]
    assert sim.transitions > 100


def test_log_delay_hides_recent_rows_in_uid_order() -> None:
    clock = VirtualClock(START)
    sim = Simulator(agents=20, seed=8, clock=clock, dwell=Dwell.uniform(5), log_delay=30)
    clock.advance(600)
    visible = sim.status_log()
    everything = sim.status_log(visible_only=False)
    assert len(everything) > len(visible) > 20
    assert everything[: len(visible)] == visible  # a prefix: visible in uid order
    now = clock.now()
    assert all(int(row["uts"]) <= now - 30 for row in visible)
    assert int(everything[len(visible)]["uts"]) >= int(now - 30)
    clock.advance(30)
    assert sim.status_log()[: len(everything)] == everything


@pytest.mark.slow
def test_log_retention_keeps_the_newest_rows() -> None:
    clock = VirtualClock(START)
    kept = Simulator(agents=20, seed=9, clock=clock, dwell=Dwell.uniform(2), log_retention=500)
    full = Simulator(agents=20, seed=9, clock=clock, dwell=Dwell.uniform(2))
    clock.advance(3600)
    all_rows = full.status_log()
    assert len(all_rows) > 5000
    assert kept.status_log() == all_rows[-500:]


def test_dwell() -> None:
    assert Dwell.uniform(3) == Dwell(wait=3, call=3, wrap=3, break_=3, offline=3)
    assert Dwell().mean("break") == Dwell().break_
    with pytest.raises(ValueError, match="wait"):
        Dwell(wait=0)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"agents": -1}, "agents"),
        ({"agents": 50_001}, "agents"),
        ({"token_lifetime": 0}, "token_lifetime"),
        ({"log_delay": -1}, "log_delay"),
        ({"log_retention": 0}, "log_retention"),
        ({"ajax_page_limit": 0}, "ajax_page_limit"),
        ({"token_lifetime": math.nan}, "token_lifetime"),  # NaN passed "<= 0"
        ({"token_lifetime": math.inf}, "token_lifetime"),  # token.php get raised
        ({"log_delay": math.nan}, "log_delay"),
        # Not a count: True was one agent, 2.5 failed later in range() with no name.
        ({"agents": True}, "agents"),
        ({"agents": 2.5}, "agents"),
    ],
)
def test_options_are_checked(options: dict[str, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Simulator(**options)  # type: ignore[arg-type]  # the values are right, mypy sees a dict


@pytest.mark.parametrize(
    ("options", "match"),
    [
        # Taken, then the first catch-up past the count raised TypeError midway through
        # a hang-up: the call was in the CDR and its agent on it for ever.
        ({"cdr_retention": 2.5}, "cdr_retention"),
        ({"log_retention": 100.0}, "log_retention"),  # the first status_log read raised
        ({"log_retention": math.nan}, "log_retention"),  # kept every row, silently
        ({"ajax_page_limit": 2.5}, "ajax_page_limit"),  # every ajax read raised
        ({"agents": 2.5}, "agents"),  # "'float' object cannot be interpreted as an integer"
        ({"seed": 1.5}, "seed"),  # "unsupported operand type(s) for &"
        ({"seed": None}, "seed"),
        ({"request_log_size": -1}, "request_log_size"),  # "maxlen must be non-negative"
    ],
)
def test_a_count_that_is_not_a_whole_number_is_refused_when_made(
    options: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=f"{match} must be a whole number"):
        Simulator(clock=VirtualClock(START), **options)  # type: ignore[arg-type]  # wrong on purpose


def test_a_huge_or_negative_seed_is_a_seed() -> None:
    sims = [Simulator(agents=3, seed=seed, clock=VirtualClock(START)) for seed in (2**200, -5)]
    assert all(len(sim.status_log()) == 3 for sim in sims)


@pytest.mark.parametrize("speed", [0, -1, math.nan, math.inf])
def test_a_scaled_clock_runs_forward_at_a_finite_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(speed)


def test_no_agents() -> None:
    sim = Simulator(agents=0, clock=VirtualClock(START))
    assert sim.live_agents() == []
    assert sim.status_log() == []
    assert sim.agent_ids == []


@pytest.mark.parametrize("seconds", [math.nan, math.inf])
def test_a_virtual_clock_refuses_a_step_it_could_not_take(seconds: float) -> None:
    # NaN made every later time NaN (and a live read a ValueError); infinity left the
    # simulator playing events for ever at its next request.
    clock = VirtualClock(START)
    with pytest.raises(ValueError, match="finite"):
        clock.advance(seconds)
    with pytest.raises(ValueError, match="finite"):
        clock.set(seconds)
    with pytest.raises(ValueError, match="finite"):
        VirtualClock(seconds)
    with pytest.raises(ValueError, match="finite"):
        ScaledClock(2.0, start=seconds)
    assert clock.advance(0) == clock.set(START - 5) == START


@pytest.mark.parametrize("seconds", ["5", True, None])
def test_a_virtual_clock_refuses_what_is_not_a_number_of_seconds(seconds: object) -> None:
    # VirtualClock("5") was taken (float() of it); advance("5") raised a bare comparison
    # error and advance(True) moved the clock a second.
    clock = VirtualClock(START)
    with pytest.raises(TypeError, match="seconds"):
        clock.advance(seconds)  # type: ignore[arg-type]  # what is refused
    with pytest.raises(TypeError, match="seconds"):
        clock.set(seconds)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start"):
        VirtualClock(seconds)  # type: ignore[arg-type]
    assert clock.now() == START


@pytest.mark.anyio
async def test_a_virtual_clock_sleeps_for_ever_until_infinity(anyio_backend: str) -> None:
    clock = VirtualClock(START)
    woke = []

    async def sleeper() -> None:
        await clock.sleep_until(math.inf)
        woke.append(clock.now())

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(sleeper)
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert woke == []  # it jumped the clock to infinity, and woke
        tasks.cancel_scope.cancel()
    await clock.sleep_until(math.nan)  # no time to jump to: at once, as a real clock
    assert clock.now() == START


@pytest.mark.parametrize("mean", [1e-8, 0.0, -1.0, math.nan])
def test_a_dwell_shorter_than_a_millisecond_is_refused(mean: float) -> None:
    # Dwell.uniform(1e-8) was taken: below the clock's resolution time stood still, and
    # the first advance of the clock never returned.
    with pytest.raises(ValueError, match=r"Dwell\.wait must be a number of seconds >= 0\.001"):
        Dwell.uniform(mean)
    assert Dwell.uniform(0.001).wait == 0.001


@pytest.mark.parametrize(
    ("options", "match"),
    [
        # Each was taken, then broke far from the option: every token.php get raised
        # AttributeError inside the app ("'int' object has no attribute 'encode'"), or
        # the constructor itself raised AttributeError ("'dict' object has no attribute
        # 'mean'", "'str' object has no attribute 'now'").
        ({"username": 5}, "username"),
        ({"password": None}, "password"),
        ({"account_id": 10278}, "account_id"),
        ({"ccname": None}, "ccname"),
        ({"address_header": 5}, "address_header"),
        ({"clock": "now"}, "clock"),
        ({"clock": VirtualClock}, "clock"),  # the class, not a clock
        ({"dwell": {"wait": 5.0}}, "dwell"),
        ({"record_tz": "Europe/London"}, "record_tz"),
        ({"token_lifetime": "60"}, "token_lifetime"),
        ({"log_delay": "5"}, "log_delay"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_when_made(
    options: dict[str, object], match: str
) -> None:
    with pytest.raises(TypeError, match=match):
        Simulator(**{"clock": VirtualClock(START), **options})  # type: ignore[arg-type]  # wrong on purpose


@pytest.mark.anyio
@pytest.mark.parametrize("app", [Simulator, "contactnow_async.simulator:Simulator", None])
async def test_serve_refuses_what_is_no_simulator(app: object, anyio_backend: str) -> None:
    # serve(Simulator), the class, was taken by uvicorn for an app factory: it served a
    # new default simulator (account demo/demo, on the system clock), not the test's; a
    # string was imported as an app; None failed in the server's thread ("see the log").
    with pytest.raises(TypeError, match="serve"):
        async with serve(app):  # type: ignore[arg-type]  # wrong on purpose
            pass


@pytest.mark.anyio
async def test_serve_on_a_taken_port_names_the_address(sim: Simulator, anyio_backend: str) -> None:
    # It was "[Errno 98] Address already in use": no address, nothing to do about it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port}.*port=0") as raised:
            async with serve(sim, port=port):
                pass
    assert raised.value.errno == errno.EADDRINUSE
