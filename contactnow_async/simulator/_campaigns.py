"""The simulated account's campaign database: campaign tables and their fields, queues,
outcome codes, datasets and records (what ``ecnow.php`` and ``database.php`` serve).

Records are kept as the wire shows them (every value a string, dates as
``"YYYY-MM-DD HH:MM:SS"`` in the account's ``record_tz``). Where a record stands
on the dialler is its ``ProcessType``, derived from its outcome, its callback
and its dataset's status by :meth:`CampaignDb.settle`, the one place it is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, tzinfo

import attrs

__all__ = [
    "DIALLABLE",
    "EXPIRED",
    "HOLD",
    "LIVE",
    "PHONES",
    "ZERO_DATE",
    "CampaignDb",
    "Outcome",
    "SimDataset",
]

HOLD, LIVE, EXPIRED = "HOLD", "LIVE", "EXPIRED"
ZERO_DATE = "0000-00-00 00:00:00"
NEW, MORE_WORK, COMPLETE = "New Prospect", "NEEDSMOREWORK", "COMPLETE"
#: The ProcessTypes the dialler calls (the documented ``live`` mode).
DIALLABLE = frozenset({NEW, MORE_WORK})
PHONES = ("HomePhone", "WorkPhone", "MobilePhone")
FIRST_RECORD_ID = 2_499_265  # the key of the documented create reply
FIRST_DATASET_ID = 350  # the documented dataset example is 351
FIRST_SEEDED_RECORD_ID = 411  # the documented read example

#: (name, size, group_name, type, readonly, search) of every campaign's standard fields.
STANDARD_FIELDS = (
    ("id", 200, "system", "int", "Y", "yes"),
    ("datasetid", 11, "system", "int", "Y", "no"),
    ("URN", 50, "system", "varchar", "N", "yes"),
    ("VENDOR_URN", 50, "system", "varchar", "N", "yes"),
    ("Title", 20, "Name and Address", "varchar", "N", "no"),
    ("FirstName", 50, "Name and Address", "varchar", "N", "yes"),
    ("LastName", 50, "Name and Address", "varchar", "N", "yes"),
    *((f"Address{n}", 100, "Name and Address", "varchar", "N", "no") for n in range(1, 7)),
    ("Postcode", 20, "Name and Address", "varchar", "N", "yes"),
    ("HomePhone", 20, "Phone Numbers", "varchar", "N", "yes"),
    ("WorkPhone", 20, "Phone Numbers", "varchar", "N", "yes"),
    ("MobilePhone", 20, "Phone Numbers", "varchar", "N", "yes"),
    ("AgentRef", 11, "Call Back", "int", "N", "no"),
    ("Agent_Specific", 1, "Call Back", "checkbox", "N", "no"),
    ("callback", 19, "Call Back", "datetime", "N", "no"),
    ("Call_Back_Notes", 255, "Call Back", "largetext", "N", "no"),
    ("Call_Back_Sametime", 1, "Call Back", "checkbox", "N", "no"),
    ("outcomecode", 11, "system", "int", "Y", "no"),
    ("ProcessDate", 19, "system", "datetime", "Y", "no"),
    ("ProcessType", 50, "system", "varchar", "Y", "no"),
    ("notes", 65535, "system", "largetext", "Y", "no"),
    ("loaddate", 10, "system", "date", "Y", "no"),
    ("sourcefile", 255, "system", "varchar", "Y", "no"),
)
STANDARD_NAMES = tuple(field[0] for field in STANDARD_FIELDS)

#: (field, size, type, picklist, required): a campaign's own field.
CustomField = tuple[str, int, str, str, str]
#: (table, campaign id, its own fields): the seeded campaigns.
CAMPAIGNS: tuple[tuple[str, str, list[CustomField]], ...] = (
    (
        "APItestcampaign",
        "500649",
        [
            ("Product", 50, "select", "Products", "N"),
            ("Consent", 1, "checkbox", "", "Y"),
            ("Customer_Email", 100, "varchar", "", "N"),
        ],
    ),
    ("BradOutbound", "500651", []),
    (
        "Willtest",
        "500650",
        [
            ("appointment", 50, "varchar", "", "N"),
            ("Customer_Email", 100, "varchar", "", "N"),
            ("flgid", 11, "int", "", "N"),
            ("Testy", 200, "varchar", "", "N"),
            ("ThisIsATimeField", 20, "varchar", "", "N"),
        ],
    ),
)

#: (qid, type, description, callerid, campaignid, numbers, filter): the seeded queues.
QUEUES = (
    ("1007", "inbound", "Sales Inbound", "01234567890", "500650", "01234567890,01234567892", "0"),
    ("1008", "inbound", "Support Inbound", "01234567891", "500649", "01234567891", "0"),
    ("1009", "inbound", "Billing Inbound", "01234567893", "500651", "01234567893", "0"),
    ("1099", "inbound", "Old Inbound (deleted)", "01234567899", "500650", "", "999"),
    ("2001", "outbound", "Willtest Outbound", "01234567890", "500650", "01234567890", "0"),
    ("2002", "outbound", "API test Outbound", "01234567891", "500649", "01234567891", "0"),
    ("3001", "ivr", "Main menu", "", "0", "01234567800", "0"),
    ("3002", "broadcast", "Service notice", "01234567890", "500650", "", "0"),
    ("3003", "message", "Voicemail", "", "0", "", "0"),
    ("3004", "sms_out", "SMS reminders", "01234567890", "500650", "", "0"),
    ("3005", "sms_broadcast", "SMS offers", "01234567890", "500649", "", "0"),
)
#: Outbound queue -> (scenario agent index modulus, remainder, level): who dials for it.
OUTBOUND_TEAMS = {"2001": (2, 0, "100"), "2002": (3, 0, "50")}


@attrs.frozen
class Outcome:
    """An outcome code; ``system`` ones are the dialler's own (``mode=system``)."""

    code: str
    description: str
    complete: bool
    dmc: bool = False
    sale: bool = False
    do_not_call: bool = False
    answerphone: bool = False
    system: bool = False

    def row(self) -> dict[str, str]:
        """The outcome as ``database.php method=outcomecodes`` lists it."""

        def yn(flag: bool) -> str:
            return "Y" if flag else "N"

        return {
            "outcome": self.code,
            "description": self.description,
            "complete": yn(self.complete),
            "dmc": yn(self.dmc),
            "sale": yn(self.sale),
            "do_not_call": yn(self.do_not_call),
            "answerphone": "1" if self.answerphone else "0",
        }


