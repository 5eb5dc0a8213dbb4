"""``__all__`` is exactly the public surface (after httpx's test_exported_members)."""

from __future__ import annotations
import __future__

import types

import contactnow_async


def test_every_name_in_all_exists() -> None:
    missing = [name for name in contactnow_async.__all__ if not hasattr(contactnow_async, name)]
    assert missing == []
    assert len(set(contactnow_async.__all__)) == len(contactnow_async.__all__)


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(contactnow_async).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public - set(contactnow_async.__all__) == set()


def test_exported_objects_belong_to_the_package() -> None:
    for name in contactnow_async.__all__:
        value = getattr(contactnow_async, name)
        module = getattr(value, "__module__", "contactnow_async")
        assert module.startswith("contactnow_async"), (name, module)


def test_the_public_names_of_the_issue_are_exported() -> None:
    contract = {
        "ContactNow", "Region", "Agent", "AgentInput", "LiveAgent", "StatusLogEntry",
        "QueueAssignment", "WriteResult", "Token", "Envelope", "MemoryTokenStore",
        "FileTokenStore", "ContactNowError", "APIError", "AuthenticationError", "TokenError",
        "WriteError", "TransportError", "RequestTimeout", "ResponseFormatError", "RateLimitError",
    }  # fmt: skip
    assert contract <= set(contactnow_async.__all__)
