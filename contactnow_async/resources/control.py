"""``agent.php``: agent call control (ready, pause, wrap, hang up, log out, dial...).

The actions are the vendor's support article's ("ContactNow: Using Agent.php API
Endpoint to Manage Agent Actions"). Each is a write: it is sent once and resent
only when it provably never reached the server (a connection refused, an HTTP 429
refusal); a lost reply raises :class:`~contactnow_async.TransportError` with
``sent=True``: read the agent's live status before acting again. A refusal in the
documented form (``{"success": false, "error": "Bad argument: agent"}``) raises
:class:`~contactnow_async.BadArgumentError`, whose ``argument`` names what was refused.

The agent is sent as ``agent`` and as ``agentid``: the article's text and its
example URL each use one. The article does not list the arguments of
``agent_dial``, ``manual_dial``, ``disposition`` and ``callback``: the ones taken
here are the API's names elsewhere (``phone``, ``ddi``, ``qid``, ``callid``,
``outcome``, ``callback``, ``notes``), and any extra keyword is sent as given, unless
it names what an argument sends already (``agentid=`` beside the agent: refused).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from .._models import WriteResult
from .._models_records import format_record_time, from_1970, record_date_text
from ._base import Resource, scalar

__all__ = ["Control"]

AgentId = str | int
Extra = str | int | None


class Control(Resource):
    """Move an agent: one coroutine per documented ``agent.php`` action.

    Each returns the reply as a :class:`~contactnow_async.WriteResult` (the API
    documents only ``success``) and raises
    :class:`~contactnow_async.BadArgumentError` for a move the agent's state
    forbids (``ready`` for an agent logged out, ``hangup`` without a call).
    """

    __slots__ = ()

    async def ready(self, agent: AgentId) -> WriteResult:
        """Make the agent available (``wait``): after wrap, or back from a break."""
        return await self._act("ready", _agent(agent))

    async def pause(self, agent: AgentId) -> WriteResult:
        """Pause the agent: no calls until :meth:`unpause` (a break)."""
        return await self._act("pause", _agent(agent))

    async def unpause(self, agent: AgentId) -> WriteResult:
        """End the agent's pause: available again."""
        return await self._act("unpause", _agent(agent))

    async def wrap(self, agent: AgentId, subcode: str | None = None) -> WriteResult:
        """End the agent's call and put it in wrap, with ``subcode`` if given (or give an
        agent already in wrap its ``subcode``)."""
        return await self._act("wrap", {**_agent(agent), "subcode": subcode})

    async def hangup(self, agent: AgentId) -> WriteResult:
        """Hang up the agent's call; the agent goes on to wrap."""
        return await self._act("hangup", _agent(agent))

    async def hangup_ready(self, agent: AgentId) -> WriteResult:
        """Hang up the agent's call and make it available at once, without wrap
        (``hangupready``)."""
        return await self._act("hangupready", _agent(agent))

    async def logout(self, agent: AgentId) -> WriteResult:
        """Log the agent out (``offline``)."""
        return await self._act("logout", _agent(agent))

    async def park(self, agent: AgentId) -> WriteResult:
        """Park (hold) the agent's call."""
        return await self._act("park", _agent(agent))

    async def unpark(self, agent: AgentId) -> WriteResult:
        """Take the agent's parked call back."""
        return await self._act("unpark", _agent(agent))

    async def unpark_tpt(self, agent: AgentId) -> WriteResult:
        """Take the agent's call back from a third-party transfer (``unpark_tpt``)."""
        return await self._act("unpark_tpt", _agent(agent))

    async def agent_dial(
        self, agent: AgentId | None = None, *, phone: str | None = None, **extra: Extra
    ) -> WriteResult:
        """Log an agent in by ringing its phone: name the agent, or the ``phone``."""
        if agent is None and phone is None and all(value is None for value in extra.values()):
            raise ValueError("agent_dial needs the agent, or the phone to ring")
        params = _agent(agent) if agent is not None else {}
        if phone is not None:
            phone = _number(phone, "phone")
        return await self._act("agent_dial", _with(extra, {**params, "phone": phone}, "agent_dial"))

    async def manual_dial(
        self, agent: AgentId, ddi: str, *, queue: str | int | None = None, **extra: Extra
    ) -> WriteResult:
        """Have the agent dial ``ddi`` by hand (through outbound ``queue`` if given)."""
        qid = None if queue is None else _id(queue, "queue")  # "" or "1,2" is not one queue
        params = {**_agent(agent), "ddi": _number(ddi, "ddi"), "qid": qid}
        return await self._act("manual_dial", _with(extra, params, "manual_dial"))

    async def disposition(
        self,
        call_id: str | int,
        outcome: str | int,
        *,
        agent: AgentId | None = None,
        **extra: Extra,
    ) -> WriteResult:
        """Give call ``call_id`` the outcome code ``outcome`` (its record's too, for a
        dialled call); a call still going keeps it for when it ends."""
        params = {"callid": _id(call_id, "call_id"), "outcome": _id(outcome, "outcome")}
        if agent is not None:
            params.update(_agent(agent))
        return await self._act("disposition", _with(extra, params, "disposition"))

    async def callback(
        self,
        call_id: str | int,
        when: datetime | int | float | str,
        *,
        agent: AgentId | None = None,
        notes: str | None = None,
        **extra: Extra,
    ) -> WriteResult:
        """Call the record of dialled call ``call_id`` back at ``when`` (an aware datetime,
        unix seconds or ``"YYYY-MM-DD HH:MM:SS"``, sent in the client's ``record_tz``);
        with ``agent``, that agent's own callback. Raises ValueError, before sending, for
        text in another form (``"2026-06-01"``, ``"tomorrow"``, ISO's ``T``), no real
        moment (``"2026-02-30 10:00:00"``), a moment before 1970 (negative unix seconds)
        or past 9999, a number that is not finite, a naive datetime, or a ``date``: a day
        is no time to call; give the datetime."""
        params: dict[str, Any] = {
            "callid": _id(call_id, "call_id"),
            "callback": _callback_time(when, self._client.options.record_tz),
            "notes": notes,
        }
        if agent is not None:
            params.update(_agent(agent))
        return await self._act("callback", _with(extra, params, "callback"))

    async def _act(self, action: str, params: dict[str, Any]) -> WriteResult:
        # Every argument, an extra keyword too: a list would go as PHP's name[]=..., a
        # bool as "1" (the ids, numbers and the callback's time are text by now).
        params = {name: scalar(value, name=name) for name, value in params.items()}
        envelope = await self._client.request(
            "agent", action=action, params=params, idempotent=False
        )
        return WriteResult.from_envelope(envelope)


