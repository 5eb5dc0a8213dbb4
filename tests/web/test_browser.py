"""The page in a real browser: headless Chromium (Debian's ``chromium``, driven through
``chromium-driver`` by ``_webdriver``) against ``contactnow --simulate serve``, and
against ``contactnow serve --redis`` without API credentials (no queue panel).

Set ``CONTACTNOW_WALLBOARD_SCREENSHOT=docs/wallboard.png`` to save the page as the
README shows it.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import re
import shutil
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from contactnow_async.web import Wallboard

from ._served import REPO, served_in_thread, serving
from ._support import HandSource
from ._webdriver import Browser, WebDriverError, chrome_session

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

#: Chromium's flags for a root user on a closed network (no sandbox, no calls home).
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)

STATUSES = """return Object.fromEntries([...document.querySelectorAll('#agents tbody tr')]
    .map((row) => [row.dataset.agentId, row.dataset.status]))"""

COUNTS = """return [
    [...document.querySelectorAll('#counts .count b')]
        .reduce((n, b) => n + Number(b.textContent), 0),
    document.querySelectorAll('#agents tbody tr').length,
    document.getElementById('agent-total').textContent]"""

QUEUES = """return document.getElementById('queues').hidden ? null
    : [...document.querySelectorAll('#queue-rows tr')].map((row) =>
        [...row.cells].map((cell) => cell.textContent))"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """A headless Chromium, or a skip saying what to install (a failure in CI)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        reason = (
            "chromium and chromium-driver are not installed "
            "(apt-get install -y chromium chromium-driver)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the browser test")
        pytest.skip(reason)
    with chrome_session(driver=driver, binary=browser, args=FLAGS) as session:
        yield session


def statuses(page: Browser) -> dict[str, str]:
    return cast("dict[str, str]", page.execute_script(STATUSES))


def queue_rows(page: Browser) -> list[list[str]]:
    """The queue panel's rows as their cells' text (none while the panel is hidden)."""
    return cast("list[list[str]]", page.execute_script(QUEUES) or [])


def test_the_page_shows_the_agents_and_a_status_changing(chromium: Browser) -> None:
    with serving() as served:
        chromium.get(served.url)
        chromium.until(20, lambda page: len(statuses(page)) > 0)
        first = statuses(chromium)
        # At 60 simulated seconds a second, a few simulated minutes are a few seconds.
        chromium.until(
            20,
            lambda page: any(statuses(page).get(a, s) != s for a, s in first.items()),
        )
        assert chromium.find("#connection").attribute("data-state") == "live"
        counted, rows, total = chromium.execute_script(COUNTS)  # one moment: events re-render
        assert counted == rows
        assert total == f"{rows} agents"
        # Time in status ticks in the page, at the simulator's pace.
        clock = chromium.find("#agents tbody tr td.time")
        before = clock.text
        chromium.until(5, lambda _: clock.text != before)
        assert not chromium.find("#login").displayed  # no token to ask for
        # The queue KPIs, read from the reports: a row per inbound queue with calls today
        # (the simulated centre's three, within a few simulated minutes).
        shown = chromium.until(
            20, lambda page: panel if len(panel := queue_rows(page)) == 3 else None
        )
        served_kpis = httpx.get(served.url + "kpis", timeout=10).json()
        assert served_kpis["stale"] is False
        assert [row[0] for row in shown] == [
            f"{q['queue_id']} {q['name']}" for q in served_kpis["queues"]
        ]
        for (name, calls, answered, abandoned, level, wait), served_queue in zip(
            shown, served_kpis["queues"], strict=True
        ):
            assert re.fullmatch(r"\d+ .+ Inbound", name), name
            assert int(answered) + int(abandoned) <= int(calls), (calls, answered, abandoned)
            assert re.fullmatch(r"\d{1,3}%|-", level), level
            share = served_queue["service_level"]
            if [int(calls), int(answered)] == [served_queue["calls"], served_queue["answered"]]:
                # The same figures (no refresh in between): the level rounded down, never up.
                assert level == ("-" if share is None else f"{math.floor(share * 100 + 1e-9)}%")
            assert re.fullmatch(r"(\d+:)?\d\d:\d\d|-", wait), wait
        note = chromium.find("#queue-note").text
        assert "answered within 20 s" in note and "stale" not in note
        screenshot = os.environ.get("CONTACTNOW_WALLBOARD_SCREENSHOT")
        if screenshot:  # for the README: a busier morning than the test needs
            chromium.until(60, lambda page: sum(int(row[1]) for row in queue_rows(page)) >= 15)
            chromium.save_screenshot(REPO / Path(screenshot))


