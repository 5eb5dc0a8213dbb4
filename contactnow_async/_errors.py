"""Every error the library raises.

The tree::

    ContactNowError                 anything raised by this library
    ├── APIError                    the API refused: ``success: false`` or an error text
    │   ├── AuthenticationError     ``Authentication failure``: wrong username or password
    │   ├── BadArgumentError        ``Bad argument: xyz``: the API refused ``xyz`` (.argument)
    │   │   └── LogPositionError    status_log refused a backfill's position (.log_id)
    │   ├── TokenError              the token was refused again after one fresh token
    │   └── WriteError              a write reported ``bad > 0`` records (.result)
    ├── TransportError              the request or its reply was lost on the network
    │   └── RequestTimeout          a timeout (connect, read, write or pool)
    ├── HTTPStatusError             an HTTP error status (.status_code)
    │   └── RateLimitError          HTTP 429 (.retry_after)
    └── ResponseFormatError         the body is not a ContactNow envelope (HTML, truncated, ...)

Messages say what happened and what to do. They never contain a password or a
token: URLs are shown without their query string and body snippets are redacted.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import WriteResult
    from ._wire import Envelope

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadArgumentError",
    "ContactNowError",
    "HTTPStatusError",
    "LogPositionError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseFormatError",
    "TokenError",
    "TransportError",
    "WriteError",
]


class ContactNowError(Exception):
    """Base class of every error raised by contactnow_async."""

    def __reduce__(self) -> tuple[object, ...]:
        # Pickle calls the class with ``args`` alone, which an error whose __init__ takes
        # a keyword-only argument (status_code, argument, result) refuses: a process
        # pool handing one back raised that TypeError instead.
        return (_unpickle, (type(self), self.args, self.__dict__))


def _unpickle(
    cls: type[ContactNowError], args: tuple[object, ...], state: dict[str, object]
) -> ContactNowError:
    """The error :meth:`ContactNowError.__reduce__` pickled, made without its __init__."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class APIError(ContactNowError):
    """The API refused the call: ``success: false``, or an ``error`` text beside
    ``success: 1`` (the form of the vendor's XML error examples); ``error`` holds the text."""

    def __init__(self, message: str, *, error: str | None = None, envelope: Envelope | None = None):
        super().__init__(message)
        self.error = error
        self.envelope = envelope


class AuthenticationError(APIError):
    """The API refused the username or password (``Authentication failure``).

    Never retried: check the API credentials 8x8 support issued.
    """


class BadArgumentError(APIError):
    """The API refused an argument: ``Bad argument: xyz``, its documented error form.

    ``argument`` is the argument it names (``"agent"`` for ``Bad argument: agent
    [1234] is offline``). Nothing was done: fix the argument, or the state it
    refers to, before trying again.
    """

    def __init__(
        self,
        message: str,
        *,
        argument: str,
        error: str | None = None,
        envelope: Envelope | None = None,
    ):
        super().__init__(message, error=error, envelope=envelope)
        self.argument = argument


class LogPositionError(BadArgumentError):
    """The status log refused the position a backfill watcher reads after.

    ``log_id`` is that position: ``since_log_id``, or where the watcher's cursor got
    to. The read after it (``uid`` = ``log_id`` + 1) was refused with ``Bad argument:
    uid``, and every later poll would be too: the watcher stops and hands this to
    each subscriber, having handed out nothing after ``log_id``. Resume from a log
    id the status log has written.
    """

    def __init__(
        self,
        message: str,
        *,
        log_id: int,
        error: str | None = None,
        envelope: Envelope | None = None,
    ):
        super().__init__(message, argument="uid", error=error, envelope=envelope)
        self.log_id = log_id


class TokenError(APIError):
    """The API refused the token, and refused the fresh one fetched to replace it too."""


class WriteError(APIError):
    """A create or update reported records it could not write (``bad > 0``).

    ``result`` is the :class:`~contactnow_async.WriteResult`: ``total`` records
    were written, ``bad`` were not.
    """

    def __init__(self, message: str, *, result: WriteResult, envelope: Envelope | None = None):
        super().__init__(message, error=result.error, envelope=envelope)
        self.result = result


class TransportError(ContactNowError):
    """The request or its reply was lost on the network (connection refused, reset, ...).

    ``sent`` tells whether the request may have reached the server: when it is
    true, a create may have been done even though no reply arrived. It tells of
    every attempt of the call: a read or an idempotent write resent after a lost
    reply says ``sent`` true even when its last attempt could not connect.
    """

    def __init__(self, message: str, *, sent: bool = True):
        super().__init__(message)
        self.sent = sent


class RequestTimeout(TransportError):
    """No reply within the configured timeout."""


class HTTPStatusError(ContactNowError):
    """The server answered with an HTTP error status instead of an envelope."""

    def __init__(self, message: str, *, status_code: int):
        super().__init__(message)
        self.status_code = status_code


class RateLimitError(HTTPStatusError):
    """The server throttled the request (HTTP 429); ``retry_after`` is in seconds, if given."""

    def __init__(self, message: str, *, status_code: int = 429, retry_after: float | None = None):
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ResponseFormatError(ContactNowError):
    """The reply body is not a ContactNow envelope: HTML, empty, truncated, wrong shape, too big."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        content_type: str | None = None,
        snippet: str = "",
    ):
        super().__init__(message)
        self.status_code = status_code
        self.content_type = content_type
        self.snippet = snippet


def own_copy(error: BaseException) -> BaseException:
    """A new exception of the same type, message and attributes as ``error``: what each of
    several tasks raises for one shared error (raising one object from many tasks grows
    its traceback each time)."""
    try:
        # Made again from its args, as pickle would: what an OSError, a UnicodeError or
        # an exception group keeps outside its __dict__ (a file name, its members) too.
        twin = copy.copy(error)
    except Exception:  # an __init__ with keyword-only arguments, and others
        twin = None
    if type(twin) is not type(error) or str(twin) != str(error):
        # An __init__ that does more with its arguments than keep them (BadArgumentError's
        # argument is keyword-only): the same type, with the same args and attributes.
        twin = type(error).__new__(type(error), *error.args)
        twin.__dict__.update(error.__dict__)
        twin.args = error.args
    return twin
