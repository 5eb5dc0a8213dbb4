"""``contactnow control``, ``queues``, ``outcome-codes`` and ``recordings``, in process
against a simulator served on 127.0.0.1 whose clock stands still (an hour into its day),
so that an agent's state is the one the test read."""

from __future__ import annotations

import errno
import json
import os
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

from contactnow_async import ContactNow
from contactnow_async._cli._control import _MOVES, _callback_time
from contactnow_async._downloads import FileSink
from contactnow_async.simulator import Simulator, VirtualClock

from .conftest import PASSWORD, USERNAME, CliInvoker, Served, assert_one_error, served_in_thread

pytestmark = pytest.mark.integration

START = 1_700_000_000
HOUR = 3600


@pytest.fixture(scope="module")
def centre() -> Iterator[Served]:
    clock = VirtualClock(START)
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=12, seed=3, clock=clock)
    clock.advance(HOUR)
    with served_in_thread(sim) as served:
        yield served


def agent_in(served: Served, *statuses: str) -> str:
    """The id of an agent now in one of ``statuses``."""
    return next(str(row["uid"]) for row in served.sim.live_agents() if row["status"] in statuses)


def status_of(served: Served, agent_id: str) -> tuple[str, str]:
    (row,) = [row for row in served.sim.live_agents() if row["uid"] == agent_id]
    return str(row["status"]), str(row["statuscode"])


def test_pause_and_unpause_move_the_agent(invoke: CliInvoker, centre: Served) -> None:
    agent_id = agent_in(centre, "wait")
    out = invoke(["control", "pause", agent_id], env=centre.env())
    assert (out.code, out.stdout) == (0, f"pause: agent {agent_id}\n"), out
    assert status_of(centre, agent_id) == ("break", "Paused")
    sent = centre.sim.requests[-1]
    assert (sent.script, sent.action, sent.args["agent"]) == ("agent", "pause", agent_id)
    out = invoke(["control", "unpause", agent_id], env=centre.env())
    assert out.code == 0, out
    assert status_of(centre, agent_id)[0] == "wait"


@pytest.mark.parametrize(("command", "method", "summary"), _MOVES)
def test_each_move_sends_its_action_for_the_agent(
    invoke: CliInvoker, centre: Served, command: str, method: str, summary: str
) -> None:
    # An agent logged out: every move but logout (already done) is refused, one line and
    # exit 4, after it was sent as the library's method sends it (hangup_ready as
    # hangupready).
    agent_id = agent_in(centre, "offline")
    out = invoke(["control", command, agent_id], env=centre.env())
    if command == "logout":
        assert (out.code, out.stdout) == (0, f"logout: agent {agent_id}\n"), out
    else:
        line = assert_one_error(out, 4)
        assert f"agent [{agent_id}] is offline" in line, line
    sent = centre.sim.requests[-1]
    wire = {"hangup_ready": "hangupready"}.get(method, method)
    assert (sent.script, sent.action, sent.args["agent"]) == ("agent", wire, agent_id)
    assert summary.endswith(".") and "AGENT" in summary


def test_wrap_ends_the_call_with_its_wrap_code(invoke: CliInvoker, centre: Served) -> None:
    agent_id = agent_in(centre, "call")
    out = invoke(["control", "wrap", agent_id, "--subcode", "Sale"], env=centre.env())
    assert (out.code, out.stdout) == (0, f"wrap: agent {agent_id} (Sale)\n"), out
    assert status_of(centre, agent_id) == ("wrap", "Sale")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["control", "callback", "90000001", "tomorrow"], "not a time to call back"),
        (["control", "callback", "90000001", "2026-12-07"], "not a time to call back"),
        (["control", "callback", "90000001", "2026-02-30T10:30:00Z"], "not a time"),
        (["control", "agent-dial"], "give the AGENT, or --phone"),
        (["control", "ready", ""], "it is empty"),
    ],
)
def test_a_bad_argument_is_refused_before_anything_is_sent(
    invoke: CliInvoker, centre: Served, args: list[str], named: str
) -> None:
    before = len(centre.sim.requests)
    out = invoke(args, env=centre.env())
    assert out.code == 2, out
    assert named in out.stderr, out.stderr
    assert len(centre.sim.requests) == before


