"""contactnow_async: an asyncio client for the 8x8 ContactNow API v2.

The public names are all here; everything in an underscored module is private.
"""

from __future__ import annotations

import importlib
import typing

from ._client import ContactNow, resend_is_safe
from ._clock import Clock, ScaledClock, SystemClock, VirtualClock
from ._errors import (
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
)
from ._options import ClientOptions, Region
from ._token_file import FileTokenStore
from ._token_store import MemoryTokenStore, TokenStore
from ._transport import RetryPolicy

if typing.TYPE_CHECKING:
    from ._models import (
        Agent,
        AgentInput,
        QueueAssignment,
        StatusLogEntry,
        Token,
        WriteResult,
    )
    from ._models_ecnow import (
        CampaignField,
        Dataset,
        DatasetInput,
        DatasetStatus,
        OutcomeCode,
        Queue,
        QueueType,
    )
    from ._models_live import Call, LiveAgent
    from ._models_records import Record, RecordInput
    from ._models_reports import AgentSession, CdrRow, Recording, ReportRow
    from ._wire import Envelope
    from .resources.live import LiveSnapshot
    from .watch import (
        AgentEvent,
        AgentStream,
        AgentWatcher,
        Health,
        HealthEvent,
        Subscription,
        WatchOptions,
    )

#: Public names whose modules are imported when a name is first used (PEP 562): the
#: watcher, the models (each group's are imported with it, when a client first uses
#: it), and the envelope. Importing the package loads only what a client needs to exist.
_LAZY = {
    **dict.fromkeys(
        ["Agent", "AgentInput", "QueueAssignment", "StatusLogEntry", "Token", "WriteResult"],
        "_models",
    ),
    **dict.fromkeys(["Call", "LiveAgent"], "_models_live"),
    "LiveSnapshot": "resources.live",
    "Envelope": "_wire",
    **dict.fromkeys(
        [
            "CampaignField",
            "Dataset",
            "DatasetInput",
            "DatasetStatus",
            "OutcomeCode",
            "Queue",
            "QueueType",
        ],
        "_models_ecnow",
    ),
    **dict.fromkeys(["Record", "RecordInput"], "_models_records"),
    **dict.fromkeys(["AgentSession", "CdrRow", "Recording", "ReportRow"], "_models_reports"),
    "AgentEvent": "watch",
    "AgentStream": "watch",
    "AgentWatcher": "watch",
    "Health": "watch",
    "HealthEvent": "watch",
    "Subscription": "watch",
    "WatchOptions": "watch",
}

__version__ = "0.1.0.dev0"

__all__ = [
    "APIError",
    "Agent",
    "AgentEvent",
    "AgentInput",
    "AgentSession",
    "AgentStream",
    "AgentWatcher",
    "AuthenticationError",
    "BadArgumentError",
    "Call",
    "CampaignField",
    "CdrRow",
    "ClientOptions",
    "Clock",
    "ContactNow",
    "ContactNowError",
    "Dataset",
    "DatasetInput",
    "DatasetStatus",
    "Envelope",
    "FileTokenStore",
    "HTTPStatusError",
    "Health",
    "HealthEvent",
    "LiveAgent",
    "LiveSnapshot",
    "LogPositionError",
    "MemoryTokenStore",
    "OutcomeCode",
    "Queue",
    "QueueAssignment",
    "QueueType",
    "RateLimitError",
    "Record",
    "RecordInput",
    "Recording",
    "Region",
    "ReportRow",
    "RequestTimeout",
    "ResponseFormatError",
    "RetryPolicy",
    "ScaledClock",
    "StatusLogEntry",
    "Subscription",
    "SystemClock",
    "Token",
    "TokenError",
    "TokenStore",
    "TransportError",
    "VirtualClock",
    "WatchOptions",
    "WriteError",
    "WriteResult",
    "__version__",
    "resend_is_safe",
]


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found here from now on, without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
