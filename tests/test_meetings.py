"""The meeting rules (syncd.meetings) on hand-written iCalendar and real exports.

Every resource goes through connectors.ical.resources first, as the calendar
connectors hand it on, so the reduction is tested with the rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.base import EventRecord
from connectors.ical import MalformedError, resources
from syncd.meetings import Evaluation, EventError, evaluate, met
from syncd.model import Direction, Interaction
from tests.ical_helpers import cal, vevent

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ME = frozenset({"me@example.org", "me@gmail.com", "me@contoso.com", "me@icloud.com"})
DATA = Path(__file__).parent / "data" / "ics"


def records(data: bytes, calendar: str = "Work") -> list[EventRecord]:
    return [
        EventRecord(calendar=calendar, href=f"/{calendar}/{uid}.ics", uid=uid, ical=ical)
        for uid, ical in resources(data)
    ]


def run(data: bytes, *, now: datetime = NOW, **kw: object) -> list[Interaction]:
    return met(records(data), ME, now=now, tz=BERLIN, **kw)  # type: ignore[arg-type]


def one(data: bytes, **kw: object) -> Evaluation:
    (record,) = records(data)
    return evaluate(record, ME, now=NOW, tz=BERLIN, **kw)  # type: ignore[arg-type]


def pairs(found: list[Interaction]) -> list[tuple[str, datetime]]:
    return sorted((i.address, i.at) for i in found)


def at(*args: int, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


# --- who took part -------------------------------------------------------------------


def test_organizer_meets_attendees() -> None:
    (i,) = run(cal(vevent()))
    assert i.address == "bob@example.org" and i.direction is Direction.MET
    assert i.at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert i.message_id == "e1" and i.folder == "Work" and i.subject == "Coffee"
    assert i.dedupe_key == "ev:e1/20261101T100000Z"


def test_attendee_meets_organizer_and_others_with_names() -> None:
    data = cal(
        vevent(
            organizer="ORGANIZER;CN=Ann Lee:mailto:ann@example.org",
            attendees=(
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.org",
                'ATTENDEE;CN="Bob, B.":mailto:bob@example.org',
            ),
        )
    )
    found = run(data)
    assert {(i.address, i.name) for i in found} == {
        ("ann@example.org", "Ann Lee"),
        ("bob@example.org", "Bob, B."),
    }


def test_not_mine_counts_for_nobody() -> None:
    data = cal(vevent(organizer="mailto:ann@example.org", attendees=("mailto:bob@example.org",)))
    assert run(data) == []


def test_declined_by_me_counts_for_nobody() -> None:
    data = cal(
        vevent(
            organizer="mailto:ann@example.org",
            attendees=(
                "ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org",
                "mailto:bob@example.org",
            ),
        )
    )
    assert run(data) == []


def test_organizer_who_declined_own_event_counts_for_nobody() -> None:
    data = cal(
        vevent(
            attendees=("ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org", "mailto:bob@example.org")
        )
    )
    assert run(data) == []


def test_participant_who_declined_is_left_out() -> None:
    data = cal(
        vevent(
            attendees=(
                "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.org",
                "ATTENDEE;PARTSTAT=TENTATIVE:mailto:carol@example.org",
            )
        )
    )
    assert [i.address for i in run(data)] == ["carol@example.org"]


def test_no_attendees_names_nobody() -> None:
    assert run(cal(vevent(attendees=()))) == []
    assert run(cal(vevent(organizer=None, attendees=()))) == []


def test_rooms_and_resources_are_not_people() -> None:
    data = cal(
        vevent(
            attendees=(
                "ATTENDEE;CUTYPE=ROOM:mailto:room1@example.org",
                "ATTENDEE;CUTYPE=RESOURCE:mailto:beamer@example.org",
                "ATTENDEE;CUTYPE=INDIVIDUAL:mailto:bob@example.org",
            )
        )
    )
    assert [i.address for i in run(data)] == ["bob@example.org"]


def test_only_a_room_besides_me_names_nobody() -> None:
    data = cal(vevent(attendees=("ATTENDEE;CUTYPE=ROOM:mailto:room1@example.org",)))
    assert run(data) == []


@pytest.mark.parametrize(("others", "counts"), [(8, True), (9, False)])
def test_crowd_at_and_above_max_participants(others: int, counts: bool) -> None:
    people = tuple(f"mailto:p{n}@example.org" for n in range(others))
    data = cal(vevent(attendees=(*people, "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.org")))
    assert len(run(data)) == (others if counts else 0)


def test_declined_and_rooms_do_not_make_a_crowd() -> None:
    people = tuple(f"mailto:p{n}@example.org" for n in range(7))
    data = cal(
        vevent(
            attendees=(
                *people,
                "ATTENDEE;PARTSTAT=DECLINED:mailto:x@example.org",
                "ATTENDEE;CUTYPE=ROOM:mailto:r@example.org",
            )
        )
    )
    assert len(run(data)) == 7
    assert len(run(data, max_participants=6)) == 0


def test_mailto_upper_case_plus_tags_and_gmail_dots() -> None:
    data = cal(
        vevent(
            organizer="MAILTO:ME+Calendar@Example.ORG",
            attendees=(
                "ATTENDEE:MAILTO:Bob+work@Example.org",
                "ATTENDEE:mailto:Jane.Doe@GoogleMail.com",
                "ATTENDEE:MAILTO:bob@example.org",
            ),
        )
    )
    assert sorted(i.address for i in run(data)) == ["bob@example.org", "janedoe@gmail.com"]


def test_subject_only_where_subjects_are_kept() -> None:
    (i,) = run(cal(vevent()), keep_subjects=False)
    assert i.subject is None


def test_reduced_data_keeps_no_free_text() -> None:
    (record,) = records(cal(vevent(extra="LOCATION:Home of Bob\nX-SECRET:1\nCOMMENT:hm")))
    for word in (b"private notes", b"Home of Bob", b"X-SECRET", b"COMMENT"):
        assert word not in record.ical
    assert b"Coffee" in record.ical and b"ATTENDEE" in record.ical


# --- when -------------------------------------------------------------------------------


def test_running_now_counts_only_once_over() -> None:
    data = cal(vevent(start="20261203T113000Z", end="20261203T123000Z"))
    assert run(data) == []
    assert len(run(data, now=datetime(2026, 12, 3, 12, 30, tzinfo=UTC))) == 1
    (m,) = one(data).meetings  # returned with the moment it counts from
    assert m.counts_from == datetime(2026, 12, 3, 12, 30, tzinfo=UTC)


def test_future_event_counts_from_its_end() -> None:
    data = cal(vevent(start="20270110T090000Z", end="20270110T100000Z"))
    evaluation = one(data)
    assert evaluation.counted(NOW) == []
    (m,) = evaluation.meetings
    assert m.counts_from == datetime(2027, 1, 10, 10, tzinfo=UTC)
    assert evaluation.counted(m.counts_from)[0].at == datetime(2027, 1, 10, 9, tzinfo=UTC)
    assert evaluation.expanded_until is None


def test_beyond_the_horizon_is_left_for_later() -> None:
    data = cal(vevent(start="20300110T090000Z", end="20300110T100000Z"))
    assert one(data).meetings == []
    assert one(data).expanded_until == NOW + timedelta(days=366)


def test_end_from_duration_and_from_start() -> None:
    data = cal(vevent(start="20261203T110000Z", end="DURATION:PT2H"))
    assert run(data) == []  # ends 13:00
    assert one(data).meetings[0].counts_from == datetime(2026, 12, 3, 13, tzinfo=UTC)
    data = cal(vevent(start="20261203T115900Z", end=None))
    assert len(run(data)) == 1


def test_all_day_starts_and_ends_in_local_time() -> None:
    data = cal(vevent(start="DTSTART;VALUE=DATE:20261201", end="DTEND;VALUE=DATE:20261203"))
    # ends at 2026-12-03 00:00 Berlin = 2026-12-02 23:00 UTC: over at NOW
    (i,) = run(data)
    assert i.at == at(2026, 12, 1)
    assert one(data).meetings[0].counts_from == at(2026, 12, 3)
    data = cal(vevent(start="DTSTART;VALUE=DATE:20261203", end=None))
    assert run(data) == []  # a one-day event is not over until midnight local
    assert one(data).meetings[0].counts_from == at(2026, 12, 4)


def test_floating_time_is_local() -> None:
    (i,) = run(cal(vevent(start="20260701T100000", end="20260701T110000")))
    assert i.at == datetime(2026, 7, 1, 8, tzinfo=UTC)  # CEST


def test_tzid_across_dst() -> None:
    data = cal(
        vevent(
            start="DTSTART;TZID=America/New_York:20260301T090000",
            end="DTEND;TZID=America/New_York:20260301T100000",
            extra="RRULE:FREQ=WEEKLY;COUNT=3",
        )
    )
    # New York moves to summer time on 2026-03-08: 9:00 is 14:00Z, then 13:00Z
    assert [t for _, t in pairs(run(data))] == [
        datetime(2026, 3, 1, 14, tzinfo=UTC),
        datetime(2026, 3, 8, 13, tzinfo=UTC),
        datetime(2026, 3, 15, 13, tzinfo=UTC),
    ]


# --- cancelled, recurring ---------------------------------------------------------------------


def test_cancelled_event() -> None:
    assert run(cal(vevent(extra="STATUS:CANCELLED"))) == []


def test_weekly_rrule_over_years_with_exdate() -> None:
    data = cal(
        vevent(
            start="DTSTART;TZID=Europe/Berlin:20230102T100000",
            end="DTEND;TZID=Europe/Berlin:20230102T110000",
            extra="RRULE:FREQ=WEEKLY;BYDAY=MO\n"
            "EXDATE;TZID=Europe/Berlin:20230109T100000,20250106T100000",
        )
    )
    found = run(data)
    mondays = (NOW.date() - datetime(2023, 1, 2).date()).days // 7 + 1
    assert len(found) == mondays - 2
    times = {i.at for i in found}
    assert at(2023, 1, 9, 10) not in times and at(2023, 1, 16, 10) in times
    assert at(2023, 7, 3, 10) in times  # summer: 08:00Z
    assert len({i.dedupe_key for i in found}) == len(found)
    evaluation = one(data)
    assert evaluation.expanded_until == NOW + timedelta(days=366)
    assert max(m.counts_from for m in evaluation.meetings) > NOW  # future ones come along


def test_monthly_rrule_until() -> None:
    data = cal(
        vevent(
            start="DTSTART;TZID=Europe/Berlin:20220115T180000",
            end="DTEND;TZID=Europe/Berlin:20220115T190000",
            extra="RRULE:FREQ=MONTHLY;UNTIL=20251231T230000Z",
        )
    )
    found = run(data)
    assert len(found) == 48
    assert one(data).expanded_until is None


def test_rdate_adds_an_occurrence() -> None:
    data = cal(
        vevent(
            start="20260105T100000Z",
            end="20260105T110000Z",
            extra="RRULE:FREQ=DAILY;COUNT=2\nRDATE:20260301T100000Z",
        )
    )
    assert len(run(data)) == 3


def test_overrides_move_cancel_and_change_attendees() -> None:
    master = vevent(
        start="20261005T090000Z", end="20261005T100000Z", extra="RRULE:FREQ=WEEKLY;COUNT=5"
    )
    moved_to_future = vevent(
        start="20270301T090000Z", end="20270301T100000Z", extra="RECURRENCE-ID:20261012T090000Z"
    )
    cancelled = vevent(
        start="20261019T090000Z",
        end="20261019T100000Z",
        extra="RECURRENCE-ID:20261019T090000Z\nSTATUS:CANCELLED",
    )
    other_people = vevent(
        start="20261026T150000Z",
        end="20261026T160000Z",
        attendees=("mailto:carol@example.org",),
        extra="RECURRENCE-ID:20261026T090000Z",
    )
    i_declined = vevent(
        start="20261102T090000Z",
        end="20261102T100000Z",
        attendees=("mailto:bob@example.org", "ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org"),
        organizer="mailto:bob@example.org",
        extra="RECURRENCE-ID:20261102T090000Z",
    )
    data = cal(master, moved_to_future, cancelled, other_people, i_declined)
    assert pairs(run(data)) == [
        ("bob@example.org", datetime(2026, 10, 5, 9, tzinfo=UTC)),
        ("carol@example.org", datetime(2026, 10, 26, 15, tzinfo=UTC)),
    ]
    moved = [m for m in one(data).meetings if m.counts_from > NOW]
    assert [m.interaction.dedupe_key for m in moved] == ["ev:e1/20261012T090000Z"]


def test_same_occurrence_in_two_calendars_counts_once() -> None:
    data = cal(vevent(uid="shared"))
    both = records(data, "Work") + records(data, "Family")
    assert len(met(both, ME, now=NOW, tz=BERLIN)) == 1


# --- bad data -------------------------------------------------------------------------------


def test_malformed_data_is_refused_with_a_reason() -> None:
    with pytest.raises(MalformedError, match="not iCalendar"):
        resources(b"this is not a calendar")
    with pytest.raises(MalformedError, match="DTSTART"):
        resources(cal(vevent(start="DTSTART:2026garbage")))
    with pytest.raises(MalformedError, match="DTSTART"):
        resources(cal("BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n"))


def test_broken_rrule_is_an_event_error() -> None:
    bad = EventRecord("Work", "/x.ics", "x", cal(vevent(extra="RRULE:FREQ=SOMETIMES")))
    try:
        recs = records(bad.ical)
    except MalformedError:
        return  # refused already when reduced: as good
    with pytest.raises(EventError):
        evaluate(recs[0], ME, now=NOW, tz=BERLIN)


def test_todos_are_not_events() -> None:
    data = cal("BEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:x\r\nEND:VTODO\r\n")
    assert resources(data) == []


# --- exports as the big calendar apps write them ------------------------------------------


def test_google_calendar_export() -> None:
    found = run((DATA / "google.ics").read_bytes())
    assert {i.address for i in found} == {"priyaraman@gmail.com"}
    london = ZoneInfo("Europe/London")
    assert sorted(i.at for i in found) == [
        at(2025, 6, 2, 9, tz=london),
        at(2025, 6, 9, 9, tz=london),
        at(2025, 6, 16, 11, tz=london),
        at(2025, 6, 23, 9, tz=london),
    ]
    assert {i.subject for i in found} == {"Weekly 1:1", "Weekly 1:1 (moved)"}
    assert found[0].name == "Priya Raman"


def test_outlook_export_with_windows_zone_names() -> None:
    found = run((DATA / "outlook.ics").read_bytes())
    assert {i.address for i in found} == {"jan.devries@contoso.com"}  # the room is left out
    assert sorted(i.at for i in found) == [
        datetime(2025, 3, 28, 15, tzinfo=UTC),
        datetime(2025, 3, 31, 14, tzinfo=UTC),
    ]


def test_apple_calendar_export() -> None:
    (i,) = run((DATA / "apple.ics").read_bytes(), now=datetime(2025, 2, 1, tzinfo=UTC))
    assert (i.address, i.name, i.at) == (
        "sam@icloud.com",
        "Sam Lee",
        datetime(2025, 1, 15, 17, tzinfo=UTC),
    )
    (record,) = records((DATA / "apple.ics").read_bytes())
    assert b"VALARM" not in record.ical and b"X-APPLE" not in record.ical


def test_storable_drops_the_title_where_subjects_are_not_kept() -> None:
    from syncd.meetings import rules_fingerprint, storable

    (record,) = records(cal(vevent(summary="Secret project")))
    assert b"Secret project" in storable(record, keep_subjects=True)
    stripped = storable(record, keep_subjects=False)
    assert b"Secret project" not in stripped and b"ATTENDEE" in stripped
    again = EventRecord(record.calendar, record.href, record.uid, stripped)
    (i,) = met([again], ME, now=NOW, tz=BERLIN)
    assert i.subject == ""  # no title left to keep
    base = dict(tz=BERLIN, max_participants=8, keep_subjects=True)
    assert rules_fingerprint(ME, **base) == rules_fingerprint(ME, **base)  # type: ignore[arg-type]
    assert rules_fingerprint(ME | {"x@y.org"}, **base) != rules_fingerprint(ME, **base)  # type: ignore[arg-type]
