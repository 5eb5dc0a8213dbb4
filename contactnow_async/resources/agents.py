"""``database.php method=agents``: agent records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._models import AGENT_FIELDS, AGENT_WIRE_NAMES, Agent, WriteResult
from ._base import (
    RecordLike,
    Resource,
    build,
    created,
    fields_of,
    one_id,
    scalar,
    to_records,
    write_result,
)


class Agents(Resource):
    """Create, read and update agent records."""

    __slots__ = ()

    async def read(self, **filters: str | int | None) -> list[Agent]:
        """Return the agents matching every filter (any documented agent field).

        A filter is named by its wire name or its attribute name (``agentid=`` or
        ``agent_id=``). Example: ``read(name="Joe Blogs")``.

        ``filter=`` is passed as given, and the API reads it as an expression on the
        agent's ``filter`` field, as the vendor's own code uses it: ``"!= 999"``
        leaves out deleted agents (999 marks one), ``"NOT IN (999, 505050)"`` also
        the default PBX agent; a plain value (``"0"``) matches that value.
        """
        params: dict[str, Any] = {}
        for name, value in filters.items():
            field = AGENT_WIRE_NAMES.get(name, name)
            if field not in AGENT_FIELDS:
                raise TypeError(f"agents.read() got an unknown filter {name!r}")
            if value is not None:
                if field in params:
                    raise TypeError(f"agents.read() got {field} twice, by both its names")
                params[field] = scalar(value, name=name)  # not name[]=..., nor True as "1"
        envelope = await self._client.request(
            "database", method="agents", action="read", params=params
        )
        return build(Agent.from_record, envelope, what="agents.read")

    async def create(self, agents: Iterable[RecordLike]) -> WriteResult:
        """Create agents; ``key`` of the result is the new agent's id. A reply of ``total``
        0 (none created, none refused) raises :class:`~contactnow_async.WriteError`.

        **Not idempotent**: the API adds a duplicate on every create, so this is
        never resent once the request may have reached the server. A lost reply
        raises :class:`~contactnow_async.TransportError` with ``sent=True``, a
        gateway's error :class:`~contactnow_async.HTTPStatusError` (not a 429) or a
        garbled reply :class:`~contactnow_async.ResponseFormatError`: each came after
        the request reached the server, so read the agents back before trying again.
        """
        records = _wire_records(agents, what="agents.create")
        envelope = await self._client.request(
            "database", method="agents", action="create", payload=records, record_name="agent"
        )
        return created(envelope, what="agents.create")

    async def update(self, agents: Iterable[RecordLike]) -> WriteResult:
        """Update agents: each record names its ``agentid`` and the fields to change.

        A mapping names a field by its wire name or its attribute name (``userfield``
        or ``user_field``); a field the API does not list is a ``ValueError``.
        """
        records = _wire_records(agents, what="agents.update")
        for record in records:
            if not record.get("agentid") or _blank(record["agentid"]):
                raise ValueError(
                    "agents.update: every record needs an agentid, "
                    f"got one with {fields_of(record)}"
                )
            record["agentid"] = one_id(record["agentid"], name="agents.update: agentid")
        envelope = await self._client.request(
            "database", method="agents", action="update", payload=records, record_name="agent"
        )
        return write_result(envelope, what="agents.update")


def _wire_records(agents: Iterable[RecordLike], *, what: str) -> list[dict[str, Any]]:
    """The records to write, every field by its wire name: the API ignores a name it does
    not know (``user_field``) and reports success, so such a field would be lost."""
    records = to_records(agents, what=what)
    for index, record in enumerate(records):
        wire: dict[str, Any] = {}
        for name, value in record.items():
            field = AGENT_WIRE_NAMES.get(name, name)
            if field not in AGENT_FIELDS:
                raise ValueError(f"{what}: a record has an unknown agent field {name!r}")
            if field in wire and value is not None and wire[field] is not None:
                raise ValueError(f"{what}: a record gives {field} twice, by both its names")
            if value is not None or field not in wire:
                wire[field] = value
        records[index] = wire
    return records


def _blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()
