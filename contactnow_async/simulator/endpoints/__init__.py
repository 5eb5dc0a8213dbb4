"""The simulated API's endpoints: one module per script, or per method of ``database.php``.

=================  ===================================  =====================
module             answers                              actions
=================  ===================================  =====================
``token``          ``token.php`` (no method, no token)  get, validate
``agents``         ``database.php?method=agents``       read, create, update
``priority``       ``database.php?method=priority``     read, create, update
``status_log``     ``database.php?method=status_log``   read
``ajax``           ``ajax.php?method=agents``           read
=================  ===================================  =====================

The other documented scripts (``ecnow``, ``reporting``, ``recording``,
``click2dial``, ``agent``) check the token and answer ``Unknown method``.
To add an endpoint, write a module that registers its handler and import it
below::

    @endpoint("database", "queues", item="queue")
    def queues(request: Request, state: SimState) -> Reply:
        if request.action != "read":
            return error("Unknown action")
        return {"success": True, "total": 0, "list": []}

Register with no method for a script that takes none (``agent.php``), and
return a :class:`~contactnow_async.simulator._wire.BinaryReply` for a reply
that is not an envelope (``recording.php``). :mod:`._registry` has the rules.
"""

from __future__ import annotations

# Importing a module registers its endpoints in ENDPOINTS.
from . import (  # noqa: F401 - imported to register
    agents,
    ajax,
    campaigns,
    datasets,
    outcomecodes,
    priority,
    queues,
    records,
    status_log,
    token,
)
from ._registry import ENDPOINTS, Registry, SimState

__all__ = ["ENDPOINTS", "Registry", "SimState"]
