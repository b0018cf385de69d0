"""Meetings in the store on SQLite and PostgreSQL (``store_url``), through
SQLAlchemy: calendar batches, the moment a meeting starts counting, the read
path's ``last_met``, evidence and correspondents, removals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.base import Batch, EventRecord
from connectors.ical import reduced
from syncd.store import Store
from tests.ical_helpers import cal, vevent

ME = frozenset({"me@example.org"})
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)  # the past meeting's start
RULES = {"me": ME, "tz": UTC, "max_participants": 8, "keep_subjects": True}


def record(calendar: str, href: str, data: bytes) -> EventRecord:
    ((uid, ical, _),) = reduced(data)
    return EventRecord(calendar, href, uid, ical)


def test_meetings_in_the_store(store_url: str) -> None:
    store = Store(url=store_url)
    try:
        store.add_contact("Bob", ["bob@example.org"], None, [], T0 - timedelta(days=99))
        past = cal(vevent("past", "20261101T100000Z", "20261101T110000Z"))
        later = cal(vevent("later", "20261201T100000Z", "20261201T110030Z"))
        kim = cal(
            vevent(
                "kim", "20261102T100000Z", "20261102T110000Z", attendees=("mailto:kim@example.org",)
            )
        )
        now = datetime(2026, 11, 15, tzinfo=UTC)
        saved = store.save_calendar_batch(
            "work",
            Batch(
                records=[],
                events=[
                    record("Work", "/w/past.ics", past),
                    record("Work", "/w/later.ics", later),
                    record("Work", "/w/kim.ics", kim),
                ],
                state={"/w/": {"token": "t1"}},
            ),
            **RULES,
            now=now,
        )
        assert (saved.events, saved.new) == (3, 2)  # later is not over yet
        again = store.save_calendar_batch(  # the same occurrence in another account
            "home", Batch(records=[], events=[record("Home", "/h/past.ics", past)], state={}),
            **RULES, now=now,
        )  # fmt: skip
        assert again.new == 0
        (bob,) = store.contacts(now=now)
        assert bob.last_met == T0 and bob.last_direction == "met"
        # counts from its end, to the second: not at 11:00:29, at 11:00:30
        end = datetime(2026, 12, 1, 11, 0, 30, tzinfo=UTC)
        assert store.contacts(now=end - timedelta(seconds=1))[0].last_met == T0
        assert store.contacts(now=end)[0].last_met == datetime(2026, 12, 1, 10, tzinfo=UTC)
        _, _, shown = store.evidence("Bob", 10, now=now)
        assert [(e["direction"], e["message_id"], e["folder"]) for e in shown] == [
            ("met", "past", shown[0]["folder"])
        ]  # two accounts, one occurrence
        (met,) = store.correspondents(now=now)
        assert (met.address, met.sent, met.received, met.met) == ("kim@example.org", 0, 0, 1)
        (ranked,) = store.correspondents(details=False, now=now)
        assert ranked.conversations is None and ranked.days == [T0.date() + timedelta(days=1)]
        store.save_calendar_batch(
            "work", Batch(records=[], events=[], removed=["/w/past.ics"], state={}),
            **RULES, now=now,
        )  # fmt: skip
        assert store.contacts(now=now)[0].last_met == T0  # still in "home"
        store.save_calendar_batch(
            "home", Batch(records=[], events=[], removed=["/h/"], state={}), **RULES, now=now
        )
        assert store.contacts(now=now)[0].last_met is None
        assert store.load_state("work") == {"/w/": {"token": "t1"}}
    finally:
        store.close()
