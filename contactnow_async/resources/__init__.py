"""One module per endpoint group: each turns typed arguments into a ``request()`` call.

A client makes each group when it is first used, importing the group's module and
its models then (see :class:`Groups`): ``import contactnow_async`` loads none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agents import Agents
    from .campaigns import Campaigns
    from .control import Control
    from .datasets import Datasets
    from .live import Live
    from .outcome_codes import OutcomeCodes
    from .priorities import Priorities
    from .queues import Queues
    from .recordings import Recordings
    from .records import Records
    from .reports import Reports
    from .status_log import StatusLog
    from .tokens import Tokens

__all__ = ["GROUPS", "Groups", "make_group"]

#: Attribute of ContactNow -> (module under resources, class, the client's wiring it takes).
GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "agents": ("agents", "Agents", ()),
    "status_log": ("status_log", "StatusLog", ()),
    "priorities": ("priorities", "Priorities", ()),
    "live": ("live", "Live", ()),
    "tokens": ("tokens", "Tokens", ("manager", "send", "fetch")),
    "datasets": ("datasets", "Datasets", ()),
    "records": ("records", "Records", ()),
    "campaigns": ("campaigns", "Campaigns", ()),
    "queues": ("queues", "Queues", ()),
    "outcome_codes": ("outcome_codes", "OutcomeCodes", ()),
    "reports": ("reports", "Reports", ()),
    "control": ("control", "Control", ()),
    "recordings": ("recordings", "Recordings", ("download",)),
}


def make_group(client: Groups, name: str, **wiring: Any) -> Any:
    """The endpoint group ``client.<name>``, its module imported now; AttributeError for
    a name that is not one. ``wiring`` is what some groups take from the client besides
    itself: ``download`` (its file fetch, for recordings), and its token ``manager``,
    ``send`` and ``fetch`` (its ``token.php`` calls, for tokens)."""
    if name not in GROUPS:
        raise AttributeError(f"'ContactNow' object has no attribute {name!r}")
    module, cls, takes = GROUPS[name]
    group = getattr(importlib.import_module(f".{module}", __name__), cls)
    return group(client, **{key: wiring[key] for key in takes})


class Groups:
    """The endpoint groups of a client (``cn.agents``, ``cn.live``, ...), each made at
    its first use by :func:`make_group` and kept in the client's slot of that name; the
    client gives the wiring (``_download``, ``_token_manager``, ``_send_token_request``,
    ``_fetch_token``)."""

    __slots__ = ()

    if TYPE_CHECKING:
        agents: Agents
        status_log: StatusLog
        priorities: Priorities
        live: Live
        tokens: Tokens
        datasets: Datasets
        records: Records
        campaigns: Campaigns
        queues: Queues
        outcome_codes: OutcomeCodes
        reports: Reports
        control: Control
        recordings: Recordings
    else:

        def __getattr__(self, name):  # only for a name with no value: an empty slot
            group = make_group(
                self,
                name,
                download=self._download,
                manager=self._token_manager,
                send=self._send_token_request,
                fetch=self._fetch_token,
            )
            object.__setattr__(self, name, group)
            return group