def _with(extra: dict[str, Extra], params: dict[str, Any], action: str) -> dict[str, Any]:
    """``params`` and the extra keywords; an extra naming what ``params`` already sends
    (``agentid=`` beside the agent, ``qid=`` beside ``queue=``, ``callid=`` beside the
    call) is refused: which of the two the API would act on is anyone's guess."""
    twice = sorted(
        name for name, value in extra.items() if value is not None and params.get(name) is not None
    )
    if twice:
        raise TypeError(
            f"{action} got {', '.join(twice)} twice: once by its argument, once as an extra "
            "keyword; give it once"
        )
    return {**params, **{name: value for name, value in extra.items() if value is not None}}


def _id(value: str | int, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{name} must be an id (text or a number), not {value!r}")
    text = str(value).strip()
    if not text or "," in text:
        raise ValueError(f"{name} must be one id, not {value!r}")
    return text


def _callback_time(when: datetime | date | int | float | str, tz: tzinfo) -> str:
    """``when`` as the record date ``callback`` sends; text must be one already, a real
    moment: the API would read anything else as it pleases, or as no callback at all."""
    if isinstance(when, str):
        text = record_date_text(when, "when")
    elif isinstance(when, date) and not isinstance(when, datetime):
        # Not its midnight, as a record's date would be: text of a bare day is refused too.
        raise ValueError(
            f"when must be the moment to call back, not the date {when.isoformat()}: give an "
            "aware datetime, with the time of day"
        )
    elif isinstance(when, bool) or not isinstance(when, (datetime, int, float)):
        raise TypeError(
            "when must be an aware datetime, unix seconds or text 'YYYY-MM-DD HH:MM:SS', "
            f"not {when!r}"
        )
    else:
        text = format_record_time(when, tz, "when")  # refuses naive, NaN, inf, past 9999
    return from_1970(text, tz, "when", when)  # sent, -5 was "1969-12-31 23:59:55"


def _number(value: str, name: str) -> str:
    """A phone number to dial: text, not blank. Its form is not checked: neither ECNOW.md
    (whose numbers are digits, ``'01234567890'``) nor the article says which the API takes."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be the number as text, not {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must be the number to dial, not blank")
    return value.strip()


def _agent(agent: AgentId) -> dict[str, Any]:
    """The agent, as both names the article uses."""
    agent_id = _id(agent, "agent")
    return {"agent": agent_id, "agentid": agent_id}
