"""Beyond one process: tokens in Redis, events relayed to a Redis Stream, one leader.

The ``redis`` extra (``pip install 'contactnow-async[redis]'``), built on
redis-py's asyncio client, which is **asyncio only**: this package does not run
under trio.

- :class:`RedisTokenStore`: one token per egress address, shared by every
  process; a cold start makes one ``token.php`` request between them.
- :class:`RedisLease`: of K replicas one holds the lease, renewed while it
  works, fenced by a counter so a paused old holder cannot write.
- :class:`RedisStreamRelay` / :func:`run_relay`: a lease-holding watcher
  appending every event to a stream, with the backfill cursor in Redis.
- :class:`StreamReader`: consumer groups, events back as
  :class:`~contactnow_async.AgentEvent` s, duplicates dropped by ``log_id``,
  a dead consumer's pending entries claimed.

The entry fields are documented in :func:`event_to_fields`; :func:`refusal` tells a
refused password or ACL user, or a TLS certificate not trusted (retrying won't mend
them), from an outage.
"""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401 -- fail early, with the install hint
except ImportError as exc:  # pragma: no cover -- the extra is installed in the tests
    raise ImportError(
        "contactnow_async.redis needs redis-py: pip install 'contactnow-async[redis]'"
    ) from exc

from ._fields import event_from_fields, event_to_fields
from ._keys import StreamKeyError
from ._lease import LeaseLost, RedisLease
from ._reader import StreamEntry, StreamReader
from ._refusal import refusal
from ._relay import RedisStreamRelay, StreamAccountError, run_relay
from ._tokens import RedisTokenStore

__all__ = [
    "LeaseLost",
    "RedisLease",
    "RedisStreamRelay",
    "RedisTokenStore",
    "StreamAccountError",
    "StreamEntry",
    "StreamKeyError",
    "StreamReader",
    "event_from_fields",
    "event_to_fields",
    "refusal",
    "run_relay",
]
