"""A faithful fake ContactNow API v2 server, with a contact centre that moves.

::

    from contactnow_async.simulator import Simulator, VirtualClock, serve

    clock = VirtualClock()
    sim = Simulator(username="demo", password="demo", agents=25, seed=1, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim/") as http:
        ...                                   # in process
    async with serve(sim) as base_url:        # or over 127.0.0.1 (needs uvicorn)
        ...

The simulator follows the vendor's documents. Where they are silent it picks
one behaviour, listed here so a client's tolerance can be tested against it:

Tokens
    Data endpoints answer ``Unknown token`` for a missing or never-issued token,
    ``Invalid token`` for a token used from another address than the one that
    got it, and ``{"success": false, "error": "Expired token", "expire": -1}``
    once its ``expire`` has passed (or after :meth:`Simulator.expire_tokens`).
    ``token.php?action=validate`` answers ``Invalid token`` for an unknown or
    foreign token (as documented) and the same expired reply. A token error
    changes nothing. ``action=get`` answers the address's current token (and
    its ``expire``) while it is valid, a new one once it has expired, as TOKEN.md
    says ("Get a new token if one does not already exist"); the same goes for
    :meth:`Simulator.issue_token`. An ``address`` argument to ``get`` binds the
    token to that address instead of the caller's (the vendor's token reference
    page). The lifetime, "11 h 59 s", is read literally:
    39,659 seconds (:data:`DEFAULT_TOKEN_LIFETIME`). Every reply carries a
    ``Date`` header from the simulator's clock.
Arguments and payloads
    Query and form arguments are merged, form fields winning (PHP's
    ``$_REQUEST``); forms may be urlencoded or multipart. A POST body starting
    with ``[``, ``{`` or ``<`` is the create/update payload whatever its
    Content-Type (the vendor's PHP wrapper posts its JSON array as curl's
    default form type): a JSON array, one JSON object, ``<dxi><agent>..``,
    ``<dxi><priority>..`` or the flat ``<dxi><agentid>..</agentid>..</dxi>``
    (one record). A form or query field ``data``, or a multipart file
    ``easycall`` (ECNOW.md's upload section), holding JSON or XML text is also
    taken as the payload when the body is not one.
Replies
    JSON replies carry strings for every scalar except ``success`` (bool) and
    ``total``, ``bad``, ``key``, ``expire`` (ints); ``phone`` and
    ``auth_reports`` are ``null`` when empty, as in the documented agents read, and
    so are a record's ``URN`` and ``VENDOR_URN``, as in the vendor's record read.
    Keys are quoted (the ajax document's unquoted keys are taken for an
    artefact). XML replies are ``<?xml version="1.0" encoding="utf-8"?>`` with
    root ``<result>``, ``1``/``0`` for success, list items named ``<agent>``,
    ``<status_log>`` or ``<priority>``, empty values as empty elements
    (``<phone/>``, ``<list/>``). An ajax ``call`` list is ``<call/>`` when empty
    and ``<call><item><callid>..</callid><qid>..</qid><cli>..</cli>
    <direction>in</direction></item></call>`` while on a call (the JSON
    ``call`` is ``[]`` or ``[{"callid": .., "qid": .., "cli": .., "direction": ..}]``).
    Unknown scripts, methods and actions, unreadable payloads and non-integer
    ``uid``/``tstart``/``tstop``/``start``/``limit`` (or one of more than 20
    digits: no id, count or time of the API has more) answer HTTP 200 with
    ``success: false`` and an ``error`` text (for an argument, the documented
    ``Bad argument: uid`` form).
Writes
    An agents create ignores any ``agentid`` and counts a record without a
    ``name`` or with a non-scalar value as ``bad``; ``key`` is the id of the
    last agent created (0 if none). Created agents are offline (``Home``) for
    ever and write one status_log row when created. Updates count an unknown
    ``agentid`` as bad. A priority create skips an existing (agentid, qid)
    pair (success, ``total`` 0); its ``key`` is the new assignment's id. A
    priority record whose ``level`` is not a whole number is bad. A reply with
    ``bad`` records carries the last refusal as its ``error`` (``Bad argument:
    level``), as ``ecnow.php`` writes do. An XML payload's field keeps its spaces,
    as a JSON one does, and its empty element (``<userfield/>``) is JSON's ``""``.
    A ``phone`` or ``auth_reports`` written empty reads back ``null``, as the
    documented read of the documented create does.
The scenario
    Each scenario agent moves ``offline -> wait -> call -> wrap -> wait``, with
    ``wait -> break -> wait`` (statuscode ``Lunch``, ``Training`` or
    ``Comfort``) and ``wait -> offline`` (statuscode ``Home``); ``wait``,
    ``call`` and ``wrap`` have an empty statuscode. Dwell times are exponential
    (:class:`Dwell`). At construction every agent gets a random status that
    began at the clock's start, and one status_log row for it, so the log
    alone implies the live state at every time. A status_log row becomes
    visible ``log_delay`` seconds after its transition.
Calls
    Callers arrive at the inbound queues 1007-1009 (a Poisson stream each, at a
    pace set by ``Dwell`` and the agents assigned to the queue) and wait in line.
    An agent in ``wait`` assigned to the queue (``priority``) takes the caller at
    once: the highest level first, then the agent waiting longest; an agent
    becoming free takes the caller who has waited longest on its queues. A
    caller gives up after a patience drawn from ``Dwell.patience``: an abandoned
    call, ``aid`` 0. Every call, inbound, dialled or dialled by hand
    (``agent.php manual_dial``), shows in the agent's ajax ``call`` while it
    lasts and in its status_log rows (``callid``), and becomes a CDR row when it
    ends (``reporting.php cdr``; kept like the status log: ``cdr_retention``,
    by default ``log_retention``). An answered call has a recording
    (``recording.php?callid=``: a short WAV tone). When an inbound or manual call
    ends the agent gives it an outcome (a sale, need more information, not
    interested, call back), unless ``agent.php disposition`` gave one.
``reporting.php``
    ``calls`` is computed from the CDR rows as REPORTING.md defines each figure
    (the readings where it is silent are in ``_reports``); ``cdr`` lists the rows,
    paged by ``start``/``limit``; ``agents`` lists login sessions from the status
    log. See :mod:`.endpoints.reporting`.
``agent.php``
    Every documented action moves the agent and writes its status_log row (ready
    to wait, pause to a break, wrap with its subcode, logout to offline...); an
    action the agent's status does not allow answers ``Bad argument: agent [N]
    is offline`` (or on a call, or has no call). An action happens at the moment
    the request played the scenario to (one clock read per request, also for
    ``ajax.php``'s ``srvtime``). See :mod:`.endpoints.agent_control`.
The campaign database (``ecnow.php``, ``database.php`` queues and outcome codes)
    Three campaign tables, ``APItestcampaign``, ``BradOutbound`` and ``Willtest``,
    each with the 28 standard record fields and its own (``Willtest`` has the
    documented ``appointment``, ``Customer_Email``, ``flgid``, ``Testy`` and
    ``ThisIsATimeField``: 33 fields, as in the documented reply). Queues 1007-1009
    are inbound (the scenario's calls), 2001 and 2002 outbound for ``Willtest`` and
    ``APItestcampaign``, 3001-3005 one of each other type, and 1099 a deleted
    inbound queue (``filter`` 999). Scenario agents with an even index take calls
    from queue 2001 (level 100), every third from 2002 (level 50). Datasets: 350
    (EXPIRED, record 411 as documented), 351 (LIVE, two completed records), 352
    (HOLD, priority 50, three new ones) and 353 (``APItestcampaign``, LIVE, empty);
    created datasets count from 354, created records from 2499265 (the documented
    key). Outcome codes 100-109 are the system's (``mode=system``; 101 is ``Answer
    Machine (Agent)``, as in the vendor's reporting example); 501638 and
    510456 are the documented ones, with 510457 and 510458.
    Record dates are written in ``record_tz`` (UTC by default). A record's
    ``ProcessType`` follows from its outcome, callback and dataset: ``New
    Prospect`` (never worked), ``NEEDSMOREWORK`` (a non-complete outcome or a
    callback), ``COMPLETE`` (a complete outcome), with ``HOLD: `` in front while its
    dataset is on HOLD, and ``EXPIRED`` once its dataset is. The documented errors
    are answered as documented (``Record id [N] does not exist.``, as ``bad`` 1 with
    ``success`` 1; an ``ecnow.php`` write with no records, ``No file uploaded.
    Missing 'easycall' section?``); the undocumented ones in the documented ``Bad argument: xyz``
    form: a create without ``dataset`` or without a phone, an unknown dataset, an
    EXPIRED dataset or record (``Bad argument: dataset [350] is EXPIRED``), an
    unknown table or outcome code, a read without one of its required filters.
    Fields a write names that the campaign does not have are ignored, and so are the
    system's own (``id``, ``datasetid``, ``ProcessType``, ``ProcessDate``, ``notes``:
    use ``notes_append``, ``loaddate``, ``sourcefile``); field names ignore case, as
    MySQL's do. ``search[field]`` matches like SQL ``LIKE
    '%value%'``, ignoring case (``type=exact``: the whole value).
    A ``filter`` argument (agents, queues) is a plain value or an SQL-like
    condition on the field: ``!= 999``, ``NOT IN (999, 505050)``, ``> 0``.
The dialler
    A record is dialled while its dataset is LIVE, it is ``New Prospect`` or
    ``NEEDSMOREWORK``, has a phone and its callback is due, by an agent in ``wait``
    assigned to the dataset's outbound queue (longest waiting first; among records,
    the highest queue level, then dataset priority, then the earliest callback and
    lowest id). The agent connects 5 seconds later. The call's ajax ``call`` row
    also carries ``urn`` (the record id) and ``qtable`` (its campaign table), the
    names the CDR uses; its status_log rows carry its ``callid``. When the call
    ends the record gets an outcome, its ``ProcessDate``, ``ProcessType`` and a
    line in ``notes``; a non-complete outcome sets a callback an hour later, when
    it is dialled again (:mod:`._dialler`), unless an agent set the record's
    callback for the call (``agent.php callback``, during it or before its
    disposition): the outcome keeps that one. A callback set in the past is due
    from the moment it is set: nothing is dialled back in time. A callback the
    simulator writes (an outcome's, or one given in unix seconds) is due at the moment
    it was set for, also in the hour the clocks go back in ``record_tz``, when its date
    names two (a date given as text is read as the first). A dialled or
    manual call nobody answers (outcome ``103``) is ``No Answer``, one to a dead
    line (``104``) ``Dead Line``; either rang until it ended: its ``sec_ring`` is
    its ``sec_dur``, and it has no recording, whether the outcome was given during
    the call or after it (``agent.php disposition`` in wrap).

Faults: what each does, :class:`FaultKind`; how to inject them, :class:`Faults`.
"""

from __future__ import annotations

from contactnow_async._clock import Clock, ScaledClock, SystemClock, VirtualClock

from ._app import (
    DEFAULT_TOKEN_LIFETIME,
    RequestRecord,
    SimulatedDisconnect,
    Simulator,
    SimulatorTransport,
    Stats,
)
from ._faults import Fault, FaultKind, Faults
from ._scenario import Dwell
from ._serve import run, serve

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "Clock",
    "Dwell",
    "Fault",
    "FaultKind",
    "Faults",
    "RequestRecord",
    "ScaledClock",
    "SimulatedDisconnect",
    "Simulator",
    "SimulatorTransport",
    "Stats",
    "SystemClock",
    "VirtualClock",
    "run",
    "serve",
]