def test_a_callback_time_is_read_as_the_library_takes_it() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert _callback_time(" 1765103400 ", paris) == 1765103400.0
    given = datetime(2026, 12, 7, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert _callback_time("2026-12-07T10:30:00+01:00", paris) == given
    assert _callback_time("2026-12-07 10:30", paris) == datetime(2026, 12, 7, 10, 30, tzinfo=paris)


@pytest.mark.parametrize(
    "when", ["2026-07-01 10:30:00", "2026-07-01T10:30", "2026-07-01T09:30:00Z", "1782898200"]
)
def test_a_callback_is_sent_in_the_centre_s_zone(
    invoke: CliInvoker, centre: Served, when: str
) -> None:
    # 09:30 UTC is 10:30 in London in July: a time without an offset is the centre's.
    args = ["control", "callback", "90000001", when, "--notes", "after lunch"]
    out = invoke([*args, "--record-tz", "Europe/London"], env=centre.env())
    assert out.code == 4, out  # no such dialled call in the simulator: its refusal
    sent = centre.sim.requests[-1]
    assert sent.action == "callback"
    assert (sent.args["callback"], sent.args["notes"]) == ("2026-07-01 10:30:00", "after lunch")


def test_manual_dial_and_disposition_send_their_arguments(
    invoke: CliInvoker, centre: Served
) -> None:
    agent_id = agent_in(centre, "offline")
    out = invoke(["control", "manual-dial", agent_id, "01614960001", "--queue", "2001"],
                 env=centre.env())  # fmt: skip
    assert out.code == 4, out
    sent = centre.sim.requests[-1]
    assert (sent.action, sent.args["ddi"], sent.args["qid"]) == (
        "manual_dial",
        "01614960001",
        "2001",
    )
    out = invoke(["control", "disposition", "90000001", "510456"], env=centre.env())
    assert (out.code, out.stdout) == (0, "disposition: call 90000001 outcome 510456\n"), out
    sent = centre.sim.requests[-1]
    assert (sent.action, sent.args["callid"], sent.args["outcome"]) == (
        "disposition", "90000001", "510456"
    )  # fmt: skip


def test_queues_list(invoke: CliInvoker, centre: Served) -> None:
    out = invoke(["queues", "list", "--json"], env=centre.env())
    assert out.code == 0, out
    listed = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"inbound", "outbound"} <= {queue["type"] for queue in listed}
    assert all(queue["filter"] != "999" for queue in listed)  # deleted ones left out
    assert centre.sim.requests[-1].args["filter"] == "!= 999"
    everything = invoke(["queues", "list", "--json", "--all"], env=centre.env())
    assert len(everything.stdout.splitlines()) > len(listed)
    inbound = invoke(["queues", "list", "--type", "inbound"], env=centre.env())
    rows = inbound.stdout.splitlines()[2:]  # under the header and its rule
    assert rows and all(row.split()[2] == "inbound" for row in rows), inbound.stdout


def test_outcome_codes_list(invoke: CliInvoker, centre: Served) -> None:
    out = invoke(["outcome-codes", "list", "--json"], env=centre.env())
    assert out.code == 0, out
    codes = [json.loads(line) for line in out.stdout.splitlines()]
    assert codes and set(codes[0]) == {
        "outcome_id", "description", "complete", "sale", "dmc", "do_not_call", "answerphone"
    }  # fmt: skip
    system = invoke(["outcome-codes", "list", "--system", "--json"], env=centre.env())
    assert 0 < len(system.stdout.splitlines()) < len(codes)
    assert centre.sim.requests[-1].args["mode"] == "system"


def answered_call(served: Served) -> str:
    async def main() -> str:
        async with ContactNow(username=USERNAME, password=PASSWORD, base_url=served.base_url) as cn:
            cdr = await cn.reports.cdr_list("cres,tm_answ,tm_disc", start=START, stop=START + HOUR)
        return next(call.call_id for call in cdr if call.answered)

    return anyio.run(main)


