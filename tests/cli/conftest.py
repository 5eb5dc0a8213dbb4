"""Fixtures for the ``contactnow`` command's tests: a served simulator, and runners
that check every output for the password."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import anyio
import anyio.to_thread
import attrs
import pytest
from click.testing import CliRunner

from contactnow_async.simulator import Simulator, serve

USERNAME = "ops"
PASSWORD = "s3cret-pass"
WRONG_PASSWORD = "wr0ng-passw0rd"
#: Strings that must never be printed by any command.
SECRETS = (PASSWORD, WRONG_PASSWORD)
_ENV_NAMES = (
    "CONTACTNOW_USERNAME",
    "CONTACTNOW_PASSWORD",
    "CONTACTNOW_REGION",
    "CONTACTNOW_BASE_URL",
    "CONTACTNOW_RECORD_TZ",
)


@attrs.frozen
class Served:
    """A simulator served over 127.0.0.1 for the whole session."""

    sim: Simulator
    base_url: str

    def env(self, **overrides: str | None) -> dict[str, str | None]:
        """The CONTACTNOW_* variables for this simulator, with overrides (None: unset)."""
        env: dict[str, str | None] = {
            "CONTACTNOW_USERNAME": USERNAME,
            "CONTACTNOW_PASSWORD": PASSWORD,
            "CONTACTNOW_REGION": None,
            "CONTACTNOW_BASE_URL": self.base_url,
        }
        env.update(overrides)
        return env


@attrs.frozen
class Outcome:
    """What one run of the command printed, and its exit code."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def assert_no_secret(outcome: Outcome) -> None:
    """No password (the right one or the wrong one) in anything the command printed."""
    for secret in SECRETS:
        assert secret not in outcome.output, f"password printed: {outcome.output!r}"


def assert_one_error(outcome: Outcome, code: int) -> str:
    """One line on stderr, ``contactnow: error: ...``, and the exit code; returns the line."""
    assert outcome.code == code, outcome
    assert len(outcome.error_lines) == 1, outcome.stderr
    line = outcome.error_lines[0]
    assert line.startswith("contactnow: error: "), line
    assert "Traceback" not in outcome.output
    return line


@contextlib.contextmanager
def served_in_thread(sim: Simulator) -> Iterator[Served]:
    """``sim`` served on 127.0.0.1 by a thread of its own, for the whole block."""
    urls: queue.Queue[str | BaseException] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        try:
            async with serve(sim) as base_url:
                urls.put(base_url)
                await anyio.to_thread.run_sync(stop.wait)
        except BaseException as exc:  # pragma: no cover -- reported to the fixture
            urls.put(exc)
            raise

    thread = threading.Thread(target=anyio.run, args=(main,), daemon=True, name="cli-sim")
    thread.start()
    got = urls.get(timeout=30)
    if isinstance(got, BaseException):  # pragma: no cover
        raise got
    try:
        yield Served(sim=sim, base_url=got)
    finally:
        stop.set()
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    """``Simulator(username="ops", password="s3cret-pass", agents=10, seed=2)`` on 127.0.0.1."""
    with served_in_thread(Simulator(username=USERNAME, password=PASSWORD, agents=10, seed=2)) as it:
        yield it


@pytest.fixture
def invoke() -> CliInvoker:
    return CliInvoker()


class CliInvoker:
    """Runs ``contactnow`` in process with click's CliRunner; checks for the password."""

    def __call__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str | None] | None = None,
        input: str | bytes | None = None,
    ) -> Outcome:
        from contactnow_async._cli import cli

        runner = CliRunner()
        full_env = dict.fromkeys(_ENV_NAMES)
        full_env.update(env or {})
        result = runner.invoke(
            cli,
            list(args),
            env=full_env,
            input=input,
            prog_name="contactnow",
            catch_exceptions=True,
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        outcome = Outcome(code=result.exit_code, stdout=result.stdout, stderr=result.stderr)
        assert_no_secret(outcome)
        return outcome


def run_subprocess(
    args: Sequence[str],
    *,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> Outcome:
    """Runs ``python -m contactnow_async ARGS`` in a subprocess; checks for the password."""
    full_env = subprocess_env(**(env or {}))
    done = subprocess.run(
        [sys.executable, "-m", "contactnow_async", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )
    outcome = Outcome(code=done.returncode, stdout=done.stdout, stderr=done.stderr)
    assert_no_secret(outcome)
    return outcome


def run_until(
    args: Sequence[str],
    wanted: Callable[[str], bool],
    *,
    env: Mapping[str, str | None] | None = None,
    encoding: str = "utf-8",
) -> tuple[list[str], Outcome]:
    """Runs ``python -m contactnow_async ARGS`` until a line of its stdout is ``wanted``
    (or its output ends), then sends SIGINT (Ctrl-C); the lines read, and the outcome.

    For a command that runs until stopped (``watch``): a fixed ``--duration`` lets a
    loaded machine's late first poll print nothing. A hang fails the test after 60 s.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "contactnow_async", *args],
        env=subprocess_env(**(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watchdog = threading.Timer(60, proc.kill)  # a hang fails the test, not the suite
    watchdog.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(encoding).rstrip("\n"))
            if wanted(lines[-1]):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
    outcome = Outcome(
        code=proc.returncode, stdout="".join(f"{line}\n" for line in lines),
        stderr=err.decode(encoding, "replace"),
    )  # fmt: skip
    assert_no_secret(outcome)
    return lines, outcome


def subprocess_env(**overrides: str | None) -> dict[str, str]:
    """The test process's environment without CONTACTNOW_*, with overrides."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_NAMES}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


REPO = Path(__file__).resolve().parents[2]
