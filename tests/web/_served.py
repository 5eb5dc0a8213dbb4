"""``contactnow --simulate serve`` (or ``contactnow serve --redis``) in a child process, on
127.0.0.1, as a user runs it."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

REPO = Path(__file__).resolve().parents[2]
#: A busy demo: a simulated minute per second, polled five times a second.
DEMO = ("--sim-speed", "60", "--sim-agents", "20")


@attrs.frozen
class Served:
    """A running ``contactnow serve``: its URL, its process, and what it printed."""

    url: str
    process: subprocess.Popen[str]
    banner: list[str]


def _env(token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTNOW_")}
    if token is not None:
        env["CONTACTNOW_WEB_TOKEN"] = token
    return env


@contextlib.contextmanager
def serving(
    *args: str, token: str | None = None, simulate: bool = True, demo: tuple[str, ...] = DEMO
) -> Iterator[Served]:
    """Run ``contactnow --simulate DEMO serve --port 0 ARGS``; yield once it printed its URL.

    ``simulate=False``: ``contactnow serve --port 0 ARGS`` (with ``--redis``: no API
    credentials are in its environment). Leaving the block sends Ctrl-C (SIGINT) and
    waits for the process.
    """
    command = [sys.executable, "-m", "contactnow_async"]
    command += ["--simulate", *demo, "serve", "--interval", "0.2"] if simulate else ["serve"]
    command += ["--port", "0", *args]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=_env(token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        banner: list[str] = []
        first = lines.get(timeout=60)
        if first is None:
            _, stderr = process.communicate(timeout=10)
            raise AssertionError(f"contactnow serve did not start: {stderr[-2000:]}")
        banner.append(first)
        match = re.search(r"(http://127\.0\.0\.1:[0-9]+/)", first)
        assert match is not None, first
        while True:  # the notes under the URL
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=0.2)
                if line is not None and line.startswith("  "):
                    banner.append(line)
                    continue
            break
        yield Served(url=match.group(1), process=process, banner=banner)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover -- reported by the test
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def served_in_thread(app: Any, *, http: Any = "auto") -> Iterator[str]:
    """``app`` (an ASGI app) served by uvicorn on 127.0.0.1 in a thread, with the HTTP
    protocol ``http`` (uvicorn's name for one, or a class); yields its URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", http=http)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:  # a thread: uvicorn signals nothing else
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
