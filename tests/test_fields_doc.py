"""docs/fields.md names every attribute of every public model (the naming rule's table)."""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import contactnow_async

FIELDS_MD = Path(__file__).resolve().parent.parent / "docs" / "fields.md"

#: The public records a user reads attributes of (options and settings are not models);
#: ``kpis.QueueFigures`` is the ``contactnow_async.kpis`` module's.
MODELS = [
    "Agent", "AgentEvent", "AgentInput", "AgentSession", "Call", "CampaignField", "CdrRow",
    "Dataset", "DatasetInput", "Envelope", "Health", "HealthEvent", "LiveAgent",
    "LiveSnapshot", "OutcomeCode", "Queue", "QueueAssignment", "Record", "RecordInput",
    "Recording", "ReportRow", "StatusLogEntry", "Token", "WriteResult", "kpis.QueueFigures",
]  # fmt: skip
#: The package's other public classes, none a record whose attributes a user reads:
#: errors, clocks, token stores, options and settings, enums, and the watcher's services.
NOT_MODELS = {
    "APIError", "AuthenticationError", "BadArgumentError", "ContactNowError",
    "HTTPStatusError", "LogPositionError", "RateLimitError", "RequestTimeout",
    "ResponseFormatError", "TokenError", "TransportError", "WriteError",
    "Clock", "ScaledClock", "SystemClock", "VirtualClock",
    "FileTokenStore", "MemoryTokenStore", "TokenStore",
    "ClientOptions", "Region", "RetryPolicy", "WatchOptions",
    "DatasetStatus", "QueueType",
    "AgentStream", "AgentWatcher", "ContactNow", "Subscription",
}  # fmt: skip


def model_class(name: str) -> type:
    """The class a :data:`MODELS` entry names (``kpis.QueueFigures``: in that module)."""
    module, _, attribute = name.rpartition(".")
    owner = importlib.import_module(f"contactnow_async.{module}") if module else contactnow_async
    model: type = getattr(owner, attribute)
    return model


def public_attributes(model: type) -> list[str]:
    """A model's attributes: its attrs fields, or (a mapping that is no attrs class:
    ``LiveSnapshot``, ``ReportRow``) its public slots; and its properties."""
    if attrs.has(model):
        attributes = [field.name for field in attrs.fields(model)]
    else:
        attributes = [slot for slot in vars(model).get("__slots__", ()) if slot[0] != "_"]
    return attributes + [key for key, value in vars(model).items() if isinstance(value, property)]


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
    attributes = public_attributes(model_class(name))
    assert attributes, f"{name}: no attributes found (is it a model?)"
    name = name.rpartition(".")[2]
    words = documented()
    # A moment's *_at is documented beside its *_ts ("login_ts`/`_at").
    missing = [
        a for a in attributes if a not in words and a.removesuffix("_at") + "_ts" not in words
    ]
    assert not missing, f"{name}: {missing} not in docs/fields.md"
    assert name in words, f"docs/fields.md does not name {name}"


def test_every_public_class_is_a_model_the_doc_checks_or_none() -> None:
    classes = {
        name
        for name in contactnow_async.__all__
        if isinstance(getattr(contactnow_async, name), type)
    }
    unsorted = classes - set(MODELS) - NOT_MODELS
    assert not unsorted, f"{sorted(unsorted)}: add them to MODELS (or NOT_MODELS)"
    assert not NOT_MODELS - classes, f"{sorted(NOT_MODELS - classes)} are no public class"


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
    "StatusLogEntry": {"uid": "5", "agent": "5"},  # a row is a log entry of an agent
    "CdrRow": {"callid": "9"},
    "AgentSession": {"aid": "5"},  # each names what it is: a log row (its agent), a call, an agent
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
    for header, cells in _concept_rows():
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


def _concept_rows() -> Iterator[tuple[list[str], list[str]]]:
    """(the table's header cells, the row's cells) for each row of a concept table."""
    header: list[str] = []
    for line in FIELDS_MD.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| concept"):
            header = cells
        elif line.startswith("| ") and not line.startswith("| ---") and header:
            yield header, cells


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