OUTCOMES = (
    Outcome("100", "Not dialled", complete=False, system=True),
    # 101 as the vendor's reporting example names it (ReportingExamples.js).
    Outcome("101", "Answer Machine (Agent)", complete=False, answerphone=True, system=True),
    Outcome("102", "Busy", complete=False, system=True),
    Outcome("103", "No answer", complete=False, system=True),
    Outcome("104", "Number unobtainable", complete=True, system=True),
    Outcome("109", "Call back", complete=False, dmc=True, system=True),
    Outcome("501638", "Need more information", complete=False, dmc=True, sale=True),
    Outcome("510456", "Sales Completed", complete=True, dmc=True, sale=True),
    Outcome("510457", "Not interested", complete=True, dmc=True),
    Outcome("510458", "Do not call", complete=True, dmc=True, do_not_call=True),
)


@attrs.define
class SimDataset:
    """A dataset: its records are dialled through queue ``qid`` while it is LIVE."""

    dataset: int
    qid: str
    table: str
    status: str = HOLD
    priority: int = 0
    notes: str = ""
    description: str = ""
    callbacks: str = "none"

    def row(self, reccount: int) -> dict[str, str]:
        """The dataset as ``ecnow_datasets`` lists it."""
        return {
            "dataset": str(self.dataset),
            "qid": self.qid,
            "d_status": self.status,
            "d_priority": str(self.priority),
            "notes": self.notes,
            "callbacks": self.callbacks,
            "crm_account": "0",
            "crm_campaign": "",
            "description": self.description,
            "locked": "0",
            "reccount": str(reccount),
        }


