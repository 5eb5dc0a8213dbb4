"""The client: its options, its lifecycle, and ``request()``.

Every typed call (``cn.agents.read``, ``cn.live.agents``, ...) ends up in
:meth:`ContactNow.request`, which:

1. takes the shared token from the :class:`~contactnow_async._tokens.TokenManager`;
2. builds one :class:`~contactnow_async._transport.ApiRequest` and hands it to the
   :class:`~contactnow_async._transport.Transport` (limiter, httpx exchange,
   deadlines, decoding, retries where a resend cannot duplicate work);
3. on a token error, fetches one new token (shared) and resends once: a refused
   token means nothing was done, so this is safe even for creates;
4. raises :class:`APIError` for ``success: false``.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import timezone, tzinfo
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import httpx

from ._clock import Clock, SystemClock, waits_of
from ._errors import AuthenticationError, ResponseFormatError, TokenError
from ._http import Binding, PoolMaker, Wire, check_wire, pool_kind
from ._lazy import LazyMethod
from ._options import (
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientOptions,
    Region,
    call_bound,
    check_call,
    check_credentials,
    check_options,
    normalise_base_url,
    resend_is_safe,
    token_key,
)
from ._redact import install_httpx_log_filter, own_secrets, redact_user_info, reused, secret_values
from ._refusals import AUTHENTICATION_FAILURE, api_error, is_token_error
from ._tokens import MemoryTokenStore, TokenManager, TokenStore, TokenTimeout
from ._transport import ApiRequest, Reply, RetryPolicy, Transport
from ._wire import Envelope, Format, encode_payload, php_params
from .resources import Groups

if TYPE_CHECKING:
    from ._exchange import Fetched, Sink
    from ._models import Token
    from .watch import watch_agents as _watch_agents

__all__ = ["ClientOptions", "ContactNow", "Region", "resend_is_safe"]

logger = logging.getLogger("contactnow_async")

#: A read whose filters would make the query string longer than this goes as a POST form.
MAX_QUERY_CHARS: Final = 2000
FORM: Final = "application/x-www-form-urlencoded"


class ContactNow(Groups):
    """An asyncio (and trio) client for the 8x8 ContactNow API v2.

    Use it as an async context manager; one client shares one token and one
    connection pool between any number of concurrent calls::

        async with ContactNow(username="u", password="p", region=Region.EU) as cn:
            agents = await cn.agents.read(name="Joe Blogs")

    ``base_url`` overrides ``region`` (point it at the simulator in tests). ``http_client`` is
    used as given and not closed by :meth:`aclose`; else ``transport`` says what the client's
    own runs on (``"auto"``; ``"httpx"`` opts out of aiohttp; an ``httpx.AsyncBaseTransport``,
    such as ``httpx.MockTransport`` in a test, is sent through, and closed with the client).
    ``campaign`` (the contact centre id) is sent as ``campaign=`` on every call. ``clock`` is
    where token deadlines and retry backoff are read (a virtual clock in tests). ``timeout``
    bounds one attempt from connecting to the last byte (not only each read); ``deadline``
    bounds a call, its token and retries included (default: every attempt at ``timeout`` plus
    every backoff at its ceiling); a download's ``timeout`` bounds each wait instead, and only
    your ``deadline`` the whole of it. ``record_tz`` is the zone of the contact centre's record
    dates (``ecnow`` callbacks, process dates), which the API sends without one: UTC unless you
    say otherwise (``ZoneInfo("Europe/London")``). ``max_response_bytes`` caps a reply's decoded
    body; ``max_download_bytes`` (512 MiB) a downloaded file (a recording) instead. The options
    are read-only afterwards: see :attr:`options`.
    """

    __slots__ = (
        "__weakref__",  # the log filter's reference: it forgets a client that is gone
        "_binding",
        "_last_secrets",
        "_own_secrets",
        "_password",
        "_token_manager",
        "_transport",
        "_waits",
        "agents",
        "campaigns",
        "clock",
        "control",
        "datasets",
        "live",
        "options",
        "outcome_codes",
        "priorities",
        "queues",
        "recordings",
        "records",
        "reports",
        "status_log",
        "token_store",
        "tokens",
    )

    def __init__(
        self,
        *,
        username: str,
        password: str,
        region: Region = Region.EU,
        base_url: str | None = None,
        format: Format = "json",
        timeout: float | httpx.Timeout = 30.0,
        deadline: float | None = None,
        max_retries: int = 2,
        max_concurrency: int = 20,
        token_store: TokenStore | None = None,
        token_margin: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
        campaign: str | None = None,
        clock: Clock | None = None,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        record_tz: tzinfo = timezone.utc,
        transport: Wire = "auto",
    ) -> None:
        check_credentials(username, password)
        if base_url is None:
            try:
                region = Region(region)
            except ValueError:
                raise ValueError(
                    f"region must be Region.EU or Region.US, not {region!r} "
                    "(or give base_url for another host)"
                ) from None
        self.options = options = ClientOptions(
            base_url=normalise_base_url(base_url if base_url is not None else region.value),
            username=username,
            format=format,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            token_margin=token_margin,
            campaign=campaign,
            retry_backoff=retry_backoff,
            retry_backoff_max=retry_backoff_max,
            max_response_bytes=max_response_bytes,
            max_download_bytes=max_download_bytes,
            record_tz=record_tz,
            transport=transport,
        )
        check_options(options)
        check_wire(transport, own=http_client is None)
        self._password = password
        self._own_secrets = own_secrets(password, options.base_url)  # a gateway's too
        self._last_secrets: tuple[str, ...] = ()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._transport = Transport(
            http_client or PoolMaker(transport, timeout=timeout, max_connections=max_concurrency),
            base_url=options.base_url,
            clock=self.clock,
            retry=RetryPolicy(
                max_retries=max_retries, backoff=retry_backoff, backoff_max=retry_backoff_max
            ),
            max_concurrency=max_concurrency,
            max_response_bytes=max_response_bytes,
            timeout=options.attempt_timeout,
            deadline=options.call_deadline,
            call_bound=call_bound(options),
        )
        self._waits = waits_of(self)  # closed or not; the waits its aclose() ends
        kind = pool_kind(given=http_client is not None, transport=transport)
        self._binding = Binding(kind, moved=self._transport.new_library)
        self.token_store: TokenStore = (
            token_store if token_store is not None else MemoryTokenStore()
        )
        self._token_manager = TokenManager(
            self._fetch_token,
            store=self.token_store,
            key=token_key(options),
            clock=self.clock,
            margin=token_margin,
            secrets=self._own_secrets,
            waits=self._waits,
        )
        install_httpx_log_filter(self, lambda cn: (*cn._own_secrets, *cn._token_manager.recent))

    @property
    def base_url(self) -> str:
        """The API's base URL, ending in ``/``."""
        return self.options.base_url

    @property
    def username(self) -> str:
        """The API username."""
        return self.options.username

    @property
    def format(self) -> Format:
        """``"json"`` or ``"xml"``: what the client asks the API to answer in."""
        return self.options.format

    @property
    def retry(self) -> RetryPolicy:
        """When and after how long a failed attempt is tried again."""
        return self._transport.retry

    def __repr__(self) -> str:
        base_url = redact_user_info(self.base_url)  # a gateway password in it: not shown
        return f"<ContactNow base_url={base_url!r} username={self.username!r}>"

    async def __aenter__(self) -> ContactNow:
        self._check_open()
        self._binding.enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless the caller passed its own ``http_client``); a
        call still running (waiting for its token too) is cut short, raising RuntimeError,
        as is a watcher of the client (its readers get that error) and a token fetch."""
        if self._waits.closed:
            return
        self._binding.check()
        self._waits.close()
        await self._token_manager.aclose()  # returns once the fetch it cancelled has ended
        await self._transport.aclose()  # it closes its pool only if it made it

    @property
    def is_closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._waits.closed

    def _check_open(self) -> None:
        if self._waits.closed:
            raise RuntimeError("this ContactNow client is closed; create a new one")
        self._binding.check()

    if TYPE_CHECKING:
        #: ``async with cn.watch_agents() as stream``: see
        #: :func:`contactnow_async.watch.watch_agents` (its overloads type this method).
        watch_agents = _watch_agents
    else:
        # The watcher's own, loaded on first use: importing the client never loads the watcher.
        watch_agents = LazyMethod("contactnow_async.watch", "watch_agents")

    async def request(
        self,
        script: str,
        *,
        method: str | None = None,
        action: str | None = None,
        params: Mapping[str, Any] | None = None,
        payload: Sequence[Mapping[str, Any]] | None = None,
        record_name: str | None = None,
        idempotent: bool | None = None,
    ) -> Envelope:
        """Call ``<script>.php`` with a token and return the decoded envelope.

        The escape hatch for every script the typed groups do not cover
        (``click2dial``, ...). ``params`` are encoded as PHP reads them: nested
        mappings and lists become arrays (``search={"FirstName": "john"}`` is
        ``search[FirstName]=john``, ``x=[1, 2]`` is ``x[]=1&x[]=2``). A read whose
        query string would pass about 2,000 characters is sent as a POST form, as
        the vendor's PHP wrapper does. ``payload`` records are sent as the raw
        POST body (a JSON array, or ``<dxi><record_name>`` XML).

        ``idempotent`` says whether a resend after the server may have processed
        the request is harmless; by default only reads and the documented
        idempotent writes are (:func:`resend_is_safe`), and a call without
        ``action`` (``reporting.php`` is documented with ``method`` only) is a
        write unless you say ``idempotent=True``.

        Raises :class:`APIError` when the API answers ``success: false``, and
        :class:`WriteError` when a write (a ``payload``, or an ``action`` other than
        ``read``) reports ``bad > 0`` refused records;
        ValueError for ``params`` that set what the client sends itself (``action``,
        ``method``, ``format``, ``raw``, ``token``: PHP would read the last of two).
        """
        self._check_open()
        check_call(script, params, payload, idempotent)
        base: list[tuple[str, str]] = []
        if action is not None:
            base.append(("action", action))
        if method is not None:
            base.append(("method", method))
        base += [("format", self.format), ("raw", "1")]
        if self.options.campaign is not None and "campaign" not in (params or {}):
            base.append(("campaign", self.options.campaign))  # a reporting filter wins
        fields = php_params(params or {})
        body: bytes | None = None
        content_type: str | None = None
        if payload is not None:
            body, content_type = encode_payload(
                payload, format=self.format, record_name=record_name or method or "record"
            )
            query = base + fields
        elif (
            # Encoded, a character is 12 at most (4 UTF-8 bytes, each %XX): short filters are
            # not encoded here only to be measured (the URL cache encodes a query once).
            sum(len(name) + len(value) + 2 for name, value in fields) * 12 > MAX_QUERY_CHARS
            and len(form := urllib.parse.urlencode(fields)) > MAX_QUERY_CHARS
        ):
            body, content_type = form.encode("ascii"), FORM
            query = base
        else:
            query = base + fields
        if idempotent is None:
            idempotent = resend_is_safe(script, method, action)
        # One deadline for the whole call: its token, attempts, a refresh and the resend.
        give_up_at = self._transport.give_up_at()
        try:
            token = await self._token_manager.token(give_up_at)
        except TokenTimeout as cut:
            what = ApiRequest(script, method, action, params=()).describe()
            raise cut.timeout(what, self._transport.call_bound) from None
        sent_secrets = secret_values(params, payload)
        resent_for_token = False
        while True:
            # Made whole for each token (not evolved from a tokenless one: half the cost).
            sent = ApiRequest(
                script,
                method,
                action,
                params=(*query, ("token", token.value)),
                body=body,
                content_type=content_type,
                idempotent=idempotent,
                secrets=self._secrets(token, sent_secrets),
            )
            envelope = (await self._transport.send(sent, give_up_at)).envelope
            if is_token_error(envelope):
                if resent_for_token:
                    raise TokenError(
                        f"{script}.php refused a freshly fetched token ({envelope.error}); "
                        "tokens are bound to the address that fetched them: is this process "
                        "behind a different address than the one that fetched it?",
                        error=envelope.error,
                        envelope=envelope,
                    )
                resent_for_token = True
                logger.debug("token refused (%s); fetching a new one", envelope.error)
                try:
                    token = await self._token_manager.refresh(stale=token, give_up_at=give_up_at)
                except TokenTimeout as cut:
                    again = " again (its token was refused)"
                    raise cut.timeout(sent.describe(), self._transport.call_bound, again) from None
                continue
            if not envelope.success:
                raise api_error(sent.describe(), envelope)
            if envelope.bad and (payload is not None or action not in (None, "read")):
                # A write (its records in the body or its fields in the query) refused records.
                from .resources._base import write_result  # rare

                write_result(envelope, what=sent.describe())  # raises WriteError
            if envelope.error:  # the vendor's XML error examples say <success>1</success>
                raise api_error(sent.describe(), envelope)
            return envelope

    async def _download(
        self, script: str, params: Mapping[str, Any], to: Sink, *, cap: int
    ) -> Fetched:
        """Fetch ``<script>.php``'s file into ``to``: see :func:`._downloads.download`."""
        from ._downloads import download  # imported at the first download, not with the client

        self._check_open()
        fields = [("format", self.format), ("raw", "1"), *php_params(params)]
        if self.options.campaign is not None:
            fields.append(("campaign", self.options.campaign))
        return await download(
            ApiRequest(script, None, None, params=tuple(fields), idempotent=True),
            to,
            cap=cap,
            transport=self._transport,
            tokens=self._token_manager,
            secrets=self._secrets,
            deadline=self.options.deadline,  # not the one derived from timeout: see there
        )

    async def _send_token_request(self, action: str, params: Mapping[str, Any]) -> Reply:
        """Send a ``token.php`` request (never with a client token of its own)."""
        self._check_open()
        request = ApiRequest(
            "token",
            None,
            action,
            params=(("action", action), ("format", self.format), *php_params(params)),
            idempotent=True,
            secrets=self._secrets(None),
        )
        return await self._transport.send(request)

    async def _fetch_token(self, address: str | None = None) -> Token:
        """``token.php?action=get``: the only place a token is fetched (for ``address``,
        another IP, when given)."""
        from ._models import Token, token_expiry  # at the first token, not at import

        reply = await self._send_token_request(
            "get", {"username": self.username, "password": self._password, "address": address}
        )
        envelope = reply.envelope
        if not envelope.success or envelope.error:  # an error beside success 1: the XML form
            if envelope.error == AUTHENTICATION_FAILURE:
                raise AuthenticationError(
                    f"token.php refused the username {self.username!r} or its password "
                    "(Authentication failure): check the API credentials",
                    error=envelope.error,
                    envelope=envelope,
                )
            raise api_error("token.php action=get", envelope)
        value = envelope.raw.get("token")
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise ResponseFormatError(
                "token.php answered success without a token", content_type=None
            )
        local_now = self.clock.now()
        server_now = reply.server_date if reply.server_date is not None else local_now
        return Token(
            value=str(value),
            expires_ts=token_expiry(envelope.raw.get("expire")),
            clock_offset=server_now - local_now,
        )

    def _secrets(self, sent: Token | None, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        """What a reply must not echo: the passwords, the current token and the one sent."""
        tokens = [token.value for token in (self._token_manager.current, sent) if token is not None]
        found = tuple(secret for secret in (*self._own_secrets, *extra, *tokens) if secret)
        self._last_secrets = reused(self._last_secrets, found)  # their forms found once
        return self._last_secrets