def test_a_recording_is_saved_whole_and_an_existing_file_kept(
    invoke: CliInvoker, centre: Served, tmp_path: Path
) -> None:
    call_id = answered_call(centre)
    path = tmp_path / "call.wav"
    out = invoke(["recordings", "download", call_id, str(path)], env=centre.env())
    assert out.code == 0, out
    saved = path.read_bytes()
    assert saved.startswith(b"RIFF")
    assert out.stdout == f"saved call {call_id} to {path}: {len(saved):,} bytes, audio/wav\n"
    path.write_bytes(b"mine")
    before = len(centre.sim.requests)
    kept = invoke(["recordings", "download", call_id, str(path)], env=centre.env())
    assert "exists: give --force to replace it" in assert_one_error(kept, 2)
    assert path.read_bytes() == b"mine" and len(centre.sim.requests) == before
    forced = invoke(["recordings", "download", call_id, str(path), "--force"], env=centre.env())
    assert forced.code == 0 and path.read_bytes() == saved
    piped = invoke(["recordings", "download", call_id, "-"], env=centre.env())
    assert piped.code == 0 and piped.stdout.startswith("RIFF"), piped
    assert piped.stderr.startswith(f"saved call {call_id} to stdout: ")


def test_a_call_without_a_recording_leaves_no_file(
    invoke: CliInvoker, centre: Served, tmp_path: Path
) -> None:
    path = tmp_path / "none.wav"
    out = invoke(["recordings", "download", "1", str(path)], env=centre.env())
    assert "Bad argument: callid [1]" in assert_one_error(out, 4)
    assert not path.exists()
    big = invoke(["recordings", "download", "1", str(path), "--max-mib", "0"], env=centre.env())
    assert big.code == 2 and "--max-mib" in big.stderr


@pytest.mark.parametrize("fault", ["drop_after", "truncated", "http_502"])
def test_a_lost_reply_says_the_move_may_have_happened(
    invoke: CliInvoker, centre: Served, fault: str
) -> None:
    # The action reached the agent.php that moved the agent, but no reply came back (or
    # a garbled one): the line said only that the connection failed, as if nothing was done.
    agent_id = agent_in(centre, "wait")
    centre.sim.faults.inject(fault, script="agent", action="pause")
    out = invoke(["control", "pause", agent_id], env=centre.env())
    line = assert_one_error(out, 5)
    assert line.startswith(f"contactnow: error: pause: agent {agent_id}: "), line
    assert line.endswith(
        "it may have been done: check the agent's status "
        f"(contactnow watch --agent {agent_id}) before sending it again"
    ), line
    invoke(["control", "unpause", agent_id], env=centre.env())


def test_a_lost_reply_of_a_call_s_action_says_to_check_the_call(
    invoke: CliInvoker, centre: Served
) -> None:
    centre.sim.faults.inject("drop_after", script="agent", action="disposition")
    out = invoke(["control", "disposition", "90000001", "510456"], env=centre.env())
    line = assert_one_error(out, 5)
    assert line.startswith("contactnow: error: disposition: call 90000001 outcome 510456: ")
    assert line.endswith("it may have been done: check before sending it again"), line


def _no_space(self: object, data: bytes) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("nodir/call.wav", "cannot save call.wav: no such directory ({tmp}/nodir)"),
        ("full/call.wav", "cannot save {tmp}/full/call.wav: No space left on device"),
    ],
    ids=["no such directory", "full disk"],
)
def test_a_recording_that_cannot_be_saved_is_one_line(
    invoke: CliInvoker,
    centre: Served,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    said: str,
) -> None:
    # Both were "unexpected error (FileNotFoundError | OSError): a bug: report it".
    (tmp_path / "full").mkdir()
    if where.startswith("full"):
        monkeypatch.setattr(FileSink, "write", _no_space)
    call_id = answered_call(centre)
    out = invoke(["recordings", "download", call_id, str(tmp_path / where)], env=centre.env())
    line = assert_one_error(out, 1)
    assert line == "contactnow: error: " + said.format(tmp=tmp_path), line
    assert list((tmp_path / "full").iterdir()) == []  # no partial file, no temporary one


