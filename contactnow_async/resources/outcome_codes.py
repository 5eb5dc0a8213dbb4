"""``database.php method=outcomecodes``: how a call can end, and what that does to its record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .._models_ecnow import OutcomeCode
from ._base import Resource, boolean, build, either, id_list


class OutcomeCodes(Resource):
    """Read the outcome codes: which close a record (``complete``), which are sales."""

    __slots__ = ()

    async def read(
        self,
        *,
        outcome: str | int | Iterable[str | int] | None = None,
        system: bool = False,
        uid: str | int | Iterable[str | int] | None = None,
        mode: Literal["system"] | None = None,
    ) -> list[OutcomeCode]:
        """Return the outcome codes (only ``outcome``, one id or several, if given);
        ``system=True`` returns only the dialler's own system codes. DATABASE.md's names
        work too: ``uid`` for ``outcome``, ``mode="system"`` for ``system=True``."""
        either(uid, outcome, names=("uid", "outcome"))
        system = boolean(system, name="system")
        if mode not in (None, "system"):  # the one mode DATABASE.md documents
            raise ValueError(f"mode must be 'system' (or left out), not {mode!r}")
        envelope = await self._client.request(
            "database",
            method="outcomecodes",
            action="read",
            params={
                "uid": id_list(outcome if uid is None else uid, name="outcome"),
                "mode": "system" if system or mode else None,
            },
        )
        return build(OutcomeCode.from_record, envelope, what="outcome_codes.read")
