"""``agent.php``: agent call control, as the vendor's support article lists the actions.

No method; the action names the move. ``agent`` (or ``agentid``, as the
article's URL spells it) names the agent, except for ``disposition`` and
``callback`` (they name a ``callid``). Every move writes the agent's status_log
row at once, so a watcher sees it on its next poll. The reply is the
documented ``{"success": true}``; an action the agent's status does not allow
answers the documented form, ``{"success": false, "error": "Bad argument: agent
[1226353] is offline"}``.

=================  ==========================  ===================================
action             from                        to
=================  ==========================  ===================================
``ready``          wrap, break                 wait (already in wait: no change)
``pause``          wait, wrap                  break, statuscode ``Paused``
``unpause``        break                       wait (already in wait: no change)
``wrap``           call (or wrap)              wrap, statuscode ``subcode`` if given
``hangup``         call                        wrap
``hangupready``    call                        wait (no wrap)
``logout``         wait, wrap, break           offline ``Home`` (offline: no change)
``park``           call                        call, statuscode ``Parked``
``unpark``         call, parked                call, statuscode ``""``
``unpark_tpt``     call, parked                call, statuscode ``""``
``agent_dial``     offline                     wait (logged in: no change)
``manual_dial``    wait, wrap                  call to ``ddi`` (a manual call, ``dtype`` man)
``disposition``    a call (``callid``)         its outcome (``outcome``), CDR and record
``callback``       a dialled call (``callid``) its record called back at ``callback``
=================  ==========================  ===================================

The article does not list the arguments of ``agent_dial``, ``manual_dial``,
``disposition`` and ``callback``; the simulator takes ``phone`` (or ``agent``),
``ddi`` (and an optional outbound ``qid``), ``callid`` with ``outcome``, and
``callid`` with ``callback`` (a record date, or unix seconds in ASCII digits),
``notes`` and an optional ``agent`` (that agent's own callback). A ``callid`` the
simulator never had answers ``Bad argument: callid [..] does not exist.`` (as an
unknown agent does), one of a call no agent took ``is no agent's call``; a callback
time in the past is taken (due at once): no document refuses it. A refused action
changes nothing;
``disposition`` and ``callback`` refuse a call whose record is EXPIRED (``Bad
argument: dataset [350] is EXPIRED``, as ``ecnow_records`` update does: ECNOW.md
says an expired record cannot be edited). Agents created through the API are
offline for ever: every move of theirs is refused. ``unparktpt``, ``agentdial``
and ``manualdial`` are taken as the underscored names.
"""

from __future__ import annotations

from collections.abc import Callable

from .._asgi import Request
from .._calls import SimCall
from .._campaigns import EXPIRED
from .._scenario import BREAK, CALL, OFFLINE, WAIT, WRAP, Scenario, SimAgent
from .._wire import Reply
from ._conventions import BadArgument, error
from ._registry import SimState, endpoint

__all__ = ["agent_control"]

PARKED = "Parked"
PAUSED = "Paused"


def agent_control(request: Request, state: SimState) -> Reply:
    """Answer every documented action (see the module docstring)."""
    action = _ALIASES.get(request.action, request.action)
    move = _MOVES.get(action)
    if move is not None:
        move(state.scenario, _agent(request, state.scenario), state.scenario.now)
    elif action in _CALL_ACTIONS:
        _CALL_ACTIONS[action](request, state)
    else:
        return error("Unknown action")
    return {"success": True}


def _agent(request: Request, scenario: Scenario) -> SimAgent:
    named = {request.args.get(name, "").strip() for name in ("agent", "agentid")} - {""}
    if len(named) != 1:
        raise BadArgument("Bad argument: agent")
    (uid,) = named
    agent = scenario.by_uid.get(uid)
    if agent is None:
        raise BadArgument(f"Bad argument: agent [{uid}] does not exist.")
    return agent


def _refuse(agent: SimAgent, why: str) -> BadArgument:
    return BadArgument(f"Bad argument: agent [{agent.uid}] {why}")


def _check(agent: SimAgent, allowed: tuple[str, ...], *, same: str | None = None) -> bool:
    """Whether to move (False: already there); raises for a status the move is not for."""
    if agent.status == same:
        return False
    if agent.status in allowed and agent.index >= 0:
        return True
    if agent.status == OFFLINE or agent.index < 0:
        raise _refuse(agent, "is offline")
    if agent.status == CALL:
        raise _refuse(agent, "is on a call")
    raise _refuse(agent, f"is in {agent.status}, not {' or '.join(allowed)}")


