"""Conventions every script of API v2 shares: integer and id-list arguments, records, replies."""

from __future__ import annotations

from .._wire import PayloadError, Reply, parse_payload

__all__ = ["BadArgument", "error", "id_list", "int_argument", "payload_records", "write_result"]


class BadArgument(ValueError):
    """An argument the simulator cannot read (answered with success false)."""


def error(text: str) -> Reply:
    """Return the API's refusal: ``{"success": false, "error": text}`` (HTTP 200)."""
    return {"success": False, "error": text}


def write_result(*, account_id: str, total: int, bad: int, key: int) -> Reply:
    """Return the reply of a create or update: records written, records refused, last id."""
    return {"success": True, "account_id": account_id, "total": total, "bad": bad, "key": key}


def int_argument(name: str, text: str) -> int:
    """Return ``text`` as an integer; raises BadArgument naming ``name`` otherwise."""
    try:
        return int(text.strip())
    except ValueError:
        raise BadArgument(f"Invalid {name}: expected an integer") from None


def id_list(text: str) -> frozenset[str] | None:
    """Return the ids of a comma-separated list (``agent=1,2``), None when it names none."""
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    return ids or None


def payload_records(payload: bytes | None) -> list[object]:
    """Return the records of a create/update payload; raises PayloadError when there is none."""
    if payload is None or not payload.strip():
        raise PayloadError("no records: send a JSON array or <dxi> XML as the POST body")
    return parse_payload(payload)
