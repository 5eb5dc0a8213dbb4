"""A password echoed back in an error reply, in any form a server writes it, is hidden."""

from __future__ import annotations

import secrets
import traceback

import httpx
import pytest

from contactnow_async import APIError, ContactNowError, ResponseFormatError
from tests._helpers import client_for, json_reply, script_of

pytestmark = pytest.mark.anyio

# (password, the form a server echoes it in), the forms written out by hand.
ECHOES = {
    "percent-encoded": ("pä/ss", "p%C3%A4%2Fss"),
    "percent-encoded-lower-case": ("pä/ss", "p%c3%a4%2fss"),
    "plus-encoded": ("pä ss/1", "p%C3%A4+ss%2F1"),
    "html-escaped": ("p<ä>&\"'ss", "p&lt;ä&gt;&amp;&quot;&#x27;ss"),
    "html-escaped-by-php": ("p<ä>&\"'ss", "p&lt;ä&gt;&amp;&quot;&#039;ss"),  # htmlspecialchars
    "json-escaped": ('pä/ss"q', 'p\\u00e4/ss\\"q'),
    "json-escaped-by-php": ('pä/ss"q', 'p\\u00e4\\/ss\\"q'),  # json_encode escapes "/" too
}


def texts_of(error: BaseException) -> str:
    """Everything an error could show: message, repr, attributes, traceback, chain."""
    parts = ["".join(traceback.format_exception(error))]
    current: BaseException | None = error
    while current is not None:
        parts += [str(current), repr(current), *map(repr, current.args)]
        parts += [repr(getattr(current, name, "")) for name in ("error", "snippet")]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("channel", ["error-field", "error-page"])
@pytest.mark.parametrize(("password", "echoed"), ECHOES.values(), ids=list(ECHOES))
async def test_an_echoed_password_never_reaches_the_exception(
    password: str, echoed: str, channel: str
) -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if script_of(request) == "token":
            return json_reply({"success": True, "token": secrets.token_hex(20), "expire": 2e9})
        if channel == "error-field":  # the echo inside the envelope's error text
            return json_reply({"success": False, "error": f"Login {echoed} refused"})
        return httpx.Response(400, content=f"Login {echoed} refused".encode())

    expected: type[ContactNowError] = APIError if channel == "error-field" else ResponseFormatError
    cn, http = client_for(api, password=password, max_retries=0)
    async with http, cn:
        with pytest.raises(expected) as info:
            await cn.agents.read()
    shown = texts_of(info.value)
    assert "Login <redacted> refused" in shown  # not vacuous: the echo was there, hidden
    assert echoed not in shown
    assert password not in shown