def _ready(scenario: Scenario, agent: SimAgent, now: float) -> None:
    if _check(agent, (WRAP, BREAK), same=WAIT):
        scenario.available(agent, now)


def _pause(scenario: Scenario, agent: SimAgent, now: float) -> None:
    if _check(agent, (WAIT, WRAP), same=BREAK):
        scenario.move(agent, BREAK, now, code=PAUSED)


def _unpause(scenario: Scenario, agent: SimAgent, now: float) -> None:
    if _check(agent, (BREAK,), same=WAIT):
        scenario.available(agent, now)


def _logout(scenario: Scenario, agent: SimAgent, now: float) -> None:
    if _check(agent, (WAIT, WRAP, BREAK), same=OFFLINE):
        scenario.move(agent, OFFLINE, now)


def _on_call(agent: SimAgent, what: str) -> SimCall:
    if agent.index < 0 or agent.status == OFFLINE:
        raise _refuse(agent, "is offline")
    if agent.call is None:
        raise _refuse(agent, f"has no call to {what}")
    return agent.call


def _hangup(scenario: Scenario, agent: SimAgent, now: float) -> None:
    _on_call(agent, "hang up")
    scenario.hang_up(agent, now, then=WRAP)


def _hangup_ready(scenario: Scenario, agent: SimAgent, now: float) -> None:
    _on_call(agent, "hang up")
    scenario.hang_up(agent, now, then=WAIT)


def _park(scenario: Scenario, agent: SimAgent, now: float) -> None:
    _on_call(agent, "park")
    if agent.statuscode == PARKED:
        raise _refuse(agent, "has parked the call already")
    scenario.recode(agent, PARKED, now)


def _unpark(scenario: Scenario, agent: SimAgent, now: float) -> None:
    _on_call(agent, "unpark")
    if agent.statuscode != PARKED:
        raise _refuse(agent, "has no parked call")
    scenario.recode(agent, "", now)


def _agent_dial(scenario: Scenario, agent: SimAgent, now: float) -> None:
    if agent.index < 0:
        raise _refuse(agent, "has no phone the simulator can ring")
    if agent.status == OFFLINE:
        scenario.available(agent, now)


_MOVES: dict[str, Callable[[Scenario, SimAgent, float], None]] = {
    "ready": _ready,
    "pause": _pause,
    "unpause": _unpause,
    "logout": _logout,
    "hangup": _hangup,
    "hangupready": _hangup_ready,
    "park": _park,
    "unpark": _unpark,
    "unpark_tpt": _unpark,
}
_ALIASES = {"unparktpt": "unpark_tpt", "agentdial": "agent_dial", "manualdial": "manual_dial"}


def _wrap(request: Request, state: SimState) -> None:
    scenario, now = state.scenario, state.scenario.now
    agent = _agent(request, scenario)
    subcode = request.args.get("subcode", "").strip()
    if agent.status == WRAP and agent.index >= 0:
        if subcode and subcode != agent.statuscode:
            scenario.recode(agent, subcode, now)
        return
    _on_call(agent, "wrap")
    scenario.hang_up(agent, now, then=WRAP, code=subcode or None)


def _dial_in(request: Request, state: SimState) -> None:
    """``agent_dial``: an offline agent logs in when its phone (or its id) is given."""
    scenario = state.scenario
    phone = request.args.get("phone", "").strip()
    if phone and not (request.args.get("agent") or request.args.get("agentid")):
        found = [a for a in scenario.iter_agents() if scenario.record(a).get("phone") == phone]
        if not found:
            raise BadArgument(f"Bad argument: phone [{phone}] is no agent's phone")
        agent = found[0]
    else:
        agent = _agent(request, scenario)
    _agent_dial(scenario, agent, scenario.now)


def _manual_dial(request: Request, state: SimState) -> None:
    scenario = state.scenario
    agent = _agent(request, scenario)
    ddi = request.args.get("ddi", "").strip()
    if not ddi or not (ddi.isascii() and ddi.lstrip("+").isdigit()):  # "²" is a digit too
        raise BadArgument("Bad argument: ddi")
    qid = request.args.get("qid", "").strip()
    if qid:
        queue = scenario.campaigns.queues.get(qid)
        if queue is None or queue["type"] != "outbound":
            raise BadArgument(f"Bad argument: qid [{qid}] is not an outbound queue")
    else:
        assigned = sorted(
            q
            for (uid, q) in scenario.priorities
            if uid == agent.uid and scenario.campaigns.queues.get(q, {}).get("type") == "outbound"
        )
        qid = assigned[0] if assigned else "0"
    if _check(agent, (WAIT, WRAP)):
        scenario.dial(agent, ddi, qid, scenario.now)


