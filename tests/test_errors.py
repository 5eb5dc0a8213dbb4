"""The exception tree: every error survives pickling (a worker process hands it back)."""

from __future__ import annotations

import pickle

import pytest

from contactnow_async import (
    APIError,
    AuthenticationError,
    BadArgumentError,
    ContactNowError,
    HTTPStatusError,
    LogPositionError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    TokenError,
    TransportError,
    WriteError,
    WriteResult,
)
from contactnow_async._wire import Envelope

REFUSAL = Envelope(success=False, error="Bad argument: agent", raw={"error": "Bad argument: agent"})
REFUSED = WriteResult(success=True, total=1, bad=1, error="1 bad", raw={"bad": 1})

ERRORS = [
    ContactNowError("m"),
    APIError("m", error="e", envelope=REFUSAL),
    AuthenticationError("m", error="Authentication failure"),
    BadArgumentError("m", argument="agent", error="Bad argument: agent", envelope=REFUSAL),
    LogPositionError("m", log_id=7, error="Bad argument: uid"),
    TokenError("m", error="Expired token"),
    WriteError("m", result=REFUSED, envelope=REFUSAL),
    TransportError("m", sent=False),
    RequestTimeout("m", sent=True),
    HTTPStatusError("m", status_code=502),
    RateLimitError("m", retry_after=3.0),
    ResponseFormatError("m", status_code=200, content_type="text/html", snippet="<html>"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_survives_pickling(error: ContactNowError) -> None:
    """A process pool (``ProcessPoolExecutor``, ``anyio.to_process``) pickles the error a
    worker raised: one whose ``__init__`` takes a keyword-only argument
    (``status_code``, ``argument``, ``result``) failed to unpickle, and the pool raised
    that TypeError in place of the error."""
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 -- our own bytes, just made
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.args == error.args
    assert vars(back) == vars(error)
