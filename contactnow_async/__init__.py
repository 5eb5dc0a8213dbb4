"""contactnow_async: an asyncio client for the 8x8 ContactNow API v2.

The public names are all here; everything in an underscored module is private.
"""

from __future__ import annotations

from ._client import ContactNow, resend_is_safe
from ._clock import Clock, ScaledClock, SystemClock, VirtualClock
from ._errors import (
    APIError,
    AuthenticationError,
    BadArgumentError,
    ContactNowError,
    HTTPStatusError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    TokenError,
    TransportError,
    WriteError,
)
from ._models import (
    Agent,
    AgentInput,
    Call,
    LiveAgent,
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
from ._models_records import Record, RecordInput
from ._models_reports import AgentSession, CdrRow, Recording, ReportRow
from ._options import ClientOptions, Region
from ._tokens import FileTokenStore, MemoryTokenStore, TokenStore
from ._transport import RetryPolicy
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
