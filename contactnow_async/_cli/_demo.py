"""``contactnow demo``: a live wallboard over the embedded simulator, or one line per event.

The wallboard shows the agents (polled every ``--interval`` by a watcher) and, above
them, every inbound queue (0 calls until its first): calls today, answered, abandoned
and the service level at ``--cutoff`` seconds from ``reports.calls``, refreshed every
``--queue-interval`` seconds (reports are heavier than a live poll), and the longest an
available agent of each queue has waited now (API v2 shows a caller in a queue only once
the call has ended, in the CDR: the live wait it can show is the agents').
``contactnow_async.kpis`` defines these figures, for the web wallboard too.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from typing import Any

import anyio
import click
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .. import (
    AgentEvent,
    AgentWatcher,
    ContactNow,
    LiveAgent,
    ScaledClock,
)
from ..kpis import AVAILABLE, QueueKpis
from ..simulator import Dwell, FaultKind, Simulator, serve
from ._common import (
    MAX_SPEED,
    SIM_PASSWORD,
    SIM_USERNAME,
    FiniteFloatRange,
    Settings,
    console,
    cutoff_option,
    run,
)
from ._simulate import require_sim_extra
from ._text import printable
from ._watch import event_line

#: The wallboard's groups: a status belongs to the first group whose names hold it.
GROUPS: tuple[tuple[str, frozenset[str], str], ...] = (
    ("available", AVAILABLE, "green"),
    ("on call", frozenset({"call", "talk", "ringing", "dialling"}), "bold cyan"),
    ("wrap", frozenset({"wrap", "wrapup"}), "yellow"),
    ("break", frozenset({"break", "away", "pause", "lunch"}), "magenta"),
    ("offline", frozenset({"offline", "loggedout"}), "dim"),
)
_FEED = 8
_DEMO_FAULTS = (
    FaultKind.HTTP_500,
    FaultKind.HTTP_503,
    FaultKind.MALFORMED,
    FaultKind.TRUNCATED,
    FaultKind.DROP_BEFORE,
)


def group_of(status: str) -> tuple[str, str]:
    """The wallboard group and colour of a status (unknown statuses are their own group)."""
    for name, members, style in GROUPS:
        if status.lower() in members:
            return name, style
    return status, "white"


def _natural_order(agent: LiveAgent) -> tuple[Any, ...]:
    """Agent 2 before Agent 10: names compared with their numbers as numbers."""
    parts = re.split(r"(\d+)", agent.name or agent.agent_id)
    return (
        # isdecimal, not isdigit: "²" is a digit int() cannot read.
        tuple(
            (0, int(part), "") if part.isdecimal() else (1, 0, part.casefold()) for part in parts
        ),
        agent.agent_id,
    )


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02}:{rest % 60:02}" if hours else f"{rest // 60:02}:{rest % 60:02}"


@click.command()
@click.option(
    "--agents",
    type=click.IntRange(1, 50_000),
    default=25,
    show_default=True,
    help="Agents in the simulated centre.",
)
@click.option(
    "--speed",
    type=FiniteFloatRange(0.01, MAX_SPEED),
    default=10.0,
    show_default=True,
    help="Simulated seconds per second.",
)
@click.option(
    "--interval",
    type=FiniteFloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls.",
)
@click.option("--backfill", is_flag=True, help="Gap-free events from status_log.")
@click.option(
    "--duration", type=FiniteFloatRange(min=0), default=None, help="Stop after this many seconds."
)
@click.option(
    "--faults",
    type=FiniteFloatRange(0, 1),
    default=0.0,
    help="Fail this share of requests, to show resilience.",
)
@click.option(
    "--queue-interval",
    type=FiniteFloatRange(min=1),
    # Not serve's 20: the centre runs 10x here, and the embedded simulator has no rate to
    # spare; at 20 the panel said "no calls yet" for the demo's first 20 seconds.
    default=5.0,
    show_default=True,
    help="Seconds between refreshes of the queue panel (reports.calls).",
)
@cutoff_option
@click.pass_obj
def demo(settings: Settings, /, **options: Any) -> None:
    """A live wallboard of a simulated contact centre (no account needed)."""
    require_sim_extra("the demo")
    run(settings, lambda: run_demo(console=console, **options))


async def run_demo(
    *,
    agents: int,
    speed: float,
    interval: float,
    backfill: bool,
    duration: float | None,
    faults: float,
    console: Console,
    queue_interval: float = 5.0,
    cutoff: int = 20,
) -> None:
    """Start the simulator on 127.0.0.1, watch it over HTTP, show what changes."""
    sim = Simulator(
        username=SIM_USERNAME,
        password=SIM_PASSWORD,
        agents=agents,
        seed=1,
        clock=ScaledClock(speed),
        dwell=Dwell(),
        record_requests=False,
        log_retention=200_000,
    )
    if faults:
        sim.faults.set_rate(faults, _DEMO_FAULTS, seed=1)
    deadline = anyio.move_on_after(duration)  # None: no deadline; 0: stop at once
    async with (
        serve(sim) as base_url,
        ContactNow(
            base_url=base_url,
            username=SIM_USERNAME,
            password=SIM_PASSWORD,
            max_retries=0 if faults else 2,
            retry_backoff=0.1,
        ) as client,
    ):
        with deadline:
            async with AgentWatcher(
                client, interval=interval, include_offline=True, backfill=backfill
            ) as watcher:
                events = watcher.subscribe(overflow="drop_oldest", buffer=10_000)
                if console.is_terminal:
                    panel = QueuePanel(QueueKpis(client, cutoff=cutoff, clock=sim.clock))
                    await _wallboard(
                        watcher,
                        events,
                        console,
                        speed=speed,
                        url=base_url,
                        panel=panel,
                        queue_interval=queue_interval,
                    )
                else:
                    async for event in events:
                        console.print(
                            event_line(event), markup=False, highlight=False, soft_wrap=True
                        )


def percent_text(share: float) -> str:
    """``share`` as whole percent, rounded down: 199 calls of 200 within the cutoff are 99%,
    not a 100% that says none waited longer (the wallboard page's rule too)."""
    return f"{math.floor(share * 100 + 1e-9)}%"  # 1e-9: 0.29 * 100 is 28.999999999999996


class QueuePanel:
    """The inbound queues' figures today and their agents' wait (:mod:`..kpis` defines them)."""

    def __init__(self, kpis: QueueKpis) -> None:
        self.kpis = kpis

    async def refresh(self) -> None:
        """Read today's figures; a failed read keeps the last ones, marked in the title."""
        await self.kpis.refresh()

    def render(self, agents: list[LiveAgent], now: float) -> Table:
        """The table, with each queue's longest wait at ``now`` (the centre's time)."""
        kpis = self.kpis
        table = Table(expand=True, show_edge=False, pad_edge=False)
        title = f"queues today (service level: answered within {kpis.cutoff}s)"
        table.title = f"{title}  [refresh failed: {kpis.error}]" if kpis.stale else title
        for column in ("queue", "calls", "answered", "abandoned", "service level"):
            table.add_column(column, justify="left" if column == "queue" else "right")
        table.add_column("longest wait now", justify="right")
        since = kpis.waiting_since((a.agent_id, a.status, a.started_ts) for a in agents)
        for queue in kpis.queues or ():
            level = queue.service_level
            began = since.get(queue.queue_id)
            table.add_row(
                Text(printable(f"{queue.queue_id} {queue.name}")),
                str(queue.calls),
                str(queue.answered),
                str(queue.abandoned),
                "-" if level is None else percent_text(level),
                "-" if began is None else clock_text(now - began),
            )
        if kpis.queues is not None and not kpis.stale:  # None: nothing read yet
            if not kpis.queues:
                table.caption = "no inbound queue"
            elif not any(queue.calls for queue in kpis.queues):
                table.caption = "no calls yet today"
        return table


async def _wallboard(
    watcher: AgentWatcher,
    events: Any,
    console: Console,
    *,
    speed: float,
    url: str,
    panel: QueuePanel,
    queue_interval: float,
) -> None:
    feed: deque[AgentEvent] = deque(maxlen=_FEED)
    seen = {"snapshot": watcher.snapshot, "at": time.monotonic()}

    def render() -> Group:
        snapshot = watcher.snapshot
        if snapshot is not seen["snapshot"]:
            seen["snapshot"], seen["at"] = snapshot, time.monotonic()
        elapsed = (time.monotonic() - float(seen["at"])) * speed  # type: ignore[arg-type]  # "at" is a float
        agents = sorted(snapshot.values(), key=_natural_order)
        queues = panel.render(agents, snapshot.server_ts + elapsed)
        return Group(
            _header(agents, elapsed, url),
            queues,
            _agents_table(agents, elapsed, console.size.height - _FEED - 14 - queues.row_count),
            _feed(feed),
            _health(watcher),
        )

    with Live(render(), console=console, auto_refresh=False, screen=True) as live:
        async with anyio.create_task_group() as tg:

            async def tick() -> None:
                while True:
                    live.update(render(), refresh=True)
                    await anyio.sleep(1.0)

            async def refresh_queues() -> None:
                while True:
                    await panel.refresh()
                    live.update(render(), refresh=True)
                    await anyio.sleep(queue_interval)

            tg.start_soon(tick)
            tg.start_soon(refresh_queues)
            async for event in events:
                feed.appendleft(event)
                live.update(render(), refresh=True)
            tg.cancel_scope.cancel()


def _header(agents: list[LiveAgent], elapsed: float, url: str) -> Panel:
    counts = {name: 0 for name, _, _ in GROUPS}
    longest_wait = 0.0
    for agent in agents:
        group, _ = group_of(agent.status)
        counts[group] = counts.get(group, 0) + 1
        if group == "available":
            longest_wait = max(longest_wait, agent.time_in_status + elapsed)
    text = Text()
    for name, _, style in GROUPS:
        text.append(f" {name} ", style=f"reverse {style}")
        text.append(f" {counts.get(name, 0)}   ")
    text.append(f"longest wait {clock_text(longest_wait)}", style="bold")
    return Panel(text, title="contactnow demo", subtitle=f"simulator at {url}", expand=True)


def _agents_table(agents: list[LiveAgent], elapsed: float, room: int) -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("agent")
    table.add_column("status")
    table.add_column("code")
    table.add_column("in status", justify="right")
    table.add_column("call")
    shown = agents[: max(room, 5)]
    for agent in shown:
        _, style = group_of(agent.status)
        table.add_row(
            Text(printable(agent.name or agent.agent_id)),  # data, not rich markup
            Text(printable(agent.status), style=style),
            Text(printable(agent.sub_status)),
            clock_text(agent.time_in_status + elapsed),
            agent.call_id or "",
        )
    if len(agents) > len(shown):
        table.caption = f"{len(agents) - len(shown)} more agents not shown (enlarge the terminal)"
    return table


def _feed(feed: deque[AgentEvent]) -> Panel:
    lines = Text()
    # Newest first by when the status began: one poll sees its changes in row order.
    for event in sorted(feed, key=lambda e: e.changed_at, reverse=True):
        _, style = group_of(event.after.status if event.after else "offline")
        lines.append(event_line(event) + "\n", style=style)
    return Panel(lines or Text("waiting for the first change..."), title="latest changes")


def _health(watcher: AgentWatcher) -> Text:
    health = watcher.health
    text = Text()
    if health.last_success_at is not None:
        ago = time.time() - health.last_success_at.timestamp()
        text.append(
            f"last good poll {max(ago, 0):.1f}s ago", style="green" if health.healthy else "yellow"
        )
    text.append(f"  polls {health.polls}  failures {health.failures}")
    if health.consecutive_failures:
        text.append(
            f"  failing now ({health.consecutive_failures} in a row): {health.last_error}",
            style="red",
        )
    if watcher.backfill:
        text.append(f"  log id {watcher.log_id}")
    return text
