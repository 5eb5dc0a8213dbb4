"""Faults the simulator can inject: slow replies, HTTP errors, lost connections, bad bodies.

What each kind does, and whether the server did its work first: :class:`FaultKind`.
"""

from __future__ import annotations

import enum
import math
import operator
import random
import threading
from collections.abc import Iterable

import attrs

__all__ = ["Fault", "FaultKind", "Faults"]


class FaultKind(str, enum.Enum):
    """What goes wrong with a request.

    What each kind does to a request, and whether the request was
    processed (state changed) before the fault:

    =============  ==========  ==========================================================
    kind           processed?  what the client sees
    =============  ==========  ==========================================================
    latency        yes         the normal reply, ``latency`` seconds late (a real sleep);
                               a broken connection if ``serve()`` ends meanwhile
    http_500/502   no          that HTTP status with a short text body
    http_503       no          HTTP 503 with a short text body
    http_429       no          HTTP 429 with a ``Retry-After: <retry_after>`` header
    drop_before    no          the connection breaks after the status line and headers
    drop_after     yes         the same broken connection, but the work was done
    truncated      yes         HTTP 200, the first half of the real body (with a matching
                               Content-Length: a complete HTTP reply with a cut body)
    malformed      yes         HTTP 200, a garbage body
    html           no          an HTML error page, HTTP ``html_status`` (200 by default;
                               200-599, not the bodiless 204 or 304)
    =============  ==========  ==========================================================

    "Processed" follows where the fault sits: an overloaded gateway (5xx, 429, an
    HTML error page) or a connection lost on the way in rejects the request before
    the API sees it; a connection lost on the way out, or a body mangled on the way
    back, leaves the server's work done.
    """

    LATENCY = "latency"
    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_429 = "http_429"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    TRUNCATED = "truncated"
    MALFORMED = "malformed"
    HTML = "html"


#: Kinds that leave the server's state untouched, safe for any client to retry.
SAFE_KINDS = (
    FaultKind.HTTP_500,
    FaultKind.HTTP_502,
    FaultKind.HTTP_503,
    FaultKind.HTTP_429,
    FaultKind.DROP_BEFORE,
)


@attrs.frozen
class Fault:
    """One fault to apply to one request."""

    kind: FaultKind
    latency: float = 0.0
    retry_after: int = 1
    html_status: int = 200


@attrs.define
class _Rule:
    fault: Fault
    script: str | None
    method: str | None
    action: str | None
    times: int

    def matches(self, script: str, method: str, action: str) -> bool:
        return (
            (self.script is None or self.script == script)
            and (self.method is None or self.method == method)
            and (self.action is None or self.action == action)
        )


@attrs.define
class _Rate:
    rate: float
    kinds: tuple[FaultKind, ...]
    script: str | None
    method: str | None
    latency: float
    rng: random.Random


