"""One module per endpoint group: each turns typed arguments into a ``request()`` call.

The groups a plain API client may never use (the campaign database, reporting,
agent control, recordings) are imported when a client first uses them, and
their models with them: see :func:`make_group`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._client import ContactNow
    from .._exchange import Fetched

__all__ = ["LAZY_GROUPS", "make_group"]

#: Attribute of ContactNow -> (module under resources, class).
LAZY_GROUPS = {
    "datasets": ("datasets", "Datasets"),
    "records": ("records", "Records"),
    "campaigns": ("campaigns", "Campaigns"),
    "queues": ("queues", "Queues"),
    "outcome_codes": ("outcome_codes", "OutcomeCodes"),
    "reports": ("reports", "Reports"),
    "control": ("control", "Control"),
    "recordings": ("recordings", "Recordings"),
}


def make_group(
    client: ContactNow, name: str, *, download: Callable[..., Awaitable[Fetched]]
) -> Any:
    """The endpoint group ``client.<name>``, its module imported now; AttributeError for
    a name that is not one. ``download`` is the client's file fetch (recordings)."""
    if name not in LAZY_GROUPS:
        raise AttributeError(f"'ContactNow' object has no attribute {name!r}")
    module, cls = LAZY_GROUPS[name]
    group = getattr(importlib.import_module(f".{module}", __name__), cls)
    return group(client, download=download) if name == "recordings" else group(client)