#: A name or a type: ``name``, ``type``, or one with a word before it (``agent_name``).
NAME_OR_TYPE = re.compile(r"(?:\A|_)(?:name|type)\Z")


def whose_table() -> dict[str, tuple[str, set[str], set[str], set[str]]]:
    """The "Whose name, whose type" table: for each model it names, the thing the model
    is and its names and types: its own (bare), another thing's (prefixed), a kind."""
    rows: dict[str, tuple[str, set[str], set[str], set[str]]] = {}
    inside = False
    for line in FIELDS_MD.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            inside = False
        elif line.startswith("| model | the thing it is |"):
            inside = True
        elif inside and not line.startswith("| ---"):
            model, thing, *columns = (cell.strip() for cell in line.strip().strip("|").split("|"))
            # A name in brackets is a note: "`centre_name` (the contact centre's)".
            own, other, kind = (
                {*re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", cell))} for cell in columns
            )
            for name in re.findall(r"`(\w+)`", model):
                rows[name] = (thing, own, other, kind)
    return rows


@pytest.mark.parametrize("name", MODELS)
def test_the_whose_table_lists_each_name_and_type_of_a_model(name: str) -> None:
    found = {a for a in public_attributes(model_class(name)) if NAME_OR_TYPE.search(a)}
    _, own, other, kind = whose_table().get(name.rpartition(".")[2], ("", set(), set(), set()))
    assert found == own | other | kind, f"{name}: docs/fields.md's whose table is not {found}"


def test_a_bare_name_or_type_is_the_models_own_and_a_prefixed_one_another_things() -> None:
    rows = whose_table()
    assert rows, "docs/fields.md has no whose table"

    def prefix(attribute: str) -> str:  # original_queue_name: queue's
        return attribute.rpartition("_")[0].rpartition("_")[2]

    # The things: those the models are, and those another thing's name or type names.
    things = {thing.split()[-1] for thing, *_ in rows.values()}
    things |= {prefix(a) for _, _, other, _ in rows.values() for a in other}
    for model, (thing, own, other, kind) in rows.items():
        assert own <= {"name", "type"}, f"{model}: its own {own - {'name', 'type'}} is prefixed"
        for attribute in other:
            assert prefix(attribute) != thing.split()[-1], f"{model}.{attribute} is its own"
        for attribute in kind:
            assert prefix(attribute) not in things, f"{model}.{attribute} is a thing's"
        bare = {a for a in other | kind if "_" not in a}
        assert not bare, f"{model}: {bare} is bare: its own"


def none_for_null() -> list[tuple[str, str, str]]:
    """(model, attribute, wire field) for each attribute a concept table says is None
    for null: the names just before a ``(None for null)``, each paired with the wire
    field at its place in the model's column."""
    pairs = []
    for header, cells in _concept_rows():
        if "None for null" not in cells[1]:
            continue
        names = re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", cells[1]))
        said = re.findall(r"((?:`\w+`[,\s]*)+)\(None for null\)", cells[1])
        nulls = {name for group in said for name in re.findall(r"`(\w+)`", group)}
        for column, cell in zip(header[2:], cells[2:], strict=False):
            wires = re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", cell))
            if column in COLUMNS and len(wires) == len(names):
                pairs += [
                    (COLUMNS[column], name, wire)
                    for name, wire in zip(names, wires, strict=True)
                    if name in nulls
                ]
    return pairs


@pytest.mark.parametrize(("name", "attribute", "wire"), none_for_null())
def test_what_the_concept_tables_say_is_none_for_null_is_none(
    name: str, attribute: str, wire: str
) -> None:
    """A null (JSON's, or XML's empty element) is None there, not 0.0 or ``""``."""
    model = getattr(contactnow_async, name)
    assert getattr(model.from_record({**BASE.get(name, {}), wire: None}), attribute) is None