class Faults:
    """The fault plan of one simulator: queued faults first, then a random rate."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Rule] = []
        self._rate: _Rate | None = None
        #: How many faults were applied, per kind.
        self.applied: dict[FaultKind, int] = {}

    def inject(
        self,
        kind: FaultKind | str,
        *,
        script: str | None = None,
        method: str | None = None,
        action: str | None = None,
        times: int = 1,
        latency: float = 0.0,
        retry_after: int = 1,
        html_status: int = 200,
    ) -> None:
        """Queue a fault for the next ``times`` requests matching script/method/action.

        ``script`` is the name with or without ``.php`` (``"database"``); None
        matches anything. Queued faults apply in the order they were queued.

        ``latency`` is for a ``latency`` fault, ``retry_after`` for ``http_429`` and
        ``html_status`` for ``html``.

        Raises ValueError for an unknown kind, an argument out of range, a ``script``
        no request has, a ``method`` no request to the ``script`` has (to any script the
        simulator models, without one; ``click2dial``, not modelled, takes any), an
        ``action`` no request to them has (``reporting.php`` takes none), a
        ``latency`` fault without ``latency`` seconds, or one of those
        three options given to a kind that does not use it (``http_503`` with
        ``retry_after=30``); TypeError for a filter that is not a str.
        """
        fault = Fault(
            kind=_kind(kind),
            latency=_latency(latency),
            retry_after=_retry_after(retry_after),
            html_status=_html_status(html_status),
        )
        # inject("latency") was taken and its "slow" reply came at once: no fault at all.
        if fault.kind is FaultKind.LATENCY and fault.latency == 0:
            raise ValueError("a latency fault needs latency= (seconds, more than 0)")
        _refuse_unused_options(fault)
        name = _script(script)
        method = _method(method, name)
        rule = _Rule(fault, name, method, _action(action, name, method), _times(times))
        with self._lock:
            self._queue.append(rule)

    def set_rate(
        self,
        rate: float,
        kinds: FaultKind | str | Iterable[FaultKind | str] = SAFE_KINDS,
        *,
        script: str | None = None,
        method: str | None = None,
        seed: int = 0,
        latency: float = 0.05,
    ) -> None:
        """Fail a random ``rate`` (0..1) of matching requests with one of ``kinds``.

        ``kinds`` is one kind or several. Replaces any previous rate; ``script`` is as
        for :meth:`inject`. The draws come from ``random.Random(seed)``, so a run is
        repeatable when requests arrive in the same order. The default kinds change
        nothing on the server (safe to retry).
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate!r}")
        if isinstance(kinds, str):  # one kind (a FaultKind is a str): not its letters
            kinds = (kinds,)
        chosen = tuple(_kind(kind) for kind in kinds)
        if not chosen:
            raise ValueError("set_rate needs at least one fault kind")
        latency, script = _latency(latency), _script(script)
        method = _method(method, script)
        with self._lock:
            self._rate = _Rate(rate, chosen, script, method, latency, random.Random(seed))

    def clear(self) -> None:
        """Forget every queued fault and the random rate."""
        with self._lock:
            self._queue.clear()
            self._rate = None

    @property
    def pending(self) -> int:
        """Return how many queued faults are still to apply."""
        with self._lock:
            return sum(rule.times for rule in self._queue)

    def take(self, script: str, method: str, action: str) -> Fault | None:
        """Return the fault for this request, if any, and count it as used."""
        with self._lock:
            fault = self._take_locked(script, method, action)
            if fault is not None:
                self.applied[fault.kind] = self.applied.get(fault.kind, 0) + 1
            return fault

    def _take_locked(self, script: str, method: str, action: str) -> Fault | None:
        for position, rule in enumerate(self._queue):
            if rule.matches(script, method, action):
                rule.times -= 1
                if rule.times == 0:
                    del self._queue[position]
                return rule.fault
        rate = self._rate
        if rate is None or rate.rate == 0.0:
            return None
        if rate.script is not None and rate.script != script:
            return None
        if rate.method is not None and rate.method != method:
            return None
        if rate.rng.random() >= rate.rate:
            return None
        return Fault(kind=rate.rng.choice(rate.kinds), latency=rate.latency)


def _kind(kind: object) -> FaultKind:
    # Enum's own "'503' is not a valid FaultKind" named none of the kinds to pick from.
    try:
        return FaultKind(kind)
    except ValueError:
        kinds = ", ".join(member.value for member in FaultKind)
        raise ValueError(f"unknown fault kind {kind!r}: use one of {kinds}") from None


#: Each option of ``inject`` that one kind uses, with its default.
_KIND_OPTIONS = (
    ("latency", FaultKind.LATENCY, 0.0),
    ("retry_after", FaultKind.HTTP_429, 1),
    ("html_status", FaultKind.HTML, 200),
)


def _refuse_unused_options(fault: Fault) -> None:
    # inject("http_503", retry_after=30) was taken and ignored: a 503 without Retry-After,
    # as latency= on a 5xx sent it at once and html_status= on a 500 sent the plain one.
    for option, kind, default in _KIND_OPTIONS:
        if fault.kind is not kind and getattr(fault, option) != default:
            raise ValueError(
                f"{option}= is for {kind.value} faults only, not for {fault.kind.value} "
                f"(it would be ignored): leave it out, or inject a {kind.value} fault"
            )


