"""``contactnow demo``: a wallboard in a terminal, lines in a pipe, Ctrl-C, and
``watch --json`` piped into another program."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping

import pytest

from .conftest import SECRETS, subprocess_env

pytestmark = pytest.mark.integration

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
EVENT_LINE = re.compile(
    r"^\d\d:\d\d:\d\d (appeared|changed|disappeared)\s+(.+?) \[(\d+)\] (\S+) -> (\S+)"
)
DEMO = [sys.executable, "-m", "contactnow_async", "demo"]
AGENT_KEYS = {"agent_id", "name", "status", "sub_status", "started_ts", "server_ts", "moh",
              "centre_name", "customer", "calls", "call_records"}  # fmt: skip
EVENT_KEYS = {
    "id",
    "kind",
    "agent_id",
    "changed_at",
    "observed_at",
    "source",
    "log_id",
    "previous_duration",
    "before",
    "after",
}


def _run_in_pty(
    args: list[str],
    *,
    interrupt: bool = False,
    until: Callable[[str], bool] | None = None,
    env: Mapping[str, str | None] | None = None,
) -> tuple[int, str]:
    """Run the command on a 120x40 pseudo-terminal; everything it wrote, and its exit code.

    With ``interrupt``, send SIGINT (Ctrl-C) once the wallboard shows agents; with
    ``until``, once what it wrote so far satisfies it (not after a fixed time: on a
    loaded machine the same seconds show less). ``env``: variables to set (None: unset).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    full_env = subprocess_env(**{**(env or {}), "TERM": "xterm-256color", "COLUMNS": "120"})
    full_env["LINES"] = "40"
    full_env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=full_env, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError as exc:  # EIO: every copy of the other side is closed
                if exc.errno == errno.EIO:
                    break
                raise
            if not data:
                break
            chunks.append(data)
            if interrupt and b"Agent 1 " in b"".join(chunks[-50:]):
                proc.send_signal(signal.SIGINT)
                interrupt = False
            if until is not None and until(b"".join(chunks).decode("utf-8", "replace")):
                proc.send_signal(signal.SIGINT)
                until = None
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
    return code, b"".join(chunks).decode("utf-8", "replace")


def _assert_terminal_restored(screen: str) -> None:
    entered, left = screen.rfind("\x1b[?1049h"), screen.rfind("\x1b[?1049l")
    assert entered >= 0  # the alternate screen was entered...
    assert left > entered  # ...and left
    assert screen.rfind("\x1b[?25h") > screen.rfind("\x1b[?25l")  # the cursor is back
    assert "Traceback" not in screen


def _frames(screen: str) -> list[str]:
    """The wallboard's redraws (each starts at the cursor's home), without escapes."""
    parts = re.split(r"\x1b\[H", screen)
    return [ANSI.sub("", part) for part in parts if "latest changes" in ANSI.sub("", part)]


def _agent_rows(frame: str) -> dict[str, tuple[str, ...]]:
    """``{agent name: (status, code, call)}`` in one frame of the wallboard."""
    rows: dict[str, tuple[str, ...]] = {}
    for line in frame.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 5 and re.fullmatch(r"Agent \d+", cells[0]):
            name, status, code, _in_status, call = cells  # without the ticking clock
            rows[name] = (status, code, call)
    return rows


QUEUE_ROW = re.compile(r"1007 Sales Inbound\s*│\s*\d+\s*│\s*\d+\s*│\s*\d+\s*│\s*(\d+%|-)")


def _changes(frames: list[str]) -> set[str]:
    """The distinct ``changed`` lines of the feed, over every frame."""
    return {
        line.strip(" │|")
        for frame in frames
        for line in frame.splitlines()
        if re.search(r"\d\d:\d\d:\d\d changed\s", line)
    }


def _seen_enough(screen: str) -> bool:
    """Whether the wallboard has shown all the test looks at: redraws with changes,
    the queue panel's row, agent rows that differ."""
    frames = _frames(screen)
    if len(frames) < 3 or not QUEUE_ROW.search(frames[-1]) or len(_changes(frames)) < 2:
        return False
    with_rows = [rows for rows in map(_agent_rows, frames) if rows]
    return len(with_rows) >= 2 and with_rows[0] != with_rows[-1]


