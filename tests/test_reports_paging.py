"""``cn.reports.cdr``'s paging through ``MockTransport``: servers that cap their pages, say
``total`` in either reading, answer a short or empty page before the end, or ignore
``start`` in a window that grows; and the times and page sizes it refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import ContactNow, ResponseFormatError
from contactnow_async.simulator import Simulator, VirtualClock
from tests._helpers import FakeAPI, client_for, json_reply

# The backend changes nothing these tests check: CI runs each on one a run (tests/_backends.py).
pytestmark = [pytest.mark.anyio, pytest.mark.backend_neutral]

CDR = ("reporting", "cdr", "")
ROWS = [{"callid": str(n)} for n in range(1, 2501)]


def capped(
    cap: int, *, total: Callable[[int, list[Any]], Any] = lambda start, page: len(ROWS)
) -> Callable[[httpx.Request], httpx.Response]:
    """A cdr route over :data:`ROWS` that answers at most ``cap`` rows a page, whatever the
    ``limit``; ``total`` is what it says as ``total`` for a page."""

    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        page = ROWS[start : start + min(limit, cap)]
        return json_reply({"success": True, "total": total(start, page), "list": page})

    return route


async def read(
    route: Callable[[httpx.Request], httpx.Response], page_size: int = 1000
) -> tuple[list[str], FakeAPI]:
    api = FakeAPI({CDR: route})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with anyio.fail_after(10):
            found = await cn.reports.cdr_list("callid", start=0, stop=10, page_size=page_size)
    return [row.call_id for row in found], api


def starts(api: FakeAPI) -> list[int]:
    return [
        int(r.url.params["start"]) for r in api.requests if r.url.path.endswith("/reporting.php")
    ]


async def test_a_page_the_server_cut_short_is_not_the_end_while_total_says_more() -> None:
    got, api = await read(capped(500))
    assert got == [row["callid"] for row in ROWS]
    assert starts(api) == [0, 500, 1000, 1500, 2000]


@pytest.mark.parametrize("empty", [[], None], ids=["empty-list", "null-list"])
async def test_an_empty_page_before_total_is_an_error_not_a_partial_window(
    empty: list[Any] | None,
) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        page = ROWS[start : start + limit] if start < 1000 else empty
        return json_reply({"success": True, "total": 2500, "list": page})

    with pytest.raises(ResponseFormatError, match=r"1000 of 2500 rows"):
        await read(route)


@pytest.mark.parametrize("total", [-1, -2500, 2.5, "2.5", "many"])
async def test_a_total_that_is_not_a_count_is_an_error(total: Any) -> None:
    with pytest.raises(ResponseFormatError, match="total"):
        await read(capped(500, total=lambda start, page: total))


async def test_a_total_that_counts_the_page_does_not_end_a_full_page() -> None:
    # The envelope's "records affected or returned": a server whose total is the page's
    # own row count. A full page with total == page_size is not the end of the window.
    got, api = await read(capped(10_000, total=lambda start, page: len(page)))
    assert got == [row["callid"] for row in ROWS]
    assert starts(api) == [0, 1000, 2000]


async def test_a_window_of_exactly_one_page_ends_on_the_empty_page_after_it() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        return json_reply(
            {"success": True, "total": 1000, "list": ROWS[:1000][start : start + limit]}
        )

    got, api = await read(route)
    assert len(got) == 1000 and starts(api) == [0, 1000]


async def test_without_total_a_short_page_still_ends_the_read() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        return json_reply({"success": True, "list": ROWS[start : start + min(limit, 500)]})

    got, api = await read(route)
    assert len(got) == 500 and starts(api) == [0]  # no total: nothing says there is more


@pytest.mark.parametrize("says_total", [True, False], ids=["total", "no-total"])
async def test_a_server_ignoring_start_in_a_growing_window_is_an_error(says_total: bool) -> None:
    # Newest first, one new call per request, and every request answered from the top:
    # each page is one new row and 999 repeats. Accepting it read a fraction of the window.
    state = {"newest": 3000}

    def route(request: httpx.Request) -> httpx.Response:
        state["newest"] += 1
        ids = range(state["newest"], state["newest"] - 1000, -1)
        body: dict[str, Any] = {"success": True, "list": [{"callid": str(n)} for n in ids]}
        if says_total:
            body["total"] = state["newest"]
        return json_reply(body)

    with pytest.raises(ResponseFormatError, match="start=1000"):
        await read(route)


async def test_a_window_filling_newest_first_is_read_once_each() -> None:
    # The legitimate case beside the one above: start is honoured, one call lands at the
    # front before each request; the rows it pushes on repeat, and are not yielded twice.
    state = {"ids": [str(n) for n in range(2500, 0, -1)]}

    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        state["ids"].insert(0, str(int(state["ids"][0]) + 1))
        ids = state["ids"]
        page = [{"callid": callid} for callid in ids[start : start + limit]]
        return json_reply({"success": True, "total": len(ids), "list": page})

    got, api = await read(route)
    assert len(got) == len(set(got))
    # Every call, those that landed ahead of the read too: one catch-up page from the top.
    assert set(got) == set(state["ids"]) and len(got) == 2504
    assert starts(api) == [0, 1000, 2000, 0]


MS = 1_700_000_000_000  # a unix time in milliseconds


def _calls(cn: ContactNow, **times: Any) -> Any:
    return cn.reports.calls("nc_all", group_by="qid", **times)


def _cdr(cn: ContactNow, **times: Any) -> Any:
    return cn.reports.cdr_list("callid", **times)


def _agents(cn: ContactNow, **times: Any) -> Any:
    return cn.reports.agents(**times)


def _status_log(cn: ContactNow, **times: Any) -> Any:
    return cn.status_log.read(tstart=times["start"], tstop=times["stop"])


@pytest.mark.parametrize("call", [_calls, _cdr, _agents, _status_log])
@pytest.mark.parametrize(
    ("start", "stop", "match"),
    [
        (MS, MS + 3_600_000, "milliseconds"),
        (0, MS, "milliseconds"),
        (0, 253_402_300_800, "9999"),  # the first second of the year 10000
        (0, 1e300, "9999"),
        (-1, 10, "1970"),
    ],
)
async def test_a_time_outside_1970_to_9999_is_refused_before_sending(
    call: Callable[..., Any], start: Any, stop: Any, match: str
) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match=match):
            await call(cn, start=start, stop=stop)
    assert api.requests == []


async def test_the_edges_of_the_time_range_are_sent() -> None:
    seen: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["range"])
        return json_reply({"success": True, "total": 0, "list": []})

    api = FakeAPI({CDR: route})
    cn, http = client_for(api)
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    async with http, cn:
        await cn.reports.cdr_list("callid", start=0, stop=253_402_300_799)
        await cn.reports.cdr_list(
            "callid", start=datetime(1970, 1, 1, tzinfo=timezone.utc), stop=end
        )
    assert seen == ["0:253402300799", "0:253402300799"]


@pytest.mark.parametrize(
    ("page_size", "error"),
    [
        (1.7, TypeError),
        (1000.0, TypeError),
        ("1000", TypeError),
        (True, TypeError),
        (0, ValueError),
        (-5, ValueError),
        (100_001, ValueError),
    ],
)
async def test_a_page_size_that_is_not_a_whole_count_of_rows_is_refused(
    page_size: Any, error: type[Exception]
) -> None:
    api = FakeAPI()
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(error, match="page_size"):
            cn.reports.cdr("callid", start=0, stop=1, page_size=page_size)
    assert api.requests == []


@pytest.mark.parametrize("says_total", [True, False], ids=["total", "no-total"])
@pytest.mark.parametrize("missing", [None, "", " "], ids=["null", "empty", "blank"])
async def test_a_row_without_its_callid_is_an_error_not_a_repeat(
    says_total: bool, missing: str | None
) -> None:
    # A row is told from the page before's by its callid: two rows without one, a page
    # apart, were one repeated row (the second dropped, or the server said not to page).
    pages = {0: ["1", missing, "2", "3"], 4: [missing, "5", "6"]}

    def route(request: httpx.Request) -> httpx.Response:
        page = [{"callid": callid} for callid in pages[int(request.url.params["start"])]]
        body: dict[str, Any] = {"success": True, "list": page}
        if says_total:
            body["total"] = 7
        return json_reply(body)

    with pytest.raises(ResponseFormatError, match="callid"):
        await read(route, page_size=4)


@pytest.mark.parametrize("says_total", [True, False], ids=["total-too-high", "no-total"])
async def test_a_server_cycling_through_the_same_pages_is_an_error_not_an_endless_read(
    says_total: bool,
) -> None:
    # Full pages A, B, A, B...: each differs from the one before, so no row repeats the
    # page before; without a total that ends it (or with one it never reaches), the read
    # went on for ever, yielding the same calls again and again.
    pages = [[{"callid": f"{name}{n}"} for n in range(1000)] for name in "AB"]

    def route(request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = {
            "success": True,
            "list": pages[int(request.url.params["start"]) // 1000 % 2],
        }
        if says_total:
            body["total"] = 10**9
        return json_reply(body)

    with pytest.raises(ResponseFormatError, match=r"start=2000.*same calls as the page at start=0"):
        await read(route)


class _Busy(httpx.AsyncBaseTransport):
    """The simulator's transport, its clock moving ``step`` seconds before each CDR page:
    calls end (and reach the CDR) while the read pages through a window still filling."""

    def __init__(self, sim: Simulator, clock: VirtualClock, step: float) -> None:
        self._inner, self._clock, self.step = sim.transport(), clock, step

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("method") == "cdr" and "limit" in request.url.params:
            self._clock.advance(self.step)
        return await self._inner.handle_async_request(request)


@pytest.mark.parametrize("sort", [None, "sec_que", ["aid", "callid"]])
async def test_a_window_filling_while_it_is_paged_is_read_whole_on_the_simulator(
    sort: str | list[str] | None,
) -> None:
    # Calls reach the CDR when they end, and are listed by when they began (or by the
    # sort): a call ending mid-read lands ahead of the offset. The read used to end
    # without them (145 of 150 calls, none said missing).
    clock = VirtualClock(1_700_000_000)
    sim = Simulator(username="u", password="pw", agents=20, seed=5, clock=clock)
    clock.advance(3600)
    start, stop = 1_700_000_000, 1_700_000_000 + 7200  # an hour on into the future
    busy = _Busy(sim, clock, 120)
    async with (
        httpx.AsyncClient(transport=busy) as http,
        ContactNow(username="u", password="pw", base_url="http://sim/", http_client=http) as cn,
    ):
        with anyio.fail_after(30):
            pages = cn.reports.cdr("callid", start=start, stop=stop, page_size=20, sort=sort)
            got = [row.call_id async for row in pages]
            busy.step = 0  # the window as it stands when the read ended
            whole = await cn.reports.cdr_list("callid", start=start, stop=stop, page_size=100_000)
    assert len(got) == len(set(got))
    assert set(got) == {row.call_id for row in whole} and len(got) > 100


async def test_a_window_growing_ahead_faster_than_it_is_read_is_an_error_not_a_chase() -> None:
    # Five calls land at the front before each request of three rows: every pass from the
    # top finds new calls and falls further behind. The read gives up, saying how far.
    state = {"ids": [str(n) for n in range(6, 0, -1)]}

    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        newest = int(state["ids"][0])
        state["ids"][:0] = [str(n) for n in range(newest + 5, newest, -1)]
        page = [{"callid": callid} for callid in state["ids"][start : start + limit]]
        return json_reply({"success": True, "total": len(state["ids"]), "list": page})

    with pytest.raises(
        ResponseFormatError, match=r"grows faster than it is read: \d+ of its \d+ calls"
    ):
        await read(route, page_size=3)


async def test_a_total_counting_a_call_twice_ends_after_one_pass_finds_nothing_new() -> None:
    # Four rows, one call listed twice: three calls, never the four the total says. One
    # pass from the top finds no call not read, and the read ends with the three.
    rows = [{"callid": callid} for callid in ["1", "2", "2", "3"]]

    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        return json_reply({"success": True, "total": 4, "list": rows[start : start + limit]})

    got, api = await read(route, page_size=3)
    assert got == ["1", "2", "3"]
    assert starts(api) == [0, 3, 0, 3]


async def test_calls_landing_behind_every_page_end_the_read_after_three_passes() -> None:
    # A call lands just behind the offset of each page after the first: each pass from
    # the top finds the calls the pass before missed, and misses new ones itself.
    ids, new = [str(n) for n in range(1, 26)], iter(range(100, 200))

    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        if start:
            ids.insert(start - 1, str(next(new)))
        page = [{"callid": callid} for callid in ids[start : start + limit]]
        return json_reply({"success": True, "total": len(ids), "list": page})

    with pytest.raises(ResponseFormatError, match=r"of its \d+ calls read after 3 passes"):
        await read(route, page_size=10)


@pytest.mark.parametrize(
    "total",
    [
        pytest.param(lambda start, page: 2500 if start == 0 else 1500, id="shrinks-mid-read"),
        pytest.param(lambda start, page: 700, id="below-the-first-page"),
        pytest.param(lambda start, page: 1, id="one"),
    ],
)
async def test_a_total_below_the_rows_its_own_page_ends_at_does_not_end_the_read(
    total: Callable[[int, list[Any]], Any],
) -> None:
    # A full page whose total is fewer rows than the read holds by its end: that total
    # counts no window (which cannot be shorter than what was read of it). The read ended
    # there, 1000 or 2000 calls of the 2500 read and the rest dropped without a word.
    got, api = await read(capped(10_000, total=total))
    assert got == [row["callid"] for row in ROWS]
    assert starts(api) == [0, 1000, 2000]


async def test_a_total_said_by_the_first_page_alone_still_pages_to_it() -> None:
    # A server that counts the window for the first page only (start=0), and caps its
    # pages at 500: the second page, short and silent, ended the read at 1000 of 2500.
    got, api = await read(capped(500, total=lambda start, page: len(ROWS) if start == 0 else None))
    assert got == [row["callid"] for row in ROWS]
    assert starts(api) == [0, 500, 1000, 1500, 2000]


@pytest.mark.parametrize("says", [None, 0], ids=["no-total", "total-0"])
async def test_an_empty_page_silent_on_the_window_is_an_error_before_its_total(
    says: int | None,
) -> None:
    # The page before said 2500 rows: an empty page at 1000 that says nothing of the
    # window (or 0, its own rows) ended the read with 1000 of them, without a word.
    def route(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        if start >= 1000:
            return json_reply({"success": True, "total": says, "list": []})
        return json_reply({"success": True, "total": 2500, "list": ROWS[start : start + limit]})

    with pytest.raises(ResponseFormatError, match=r"1000 of 2500 rows"):
        await read(route)
