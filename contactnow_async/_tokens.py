"""Where the token is kept, shared and refreshed.

One :class:`TokenManager` per client hands the same token to every coroutine.
It refreshes:

- proactively, ``margin`` seconds before the token's deadline on the local
  clock (the deadline comes from ``expire`` and the reply's ``Date`` header, so
  a skewed local clock does not matter);
- reactively, when a reply says ``Expired token``/``Invalid token``/``Unknown
  token``: the caller hands back the token that failed and gets a new one.

Either way a refresh is *single flight*: however many calls need a token at
once, one ``token.php?action=get`` is made and every caller waits for it (and
shares its failure, if it fails; an early refresh that fails leaves the token held
in use until it expires, and is tried again every few seconds). The fetch runs in a
task of the client's own, not in the task of the call that needed it first: a caller
may give a time to give up at (its call's deadline), and stops waiting then, but no
caller's deadline or cancellation cuts the fetch short. It goes on, bounded by the
client's own limits on a token request (``timeout``, retries, ``deadline``), until it
brings a token or fails, and the callers after it get what it brought; the client's
``aclose()`` cancels it.

Stores keep the token between runs, because the vendor asks clients not to
fetch tokens needlessly: :class:`MemoryTokenStore` (default) and
:class:`FileTokenStore`. A store shared between processes may also have a
``lock(key)`` method returning an async context manager (see
:class:`TokenStore`; FileTokenStore's is a lock file, RedisTokenStore's a Redis
key): the manager then holds it around "look in the store, fetch if still
missing", so N processes make one fetch between them.

A store that fails (Redis down, a token file's disk gone) is a cache missed, not a
failed call: the manager fetches and holds a token of this process's own (single
flight still), warns once until the store answers again, and uses it again then.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import anyio

from ._clock import Clock, Waits
from ._errors import TokenError, own_copy
from ._faults import CLOSED
from ._flight import Flight, TokenTimeout
from ._http import _running_loop
from ._own_task import start_own_task
from ._redact import redact_query, redact_text
from ._token_file import FileTokenStore
from ._token_store import MemoryTokenStore, TokenStore, WrongEventLoop

if TYPE_CHECKING:
    from ._models import Token

__all__ = ["FileTokenStore", "MemoryTokenStore", "TokenManager", "TokenStore", "TokenTimeout"]

logger = logging.getLogger("contactnow_async")


#: Tokens in a row that expire within the margin before :class:`TokenError` is raised.
MAX_SHORT_FETCHES = 3
#: How many of the tokens a manager held it remembers (:attr:`TokenManager.recent`).
RECENT_TOKENS = 8
#: Seconds before an early refresh that failed is tried again (the token held still good).
RETRY_EARLY_REFRESH = 5.0

# What is logged when the store fails (the first time until it answers again: WARNING).
LOAD_FAILED = (
    "the token store could not be read (%s); this process uses a token of its own until "
    "the store answers again (not warned again until then)"
)
LOCK_NOT_TAKEN = (
    "the token store's lock could not be taken (%s); this process fetches its own token "
    "without it (other processes sharing the store may fetch theirs)"
)
LOCK_NOT_FREED = "the token store's lock failed as it was freed (%s); the token fetched is used"
SAVE_FAILED = "the token store could not keep the new token (%s); it is used from memory"
DELETE_FAILED = (
    "the token store could not forget the refused token (%s); a new one is fetched all the same"
)


class TokenManager:
    """Hands one shared token to every caller and refreshes it single-flight.

    ``fetch`` makes the ``token.php?action=get`` request; the manager decides
    when. ``fetches`` counts the tokens fetched, not the fetches refused or lost (a
    test and a benchmark read it). ``secrets`` (the client's password) and the tokens
    held are hidden in what it logs of an error (a store's may quote what it was given).
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Token]],
        *,
        store: TokenStore,
        key: str,
        clock: Clock,
        margin: float = 60.0,
        secrets: Iterable[str] = (),
        waits: Waits | None = None,
    ) -> None:
        self._fetch = fetch
        self._store = store
        self._key = key
        self._clock = clock
        self.margin = margin
        self._secrets = tuple(secrets)
        #: Whether the store's last call failed: its next failure is not warned again.
        self._store_down = False
        self._token: Token | None = None
        #: The values of the last tokens held, newest last: a request sent with one
        #: may be logged after it was replaced (the log filter hides them all).
        self.recent: tuple[str, ...] = ()
        self._flight: Flight | None = None
        self.fetches = 0
        # Tokens that came back already inside the margin (expire in the past, -1, a
        # lifetime shorter than the margin, a Date header far ahead): each is used for
        # what it is worth until _hold_until, so calls do not fetch one token each.
        self._short_fetches = 0
        self._hold_until = -math.inf
        # The client's: its aclose() ends every wait for a token (RuntimeError).
        self._waits = waits if waits is not None else Waits()

    @property
    def current(self) -> Token | None:
        """The token held now, fresh or not (None before the first call)."""
        return self._token

    async def token(self, give_up_at: float = math.inf) -> Token:
        """Return a token valid for more than ``margin`` seconds, fetching one if needed.

        :class:`TokenTimeout` if none came by ``give_up_at`` (on anyio's clock)."""
        token = self._token
        if token is not None:
            now = self._clock.now()
            if token.is_fresh(now, self.margin) or now < self._hold_until:
                return token
        return await self._refresh(stale=token, give_up_at=give_up_at)

    async def refresh(self, *, stale: Token | None, give_up_at: float = math.inf) -> Token:
        """Replace ``stale`` (the token a reply refused) with a new one.

        If another caller already replaced it, that newer token is returned and
        nothing is fetched: every call that hit the same refused token shares
        one refresh. ``give_up_at`` as for :meth:`token`.
        """
        if stale is not None and self._token is not None and self._token.value == stale.value:
            # Refused: not handed out again while its replacement is fetched (each call
            # started meanwhile would send it to be refused); the calls wait for the fetch.
            self._token = None
        return await self._refresh(stale=stale, refused=True, give_up_at=give_up_at)

    async def renew(self) -> Token:
        """Fetch a new token now, whatever the state of the one held or stored.

        Single flight like every refresh: callers that renew at once share one
        fetch. A fresh token in the store is replaced too, not handed back.
        """
        stale = self._token
        if stale is None:
            with self._waits.within():  # a store stuck: the client's aclose() ends it too
                stale = await self._load()
        return await self._refresh(stale=stale, refused=True)

    def _check_open(self) -> None:
        """RuntimeError once the client closed: a wait for a token (a store stuck, say) ends."""
        if self._waits.closed:
            raise RuntimeError(CLOSED)

    async def _refresh(
        self, *, stale: Token | None, refused: bool = False, give_up_at: float = math.inf
    ) -> Token:
        while True:
            self._check_open()  # cut short by the client's aclose(), or begun after it
            current = self._token
            if (
                current is not None
                and current != stale
                # Nor a copy of the token refused (the same value, another clock offset).
                and not (refused and stale is not None and current.value == stale.value)
                and current.is_fresh(self._clock.now(), self.margin)
            ):
                return current
            flight = self._flight
            led = flight is None or flight.loop is not _running_loop()  # its loop gone
            if flight is None or led:
                flight = self._start(stale=stale, refused=refused)
            flight.waiting += 1
            try:
                with self._waits.within(give_up_at) as scope:  # the fetch goes on regardless
                    await flight.done.wait()
            finally:
                flight.waiting -= 1
            self._check_open()
            if (
                scope.cancelled_caught
                or not flight.done.is_set()
                # Its deadline and the token request's own passed at once: the call's.
                or (flight.token is None and anyio.current_time() >= give_up_at)
            ):
                raise TokenTimeout(led=led)
            if flight.token is not None and not (
                # Not to a caller that refused that very token (it would be resent to be
                # refused): an early refresh that failed hands out the token held, and a
                # fetch begun for another caller may find it in the store. One of its own.
                refused and not led and stale is not None and flight.token.value == stale.value
            ):
                return flight.token
            if flight.error is not None:
                if led:  # the caller that started the fetch raises its error itself
                    raise flight.error
                # Each waiter raises its own copy, chained from the shared error:
                # re-raising one object from many tasks grows its traceback each time.
                raise own_copy(flight.error) from flight.error
            # Cancelled with its event loop (not by aclose()), or it brought the refused token.

    def _start(self, *, stale: Token | None, refused: bool) -> Flight:
        """Start a fetch in a task of the manager's own (anyio has no task outliving its
        starter: the backend's own), which no caller's deadline or cancellation ends."""
        flight = Flight()
        flight.task = start_own_task(
            functools.partial(self._fly, flight, stale=stale, refused=refused)
        )
        # Joined by callers only once its task is made (an eager task may have ended already).
        if not flight.done.is_set():
            self._flight = flight
        return flight

    async def _fly(self, flight: Flight, *, stale: Token | None, refused: bool) -> None:
        """The fetch of ``flight``: its outcome kept there, a BaseException too, raised
        only as the run's end's cancellation (it ends the task) or on asyncio as SystemExit
        or KeyboardInterrupt (a trio system task must not raise; an asyncio task's error
        nobody awaits is lost). ``aclose()`` cancels it: it then ends with no outcome."""
        try:
            with self._waits.within():
                try:
                    token = await self._get(stale=stale, refused=refused)
                except Exception as exc:
                    held = self._still_valid(stale, refused=refused, error=exc)
                    if held is None:
                        raise
                    token, flight.error = held, exc  # for a refused caller the held one fails
                self._hold(token)
                flight.token = token
        except BaseException as exc:  # a store's own, SystemExit...: its starter raises it
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise  # the run's end: the task ends as it says (a trio system task may)
            flight.error = exc
            if not flight.waiting:  # every call gave up: each said only that it timed out
                logger.warning(
                    "the token fetch failed after every call waiting for it had given up "
                    "(the next call fetches again): %s",
                    self._said(exc),
                )
            if flight.task is not None and isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise  # asyncio stops its loop with these, from any task (caller or not)
        finally:
            if self._flight is flight:
                self._flight = None
            flight.done.set()

    async def aclose(self) -> None:
        """Wait for the fetch under way to end, once the client's ``aclose()`` has closed
        its waits (which cancels it); shielded: a closing client leaves no task behind."""
        flight = self._flight
        if flight is not None and flight.loop is _running_loop():
            with anyio.CancelScope(shield=True):
                await flight.done.wait()

    def _hold(self, token: Token) -> None:
        """Hand ``token`` out from now on (and have the log filter hide it)."""
        self._token = token
        if token.value not in self.recent:  # a new tuple: a log filter reads it anywhere
            self.recent = (*self.recent[1 - RECENT_TOKENS :], token.value)

    async def _get(self, *, stale: Token | None, refused: bool) -> Token:
        """The token another process stored, or a new one from ``token.php``."""
        token = await self._from_store(stale=stale, refused=refused)
        if token is not None:
            return token
        lock = getattr(self._store, "lock", None)
        if lock is None or self._store_down:  # down: its lock would fail too, or hang
            return await self._fetch_and_save()
        return await self._get_locked(lock, stale=stale, refused=refused)

    async def _get_locked(
        self,
        lock: Callable[[str], AbstractAsyncContextManager[object]],
        *,
        stale: Token | None,
        refused: bool,
    ) -> Token:
        """:meth:`_get` in the store's lock: a store shared between processes serialises
        the fetch, the first holder fetches and the others find its token once inside. A
        lock that fails is the store's failure, not the call's (only an ``Exception``: a
        cancellation is no failure)."""
        token: Token | None = None
        failure: Exception | None = None  # the body's own (the fetch's)
        entered = False
        try:
            async with lock(self._key):
                entered = True
                try:
                    token = await self._from_store(stale=stale, refused=refused)
                    if token is None:
                        token = await self._fetch_and_save()
                except Exception as exc:
                    failure = exc
                    raise
        except Exception as exc:
            if entered and token is None and (failure is None or failure is exc):
                raise  # the fetch's error, or a cancellation the lock's exit replaced
            # Not taken: fetched without it. Not freed: the token fetched (held) is good.
            self._store_failed(LOCK_NOT_FREED if entered else LOCK_NOT_TAKEN, exc, token)
        if failure is not None:  # raised here, after the lock's own error was logged
            raise failure
        return token if token is not None else await self._fetch_and_save()

    def _still_valid(self, stale: Token | None, *, refused: bool, error: Exception) -> Token | None:
        """The token held, if its early refresh failed and it has not expired: calls go on
        with it, and the refresh is tried again after ``RETRY_EARLY_REFRESH`` seconds."""
        now = self._clock.now()
        if refused or stale is None or stale != self._token or stale.local_deadline() <= now:
            return None
        self._hold_until = min(stale.local_deadline(), now + RETRY_EARLY_REFRESH)
        logger.warning(
            "could not refresh the token early (%s); the current one, good for %.0f s "
            "more, is used meanwhile",
            self._said(error),
            stale.local_deadline() - now,
        )
        return stale

    async def _fetch_and_save(self) -> Token:
        token = await self._fetch()
        self.fetches += 1  # a token came: a refused or lost fetch gave none
        now = self._clock.now()
        if token.is_fresh(now, self.margin):
            self._short_fetches, self._hold_until = 0, -math.inf
        elif token.value in self.recent and token.local_deadline() > now:
            # token.php hands back the token it gave while that is valid ("a new token if
            # one does not already exist"): no clock is wrong, it is used until it expires.
            self._short_fetches, self._hold_until = 0, token.local_deadline()
        else:
            self._short_fetches += 1
            if self._short_fetches > MAX_SHORT_FETCHES:
                self._short_fetches, self._hold_until = 0, -math.inf
                raise TokenError(
                    f"token.php issued {MAX_SHORT_FETCHES + 1} tokens in a row that expire "
                    f"within {self.margin:g}s of being fetched (expire {token.expires_ts}, "
                    f"server clock {token.clock_offset:+.0f}s from ours): is the API's clock "
                    "or its Date header wrong?"
                )
            # Back off: hold this token 1, 2, 4 s before asking for another.
            self._hold_until = now + min(60.0, 2.0 ** (self._short_fetches - 1))
        # Held before the store keeps it: the calls that start meanwhile (a file's write, a
        # Redis round trip) use it at once.
        self._hold(token)
        try:
            await self._store.save(self._key, token)
        except Exception as exc:  # the token is good without the store (see TokenStore)
            self._store_failed(SAVE_FAILED, exc, token)
        else:
            self._store_answered()
        return token

    async def _load(self) -> Token | None:
        """The stored token, or None if there is none or the store failed (logged)."""
        try:
            stored = await self._store.load(self._key)
        except WrongEventLoop:
            raise
        except Exception as exc:  # a cache missed: this process fetches its own
            self._store_failed(LOAD_FAILED, exc)
            return None
        self._store_answered()
        return stored

    def _store_failed(
        self, message: str, error: Exception, *tokens: Token | None, down: bool = True
    ) -> None:
        """Log the store's failure: a warning for the first of an outage, for every
        other one a debug line (a store down fails every refresh until it is back).
        ``down=False``: the store answered just before (a delete after its load), so it
        is not taken for down, and its lock is still held around the fetch."""
        level = logging.DEBUG if self._store_down else logging.WARNING
        self._store_down = self._store_down or down
        logger.log(level, message, self._said(error, *tokens))

    def _store_answered(self) -> None:
        if self._store_down:
            self._store_down = False
            logger.info("the token store answers again; tokens are kept and shared there")

    def _said(self, error: BaseException, *tokens: Token | None) -> str:
        """``error``'s class and text for a log line, the client's secrets, the tokens held
        and ``tokens`` hidden, then any URL's query (cut at a quote: a secret first, whole)."""
        secrets = (*self._secrets, *self.recent, *(token.value for token in tokens if token))
        return f"{type(error).__name__}: {redact_query(redact_text(str(error), secrets))}"

    async def _from_store(self, *, stale: Token | None, refused: bool) -> Token | None:
        """A fresh token another process (or an earlier run) left in the store, if any."""
        stored = await self._load()
        if stored is None or not stored.is_fresh(self._clock.now(), self.margin):
            return None
        if refused and stale is not None and stored.value == stale.value:
            try:
                await self._store.delete(self._key, stored)
            except Exception as exc:  # housekeeping: the new token's save replaces it
                self._store_failed(DELETE_FAILED, exc, stored, down=False)
            return None
        if stale is not None and stored.value == stale.value:
            return None
        return stored
