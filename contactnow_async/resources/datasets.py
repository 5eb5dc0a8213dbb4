"""``ecnow.php method=ecnow_datasets``: the datasets that group a campaign's records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._models import WriteResult
from .._models_ecnow import Dataset, DatasetStatus
from ._base import (
    RecordLike,
    Resource,
    build,
    created,
    either,
    fields_of,
    id_list,
    narrowing,
    scalar,
    to_records,
    wire_names,
    write_result,
)

_STATUSES = frozenset(status.value for status in DatasetStatus.__members__.values())
#: DatasetInput's attribute names and the wire names they stand for.
_NAMES = {
    "dataset_id": "dataset",
    "queue_id": "qid",
    "status": "d_status",
    "priority": "d_priority",
}


class Datasets(Resource):
    """Create, read and update datasets: their status (HOLD, LIVE, EXPIRED) and priority."""

    __slots__ = ()

    async def read(
        self,
        *,
        queue: str | int | Iterable[str | int] | None = None,
        dataset: str | int | None = None,
        state: DatasetStatus | str | None = None,
        table: str | None = None,
        description: str | None = None,
        qid: str | int | Iterable[str | int] | None = None,
    ) -> list[Dataset]:
        """Return the datasets matching every filter: ``queue`` (one queue id or several;
        ``qid``, as ECNOW.md names the filter, is the same), ``dataset`` (its id), ``state``
        (``"LIVE"``...), ``table`` (the campaign table), ``description``. A blank
        ``table``, ``dataset`` or ``description`` is refused: the API reads it as no filter."""
        either(qid, queue, names=("qid", "queue"))
        params: dict[str, Any] = {
            "qid": id_list(queue if qid is None else qid, name="queue"),
            "dataset": narrowing(dataset, name="dataset"),
            "state": _state(state),
            "table": narrowing(table, name="table"),
            "description": narrowing(description, name="description"),
        }
        envelope = await self._client.request(
            "ecnow", method="ecnow_datasets", action="read", params=params
        )
        return build(Dataset.from_record, envelope, what="datasets.read")

    async def create(self, datasets: Iterable[RecordLike]) -> WriteResult:
        """Create datasets (mappings with ``qid``, ``d_status``, ``d_priority``,
        ``description``..., or :class:`DatasetInput`); ``key`` is the new dataset's id.
        A reply of ``total`` 0 (none created, none refused) raises :class:`WriteError`;
        a field a dataset does not have (``state``, the read's filter) or one only the API
        sets (``locked``, ``reccount``, ``callbacks``, ``crm_*``) raises ValueError.

        **Not idempotent**: each create adds a dataset, so it is never resent once
        the request may have reached the server (a lost reply, ``TransportError`` with
        ``sent=True``; a gateway's error, not a 429; a garbled reply): read the
        datasets back before trying again.
        """
        return await self._write("create", datasets)

    async def update(self, datasets: Iterable[RecordLike]) -> WriteResult:
        """Update datasets: each names its ``dataset`` and the fields to change.

        Setting ``d_status`` to ``"LIVE"`` puts the dataset's records on the dialler,
        ``"HOLD"`` takes them off, ``"EXPIRED"`` closes them for good. An
        ``EXPIRED`` dataset refuses every edit (a :class:`WriteError`). Updates are
        resent after a transient fault (they set the same fields again), unless one
        sets ``"EXPIRED"``: a resend would find its dataset closed and be refused, so a
        lost reply raises ``TransportError`` with ``sent=True`` instead (read it back).
        """
        return await self._write("update", datasets)

    async def set_status(self, dataset: str | int, status: DatasetStatus | str) -> WriteResult:
        """Set one dataset's status: ``set_status(351, "LIVE")``."""
        return await self.update([{"dataset": dataset, "d_status": str(status)}])

    async def _write(self, action: str, datasets: Iterable[RecordLike]) -> WriteResult:
        what = f"datasets.{action}"
        records = [
            wire_names(record, _NAMES, what=what) for record in to_records(datasets, what=what)
        ]
        for record in records:
            _check(record, action=action, what=what)
        envelope = await self._client.request(
            "ecnow",
            method="ecnow_datasets",
            action=action,
            payload=records,
            record_name="dataset",
            # An update sets the same fields again, but one that expires its dataset would
            # find it EXPIRED, refusing every edit: a lost reply must not become a refusal.
            idempotent=action == "update"
            and all(record.get("d_status") != "EXPIRED" for record in records),
        )
        return (created if action == "create" else write_result)(envelope, what=what)


#: The fields of a dataset a write sets (DatasetInput's).
_FIELDS = frozenset({"dataset", "qid", "d_status", "d_priority", "notes", "description"})
#: The rest of a row's fields, as ECNOW.md lists one: the API's own, which a write leaves.
_READ_ONLY = frozenset({"callbacks", "crm_account", "crm_campaign", "locked", "reccount"})


def _check(record: dict[str, Any], *, action: str, what: str) -> None:
    # The API ignores a field it does not write ("state", "locked") and says success.
    read_only = sorted(str(name) for name in record if name in _READ_ONLY)
    if read_only:
        raise ValueError(f"{what}: a record has read-only dataset fields {', '.join(read_only)}")
    unknown = sorted(str(name) for name in record if name not in _FIELDS)
    if unknown:
        raise ValueError(f"{what}: a record has unknown dataset fields {', '.join(unknown)}")
    if action == "update" and record.get("dataset") in (None, ""):
        raise ValueError(f"{what}: every record needs a dataset, got one with {fields_of(record)}")
    for name in ("dataset", "qid"):  # an id: not a bool sent as "1"
        if record.get(name) is not None:
            record[name] = scalar(record[name], name=f"{what}: {name}")
    status = record.get("d_status")
    if status is not None:
        # "live" is LIVE, as the state filter and DatasetStatus read it.
        record["d_status"] = str(status).upper()
        if record["d_status"] not in _STATUSES:
            raise ValueError(
                f"{what}: d_status must be one of {', '.join(sorted(_STATUSES))}, not {status!r}"
            )
    priority = record.get("d_priority")
    if priority is not None:
        try:
            level = int(priority)
        except (TypeError, ValueError, OverflowError):
            level = -1
        # A bool is no priority, and int() makes 45.7 a 45.
        if isinstance(priority, bool) or (isinstance(priority, float) and level != priority):
            level = -1
        if not 0 <= level <= 90:
            raise ValueError(f"{what}: d_priority must be a whole number 0 to 90, not {priority!r}")
        record["d_priority"] = level  # 45.0 goes as "45", not "45.0"


def _state(state: DatasetStatus | str | None) -> str | None:
    """The ``state`` filter: one documented status (a typo would read as no datasets)."""
    if state is None:
        return None
    if not isinstance(state, str):  # a list would go as "['LIVE', 'HOLD']"
        raise TypeError(f"state must be one dataset status, not {state!r}")
    if str(state).upper() not in _STATUSES:
        raise ValueError(f"state must be one of {', '.join(sorted(_STATUSES))}, not {state!r}")
    return str(state).upper()
