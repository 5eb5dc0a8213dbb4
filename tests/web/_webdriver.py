"""A small W3C WebDriver client over httpx: chromedriver on 127.0.0.1 driving one headless
Chromium session, with the few commands the wallboard's browser tests use.

WebDriver is JSON over HTTP (https://www.w3.org/TR/webdriver2/); a client library would
bring ~30 MB of packages to the test install for a dozen requests.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .._helpers import free_port

#: The key of a web element reference in WebDriver's JSON (the spec's fixed string).
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

_T = TypeVar("_T")


class WebDriverError(Exception):
    """chromedriver refused a command: ``error`` is WebDriver's code (``"no such element"``,
    ``"javascript error"``...), and the message is chromedriver's."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error


class Element:
    """An element of the page, as chromedriver refers to it."""

    def __init__(self, browser: Browser, element_id: str) -> None:
        self._browser = browser
        self.element_id = element_id

    def _command(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._browser.command(method, f"element/{self.element_id}/{path}", body)

    def attribute(self, name: str) -> str | None:
        """The attribute ``name`` as the HTML has it now (None if there is none)."""
        value: str | None = self._command("GET", f"attribute/{name}")
        return value

    @property
    def displayed(self) -> bool:
        """Whether a user sees the element (chromedriver's reading of its style and box)."""
        return bool(self._command("GET", "displayed"))

    @property
    def text(self) -> str:
        """The element's text as rendered."""
        return str(self._command("GET", "text"))

    def send_keys(self, text: str) -> None:
        """Type ``text`` into the element, as a user's keys."""
        self._command("POST", "value", {"text": text})

    def submit(self) -> None:
        """Submit the element's form (or the element, a form itself) as a user would:
        requestSubmit() fires the page's submit listeners after the form's validation."""
        self._browser.execute_script(
            "(arguments[0].form ?? arguments[0].closest('form')).requestSubmit()",
            self,
        )


class Browser:
    """A WebDriver session: a method for each command the tests use, ``command`` for any
    other."""

    def __init__(self, http: httpx.Client, session_id: str) -> None:
        self._http = http
        self.session_id = session_id

    def command(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send ``method /session/{id}/{path}`` and return the answer's ``value``.

        Raises WebDriverError with chromedriver's message when it refuses the command.
        """
        return _send(self._http, method, f"/session/{self.session_id}/{path}", body)

    def get(self, url: str) -> None:
        """Open ``url`` and wait until the page has loaded."""
        self.command("POST", "url", {"url": url})

    def execute_script(self, script: str, *args: Any) -> Any:
        """Run ``script`` as a function's body (``arguments[i]`` are ``args``; an Element
        arrives as the element) and return what it returns, as JSON values."""
        wired = [{ELEMENT: a.element_id} if isinstance(a, Element) else a for a in args]
        return self.command("POST", "execute/sync", {"script": script, "args": wired})

    def find(self, selector: str) -> Element:
        """The first element the CSS ``selector`` matches (WebDriverError "no such
        element" when none does)."""
        found = self.command("POST", "element", {"using": "css selector", "value": selector})
        return Element(self, found[ELEMENT])

    def save_screenshot(self, path: Path) -> None:
        """Write what the window shows to ``path`` as a PNG."""
        path.write_bytes(base64.b64decode(self.command("GET", "screenshot")))

    def until(self, seconds: float, check: Callable[[Browser], _T | None]) -> _T:
        """Call ``check`` every 50 ms until it returns a true value, and return that.

        A missing element counts as not yet (the page may still be drawing it). Raises
        TimeoutError with the last value after ``seconds``.
        """
        deadline = time.monotonic() + seconds
        while True:
            try:
                value = check(self)
            except WebDriverError as error:
                if error.error != "no such element":
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {seconds} s (last: {value!r})")
            time.sleep(0.05)


def _send(http: httpx.Client, method: str, path: str, body: dict[str, Any] | None) -> Any:
    answer = http.request(method, path, json=body if method == "POST" else None)
    try:
        value = answer.json()["value"]
        if answer.is_error:
            raise WebDriverError(value["error"], value["message"])
    except (ValueError, KeyError, TypeError):  # not WebDriver's JSON: say what it was
        raise WebDriverError(
            "unreadable answer", f"{answer.status_code} {answer.text[:2000]}"
        ) from None
    return value


def _wait_ready(http: httpx.Client, driver: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if driver.poll() is not None:
            raise RuntimeError(f"chromedriver exited ({driver.returncode}): {_said(log)}")
        with contextlib.suppress(httpx.TransportError):
            if http.get("/status").json()["value"]["ready"]:
                return
        time.sleep(0.05)
    raise RuntimeError(f"chromedriver was not ready within 30 s: {_said(log)}")


def _said(log: Path) -> str:
    return log.read_text(errors="replace").strip() or "it printed nothing"


@contextlib.contextmanager
def chrome_session(*, driver: str, binary: str, args: Sequence[str]) -> Iterator[Browser]:
    """Run chromedriver ``driver`` on 127.0.0.1 and yield a session of Chromium ``binary``
    started with ``args`` (``goog:chromeOptions``) and a fresh profile.

    Leaving ends the session, then chromedriver, and kills whatever of either is left
    (a hung browser, a crash handler), whether the block raised or not. Raises
    RuntimeError with chromedriver's output when it does not start, WebDriverError when
    it cannot start the browser.
    """
    with tempfile.TemporaryDirectory(prefix="wallboard-chromium-") as workdir:
        log = Path(workdir) / "chromedriver.log"
        port = free_port()
        with log.open("wb") as output:
            # Its own process group, which the browser's processes join: killed as one at
            # the end, and a Ctrl-C at the terminal leaves the teardown to pytest.
            process = subprocess.Popen(
                [driver, f"--port={port}"],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False)
        try:
            _wait_ready(http, process, log)
            profile = f"--user-data-dir={Path(workdir) / 'profile'}"
            options = {"binary": binary, "args": [*args, profile]}
            capabilities = {"browserName": "chrome", "goog:chromeOptions": options}
            new = {"capabilities": {"alwaysMatch": capabilities}}
            browser = Browser(http, _send(http, "POST", "/session", new)["sessionId"])
            try:
                yield browser
            finally:
                with contextlib.suppress(WebDriverError, httpx.HTTPError):
                    _send(http, "DELETE", f"/session/{browser.session_id}", None)
        finally:
            http.close()
            # Not reaped yet, so its pid still names the group (no other group can have it).
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
