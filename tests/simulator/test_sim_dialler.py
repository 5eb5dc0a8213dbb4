"""The dialler's index picks what a scan of every open record picks (the dialler before
it was indexed), whatever happens to the records, reservations and queue assignments."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async.simulator._campaigns import LIVE, CampaignDb
from contactnow_async.simulator._dialler import Dialler
from tests._helpers import examples

from .sim_helpers import START

AGENTS = ("1001", "1002", "1003")
QUEUES = ("2001", "2002")
#: Dataset 351 LIVE on 2001, 352 on HOLD, 353 LIVE on 2002 (seeded), 354 LIVE on 2001.
DATASETS = (351, 352, 353, 354)
#: Callbacks relative to the time of the write: none (twice as likely), past, now, soon,
#: later.
CALLBACKS = (None, None, -600.0, 0.0, 300.0, 3_600.0)
#: None: not agent-specific (as likely as the rest together); "": specific to no agent;
#: "0" is the field's empty value.
OWNERS = (None, None, None, None, None, "", "0", *AGENTS)
LEVELS = ("0", "50", "100", "x")  # "x": not a number, a level of 0
OUTCOMES = ("", "101", "501638", "510456")  # 510456 is complete: it closes the record


def scan_pick(dialler: Dialler, priorities: dict[tuple[str, str], tuple[str, str]],
              agent_uid: str, now: float) -> int | None:  # fmt: skip
    """The record ``agent_uid`` would dial at ``now``: every open record compared, by
    dataset priority within its campaign only (ECNOW.md), not between campaigns."""
    db = dialler.db
    best: dict[str, tuple[int, int, float, int]] = {}
    for record_id in db.open:
        if record_id in dialler.reserved:
            continue
        record = db.records[record_id]
        dataset = db.datasets[int(record["datasetid"])]
        entry = priorities.get((agent_uid, dataset.qid))
        if entry is None:
            continue
        if record["Agent_Specific"] == "1" and record["AgentRef"] != agent_uid:
            continue
        due = db.parse_time(record["callback"]) or 0.0
        if due > now:
            continue
        key = (-_level(entry[1]), -dataset.priority, due, record_id)
        if dataset.table not in best or key < best[dataset.table]:
            best[dataset.table] = key
    if not best:
        return None
    return min((level, due, record_id) for level, _, due, record_id in best.values())[2]


def _level(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _writes(
    db: CampaignDb, record_id: int, callback: float | None, owner: str | None, now: float
) -> None:
    record = db.records[record_id]
    record["callback"] = (
        "0000-00-00 00:00:00" if callback is None else db.format_time(now + callback)
    )
    record["Agent_Specific"] = "" if owner is None else "1"
    record["AgentRef"] = owner or "0"


steps = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(DATASETS), st.sampled_from(CALLBACKS),
              st.sampled_from(OWNERS)),
    st.tuples(st.just("update"), st.integers(0, 99), st.sampled_from(CALLBACKS),
              st.sampled_from(OWNERS), st.sampled_from(OUTCOMES),
              st.sampled_from((False, False, False, True))),
    st.tuples(st.just("reserve"), st.sampled_from(AGENTS)),
    st.tuples(st.just("release"), st.integers(0, 99), st.sampled_from(("", *OUTCOMES))),
    st.tuples(st.just("assign"), st.sampled_from(AGENTS), st.sampled_from(QUEUES),
              st.sampled_from((None, *LEVELS))),
    st.tuples(st.just("dataset"), st.sampled_from(DATASETS), st.integers(0, 90),
              st.sampled_from((None, None, None, "HOLD", LIVE))),
    st.tuples(st.just("tick"), st.sampled_from((0.5, 60.0, 300.0, 3_600.0))),
)  # fmt: skip


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(steps, min_size=10, max_size=60))
def test_the_index_picks_what_a_scan_picks(script: list[tuple[Any, ...]]) -> None:
    now = START
    db = CampaignDb(record_tz=timezone.utc, start=now)
    db.add_dataset("2001", status=LIVE, priority=5)
    # The first agent has a level on each queue, so a dataset's priority decides within
    # a campaign (2001's datasets), not between (2002's); the second has a higher one on
    # 2002; the third none, until assigned.
    priorities = {("1001", "2001"): ("1", "50"), ("1001", "2002"): ("2", "50")}
    priorities |= {("1002", "2001"): ("3", "0"), ("1002", "2002"): ("4", "100")}
    dialler = Dialler(db, priorities)
    phone = 0
    for step in script:
        kind, *args = step
        records = sorted(db.records)
        if kind == "add":
            dataset, callback, owner = args
            phone += 1
            record_id = db.add_record(db.datasets[dataset], {"HomePhone": f"{phone:011d}"}, now)
            _writes(db, record_id, callback, owner, now)
            db.settle(record_id)
        elif kind == "update":
            n, callback, owner, outcome, phoneless = args
            record_id = records[n % len(records)]
            if db.records[record_id]["ProcessType"] != "EXPIRED":
                _writes(db, record_id, callback, owner, now)
                db.records[record_id]["outcomecode"] = outcome
                db.records[record_id]["HomePhone"] = "" if phoneless else "01614960000"
                db.settle(record_id)
        elif kind == "reserve":
            dialler.reserve(args[0], now)
        elif kind == "release" and dialler.reserved:
            n, outcome = args
            record_id = sorted(dialler.reserved)[n % len(dialler.reserved)]
            if outcome:  # the call was made: release, then write its outcome
                dialler.finish(
                    record_id, agent_uid="1001", callid="1", when=now, u=0.0, code=outcome
                )
            else:
                dialler.release(record_id)
        elif kind == "assign":
            uid, qid, level = args
            if level is None:
                priorities.pop((uid, qid), None)
            else:
                priorities[(uid, qid)] = ("1", level)
        elif kind == "dataset":
            dataset_id, priority, status = args
            dataset = db.datasets[dataset_id]
            dataset.priority = priority
            if status is not None and status != dataset.status:
                dataset.status = status
                for record_id in records:
                    if db.records[record_id]["datasetid"] == str(dataset_id):
                        db.settle(record_id)
        elif kind == "tick":
            now += args[0]
        for uid in AGENTS:
            assert dialler.pick(uid, now) == scan_pick(dialler, priorities, uid, now), step
        unreserved = db.open - dialler.reserved.keys()
        due = any((db.parse_time(db.records[r]["callback"]) or 0.0) <= now for r in unreserved)
        assert dialler.any_due(now) == due


def test_stale_entries_are_dropped_not_kept_for_ever() -> None:
    db = CampaignDb(record_tz=timezone.utc, start=START)
    priorities = {("1001", "2001"): ("1", "100")}
    dialler = Dialler(db, priorities)
    dataset = db.datasets[351]
    first = db.add_record(dataset, {"HomePhone": "01614960001"}, START)
    db.add_record(dataset, {"HomePhone": "01614960002"}, START)
    for _ in range(5_000):  # each release indexes the record anew
        assert dialler.reserve("1001", START) == first
        dialler.release(first)
    assert dialler.pick("1001", START) == scan_pick(dialler, priorities, "1001", START) == first
    entries = sum(len(heap) for heap in dialler._shared.values())
    assert entries < 2 * len(db.open) + 1024 + 5
