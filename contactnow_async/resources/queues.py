"""``database.php method=queues``: the queues calls go through."""

from __future__ import annotations

from collections.abc import Iterable

from .._models_ecnow import Queue, QueueType
from ._base import Resource, build, id_list, narrowing, scalar


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
        envelope = await self._client.request(
            "database",
            method="queues",
            action="read",
            params={
                "type": id_list(type, name="type", kind="queue type"),
                "table": narrowing(table, name="table"),
                "qid": id_list(queue, name="queue"),
                "filter": scalar(filter, name="filter"),
            },
        )
        return build(Queue.from_record, envelope, what="queues.read")
