"""Redis errors that are no outage: a refused password or ACL user, or a TLS certificate
not trusted, which retrying won't mend."""

from __future__ import annotations

import ssl

from redis.exceptions import AuthenticationError, NoPermissionError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["refusal"]

# What Redis answers when a script calls a command, or touches a key, its ACL user may not
# (an ERR reply, not NOPERM, so redis-py raises a plain ResponseError).
_SCRIPT_REFUSED = "The user executing the script can't"


def refusal(exc: BaseException) -> RedisError | None:
    """The refusal ``exc`` is, or None for an error worth retrying.

    A refusal is a wrong password or user (AuthenticationError), a command or key the
    ACL user may not use (NoPermissionError, here also for the ``ERR`` a script gets),
    or a TLS certificate of Redis (``rediss://``) that this side does not trust (a
    ConnectionError saying so, for redis-py's caused by ``ssl.SSLCertVerificationError``).
    Over a unix socket redis-py raises a refused password as a ConnectionError caused by
    the AuthenticationError: that cause is returned, so a caller's ``except
    AuthenticationError`` sees it.
    """
    for error in (exc, exc.__cause__):
        if isinstance(error, (AuthenticationError, NoPermissionError)):
            return error
    if isinstance(exc, ResponseError) and _SCRIPT_REFUSED in str(exc):
        return NoPermissionError(str(exc))
    causes = (exc.__cause__, exc.__context__)
    if isinstance(exc, RedisConnectionError) and any(
        isinstance(error, ssl.SSLCertVerificationError) for error in causes
    ):
        # A self-signed or unknown CA, a host name the certificate does not name: the
        # same certificate comes back at every try. redis-py's text names the host and
        # port (never the password) and the reason.
        return RedisConnectionError(
            f"{exc} Redis's TLS certificate is not trusted, and retrying won't mend it: "
            "give the CA that signed it (ssl_ca_certs=PATH in the rediss:// URL), or the "
            "host name it was issued for"
        )
    return None