class CampaignDb:
    """Campaign tables, queues, outcome codes, datasets and records (not thread-safe)."""

    def __init__(self, *, record_tz: tzinfo, start: float) -> None:
        self.tz = record_tz
        self.campaign_ids = {table: cid for table, cid, _ in CAMPAIGNS}
        self.custom = {table: fields for table, _, fields in CAMPAIGNS}
        self.queues = {row[0]: _queue_row(*row) for row in QUEUES}
        self.outcomes = {outcome.code: outcome for outcome in OUTCOMES}
        self.datasets: dict[int, SimDataset] = {}
        self.records: dict[int, dict[str, str]] = {}
        #: Record id -> dataset id, and the records whose ProcessType the dialler calls.
        self.open: set[int] = set()
        #: Told the id of every record :meth:`settle` settles (the dialler keeps its index so).
        self.on_settle: Callable[[int], None] | None = None
        self._next_record = FIRST_RECORD_ID
        self._next_dataset = FIRST_DATASET_ID
        self._seed(start)

    # -- time --------------------------------------------------------------

    def format_time(self, when: float) -> str:
        """A unix time as a record date in the account's zone.

        Raises ValueError (or OverflowError) for a time no datetime can hold.
        """
        moment = datetime.fromtimestamp(int(when), tz=self.tz).replace(tzinfo=None)
        return moment.isoformat(sep=" ")  # not strftime: its %Y writes the year 999 as "999"

    def parse_time(self, text: str, *, end_of_day: bool = False) -> float | None:
        """A record date (or ``YYYY-MM-DD``) as a unix time; None for the zero date.

        Raises ValueError for text that is not a date.
        """
        text = text.strip()
        if text in ("", ZERO_DATE, "0000-00-00"):
            return None
        moment = datetime.fromisoformat(text)
        if end_of_day and len(text) == 10:
            moment += timedelta(days=1, seconds=-1)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.timestamp()

    # -- campaign tables -----------------------------------------------------

    def field_rows(self, table: str) -> list[dict[str, str]]:
        """The fields of ``table`` as ``campaign_fields`` lists them."""
        rows = []
        for position, (name, size, group, kind, readonly, search) in enumerate(
            STANDARD_FIELDS, start=1
        ):
            rows.append(_field_row(table, position, name, size, "1", group, kind, "", "N"))
            rows[-1].update({"readonly": readonly, "search": search})
        for offset, (name, size, kind, picklist, required) in enumerate(self.custom[table]):
            position = len(STANDARD_FIELDS) + offset + 1
            rows.append(
                _field_row(table, position, name, size, "0", "Custom", kind, picklist, required)
            )
        return rows

    def field_names(self, table: str) -> tuple[str, ...]:
        """Every field name of ``table``: the standard ones, then the campaign's own."""
        return STANDARD_NAMES + tuple(field[0] for field in self.custom[table])

    # -- datasets and records ------------------------------------------------

    def add_dataset(
        self,
        qid: str,
        *,
        status: str = HOLD,
        priority: int = 0,
        notes: str = "",
        description: str = "",
    ) -> SimDataset:
        """Add a dataset dialled through outbound queue ``qid`` (of that queue's campaign)."""
        campaign = self.queues[qid]["campaignid"]
        table = next(name for name, cid in self.campaign_ids.items() if cid == campaign)
        dataset = SimDataset(self._next_dataset, qid, table, status, priority, notes, description)
        self._next_dataset += 1
        self.datasets[dataset.dataset] = dataset
        return dataset

    def table_of(self, record: Mapping[str, str]) -> str:
        """The campaign table a record lives in."""
        return self.datasets[int(record["datasetid"])].table

    def in_dataset(self, dataset: int) -> Iterator[dict[str, str]]:
        """The records of one dataset."""
        return (r for r in self.records.values() if r["datasetid"] == str(dataset))

    def add_record(
        self, dataset: SimDataset, values: Mapping[str, str], now: float, *, seeded: int = 0
    ) -> int:
        """Add a record with ``values`` (known fields only, checked by the caller)."""
        record_id = seeded or self._next_record
        self._next_record += 0 if seeded else 1
        record = dict.fromkeys(self.field_names(dataset.table), "")
        record.update(
            {"callback": ZERO_DATE, "ProcessDate": ZERO_DATE, "AgentRef": "0", "outcomecode": ""}
        )
        record.update(values)
        record.update(
            {
                "id": str(record_id),
                "datasetid": str(dataset.dataset),
                "loaddate": record["loaddate"] or self.format_time(now)[:10],
                "sourcefile": record.get("sourcefile") or "API",
            }
        )
        self.records[record_id] = record
        self.settle(record_id)
        return record_id

    def settle(self, record_id: int) -> str:
        """Derive a record's ProcessType from its outcome, callback and dataset; return it."""
        record = self.records[record_id]
        dataset = self.datasets[int(record["datasetid"])]
        outcome = self.outcomes.get(record["outcomecode"])
        if dataset.status == EXPIRED or record["ProcessType"] == EXPIRED:
            kind = EXPIRED
        elif outcome is not None and outcome.complete:
            kind = COMPLETE
        else:
            worked = outcome is not None or record["callback"] != ZERO_DATE
            kind = MORE_WORK if worked else NEW
            if dataset.status == HOLD:
                kind = f"HOLD: {kind}"
        record["ProcessType"] = kind
        if kind in DIALLABLE and any(record[phone] for phone in PHONES):
            self.open.add(record_id)
        else:
            self.open.discard(record_id)
        if self.on_settle is not None:
            self.on_settle(record_id)
        return kind

    def dialler_info(self, record_id: int, *, update: bool = False) -> str:
        """The ``info`` of a write: whether the record is on the dialler."""
        kind = self.records[record_id]["ProcessType"]
        if kind in DIALLABLE:
            return "Record is LIVE on the dialer."
        if update and kind == COMPLETE:
            return "Record is NOT live on the dialer due having a complete outcome."
        return "Record NOT live on the dialer."

    def append_note(self, record: dict[str, str], line: str) -> None:
        """Add a line to a record's notes (its system log)."""
        record["notes"] = f"{record['notes']}\n{line}" if record["notes"] else line

    def _seed(self, start: float) -> None:
        """Two datasets as documented (351 LIVE, a record expired unused), one on HOLD."""
        old = self.add_dataset("2001", status=EXPIRED, description="Old leads")
        live = self.add_dataset("2001", status=LIVE, description="MyNumber")
        spring = self.add_dataset("2001", priority=50, description="Spring list")
        self.add_dataset("2002", status=LIVE, priority=10, description="Web leads")
        old.notes = live.notes = "Loaded by Importer 2.1"
        record_id = FIRST_SEEDED_RECORD_ID
        expired = {"MobilePhone": "01234567890", "outcomecode": "100", "loaddate": "2015-01-23"}
        expired["sourcefile"] = "01234567890 SMS Broadcast test.csv"
        self.add_record(old, expired, start, seeded=record_id)
        for n, code in enumerate(("510456", "510457"), start=1):
            values = {"HomePhone": f"0161496000{n}", "FirstName": "Jon", "outcomecode": code}
            values["ProcessDate"] = self.format_time(start - 86_400 * n)
            self.add_record(live, values, start, seeded=record_id + n)
        for n, name in enumerate(("Ann", "Bob", "Cat"), start=3):
            values = {"WorkPhone": f"0207946000{n}", "FirstName": name}
            self.add_record(spring, values, start, seeded=record_id + n)