def test_the_page_rounds_a_service_level_down(chromium: Browser) -> None:
    # The page's own percent(), run by the browser: 199 calls of 200 within the cutoff
    # showed 100%, as if none had waited longer (the demo's panel rounds down too).
    page = (REPO / "contactnow_async" / "web" / "wallboard.html").read_text(encoding="utf-8")
    (function,) = re.findall(r"^ *function percent\(share\) \{.*\}$", page, flags=re.M)
    shown = chromium.execute_script(
        f"{function} return [0.995, 0.29, 0.57, 1, 0.004, null].map(percent);"
    )
    assert shown == ["99%", "29%", "57%", "100%", "0%", "-"]


def test_the_page_shows_no_time_in_status_for_an_agent_without_a_start(
    chromium: Browser,
) -> None:
    # A live row without a start time is started_ts 0 (LiveAgent's time_in_status is 0):
    # the page showed the hours since 1970 ("472222:13:20") as its time in status.
    source = HandSource(agents=("1", "2"))
    source.agents["2"]["started_ts"] = 0
    wallboard = Wallboard(source)  # type: ignore[arg-type]  # HandSource is a Source
    with served_in_thread(wallboard) as url:
        chromium.get(url)
        times = """return Object.fromEntries([...document.querySelectorAll('#agents tbody tr')]
            .map((row) => [row.dataset.agentId, row.cells[3].textContent]))"""
        shown = chromium.until(
            10, lambda page: found if len(found := page.execute_script(times)) == 2 else None
        )
        chromium.get("about:blank")  # the stream ends before the server does
    assert re.fullmatch(r"(\d+:)?\d\d:\d\d", shown["1"]), shown
    assert shown["2"] == "-", shown


def test_the_page_s_own_agent_filter_takes_lists_as_the_events_do(chromium: Browser) -> None:
    # /page?agent=1,3 streamed agents 1 and 3 (/events splits a comma list) but kept
    # none of the snapshot's agents ("1,3" is no agent id): an empty board until a change.
    source = HandSource(agents=("1", "2", "3", "4"))
    with served_in_thread(Wallboard(source)) as url:  # type: ignore[arg-type]  # a Source
        chromium.get(url + "?agent=1,%203&agent=4")
        shown = chromium.until(10, lambda page: found if len(found := statuses(page)) else None)
        chromium.get("about:blank")  # the stream ends before the server does
    assert sorted(shown) == ["1", "3", "4"]


def test_the_page_reads_a_token_in_its_fragment_as_written(chromium: Browser) -> None:
    # The page's own fragmentToken(), run by the browser: a "+" is a "+" (URLSearchParams
    # made it a space), escapes are undone, a "%" that starts none stays.
    page = (REPO / "contactnow_async" / "web" / "wallboard.html").read_text(encoding="utf-8")
    (function,) = re.findall(r"^ *function fragmentToken\(hash\) \{.*?^  \}$", page, re.M | re.S)
    shown = chromium.execute_script(
        f"{function} return ['#token=a+b/c==', '#token=j%C3%A9t%2Bn', '#token=100%',"
        " '#x=1&token=t&y=2', '#token=', '#other=1', ''].map(fragmentToken);"
    )
    assert shown == ["a+b/c==", "jét+n", "100%", "t", None, None, None]


def test_the_page_groups_a_status_named_like_an_object_s_own_property_as_other(
    chromium: Browser,
) -> None:
    # The page's own groupOf(), run by the browser: GROUPS[status] read an Object's
    # prototype too, so a status "constructor" (the API's text, untrusted) was grouped as
    # the function Object: its count chip read "function Object() { [native code] }",
    # NaN, and the agent was counted in no group.
    page = (REPO / "contactnow_async" / "web" / "wallboard.html").read_text(encoding="utf-8")
    (groups,) = re.findall(r"^ *const GROUPS = \{.*?\};$", page, re.M | re.S)
    (function,) = re.findall(r"^ *function groupOf\(status\) \{.*?^  \}$", page, re.M | re.S)
    shown = chromium.execute_script(
        f"{groups} {function} return ['constructor', '__proto__', 'toString', 'hasOwnProperty',"
        " 'Wait', 'call', 'Lunch', 'on hold'].map(groupOf);"
    )
    assert shown == ["other"] * 4 + ["wait", "call", "break", "other"]


