"""``contactnow agents update``: a flag for every agent field, and no secret from a flag."""

from __future__ import annotations

import io
import json
import sys

import attrs
import pytest

from contactnow_async import AgentInput
from contactnow_async._cli import _agents

from .conftest import CliInvoker, Served, assert_one_error

pytestmark = pytest.mark.integration

#: The fields ``agents update`` sets, as the model names them (the key is the argument).
FIELDS = [field for field in attrs.fields(AgentInput) if field.name != "agent_id"]
#: The model keeps its secrets (password, pin) out of its repr.
SECRETS = [field.name for field in FIELDS if not field.repr]


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
    assert SECRETS == ["pin", "password"]
    out = invoke(["agents", "update", "--help"])
    assert out.code == 0, out
    shown = {word.rstrip(",") for line in out.stdout.splitlines() for word in line.split()}
    for field in FIELDS:
        if field.name in SECRETS:
            assert flag(field.name) not in shown  # only its safe forms are offered
            assert {f"{flag(field.name)}-prompt", f"{flag(field.name)}-stdin"} <= shown
        else:
            assert flag(field.name) in shown


def test_a_many_word_field(invoke: CliInvoker, served: Served) -> None:
    agent_id = agent(invoke, served, "Agent 7")["agent_id"]
    args = ["agents", "update", agent_id, "--default-status", "break", "--auth-level=3"]
    assert invoke(args, env=served.env()).code == 0
    after = agent(invoke, served, "Agent 7")
    assert (after["default_status"], after["auth_level"]) == ("break", "3")


@pytest.mark.parametrize("secret", ["password", "pin"])
@pytest.mark.parametrize("form", ["{flag} Xy-9876", "{flag}=Xy-9876", "{flag}"])
def test_a_secret_from_a_flag_is_refused(
    invoke: CliInvoker, served: Served, secret: str, form: str
) -> None:
    before = len(served.sim.requests)
    given = form.format(flag=flag(secret)).split(" ")
    out = invoke(["agents", "update", "1", "--name", "X", *given], env=served.env())
    line = assert_one_error(out, 2)  # was accepted: the secret in ps and the shell's history
    assert f"{flag(secret)}-prompt" in line
    assert f"{flag(secret)}-stdin" in line
    assert "Xy-9876" not in out.output
    assert len(served.sim.requests) == before  # refused before anything was sent


def test_a_password_from_stdin(invoke: CliInvoker, served: Served) -> None:
    agent_id = agent(invoke, served, "Agent 8")["agent_id"]
    secret = "new-Pw-4242"
    out = invoke(
        ["agents", "update", agent_id, "--password-stdin", "--phone", "0789"],
        env=served.env(),
        input=secret + "\n",
    )
    assert out.code == 0, out
    assert secret not in out.output
    sent = served.sim.requests[-1]
    assert (sent.action, secret.encode() in sent.body) == ("update", True)
    assert agent(invoke, served, "Agent 8")["phone"] == "0789"


def test_a_pin_from_the_prompt(invoke: CliInvoker, served: Served) -> None:
    agent_id = agent(invoke, served, "Agent 8")["agent_id"]
    out = invoke(
        ["agents", "update", agent_id, "--pin-prompt"], env=served.env(), input="8642\n8642\n"
    )
    assert out.code == 0, out
    assert "Agent pin" in out.output
    assert "8642" not in out.output  # hidden input: never echoed
    sent = served.sim.requests[-1]
    assert (sent.action, b"8642" in sent.body) == ("update", True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pin-stdin", "--password-stdin"], "only one secret can come from stdin"),
        (["--pin-stdin", "--pin-prompt"], "pick one"),
    ],
)
def test_secrets_asked_twice(
    invoke: CliInvoker, served: Served, args: list[str], message: str
) -> None:
    out = invoke(["agents", "update", "1", *args], env=served.env(), input="a\nb\n")
    assert message in assert_one_error(out, 2)


def test_an_empty_secret(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "update", "1", "--password-stdin"], env=served.env(), input="\n")
    assert "the agent password is empty" in assert_one_error(out, 2)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["agents", "create", "--name", "Bo", "--username", "bo", "--password-stdin"], "password"),
        (["agents", "update", "1", "--pin-stdin"], "pin"),
    ],
)
def test_a_secret_on_stdin_that_is_not_utf8_is_one_error_line(
    invoke: CliInvoker, served: Served, args: list[str], words: str
) -> None:
    # Was a UnicodeDecodeError traceback, exit 1.
    before = len(served.sim.requests)
    out = invoke(args, env=served.env(), input=b"\xffXy-9876\n")
    assert f"the agent {words} on stdin is not UTF-8 text" in assert_one_error(out, 2)
    assert "Xy-9876" not in out.output
    assert len(served.sim.requests) == before  # refused before anything was sent


def test_a_secret_on_stdin_decoded_with_surrogateescape_is_refused_without_quoting_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A C locale's stdin keeps the byte as a lone surrogate: the request then failed with
    # "'utf-8' codec can't encode character '\\udcff'", a piece of the secret, exit 2.
    stdin = io.TextIOWrapper(io.BytesIO(b"\xffXy-9876\n"), "utf-8", "surrogateescape")
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(SystemExit) as exited:
        _agents._stdin_secret("password")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == "contactnow: error: the agent password on stdin is not UTF-8 text\n"


@pytest.mark.parametrize("form", ["--password Xy-9876", "--password=Xy-9876", "--password"])
def test_create_refuses_the_agents_password_from_a_flag(
    invoke: CliInvoker, served: Served, form: str
) -> None:
    # `agents create ... --password X` was moved before the command as the API password
    # (the group's option): the agent's password went to token.php, "refused the
    # username", exit 3, and the agent was still asked for one.
    before = len(served.sim.requests)
    args = ["agents", "create", "--name", "Bo", "--username", "bo", *form.split(" ")]
    out = invoke([*args, "--password-stdin"], env=served.env(), input="agent-Pw-1\n")
    line = assert_one_error(out, 2)
    assert "--password-stdin" in line
    assert "Xy-9876" not in out.output
    assert len(served.sim.requests) == before  # refused before anything was sent
