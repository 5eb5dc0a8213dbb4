"""docs/fields.md names every attribute of every public model (the naming rule's table)."""

from __future__ import annotations

import contextlib
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


#: The concept tables' wire columns, and the model each column's records make.
COLUMNS = {
    "`database.php agents`": "Agent",
    "`database.php priority`": "QueueAssignment",
    "`database.php status_log`": "StatusLogEntry",
    "`ajax.php agents`": "LiveAgent",
    "`ecnow_datasets`": "Dataset",
    "`ecnow_records`": "Record",
    "`campaign_tables` / `campaign_fields`": "CampaignField",
    "`database.php queues`": "Queue",
    "`database.php outcomecodes`": "OutcomeCode",
    "`reporting.php cdr`": "CdrRow",
    "`reporting.php agents`": "AgentSession",
}
#: What a record needs before any other field can be read.
BASE: dict[str, dict[str, str]] = {
    "StatusLogEntry": {"uid": "5"},
    "CdrRow": {"callid": "9"},
    "AgentSession": {"aid": "5"},  # each names what it is: a log row, a call, an agent
    "QueueAssignment": {"agentid": "5", "qid": "5", "level": "5"},  # each one required
    "Agent": {"agentid": "5"},
    "LiveAgent": {"uid": "5"},  # an agent's row names the agent
    "Queue": {"qid": "5"},
    "OutcomeCode": {"outcome": "5"},  # a queue's and an outcome code's rows name them
}


def wire_pairs() -> list[tuple[str, str, str]]:
    """(model, attribute, wire field) for each table row naming one of each in a column
    (the reply's ``account_id``, a filter's ``table`` and an input's ``notes_append`` are
    no model's reading)."""
    pairs = []
    header: list[str] = []
    for line in FIELDS_MD.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| concept"):
            header = cells
        elif line.startswith("| ") and not line.startswith("| ---") and header:
            names = re.findall(r"`(\w+)`", cells[1].split("(")[0])
            for column, cell in zip(header[2:], cells[2:], strict=False):
                wires = re.findall(r"`(\w+)`", cell.split("(")[0])
                if (
                    column in COLUMNS
                    and len(names) == len(wires) == 1
                    and names[0] not in ("account_id", "table", "notes_append")
                ):
                    pairs.append((COLUMNS[column], names[0], wires[0]))
    return pairs


@pytest.mark.parametrize(("name", "attribute", "wire"), wire_pairs())
def test_the_concept_tables_say_which_wire_field_an_attribute_reads(
    name: str, attribute: str, wire: str
) -> None:
    model = getattr(contactnow_async, name)
    base = BASE.get(name, {})
    without = getattr(model.from_record(base), attribute)
    read = []
    for value in ("77", "1", "Y"):  # a number, a flag, a flag's other spelling
        with contextlib.suppress(ValueError):  # not this field's kind of value
            read.append(getattr(model.from_record({**base, wire: value}), attribute))
    assert any(value != without for value in read), f"{name}.{attribute} does not read {wire}"
