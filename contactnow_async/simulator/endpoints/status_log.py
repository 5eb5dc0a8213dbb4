"""``database.php?method=status_log``: read the agents' status history."""

from __future__ import annotations

from .._asgi import Request
from .._scenario import LogRow
from .._wire import Reply
from ._conventions import id_list, int_argument
from ._registry import SimState, endpoint

__all__ = ["log_row", "status_log"]


@endpoint("database", "status_log", item="status_log", actions=["read"])
def status_log(request: Request, state: SimState) -> Reply:
    """Answer ``read``: rows by ``uid`` (``low``, ``low:high``), ``agent``, ``tstart``/``tstop``.

    Only rows older than ``log_delay`` seconds are visible.
    """
    args = request.args
    uid_low = uid_high = None
    uid = args.get("uid", "").strip()
    if uid:
        low, _, high = uid.partition(":")
        uid_low = int_argument("uid", low) if low.strip() else None
        if ":" in uid and high.strip():
            uid_high = int_argument("uid", high)
    tstart = args.get("tstart", "").strip()
    tstop = args.get("tstop", "").strip()
    rows = state.scenario.log_rows(
        visible_before=state.scenario.now - state.log_delay,
        uid_low=uid_low,
        uid_high=uid_high,
        agents=id_list(args.get("agent", "")),
        tstart=int_argument("tstart", tstart) if tstart else None,
        tstop=int_argument("tstop", tstop) if tstop else None,
    )
    return {"success": True, "total": len(rows), "list": [log_row(row) for row in rows]}


def log_row(row: LogRow) -> dict[str, str]:
    """Return one status_log row as the reply lists it."""
    uid, when, agent, status, subcode, callid = row
    return {
        "uid": str(uid),
        "uts": str(int(when)),
        "agent": agent,
        "status": status,
        "subcode": subcode,
        "callid": callid,
    }