def _times(times: object) -> int:
    # A fractional count never reached 0: the fault applied for ever.
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be a whole number of at least 1, got {times!r}")
    return times


def _retry_after(retry_after: object) -> int:
    # HTTP's delay-seconds: -1 was sent as it is, 1.5 as 1, NaN raised int()'s error, True
    # was a second.
    if (
        isinstance(retry_after, bool)
        or not isinstance(retry_after, (int, float))
        or not (0 <= retry_after < math.inf and float(retry_after).is_integer())
    ):
        raise ValueError(
            f"retry_after must be a whole number of seconds (>= 0), got {retry_after!r}"
        )
    return int(retry_after)


def _latency(latency: float) -> float:
    latency = float(latency)
    if not 0 <= latency < math.inf:  # NaN too
        raise ValueError(f"latency must be a finite number of seconds (>= 0), got {latency!r}")
    return latency


def _html_status(html_status: int) -> int:
    # A status outside 200-599, or one whose reply has no body (204, 304), broke the
    # served connection with a traceback: uvicorn cannot send the page; so did 500.0
    # (h11: "status code must be integer").
    try:
        status = operator.index(html_status)
    except TypeError:
        status = 0
    if status not in range(200, 600) or status in (204, 304):
        raise ValueError(
            "html_status must be an HTTP status whose reply has a body "
            f"(an int, 200-599, not 204 or 304), got {html_status!r}"
        )
    return int(status)


def fault_filter(
    what: str, value: object, *, script: str | None = None, method: str | None = None
) -> str | None:
    """``value`` checked as a ``script``, ``method`` or ``action`` filter (``what``): None,
    or a str, a script one of the scripts (without ``.php``), a method one that requests
    to ``script`` (checked already; None: to any script the simulator models) have, an
    action one that requests to ``script`` and ``method`` (checked already) have."""
    if what == "script":
        return _script(value)
    return _method(value, script) if what == "method" else _action(value, script, method)


def _name(what: str, value: object) -> str | None:
    # A filter of another type was taken and never matched a request: a silent no-op.
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} must be a str or None, got {value!r}")
    return value


def _script(script: object) -> str | None:
    # Requests are matched by the name without .php: "ajax.php" never matched one.
    name = _name("script", script)
    if name is None:
        return None
    name = name.removesuffix(".php")
    # A name no request has ("agents", "/ajax.php", "AJAX") was taken, and the fault
    # never struck. Imported here: the endpoints import this module.
    from .endpoints._registry import DOCUMENTED_SCRIPTS

    if name not in DOCUMENTED_SCRIPTS:
        raise ValueError(
            f"script {script!r}: {name!r} is not one of the scripts {sorted(DOCUMENTED_SCRIPTS)}"
        )
    return name


def _method(method: object, script: str | None) -> str | None:
    # A method no request has ("agent" for "agents") was taken, and the fault never
    # struck: a test of a retry then passed with no fault at all.
    name = _name("method", method)
    if name is None:
        return None
    from .endpoints import ENDPOINTS  # imported here, as in _script

    known = ENDPOINTS.methods(script)
    if known is None or name in known:
        return name
    if script is None:
        where = "any script the simulator models (give script= for another)"
    else:
        where = f"{script}.php"
    listed = ", ".join(sorted(known)) or "none: it takes no method"
    raise ValueError(f"method {name!r}: no request to {where} has it ({listed})")


def _action(action: object, script: str | None, method: str | None) -> str | None:
    # As a method: an action no request has ("reads", "delete") made a fault that never
    # struck, or a count of 0 whatever was sent.
    name = _name("action", action)
    if name is None:
        return None
    from .endpoints import ENDPOINTS  # imported here, as in _script

    known = ENDPOINTS.actions(script, method)
    if known is None or name in known:
        return name
    if script is None:
        where = "any script the simulator models (give script= for another)"
    else:
        where = f"{script}.php" + (f"?method={method}" if method is not None else "")
    listed = ", ".join(sorted(known)) or "none: it takes no action"
    raise ValueError(f"action {name!r}: no request to {where} has it ({listed})")
