"""``contactnow campaigns tables`` and ``campaigns fields``, in process against the served
simulator (whose campaign tables are ECNOW.md's examples: APItestcampaign, Willtest...)."""

from __future__ import annotations

import json

import attrs
import pytest

from contactnow_async import CampaignField

from .conftest import CliInvoker, Served, assert_one_error

pytestmark = pytest.mark.integration

#: What ``campaigns fields --json`` names a field's values: its attributes (docs/fields.md).
ATTRIBUTES = {field.name for field in attrs.fields(CampaignField)} - {"raw"}


def piped_rows(stdout: str) -> list[list[str]]:
    """The cells of each row of a piped table, under its header and rule."""
    return [[cell.strip() for cell in line.split("│")] for line in stdout.splitlines()[2:]]


def test_campaigns_tables_as_json_and_a_table(invoke: CliInvoker, served: Served) -> None:
    # The library read them (campaigns.tables); the command had no way to.
    as_json = invoke(["campaigns", "tables", "--json"], env=served.env())
    assert as_json.code == 0, as_json
    tables = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {"table": "Willtest"} in tables
    assert all(set(table) == {"table"} for table in tables)  # named by the thing: a table
    sent = served.sim.requests[-1]
    assert (sent.script, sent.method, sent.action) == ("ecnow", "campaign_tables", "read")
    shown = invoke(["campaigns", "tables"], env=served.env())
    assert shown.code == 0, shown
    assert shown.stdout.splitlines()[0].strip() == "table"
    assert piped_rows(shown.stdout) == [[table["table"]] for table in tables]


def test_campaigns_fields_as_json_and_a_table(invoke: CliInvoker, served: Served) -> None:
    as_json = invoke(["campaigns", "fields", "Willtest", "--json"], env=served.env())
    assert as_json.code == 0, as_json
    fields = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert all(set(field) == ATTRIBUTES for field in fields)
    assert all(field["table"] == "Willtest" for field in fields)
    assert {"FirstName", "URN"} <= {field["name"] for field in fields}
    assert served.sim.requests[-1].args["table"] == "Willtest"
    one = invoke(["campaigns", "fields", "Willtest", "--name", "FirstName"], env=served.env())
    assert one.code == 0, one
    header = [name.strip() for name in one.stdout.splitlines()[0].split("┃")]
    assert header[:5] == ["field", "type", "size", "group", "prompt"]
    (row,) = piped_rows(one.stdout)
    (first_name,) = [field for field in fields if field["name"] == "FirstName"]
    assert row[:3] == ["FirstName", first_name["type"], str(first_name["size"])]
    assert served.sim.requests[-1].args["name"] == "FirstName"


def test_campaigns_fields_of_an_unknown_table_is_the_apis_refusal(
    invoke: CliInvoker, served: Served
) -> None:
    out = invoke(["campaigns", "fields", "NoSuchTable"], env=served.env())
    line = assert_one_error(out, 4)
    assert "table [NoSuchTable] does not exist" in line, line
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fields"], "Missing argument 'TABLE'"),
        (["fields", ""], "Invalid value for 'TABLE': it is empty"),
        (["fields", "Willtest", "--name", ""], "Invalid value for '--name': it is empty"),
        (["tables", "--name", "x"], "No such option '--name'"),
    ],
)
def test_campaigns_refuses_a_bad_flag_before_sending(
    invoke: CliInvoker, served: Served, args: list[str], message: str
) -> None:
    before = len(served.sim.requests)
    out = invoke(["campaigns", *args], env=served.env())
    assert out.code == 2, out
    assert message in out.stderr, out
    assert "Traceback" not in out.output
    assert len(served.sim.requests) == before