@pytest.mark.slow
def test_demo_in_a_terminal_shows_a_changing_wallboard() -> None:
    # 120 simulated seconds per second, polled 5 times a second: dozens of redraws and
    # changes in a second or two, then Ctrl-C (a run with --duration ends as cleanly:
    # test_demo_with_duration_zero_stops_at_once).
    code, screen = _run_in_pty([*DEMO, "--speed", "120", "--interval", "0.2"], until=_seen_enough)
    assert code == 130, screen[-2000:]
    _assert_terminal_restored(screen)
    assert re.search(r"\x1b\[(?:\d+;)*3[0-8][;m]", screen)  # colours on a terminal
    frames = _frames(screen)
    assert len(frames) >= 3, screen[-3000:]
    text = "\n".join(frames)
    for group in ("available", "on call", "wrap", "break", "offline"):
        assert group in text
    assert "longest wait" in text
    # The queue panel, from reports.calls and queues.read: one row per inbound queue.
    assert "queues today (service level: answered within 20s)" in text
    assert QUEUE_ROW.search(text)
    assert "latest changes" in text
    assert "Agent 1 " in text
    assert "Agent 9 " in text
    assert "more agents not shown" in text  # 25 agents do not fit in 40 lines
    assert "polls" in text
    assert "failures" in text
    # It changes over time: events reach the feed, and agent rows change.
    assert len(_changes(frames)) >= 2, text[-3000:]
    with_rows = [rows for rows in map(_agent_rows, frames) if rows]
    assert len(with_rows) >= 2
    first_rows, last_rows = with_rows[0], with_rows[-1]
    assert first_rows != last_rows
    assert [int(name.split()[1]) for name in last_rows] == sorted(
        int(name.split()[1]) for name in last_rows
    )  # in natural order: Agent 2 before Agent 10
    tally = re.compile(
        r"available\s+(\d+)\s+on call\s+(\d+)\s+wrap\s+(\d+)\s+break\s+(\d+)\s+offline\s+(\d+)"
    )
    # The last whole frame's (Ctrl-C may cut the very last one short).
    counts = next(filter(None, map(tally.search, reversed(frames))), None)
    assert counts is not None, frames[-1]
    assert sum(int(n) for n in counts.groups()) == 25
    for secret in SECRETS:
        assert secret not in screen


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_restores_it() -> None:
    code, screen = _run_in_pty([*DEMO, "--speed", "30"], interrupt=True)
    assert code == 130, screen[-2000:]
    assert "latest changes" in ANSI.sub("", screen)
    _assert_terminal_restored(screen)


def test_demo_piped_prints_one_line_per_event() -> None:
    # Read until every agent has appeared and two changes followed, then Ctrl-C: what a
    # fixed --duration shows depends on the machine's load.
    proc = subprocess.Popen(
        [*DEMO, "--speed", "120", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(TERM="xterm-256color"),
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        changes = 0
        while changes < 2 and (line := proc.stdout.readline()):
            lines.append(line.rstrip("\n"))
            changes += " changed " in line
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines += rest.splitlines()
    assert not any("\x1b" in line for line in lines)  # no escape codes in a pipe
    parsed = [EVENT_LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m]
    kinds = [m.group(1) for m in parsed if m]
    appeared = {m.group(3) for m in parsed if m and m.group(1) == "appeared"}
    assert len(appeared) == 25  # every agent, once
    assert kinds[:25] == ["appeared"] * 25
    changed = [m for m in parsed if m and m.group(1) == "changed"]
    assert len(changed) >= 2
    for m in changed:
        assert m.group(3) in appeared
    names = {m.group(2) for m in parsed if m}
    assert {f"Agent {n}" for n in range(1, 26)} == names


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_cleanly() -> None:
    proc = subprocess.Popen(
        [*DEMO, "--speed", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert EVENT_LINE.match(first.decode())
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    assert b"Error" not in err


@pytest.mark.slow
def test_watch_json_piped_into_python() -> None:
    # contactnow --simulate watch --json --duration 4 | python -c '...json.loads...'
    # (--duration counts from the start, the simulator's and the client's included: enough
    # for the first poll even on a loaded machine)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "contactnow_async",
            "--simulate",
            "watch",
            "--json",
            "--duration",
            "4",
            "--interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    assert writer.stdout is not None
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, json\n"
            "events = [json.loads(line) for line in sys.stdin]\n"
            "print('ok', len(events))\n"
            "print(json.dumps(events))",
        ],
        stdin=writer.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer.stdout.close()  # the reader holds the pipe's only read end now
    assert writer.stderr is not None
    with writer.stderr:
        werr = writer.stderr.read()
    writer.wait(timeout=60)
    out, rerr = reader.communicate(timeout=30)
    assert writer.returncode == 0, werr
    assert reader.returncode == 0, rerr
    head, dumped = out.split("\n", 1)
    count = int(head.removeprefix("ok "))
    events = json.loads(dumped)
    assert count == len(events) >= 1
    for event in events:
        assert set(event) == EVENT_KEYS
        assert event["kind"] in ("appeared", "changed", "disappeared")
        assert event["changed_at"].endswith("Z")
        assert event["observed_at"].endswith("Z")
        agent = event["after"] or event["before"]
        assert agent["agent_id"] == event["agent_id"]
        assert set(agent) == AGENT_KEYS
    assert {event["kind"] for event in events} >= {"appeared"}
    assert len({event["id"] for event in events}) == len(events)


@pytest.mark.slow
def test_ctrl_c_stops_watch() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "contactnow_async", "--simulate", "watch", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    try:
        assert proc.stdout is not None
        assert set(json.loads(proc.stdout.readline())) == EVENT_KEYS
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err


@pytest.mark.slow
def test_demo_with_duration_zero_stops_at_once() -> None:
    # It ran forever: 0 was taken for "no --duration". Without the fix the timeout fails it.
    done = subprocess.run(
        [*DEMO, "--duration", "0"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.slow
def test_demo_with_a_negative_duration() -> None:
    done = subprocess.run(
        [*DEMO, "--duration", "-0.5"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("contactnow: error: ")
    assert "--duration" in done.stderr
    assert done.stdout == ""


def test_agents_are_ordered_by_the_numbers_in_their_names() -> None:
    from contactnow_async import LiveAgent
    from contactnow_async._cli._demo import _natural_order

    names = ["Agent 10", "Agent 2", "Agent 1²", "²", "agent 3"]  # "²" is a digit, no number
    agents = [LiveAgent.from_record({"uid": str(i), "name": n}) for i, n in enumerate(names)]
    assert [a.name for a in sorted(agents, key=_natural_order)] == [
        "Agent 1²", "Agent 2", "agent 3", "Agent 10", "²"
    ]  # fmt: skip
