"""The ``--redis`` URL of ``relay`` and ``serve``: checked before use, refusals in one line.

The URL may hold a password: no message here quotes it whole (``shown_url`` drops it).
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import urlsplit

from ._common import EXIT_AUTH, EXIT_NETWORK, fail
from ._process_title import hide_redis_password


def check_redis_url(url: str) -> None:
    """Exit with a usage error, in one line, if redis-py cannot parse ``url``."""
    from ..redis._keys import check_url

    hide_redis_password(url)  # ps showed it for as long as the relay or server ran
    try:
        check_url(url)
    except ValueError as exc:  # quotes no piece of the URL: it may hold a password
        fail(f"--redis: {str(exc).removeprefix('redis URL: ')}")
    # redis-py reads the path's digits with every '/' dropped, and anything else as no path:
    # redis://host/abc was database 0 and redis://host/1/2 database 12, without a word.
    scheme, _, rest = url.partition("://")
    path = re.split(r"[?#]", rest, maxsplit=1)[0].partition("/")[2]
    if scheme.lower() in ("redis", "rediss") and path and not path.isdecimal():
        fail(
            "--redis: the URL's path must be a database number, as in redis://host:6379/0 "
            "(a '/' in a password is written %2F; the URL is not shown)"
        )


def fail_refused(refused: Exception, *, who: str, needs: str, url: str) -> NoReturn:
    """Exit with ``EXIT_AUTH``: Redis refused the password or ACL user in ``--redis``;
    with ``EXIT_NETWORK`` for its TLS certificate not trusted (``refusal()``'s other kind).

    ``who`` is the command's part ("the relay"), ``needs`` the ACL rules it needs, ``url``
    the ``--redis`` URL (shown without its password).
    """
    from redis.exceptions import AuthenticationError, NoPermissionError

    if not isinstance(refused, (AuthenticationError, NoPermissionError)):
        fail(f"{who} cannot use Redis at {shown_url(url)}: {refused}", EXIT_NETWORK)
    if isinstance(refused, NoPermissionError):
        fail(
            f"the Redis user in --redis may not use what {who} needs "
            f"({needs} on the stream's keys): {refused}",
            EXIT_AUTH,
        )
    # The URL is not shown: it holds the password.
    fail(f"Redis refused {who}'s credentials in --redis: {refused}", EXIT_AUTH)


def shown_url(url: str) -> str:
    """``url`` as a message may show it: without its password, nor its query (which may
    hold ``ssl_password``). ``url`` is one :func:`check_redis_url` let through."""
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    user = user.partition(":")[0]
    return f"{parts.scheme}://{user + '@' if user else ''}{host}{parts.path}"
