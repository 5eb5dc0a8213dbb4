"""``database.php method=queues``: the queues calls go through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .._models_ecnow import Queue, QueueType
from ._base import Resource, build, id_list, scalar


class Queues(Resource):
    """Read the contact centre's queues (inbound, outbound, ivr, sms...)."""

    __slots__ = ()

    async def read(
        self,
        *,
        type: QueueType | str | Iterable[QueueType | str] | None = None,
        table: str | None = None,
        queue: str | int | Iterable[str | int] | None = None,
        filter: str | None = None,
    ) -> list[Queue]:
        """Return the queues matching every filter.

        ``type`` is one queue type or several (``["outbound", "inbound"]``);
        ``table`` the campaign table the queues serve; ``queue`` one queue id or
        several; ``filter`` an expression on the queue's ``filter`` setting, passed
        as given: the vendor's own code leaves deleted queues out with
        ``filter="!= 999"``.
        """
        given: object = type  # whatever the caller passed, whatever its annotation
        types: list[object] | None
        if given is None:
            types = None
        elif isinstance(given, str):
            types = [str(given)]
        elif isinstance(given, Iterable) and not isinstance(given, (bytes, Mapping)):
            types = [str(item) if isinstance(item, str) else item for item in given]
        else:
            raise TypeError(f"type must be a queue type or a list of them, not {given!r}")
        if types is not None and (
            not types or any(not isinstance(item, str) or not item or "," in item for item in types)
        ):
            # An empty list is no filter at all: every queue, not none.
            raise ValueError(f"type must be one or more queue types, got {given!r}")
        envelope = await self._client.request(
            "database",
            method="queues",
            action="read",
            params={
                "type": None if types is None else ",".join(map(str, types)),
                "table": scalar(table, name="table"),
                "qid": id_list(queue, name="queue"),
                "filter": scalar(filter, name="filter"),
            },
        )
        return build(Queue.from_record, envelope, what="queues.read")
