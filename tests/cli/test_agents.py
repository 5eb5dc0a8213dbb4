"""``contactnow agents update``: a flag for every agent field."""

from __future__ import annotations

import json

import attrs
import pytest

from contactnow_async import AgentInput

from .conftest import CliInvoker, Served

pytestmark = pytest.mark.integration

#: The fields ``agents update`` sets, as the model names them (the key is the argument).
FIELDS = [field for field in attrs.fields(AgentInput) if field.name != "agent_id"]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def agent(invoke: CliInvoker, served: Served, name: str) -> dict[str, str]:
    out = invoke(["agents", "list", "--json", "--name", name], env=served.env())
    assert out.code == 0, out
    (found,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert isinstance(found, dict)
    return found


def test_every_model_field_is_a_flag(invoke: CliInvoker) -> None:
    # The flags come from AgentInput: a field added to the model is a flag at once.
    out = invoke(["agents", "update", "--help"])
    assert out.code == 0, out
    shown = {word.rstrip(",") for line in out.stdout.splitlines() for word in line.split()}
    for field in FIELDS:
        assert flag(field.name) in shown


def test_a_many_word_field(invoke: CliInvoker, served: Served) -> None:
    agent_id = agent(invoke, served, "Agent 7")["agent_id"]
    args = ["agents", "update", agent_id, "--default-status", "break", "--auth-level=3"]
    assert invoke(args, env=served.env()).code == 0
    after = agent(invoke, served, "Agent 7")
    assert (after["default_status"], after["auth_level"]) == ("break", "3")
