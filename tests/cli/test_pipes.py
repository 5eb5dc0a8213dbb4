"""Output piped into a reader that goes away (``contactnow ... | head``): the command ends
quietly with exit code 141 (128 + SIGPIPE, as a shell reports for coreutils), prints
nothing on stderr, and leaves no watcher or simulator running."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

import pytest

from contactnow_async._cli._common import EXIT_BROKEN_PIPE

from .conftest import SECRETS, CliInvoker, Served, subprocess_env

pytestmark = pytest.mark.integration

CONTACTNOW = [sys.executable, "-m", "contactnow_async"]


def _assert_quiet(code: int, stderr: bytes) -> None:
    text = stderr.decode("utf-8", "replace")
    assert code == EXIT_BROKEN_PIPE, text
    assert "Traceback" not in text
    assert "Exception ignored" not in text
    assert "BrokenPipeError" not in text
    assert text == ""
    for secret in SECRETS:
        assert secret not in text


def _read_lines_then_close(args: Sequence[str], lines: int) -> tuple[list[bytes], int, bytes]:
    """Run the command with stdout piped to a reader that closes after ``lines`` lines."""
    proc = subprocess.Popen(
        [*CONTACTNOW, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        got = [proc.stdout.readline() for _ in range(lines)]
        proc.stdout.close()  # like `head -N` exiting
        code = proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    return got, code, err


@pytest.mark.slow
def test_agents_list_json_into_head_1() -> None:
    # contactnow --simulate --sim-agents 2000 agents list --json | head -1
    # (more than a pipe's buffer: the writes after head left fail)
    got, code, err = _read_lines_then_close(
        ["--simulate", "--sim-agents", "2000", "agents", "list", "--json"], 1
    )
    assert json.loads(got[0])["name"] == "Agent 1"
    _assert_quiet(code, err)


@pytest.mark.slow
def test_agents_list_table_into_head_1() -> None:
    # contactnow --simulate --sim-agents 2000 agents list | head -1: the table was one
    # write of all its rows, which the closed pipe cut short without an error (Python's
    # text stream drops what its buffer could not send): the command ended 0, not 141.
    got, code, err = _read_lines_then_close(
        ["--simulate", "--sim-agents", "2000", "agents", "list"], 1
    )
    assert got[0].split()[0] == b"agent_id", got
    _assert_quiet(code, err)


@pytest.mark.slow
def test_status_log_json_into_head_1() -> None:
    got, code, err = _read_lines_then_close(
        ["--simulate", "--sim-agents", "2000", "status-log", "--json"], 1
    )
    assert got[0], (code, err.decode("utf-8", "replace"))  # nothing printed: say why
    assert set(json.loads(got[0])) == {
        "log_id",
        "started_ts",
        "agent_id",
        "status",
        "sub_status",
        "call_id",
    }
    _assert_quiet(code, err)


@pytest.mark.slow
def test_watch_json_into_head_3() -> None:
    # contactnow --simulate watch --json | head -3: ends at the next event it prints
    got, code, err = _read_lines_then_close(
        ["--simulate", "--sim-speed", "30", "watch", "--json", "--interval", "0.2"], 3
    )
    assert [json.loads(line)["kind"] for line in got] == ["appeared"] * 3
    _assert_quiet(code, err)


@pytest.mark.slow
def test_demo_lines_into_head_2() -> None:
    # contactnow demo | head -2 (not a terminal: one line per event)
    got, code, err = _read_lines_then_close(["demo", "--speed", "30", "--interval", "0.2"], 2)
    assert all(b" appeared " in line for line in got)
    _assert_quiet(code, err)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["agents", "--help"],
        ["--simulate", "agents", "list"],
        ["--simulate", "agents", "list", "--json"],
        ["--simulate", "token", "get"],
        ["--simulate", "status-log", "--summary"],
        ["--simulate", "priorities", "list", "--json"],
    ],
    ids=["help", "version", "group-help", "table", "json", "token", "summary", "priorities"],
)
def test_a_reader_gone_before_the_first_line(args: list[str]) -> None:
    # `contactnow ... | true`, deterministic: the pipe has no reader at all.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*CONTACTNOW, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=subprocess_env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    _assert_quiet(done.returncode, done.stderr)


# In process: the watcher's tasks and the embedded simulator's server are stopped
# before the command exits, not left to die with the interpreter.


class _ClosesAfter(io.StringIO):
    """A stdout whose reader goes away after ``lines`` lines."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= text.count("\n")
        return super().write(text)


def _simulator_threads(besides: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("contactnow-simulator-") and t not in besides
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--simulate", "--sim-speed", "30", "watch", "--json", "--interval", "0.2"],
        ["--simulate", "--sim-speed", "30", "watch", "--backfill", "--interval", "0.2"],
        ["demo", "--speed", "30", "--interval", "0.2"],
    ],
    ids=["watch-json", "watch-backfill", "demo"],
)
def test_nothing_is_left_running(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from contactnow_async._cli import main

    before = set(threading.enumerate())
    stdout = _ClosesAfter(3)
    # In the test's body: pytest puts its own capture back on sys.stdout after fixtures.
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "argv", ["contactnow", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    monkeypatch.undo()
    assert exited.value.code == EXIT_BROKEN_PIPE
    assert len(stdout.getvalue().splitlines()) == 3
    assert _simulator_threads(before) == []  # joined before the command exits
    started = [t for t in threading.enumerate() if t not in before]
    for thread in started:  # anyio's idle worker threads are told to stop as the run ends
        thread.join(timeout=30)
    assert [t for t in started if t.is_alive()] == []


def test_a_closed_stdout_leaves_the_next_command_in_the_process_its_output(
    invoke: CliInvoker, served: Served
) -> None:
    # The shared console went quiet for good at a closed stdout: a second command run in
    # the same process (click's CliRunner, a user's own tests) printed its table to no one.
    from contactnow_async._cli._common import console

    with pytest.raises(BrokenPipeError):
        console.on_broken_pipe()
    out = invoke(["agents", "list"], env=served.env(COLUMNS="200"))
    assert out.code == 0, out
    assert "Agent 1" in out.stdout


def test_a_line_a_closed_stdout_refused_is_not_printed_by_the_next_command(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's event line that met the closed stdout stayed in the shared console's
    # buffer: the next command run in the same process printed it before its own table
    # (the suite's status-log table began with a time, in a random order).
    from contactnow_async._cli._common import console

    monkeypatch.setattr(sys, "stdout", _ClosesAfter(0))
    # Not quiet, as a command starts it: a test run before this one in the process may
    # have closed stdout, and a quiet console writes nothing, so nothing breaks.
    monkeypatch.setattr(console, "quiet", False)
    with pytest.raises(BrokenPipeError):
        console.print("12:00:00 changed   Agent 7 [7] wait -> call")
    monkeypatch.undo()
    out = invoke(["agents", "list"], env=served.env(COLUMNS="200"))
    assert out.code == 0, out
    assert out.stdout.split()[0] == "agent_id", out.stdout[:200]
    assert "12:00:00" not in out.stdout
