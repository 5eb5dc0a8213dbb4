"""``database.php method=priority``: agent-to-queue assignments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._models import QueueAssignment, WriteResult
from .._values import whole
from ._base import (
    RecordLike,
    Resource,
    build,
    either,
    fields_of,
    one_id,
    scalar,
    to_records,
    wire_names,
    write_result,
)

_REQUIRED = ("agentid", "qid", "level")
_NAMES = {"agent_id": "agentid", "queue_id": "qid"}  # QueueAssignment's attribute names


class Priorities(Resource):
    """Create, read and update which queues an agent takes calls from, and at what level."""

    __slots__ = ()

    async def read(
        self,
        *,
        agent: str | int | None = None,
        queue: str | int | None = None,
        qid: str | int | None = None,
    ) -> list[QueueAssignment]:
        """Return the assignments of one agent, one queue, both, or all (``queue`` or
        ``qid``, the documented filter name: the same)."""
        either(qid, queue, names=("qid", "queue"))
        params: dict[str, Any] = {
            "agent": scalar(agent, name="agent"),
            "qid": scalar(queue if qid is None else qid, name="queue"),
        }
        envelope = await self._client.request(
            "database", method="priority", action="read", params=params
        )
        return build(QueueAssignment.from_record, envelope, what="priorities.read")

    async def create(self, assignments: Iterable[RecordLike]) -> WriteResult:
        """Assign agents to queues. Idempotent: an existing pair gives ``total`` 0 (with
        ``resent`` True, the pair may be the one a lost attempt of this call made)."""
        return await self._write("create", assignments)

    async def update(self, assignments: Iterable[RecordLike]) -> WriteResult:
        """Change the level of existing assignments."""
        return await self._write("update", assignments)

    async def _write(self, action: str, assignments: Iterable[RecordLike]) -> WriteResult:
        what = f"priorities.{action}"
        records = [
            wire_names(record, _NAMES, what=what) for record in to_records(assignments, what=what)
        ]
        for record in records:
            missing = [name for name in _REQUIRED if _blank(record.get(name))]
            if missing:
                raise ValueError(
                    f"{what}: a record lacks {', '.join(missing)} (it has {fields_of(record)})"
                )
            unknown = sorted(set(record) - set(_REQUIRED))
            if unknown:  # the API ignores a field it does not know, and says success
                raise ValueError(f"{what}: a record has unknown fields {', '.join(unknown)}")
            record["agentid"] = one_id(record["agentid"], name=f"{what}: agentid")
            record["qid"] = one_id(record["qid"], name=f"{what}: qid")
            # Not True sent as "1", nor 1.5 as "1.5", nor " 12" as 12: a level is a whole
            # number as the API writes one (QueueAssignment's rule), and not below 0 (the
            # CLI's range starts there; the documents show none below).
            level = whole(record["level"], name=f"{what}: level", strict=True)
            if level < 0:
                raise ValueError(f"{what}: level is {level}, below 0")
            record["level"] = level
        envelope = await self._client.request(
            "database", method="priority", action=action, payload=records, record_name="priority"
        )
        return write_result(envelope, what=what)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
