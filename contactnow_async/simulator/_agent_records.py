"""The agent records of the simulated account: the documented fields and each scenario
agent's default record."""

from __future__ import annotations

__all__ = ["AGENT_FIELDS", "NULLABLE_AGENT_FIELDS", "default_record"]

#: The 21 documented agent record fields, in the documented order.
AGENT_FIELDS = (
    "agentid",
    "name",
    "moh",
    "userfield",
    "filter",
    "pin",
    "username",
    "password",
    "phone",
    "customer",
    "default_status",
    "agent_version",
    "last_broadcast_msg",
    "selfserve_id",
    "aod",
    "aod_lock",
    "audio_id",
    "auth_level",
    "auth_admin",
    "auth_supervisor",
    "auth_reports",
)
#: Fields the documented read reply shows as ``null`` when empty.
NULLABLE_AGENT_FIELDS = frozenset({"phone", "auth_reports"})


def default_record(index: int, uid: str) -> dict[str, str | None]:
    """Return the agent record of scenario agent ``index``."""
    number = index + 1
    return {
        "agentid": uid,
        "name": f"Agent {number}",
        "moh": "none",
        "userfield": "",
        "filter": "0",
        "pin": f"{(number * 7919) % 1_000_000:06d}",
        "username": f"agent{number}",
        "password": f"Pa$$w0rd{number}",
        "phone": None,
        "customer": "0",
        "default_status": "wrap",
        "agent_version": "2",
        "last_broadcast_msg": "",
        "selfserve_id": "0",
        "aod": "no",
        "aod_lock": "0",
        "audio_id": "0",
        "auth_level": "agent",
        "auth_admin": "N",
        "auth_supervisor": "N",
        "auth_reports": None,
    }