def _queue_row(
    qid: str, kind: str, description: str, callerid: str, campaign: str, numbers: str, flt: str
) -> dict[str, str]:
    return {
        "qid": qid,
        "type": kind,
        "description": description,
        "callerid": callerid,
        "campaignid": campaign,
        "announce": "0",
        "monitor": "1",
        "amd": "1",
        "level": "100",
        "key": "0",
        "sequential": "0",
        "redirect": "voicemail" if kind == "inbound" else "",
        "max_wait": "0",
        "sametime": "0",
        "autohangup": "0",
        "tod": "0",
        "announce_jump": "0",
        "max_wait_redirect": "",
        "filter": flt,
        "tpt_record": "1",
        "alt_redirect": "",
        "redirect_id": "0",
        "announce_vm": "0",
        "aod_ringtime": "30",
        "aod_maxdial": "1",
        "aod_passthru": "1",
        "stop_monitor": "0",
        "numbers": numbers,
    }


def _field_row(
    table: str,
    position: int,
    name: str,
    size: int,
    standard: str,
    group: str,
    kind: str,
    picklist: str,
    required: str,
) -> dict[str, str]:
    return {
        "position": str(position),
        "table": table,
        "name": name,
        "size": str(size),
        "standard_field": standard,
        "group_name": group,
        "type": kind,
        "prompt": name,
        "readonly": "N",
        "search": "no",
        "hidden": "N",
        "hidden_on_script": "N",
        "order": str(position - 1),
        "picklist": picklist,
        "required": required,
    }