def test_a_device_is_refused_before_anything_is_sent(invoke: CliInvoker, centre: Served) -> None:
    before = len(centre.sim.requests)
    out = invoke(["recordings", "download", "90000001", os.devnull, "--force"], env=centre.env())
    line = assert_one_error(out, 2)
    assert "not a regular file" in line and "'-'" in line, line
    assert len(centre.sim.requests) == before


def test_the_size_cap_is_in_mib_as_named(
    invoke: CliInvoker, centre: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --max-mb multiplied by 1024 * 1024: MiB under an MB's name.
    from contactnow_async.resources.recordings import Recordings

    caps: list[int | None] = []
    download = Recordings.download

    async def recorded(
        self: Recordings, *args: Any, max_bytes: int | None = None, **kw: Any
    ) -> Any:
        caps.append(max_bytes)
        return await download(self, *args, max_bytes=max_bytes, **kw)

    monkeypatch.setattr(Recordings, "download", recorded)
    call_id = answered_call(centre)
    args = ["recordings", "download", call_id, str(tmp_path / "call.wav"), "--max-mib", "2"]
    out = invoke(args, env=centre.env())
    assert out.code == 0, out
    assert caps == [2 * 1024 * 1024]
    usage = invoke(["recordings", "download", "--help"]).stdout
    assert "--max-mib" in usage and "--max-mb" not in usage


def test_queues_list_refuses_a_type_the_api_does_not_have(
    invoke: CliInvoker, centre: Served
) -> None:
    # --type inboud (a typo) was sent, and answered "no queues match", exit 0.
    before = len(centre.sim.requests)
    out = invoke(["queues", "list", "--type", "inboud"], env=centre.env())
    assert out.code == 2, out
    assert "'inboud' is not one of" in out.stderr and "'inbound'" in out.stderr, out.stderr
    assert len(centre.sim.requests) == before
    upper = invoke(["queues", "list", "--type", "INBOUND", "--json"], env=centre.env())
    assert upper.code == 0 and upper.stdout, upper
    assert centre.sim.requests[-1].args["type"] == "inbound"


def test_agent_dial_says_which_phone_it_rang(invoke: CliInvoker, centre: Served) -> None:
    # With AGENT and --phone, the line said "agent-dial: agent ID": the phone rung unsaid.
    agent_id = agent_in(centre, "offline")
    out = invoke(["control", "agent-dial", agent_id, "--phone", "01614960002"], env=centre.env())
    assert (out.code, out.stdout) == (0, f"agent-dial: agent {agent_id} on 01614960002\n"), out
    sent = centre.sim.requests[-1]
    assert (sent.action, sent.args["agent"], sent.args["phone"]) == (
        "agent_dial", agent_id, "01614960002"
    )  # fmt: skip


def test_queues_list_all_says_which_queues_are_deleted(invoke: CliInvoker, centre: Served) -> None:
    # --all listed deleted queues among the others, nothing in the table telling them apart.
    out = invoke(["queues", "list", "--all"], env=centre.env())
    assert out.code == 0, out
    header, _, *rows = out.stdout.splitlines()
    assert header.split()[-1] == "deleted", header
    deleted = {row.split()[0] for row in rows if row.rstrip().endswith("yes")}
    assert deleted == {"1099"}, out.stdout
    plain = invoke(["queues", "list"], env=centre.env())
    assert "deleted" not in plain.stdout.splitlines()[0]


def test_ctrl_c_as_a_move_is_sent_says_it_may_have_been_done(
    invoke: CliInvoker, centre: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exit 130 and nothing said: whether the agent was logged out was for the user to guess.
    from contactnow_async.resources.control import Control

    async def logout_then_ctrl_c(self: Control, agent: Any) -> Any:
        signal.raise_signal(signal.SIGINT)
        await anyio.sleep_forever()

    monkeypatch.setattr(Control, "logout", logout_then_ctrl_c)
    out = invoke(["control", "logout", "1226353"], env=centre.env())
    line = assert_one_error(out, 130)
    assert line == (
        "contactnow: error: logout: agent 1226353: interrupted as it was sent: it may have "
        "been done: check the agent's status (contactnow watch --agent 1226353) before "
        "sending it again"
    ), line
