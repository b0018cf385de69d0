"""The contract every calendar connector keeps, run against each source (the vdirsyncer way).

The calendar half of the connector contract (tests/contract/
test_connector_contract.py is the mail half): one test class, parametrised
over the ``calendar`` fixture (tests/contract/conftest.py): the CalDAV
connector on a real Radicale and a real Xandikos, and the ics connector on a
directory of files and on an https URL. A new calendar connector adds a
fixture there and must pass all of it.

What "once" means: a pass hands on each resource (one :class:`EventRecord`
per UID) at most once; a change shows up on the next pass and only there.
Where a source can only be read whole (the URL) a change brings the whole
feed again, under a ``removed`` prefix that forgets what it meant before;
the incremental sources bring only what changed. A ``removed`` entry ending
in "/" means every href under it, as the store reads it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from connectors.base import EVENT_PROPERTIES, EventRecord
from connectors.ical import resources
from syncd.meetings import evaluate, met
from tests.contract.conftest import Calendar
from tests.helpers import event_pass
from tests.ical_helpers import cal, vevent

ME = frozenset({"me@example.org"})
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")
State = dict[str, dict[str, Any]]

#: Free text no connector may hand on (each sits in a property or
#: sub-component the rules never read).
SECRETS = (
    b"private notes",  # DESCRIPTION (every vevent() has one)
    b"Secret Room 7",
    b"alarm-secret",
    b"secret-attachment",
    b"x-secret-value",
    b"comment-secret",
    b"url-secret",
)
_PRIVATE = "\n".join(
    [
        "LOCATION:Secret Room 7",
        "COMMENT:comment-secret",
        "URL:https://example.org/url-secret",
        "ATTACH:https://example.org/secret-attachment",
        "X-WEAKTIES-TEST:x-secret-value",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:alarm-secret",
        "TRIGGER:-PT15M",
        "END:VALARM",
    ]
)

SAMPLE: dict[str, bytes] = {
    "coffee": cal(vevent("coffee@x", extra=_PRIVATE)),
    "lunch": cal(
        vevent(
            "lunch@x",
            start="DTSTART;TZID=Europe/Berlin:20261020T120000",
            end="DTEND;TZID=Europe/Berlin:20261020T130000",
            attendees=("ATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@example.org",),
            extra=_PRIVATE,
        )
    ),
    "offsite": cal(vevent("offsite@x", start="DTSTART;VALUE=DATE:20261110", end=None)),
    # A series with one moved occurrence: one resource, two VEVENTs, one UID.
    "standup": cal(
        vevent(
            "standup@x",
            start="20261005T090000Z",
            end="20261005T091500Z",
            attendees=("mailto:carl@example.org",),
            extra="RRULE:FREQ=WEEKLY;COUNT=3",
        ),
        vevent(
            "standup@x",
            start="20261012T150000Z",
            end="20261012T151500Z",
            attendees=("mailto:carl@example.org",),
            extra="RECURRENCE-ID:20261012T090000Z\n" + _PRIVATE,
        ),
    ),
}
UIDS = ["coffee@x", "lunch@x", "offsite@x", "standup@x"]
#: What the rules make of SAMPLE: (dedupe key, address).
MET = {
    ("ev:coffee@x/20261101T100000Z", "bob@example.org"),
    ("ev:lunch@x/20261020T100000Z", "ann@example.org"),
    ("ev:offsite@x/20261109T230000Z", "bob@example.org"),
    ("ev:standup@x/20261005T090000Z", "carl@example.org"),
    ("ev:standup@x/20261012T090000Z", "carl@example.org"),
    ("ev:standup@x/20261019T090000Z", "carl@example.org"),
}


def put_sample(calendar: Calendar) -> None:
    for name, data in SAMPLE.items():
        calendar.put(name, data)


def covered(href: str, removed: list[str]) -> bool:
    """Whether ``removed`` forgets ``href`` (itself, or a prefix ending in "/")."""
    return any(r == href or (r.endswith("/") and href.startswith(r)) for r in removed)


def apply(replica: dict[str, EventRecord], events: list[EventRecord], removed: list[str]) -> None:
    """A pass applied as the store applies it: ``removed`` first, then ``events``."""
    for href in [h for h in replica if covered(h, removed)]:
        del replica[href]
    for event in events:
        replica[event.href] = event


def summaries(records: list[EventRecord] | dict[str, EventRecord]) -> dict[str, str]:
    values = records.values() if isinstance(records, dict) else records
    result = {}
    for record in values:
        parsed = icalendar.Calendar.from_ical(record.ical)
        (summary,) = {str(e["SUMMARY"]) for e in parsed.walk("VEVENT")}
        result[record.uid] = summary
    return result


def keys(records: list[EventRecord]) -> set[tuple[str, str]]:
    return {(i.dedupe_key, i.address) for i in met(records, ME, now=NOW, tz=TZ)}


class TestCalendarContract:
    def test_full_pass_yields_each_event_once_with_only_what_the_rules_read(
        self, calendar: Calendar
    ) -> None:
        put_sample(calendar)
        with calendar.open() as connector:
            events, _ = event_pass(connector, {})
        assert sorted(e.uid for e in events) == UIDS  # each resource once
        assert len({e.href for e in events}) == len(events)
        kept = set(EVENT_PROPERTIES)
        for record in events:
            assert record.calendar
            for secret in SECRETS:
                assert secret not in record.ical, (record.uid, secret)
            parsed = icalendar.Calendar.from_ical(record.ical)
            assert {c.name for c in parsed.subcomponents} <= {"VEVENT", "VTIMEZONE"}
            for event in parsed.walk("VEVENT"):
                assert set(event) <= kept, (record.uid, set(event) - kept)
                assert not event.subcomponents  # no VALARM
                assert str(event["UID"]) == record.uid
        assert summaries(events) == dict.fromkeys(UIDS, "Coffee")
        assert keys(events) == MET

    def test_a_pass_with_nothing_changed_yields_nothing(self, calendar: Calendar) -> None:
        put_sample(calendar)
        state: State = {}
        with calendar.open() as connector:
            event_pass(connector, state)
            assert event_pass(connector, state) == ([], [])
        with calendar.open() as connector:  # a later run, a new session
            assert event_pass(connector, state) == ([], [])

    def test_new_changed_and_deleted_resources_show_up_once_on_the_next_pass(
        self, calendar: Calendar
    ) -> None:
        put_sample(calendar)
        state: State = {}
        replica: dict[str, EventRecord] = {}
        with calendar.open() as connector:
            events, removed = event_pass(connector, state)
        apply(replica, events, removed)
        href = {e.uid: e.href for e in events}
        calendar.put("new", cal(vevent("new@x", attendees=("mailto:dee@example.org",))))
        calendar.change(
            "lunch",
            cal(
                vevent(
                    "lunch@x",
                    start="20261021T110000Z",
                    end="20261021T120000Z",
                    attendees=("mailto:ann@example.org", "mailto:eve@example.org"),
                    summary="Long lunch",
                    extra="SEQUENCE:1",
                )
            ),
        )
        calendar.delete("offsite")
        with calendar.open() as connector:
            events, removed = event_pass(connector, state)
            again = event_pass(connector, state)
        count = Counter(e.uid for e in events)
        assert count["new@x"] == 1 and count["lunch@x"] == 1 and "offsite@x" not in count
        assert max(count.values()) == 1
        assert covered(href["offsite@x"], removed)
        if calendar.incremental:  # only what changed
            assert set(count) == {"new@x", "lunch@x"}
            for uid in ("coffee@x", "standup@x"):
                assert not covered(href[uid], removed)
        apply(replica, events, removed)
        assert summaries(replica) == {
            "coffee@x": "Coffee",
            "lunch@x": "Long lunch",
            "standup@x": "Coffee",
            "new@x": "Coffee",
        }
        assert ("ev:lunch@x/20261021T110000Z", "eve@example.org") in keys(list(replica.values()))
        assert again == ([], [])

    def test_state_saved_with_any_batch_resumes_without_loss_or_repeat(
        self, calendar: Calendar
    ) -> None:
        total = 230  # more than one CalDAV multiget chunk (connectors.caldav.CHUNK)
        for n in range(total):
            calendar.put(
                f"bulk{n}",
                cal(vevent(f"bulk{n}@x", start=f"202610{1 + n % 28:02d}T100000Z", end=None)),
            )
        state: State = {}
        with calendar.open() as connector:
            first, _ = event_pass(connector, state, limit=1)  # the pass dies after one batch
        with calendar.open() as connector:
            rest, _ = event_pass(connector, state)
            assert event_pass(connector, state) == ([], [])
        uids = [e.uid for e in first + rest]
        assert len(uids) == len(set(uids)) == total
        if calendar.one_batch:  # the URL: one GET, one batch holding the whole feed
            assert (len(first), len(rest)) == (total, 0)
        else:
            assert 0 < len(first) < total

    def test_the_same_uid_gives_the_rules_the_same_dedupe_key(self, calendar: Calendar) -> None:
        put_sample(calendar)
        with calendar.open() as connector:
            events, _ = event_pass(connector, {})
        by_uid = {e.uid: e for e in events}
        for name, data in SAMPLE.items():
            (local,) = [EventRecord("local", f"/{uid}", uid, ical) for uid, ical in resources(data)]
            ours = evaluate(by_uid[local.uid], ME, now=NOW, tz=TZ).meetings
            theirs = evaluate(local, ME, now=NOW, tz=TZ).meetings
            assert sorted(m.interaction.dedupe_key for m in ours) == sorted(
                m.interaction.dedupe_key for m in theirs
            ), name
            assert all(m.interaction.message_id == local.uid for m in ours)


@pytest.mark.parametrize("other", ["xandikos", "ics_dir", "ics_url"])
def test_every_source_gives_the_same_keys_so_a_meeting_counts_once(
    other: str, radicale_calendar: Calendar, request: pytest.FixtureRequest
) -> None:
    """The same resources in two sources: the same keys, and met() counts each once."""
    both: list[EventRecord] = []
    for calendar in (radicale_calendar, request.getfixturevalue(f"{other}_calendar")):
        put_sample(calendar)
        with calendar.open() as connector:
            events, _ = event_pass(connector, {})
        assert keys(events) == MET
        both += events
    assert len(both) == 2 * len(UIDS)
    found = met(both, ME, now=NOW, tz=TZ)
    assert len(found) == len(MET)
