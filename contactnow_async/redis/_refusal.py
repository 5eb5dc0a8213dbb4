"""Redis errors that are no outage: a refused password or ACL user, which retrying won't mend."""

from __future__ import annotations

from redis.exceptions import AuthenticationError, NoPermissionError, RedisError, ResponseError

__all__ = ["refusal"]

# What Redis answers when a script calls a command, or touches a key, its ACL user may not
# (an ERR reply, not NOPERM, so redis-py raises a plain ResponseError).
_SCRIPT_REFUSED = "The user executing the script can't"


def refusal(exc: BaseException) -> RedisError | None:
    """The refusal ``exc`` is, or None for an error worth retrying.

    A refusal is a wrong password or user (AuthenticationError), or a command or key the
    ACL user may not use (NoPermissionError, here also for the ``ERR`` a script gets).
    Over a unix socket redis-py raises a refused password as a ConnectionError caused by
    the AuthenticationError: that cause is returned, so a caller's ``except
    AuthenticationError`` sees it.
    """
    for error in (exc, exc.__cause__):
        if isinstance(error, (AuthenticationError, NoPermissionError)):
            return error
    if isinstance(exc, ResponseError) and _SCRIPT_REFUSED in str(exc):
        return NoPermissionError(str(exc))
    return None
