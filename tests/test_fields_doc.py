"""docs/fields.md names every attribute of every public model (the naming rule's table)."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

import contactnow_async

FIELDS_MD = Path(__file__).resolve().parent.parent / "docs" / "fields.md"

#: The public records a user reads attributes of (options and settings are not models).
MODELS = [
    "Agent", "AgentEvent", "AgentSession", "Call", "CampaignField", "CdrRow", "Dataset",
    "Health", "HealthEvent", "LiveAgent", "OutcomeCode", "Queue", "QueueAssignment",
    "Record", "Recording", "StatusLogEntry", "Token", "WriteResult",
]  # fmt: skip


def documented() -> set[str]:
    """Every word inside backquotes in docs/fields.md, and those a range names
    (``address_1``..``address_6``)."""
    text = FIELDS_MD.read_text(encoding="utf-8")
    words = {word for code in re.findall(r"`([^`]+)`", text) for word in re.findall(r"\w+", code)}
    for stem, low, high in re.findall(r"`(\w+?)(\d+)`\.\.`\w+?(\d+)`", text):
        words |= {f"{stem}{n}" for n in range(int(low), int(high) + 1)}
    return words


@pytest.mark.parametrize("name", MODELS)
def test_every_attribute_of_a_public_model_is_in_docs_fields_md(name: str) -> None:
    model = getattr(contactnow_async, name)
    attributes = [field.name for field in attrs.fields(model)]
    attributes += [key for key, value in vars(model).items() if isinstance(value, property)]
    words = documented()
    # A moment's *_at is documented beside its *_ts ("login_ts`/`_at").
    missing = [
        a for a in attributes if a not in words and a.removesuffix("_at") + "_ts" not in words
    ]
    assert not missing, f"{name}: {missing} not in docs/fields.md"
    assert name in words, f"docs/fields.md does not name {name}"