def test_the_page_renews_its_stream_before_the_stream_token_expires(chromium: Browser) -> None:
    # A stream ends when its stream token expires (a leaked one must not read for ever).
    # The page waited for that end and showed "reconnecting" for a few seconds at every
    # expiry (every 10 minutes by default); it now opens the next stream before, from its
    # last id. The page's timer and the token's expiry are both real time: an 8-second
    # token (7 to 8 s left, expiry counted in whole seconds) is renewed at 80% of what is
    # left, 1.4 s or more before it ends, which a starved renderer does not use up (a
    # 2-second one left 0.4 s at best). Renewed late, the page shows "reconnecting" first.
    source = HandSource(agents=("1", "2"))
    wallboard = Wallboard(source, auth_token="renew-T0ken", stream_token_ttl=8, heartbeat=0.5)  # type: ignore[arg-type]  # a Source
    streams: list[str] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/events":
            streams.append(scope["path"])
            loops.append(asyncio.get_running_loop())
        await wallboard(scope, receive, send)

    states = """const el = document.getElementById('connection');
        window.seenStates = [el.dataset.state];
        new MutationObserver(() => window.seenStates.push(el.dataset.state))
            .observe(el, { attributes: true, attributeFilter: ['data-state'] });"""
    with served_in_thread(counted) as url:
        chromium.get(url + "#token=renew-T0ken")
        chromium.until(10, lambda page: page.find("#connection").attribute("data-state") == "live")
        chromium.execute_script(states)
        # The next stream, opened by the page's timer; bounded only against a hang.
        chromium.until(60, lambda page: len(streams) == 2)
        loops[0].call_soon_threadsafe(source.publish, "1", "call")
        chromium.until(10, lambda page: statuses(page).get("1") == "call")  # through it
        seen = chromium.execute_script("return window.seenStates")
        shown = statuses(chromium)
        chromium.get("about:blank")  # the stream ends before the server does
    assert set(seen) == {"live"}, seen
    assert sorted(shown) == ["1", "2"]
    assert len(streams) == 2, streams


def test_chromedriver_s_refusals_come_out_with_its_message(chromium: Browser) -> None:
    # What chromedriver said, for the failing test's report (not a KeyError on its JSON).
    with pytest.raises(WebDriverError, match=r"no such element.*#nowhere"):
        chromium.find("#nowhere")
    with pytest.raises(WebDriverError, match=r"javascript error.*the page's own"):
        chromium.execute_script('throw new Error("the page\'s own")')


@pytest.mark.redis
def test_a_redis_board_without_api_credentials_shows_no_queue_panel(
    chromium: Browser, redis_url: str
) -> None:
    stream = f"wallboard-test:{uuid.uuid4().hex}"
    with serving("--redis", redis_url, "--stream", stream, simulate=False) as served:
        assert any("no queue KPIs" in line for line in served.banner)
        assert httpx.get(served.url + "kpis", timeout=10).status_code == 404
        chromium.get(served.url)
        chromium.until(
            10,
            lambda page: page.find("#connection").attribute("data-state") == "live",
        )
        assert chromium.find("#empty").displayed  # no agent yet
        assert not chromium.find("#queues").displayed  # no made-up KPIs
        chromium.get("about:blank")  # the stream ends before the server does


def test_with_a_token_the_page_asks_for_it_and_streams_with_a_stream_token(
    chromium: Browser,
) -> None:
    # Beyond Latin-1 too: fetch() refused such a token in a header, and the page showed
    # "reconnecting" for ever. It sends the token's UTF-8, which the server reads back.
    # A "+" (base64's, as `openssl rand -base64` makes) pasted into #token= as it is: the
    # page read it as a space, as in a query, and asked for the token.
    token = "browser-T0ken+jetón-東京/="
    with serving(token=token) as served:
        assert any("CONTACTNOW_WEB_TOKEN" in line for line in served.banner)
        assert all(token not in line for line in served.banner)
        chromium.get(served.url + "#token=" + urllib.parse.quote(token, safe="+/="))
        chromium.until(20, lambda page: len(statuses(page)) > 0)
        assert chromium.execute_script("return location.hash") == ""  # not left in the bar
        chromium.until(
            10,
            lambda page: page.find("#connection").attribute("data-state") == "live",
        )
        # A new visitor, without the token: the page asks for it, and then works.
        chromium.execute_script("sessionStorage.clear()")
        chromium.get(served.url)
        login = chromium.find("#login")
        chromium.until(10, lambda _: login.displayed)
        chromium.find("#token").send_keys(token)
        login.submit()
        chromium.until(20, lambda page: len(statuses(page)) > 0)


