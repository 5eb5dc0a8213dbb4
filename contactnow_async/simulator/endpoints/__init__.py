"""The simulated API's endpoints: one module per script, or per method of ``database.php``.

======================  ========================================  ========================
module                  answers                                   actions
======================  ========================================  ========================
``token``               ``token.php`` (no method, no token)       get, validate
``agents``              ``database.php?method=agents``            read, create, update
``priority``            ``database.php?method=priority``          read, create, update
``status_log``          ``database.php?method=status_log``        read
``queues``              ``database.php?method=queues``            read
``outcomecodes``        ``database.php?method=outcomecodes``      read
``ajax``                ``ajax.php?method=agents``                read
``datasets``            ``ecnow.php?method=ecnow_datasets``       read, create, update
``records``             ``ecnow.php?method=ecnow_records``        read, create, update
``campaigns``           ``ecnow.php`` campaign tables and fields  read
``reporting``           ``reporting.php`` calls, cdr, agents      (no action)
``agent_control``       ``agent.php`` (no method)                 ready, pause, wrap, ...
``recording``           ``recording.php`` (no method)             (no action): audio
======================  ========================================  ========================

``click2dial.php`` checks the token and answers ``Unknown method``: its arguments
are not documented.
To add an endpoint, write a module that registers its handler and import it
below::

    @endpoint("database", "queues", item="queue", actions=["read"])
    def queues(request: Request, state: SimState) -> Reply:
        return {"success": True, "total": 0, "list": []}

Any other action answers ``Unknown action`` before the handler runs.

Register with no method for a script that takes none (``agent.php``), and
return a :class:`~contactnow_async.simulator._wire.BinaryReply` for a reply
that is not an envelope (``recording.php``). :mod:`._registry` has the rules.
"""

from __future__ import annotations

# Importing a module registers its endpoints in ENDPOINTS.
from . import (  # noqa: F401 - imported to register
    agent_control,
    agents,
    ajax,
    campaigns,
    datasets,
    outcomecodes,
    priority,
    queues,
    recording,
    records,
    reporting,
    status_log,
    token,
)
from ._registry import ENDPOINTS, Registry, SimState

__all__ = ["ENDPOINTS", "Registry", "SimState"]
