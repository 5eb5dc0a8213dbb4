"""Helpers shared by the simulator's tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx

START = 1_700_000_000.0

#: The documented payload of an agents create (seed 001).
DOC_AGENT = {
    "name": "Joe Blogs",
    "moh": "none",
    "userfield": "",
    "filter": "0",
    "pin": "123456",
    "username": "Joe",
    "password": "Pa$$w0rd",
    "phone": "",
    "customer": "0",
    "default_status": "wrap",
    "agent_version": "2",
    "last_broadcast_msg": "",
    "selfserve_id": "0",
    "aod": "no",
    "aod_lock": "0",
    "audio_id": "0",
    "auth_level": "admin",
    "auth_admin": "Y",
    "auth_supervisor": "Y",
    "auth_reports": "",
}

AGENT_KEYS = [
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
]
LIVE_KEYS = [
    "uid",
    "name",
    "moh",
    "status",
    "statuscode",
    "time",
    "srvtime",
    "ccname",
    "customer",
    "call",
]
LOG_KEYS = ["uid", "uts", "agent", "status", "subcode", "callid"]


def xml_root(response: httpx.Response) -> ET.Element:
    """Parse an XML reply of the simulator (our own server: no untrusted input)."""
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - the simulator's own reply


def children(element: ET.Element) -> dict[str, str]:
    """Return the text of each child element ('' for an empty one)."""
    return {child.tag: child.text or "" for child in element}


def api_params(token: str, method: str, action: str, **extra: str) -> dict[str, str]:
    return {"token": token, "method": method, "action": action, "raw": "1", **extra}


def json_of(response: httpx.Response) -> Any:
    assert response.status_code == 200
    return response.json()