def _call_of(request: Request, scenario: Scenario) -> SimCall:
    callid = request.args.get("callid", "").strip()
    if not callid:
        raise BadArgument("Bad argument: callid")
    call = scenario.active.get(callid) or scenario.cdr.get(callid)
    if call is None:  # as ECNOW.md answers an unknown id: "Record id [..] does not exist."
        raise BadArgument(f"Bad argument: callid [{callid}] does not exist.")
    if call.agent == "0":
        raise BadArgument(f"Bad argument: callid [{callid}] is no agent's call")
    return call


def _disposition(request: Request, state: SimState) -> None:
    scenario = state.scenario
    call = _call_of(request, scenario)
    code = request.args.get("outcome", "").strip()
    if code not in scenario.campaigns.outcomes:
        raise BadArgument(
            f"Bad argument: outcome [{code}] does not exist." if code else "Bad argument: outcome"
        )
    if call.record is not None:
        _open_record(scenario, call.record)
    call.outcome = code  # a live call keeps it for when it ends
    if call.tm_disc:
        # Its result too: "No answer" given in wrap left an Answered call with a recording.
        call.judge(code)
        scenario.cdr.replace(call)
        if call.record is not None:
            scenario.dialler.apply_outcome(
                call.record,
                code,
                agent_uid=call.agent,
                callid=call.callid,
                when=scenario.now,
                keep_callback=scenario.dialler.called_back.get(call.record) == call.callid,
            )


def _callback(request: Request, state: SimState) -> None:
    scenario = state.scenario
    call = _call_of(request, scenario)
    if call.record is None:
        raise BadArgument(f"Bad argument: callid [{call.callid}] is not about a record")
    db = scenario.campaigns
    text = request.args.get("callback", "").strip()
    try:
        # Unix seconds in ASCII digits: float() reads other scripts' digits too ("١٢٣").
        seconds = text.isascii() and text.replace(".", "", 1).isdigit()
        due = float(text) if seconds else db.parse_time(text)
        when = None if due is None else db.format_time(due)
    except (ValueError, OverflowError):  # not a date, or a unix time past any record date
        when = None
    if when is None or due is None:
        raise BadArgument("Bad argument: callback")
    owner = request.args.get("agent", "").strip() or request.args.get("agentid", "").strip()
    if owner and owner not in scenario.by_uid:
        raise BadArgument(f"Bad argument: agent [{owner}] does not exist.")
    record = _open_record(scenario, call.record)
    # Every check above, every change below: a refusal changes nothing.
    # The moment meant, kept: in the hour the clocks go back the date names two.
    scenario.dialler.set_callback(call.record, due)
    if owner:
        record["AgentRef"], record["Agent_Specific"] = owner, "1"
    if "notes" in request.args:
        record["Call_Back_Notes"] = request.args["notes"]
    db.settle(call.record)
    scenario.dialler.schedule(call.record)
    # The call's outcome (at its end, or a disposition) keeps it rather than an hour later.
    scenario.dialler.called_back[call.record] = call.callid


def _open_record(scenario: Scenario, record_id: int) -> dict[str, str]:
    """The record a call is about; raises BadArgument once it is EXPIRED (ECNOW.md: an
    expired record cannot be edited, and ``ecnow_records`` update refuses it so)."""
    record = scenario.campaigns.records[record_id]
    if record["ProcessType"] == EXPIRED:
        raise BadArgument(f"Bad argument: dataset [{record['datasetid']}] is EXPIRED")
    return record


_CALL_ACTIONS: dict[str, Callable[[Request, SimState], None]] = {
    "wrap": _wrap,
    "agent_dial": _dial_in,
    "manual_dial": _manual_dial,
    "disposition": _disposition,
    "callback": _callback,
}
# Registered once its actions are known: every move, call action and alias.
endpoint("agent", actions=[*_MOVES, *_CALL_ACTIONS, *_ALIASES])(agent_control)