def test_the_page_opens_one_stream_for_a_stream_token_good_for_months(
    chromium: Browser,
) -> None:
    # The page renews its stream at 80% of the stream token's life with setTimeout, whose
    # delay is a 32-bit count of milliseconds: past 24.8 days (a ttl the server accepts,
    # up to 1e9 s) it ran at once, and the page reopened its stream in a loop, asking
    # /stream-token for a new token each time, never "live" for more than a moment.
    source = HandSource(agents=("1", "2"))
    wallboard = Wallboard(source, auth_token="months-T0ken", stream_token_ttl=1e8)  # type: ignore[arg-type]  # a Source
    grants: list[str] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/stream-token":
            grants.append(scope["path"])
            loops.append(asyncio.get_running_loop())
        await wallboard(scope, receive, send)

    with served_in_thread(counted) as url:
        chromium.get(url + "#token=months-T0ken")
        chromium.until(10, lambda page: page.find("#connection").attribute("data-state") == "live")
        # An event through the stream: the page has had time for another round by then.
        loops[0].call_soon_threadsafe(source.publish, "1", "call")
        chromium.until(10, lambda page: statuses(page).get("1") == "call")
        chromium.get("about:blank")  # the stream ends before the server does
    assert len(grants) == 1, grants


def test_a_page_reset_again_and_again_waits_longer_before_each_snapshot(
    chromium: Browser,
) -> None:
    # A reset makes the page refetch /snapshot, the server's largest reply. A board too
    # slow for its stream is reset again as soon as it is back: it refetched in a loop,
    # as fast as the network went. Resets one after another now wait 1 s, then 2 s...
    # Three resets, each as soon as the page's stream is back: the waits are the page's
    # own (real time), so they are checked as lower bounds, which a loaded machine only
    # lengthens, and the page's "catching up" texts say which wait it chose.
    source = HandSource(agents=("1", "2"))
    wallboard = Wallboard(source)  # type: ignore[arg-type]  # a Source
    snapshots: list[float] = []
    resets = 0  # still to send, one as each stream opens (set on the server's loop)
    loops: list[asyncio.AbstractEventLoop] = []

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/snapshot":
            snapshots.append(time.monotonic())
            loops.append(asyncio.get_running_loop())
        if scope["type"] != "http" or scope["path"] != "/events":
            await wallboard(scope, receive, send)
            return

        async def reset_once_open(message: Any) -> None:
            nonlocal resets
            await send(message)
            if message["type"] == "http.response.start" and resets:  # the viewer has joined
                resets -= 1
                wallboard.board.reset("lagging")

        await wallboard(scope, receive, reset_once_open)

    def start_resets() -> None:
        nonlocal resets
        resets = 2  # after this one
        wallboard.board.reset("lagging")

    texts = """const el = document.getElementById('connection');
        window.seenTexts = [];
        new MutationObserver(() => window.seenTexts.push(el.textContent))
            .observe(el, { childList: true, characterData: true, subtree: true });"""
    with served_in_thread(counted) as url:
        chromium.get(url)
        chromium.until(10, lambda page: page.find("#connection").attribute("data-state") == "live")
        chromium.execute_script(texts)
        loops[0].call_soon_threadsafe(start_resets)
        # The page load's snapshot and one a reset; bounded only against a hang.
        chromium.until(60, lambda page: len(snapshots) == 4)
        chromium.until(60, lambda page: page.find("#connection").attribute("data-state") == "live")
        shown = chromium.execute_script("return window.seenTexts")
        chromium.get("about:blank")  # the stream ends before the server does
    assert len(snapshots) == 4, snapshots  # one refetch a reset, none more
    # The first reset's refetch at once (no wait shown), then after 1 s, then after 2 s.
    waits = [text for text in shown if text.startswith("catching up")]
    assert waits == ["catching up in 1 s", "catching up in 2 s"], shown
    gaps = [later - earlier for earlier, later in itertools.pairwise(snapshots[1:])]
    assert gaps[0] >= 0.95 and gaps[1] >= 1.95, gaps  # a timer ends late, never early
