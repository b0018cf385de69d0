"""The product's definition of a meeting: EventRecord -> "met" Interactions.

Pure functions, no I/O, no SQL. The rules (README.md, beside the mail rules):

* An occurrence counts once it is over: its end is DTEND, else DTSTART +
  DURATION, else DTSTART; an all-day event ends at the end of its last day,
  local time. :func:`evaluate` also returns the occurrences not over yet (up
  to a horizon), each with the moment from which it counts, so that the store
  can count them later without the calendar changing (docs/calendar-design.md).
* Not when STATUS is CANCELLED, for the event or for that occurrence.
* The user takes part: one of my addresses is the ORGANIZER or a non-declined
  ATTENDEE. No ATTENDEE at all, or an ATTENDEE of mine who DECLINED: nobody.
* Participants: ORGANIZER and ATTENDEEs, minus my addresses, minus PARTSTAT=
  DECLINED, minus CUTYPE ROOM/RESOURCE. More than ``max_participants``: a
  crowd, nobody.
* Each participant gets a MET interaction at the occurrence's start (all-day:
  the start of its first day, local time). Addresses are normalised as mail
  addresses are (``mailto:`` stripped, case, +tags, Gmail dots).
* Recurrences through recurring-ical-events (RRULE, RDATE, EXDATE,
  RECURRENCE-ID overrides). TZID and DST honoured; floating times and dates
  are in the local zone ``tz``.
* The dedupe key is UID + RECURRENCE-ID, so one occurrence found in several
  calendars or accounts counts once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.occurrence import Occurrence
from recurring_ical_events.selection.name import ComponentsWithName

from connectors.base import EventRecord
from syncd.addresses import normalize
from syncd.model import Direction, Interaction

DEFAULT_MAX_PARTICIPANTS = 8
#: How far ahead not-yet-ended occurrences are returned.
DEFAULT_HORIZON = timedelta(days=366)
_SUBJECT_MAX = 500
_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
_SKIP_CUTYPES = {"ROOM", "RESOURCE"}


class EventError(ValueError):
    """The resource cannot be evaluated (a broken RRULE, ...); ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Meeting:
    """One participant of one occurrence, and from when it counts (its end, UTC)."""

    interaction: Interaction
    counts_from: datetime


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one resource means.

    ``meetings`` holds every occurrence ending up to ``now + horizon`` (the ones
    not over yet included). ``expanded_until`` is None when that is all there
    is; otherwise occurrences after it exist, and the resource must be
    evaluated again before ``now`` reaches it.
    """

    meetings: list[Meeting]
    expanded_until: datetime | None

    def counted(self, now: datetime) -> list[Interaction]:
        """The interactions that count at ``now`` (their occurrence is over)."""
        return [m.interaction for m in self.meetings if m.counts_from <= now]


def address_of(value: object) -> str | None:
    """A CAL-ADDRESS (``mailto:x@y``, any case) as a normalised mail address."""
    text = str(value).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    return normalize(text)


def to_utc(value: date | datetime, tz: tzinfo) -> datetime:
    """An iCalendar time as aware UTC: dates and floating times are in ``tz``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _dt(event: icalendar.Event, name: str) -> Any:
    """A property's decoded value (icalendar types it as a wide union)."""
    prop: Any = event[name]
    return prop.dt


def _end(event: icalendar.Event) -> date | datetime:
    start: date | datetime = _dt(event, "DTSTART")
    if "DTEND" in event:
        end: date | datetime = _dt(event, "DTEND")
        return end
    if "DURATION" in event:
        moved: date | datetime = start + _dt(event, "DURATION")
        return moved
    if not isinstance(start, datetime):
        return start + timedelta(days=1)  # an all-day event lasts its day
    return start


def _params(prop: Any, name: str) -> str:
    params = getattr(prop, "params", None) or {}
    return str(params.get(name, "")).strip().upper()


def _attendees(event: icalendar.Event) -> list[Any]:
    value = event.get("ATTENDEE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def participants(
    event: icalendar.Event, me: frozenset[str], max_participants: int
) -> list[tuple[str, str]]:
    """``(address, name)`` of the people met at one occurrence, per the rules."""
    attendees = _attendees(event)
    if not attendees:
        return []
    organizer = event.get("ORGANIZER")
    mine = False
    for attendee in attendees:
        if address_of(attendee) in me:
            if _params(attendee, "PARTSTAT") == "DECLINED":
                return []  # I declined: it counts for nobody
            mine = True
    if organizer is not None and address_of(organizer) in me:
        mine = True
    if not mine:
        return []
    people: dict[str, str] = {}
    declined: set[str] = set()
    for prop in ([organizer] if organizer is not None else []) + attendees:
        address = address_of(prop)
        if address is None or address in me:
            continue
        if _params(prop, "PARTSTAT") == "DECLINED":
            declined.add(address)
            continue
        if _params(prop, "CUTYPE") in _SKIP_CUTYPES:
            continue
        name = str(getattr(prop, "params", {}).get("CN", "")).strip().strip('"')
        if not people.get(address):
            people[address] = name
    result = [(a, n) for a, n in people.items() if a not in declined]
    if len(result) > max_participants:
        return []  # a crowd
    return result


_RECURRING = ("RRULE", "RDATE", "RECURRENCE-ID")


@dataclass(frozen=True, slots=True)
class _Seen:
    """One occurrence as :func:`evaluate` reads it: the VEVENT it comes from (the
    series' master or the override of that occurrence) and its own start and end."""

    source: icalendar.Event
    start: date | datetime
    end: date | datetime


class _Adapter(EventAdapter):  # type: ignore[misc]  # the library is untyped
    """recurring-ical-events' VEVENT adapter, naming the component it adapts."""

    @property
    def source(self) -> icalendar.Event:
        event: icalendar.Event = self._component
        return event


class _Occurrence(Occurrence):  # type: ignore[misc]
    """An occurrence handed on as a :class:`_Seen`, not as a copy of its component
    (the library's extension point for what occurrences become; the copy was
    half the cost of expanding a busy calendar)."""

    def as_component(self, keep_recurrence_attributes: bool) -> _Seen:
        return _Seen(self._adapter.source, self.start, self.end)


_EVENTS = ComponentsWithName("VEVENT", adapter=_Adapter, occurrence=_Occurrence)


def _expand(calendar: icalendar.Calendar, until: datetime, tz: tzinfo) -> tuple[list[_Seen], bool]:
    """The occurrences from 1900 up to ``until``, and whether any start after it.

    A resource without RRULE, RDATE or RECURRENCE-ID is its own occurrence (no
    expansion to make); every other goes through recurring-ical-events."""
    events: list[Any] = calendar.walk("VEVENT")
    if not any(name in event for event in events for name in _RECURRING):
        seen = [_Seen(event, _dt(event, "DTSTART"), _end(event)) for event in events]
        starts = [(one, to_utc(one.start, tz)) for one in seen]
        return [one for one, at in starts if at < until], any(at >= until for _, at in starts)
    query = recurring_ical_events.of(calendar, components=[_EVENTS])
    occurrences: list[_Seen] = list(query.between(_EPOCH, until))
    return occurrences, next(iter(query.after(until)), None) is not None


@dataclass(frozen=True, slots=True)
class _Source:
    """What one VEVENT says for all of its occurrences."""

    uid: str
    cancelled: bool
    subject: str | None
    people: list[tuple[str, str]]


def evaluate(
    record: EventRecord,
    me: frozenset[str],
    *,
    now: datetime,
    tz: tzinfo,
    max_participants: int = DEFAULT_MAX_PARTICIPANTS,
    keep_subjects: bool = True,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Evaluation:
    """Every meeting in ``record`` ending up to ``now + horizon``; see the module docstring.

    Raises :class:`EventError` when the data cannot be expanded.
    """
    until = now + horizon
    try:
        calendar = record.parsed
        if calendar is None:
            calendar = icalendar.Calendar.from_ical(record.ical)
        occurrences, later = _expand(calendar, until, tz)
    except Exception as exc:  # icalendar/dateutil raise a zoo of types on bad data
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise EventError(f"cannot expand: {reason}") from None
    meetings: list[Meeting] = []
    seen: set[tuple[str, str]] = set()
    # the occurrences of one series share their source VEVENT: read it once
    # (keyed by identity: the calendar keeps every source alive through the loop)
    sources: dict[int, _Source] = {}
    for occurrence in occurrences:
        event = occurrence.source
        source = sources.get(id(event))
        if source is None:
            subject = None
            if keep_subjects:
                subject = " ".join(str(event.get("SUMMARY", "")).split())[:_SUBJECT_MAX]
            source = sources[id(event)] = _Source(
                uid=str(event.get("UID", "")) or record.uid or record.href,
                cancelled=str(event.get("STATUS", "")).strip().upper() == "CANCELLED",
                subject=subject,
                people=participants(event, me, max_participants),
            )
        if source.cancelled or not source.people:
            continue
        ends = to_utc(occurrence.end, tz)
        if ends > until:
            continue
        at = to_utc(occurrence.start, tz)
        rid_at = to_utc(_dt(event, "RECURRENCE-ID"), tz) if "RECURRENCE-ID" in event else at
        key = f"ev:{source.uid}/{rid_at.strftime('%Y%m%dT%H%M%SZ')}"
        for address, name in source.people:
            if (key, address) in seen:
                continue
            seen.add((key, address))
            meetings.append(
                Meeting(
                    interaction=Interaction(
                        address=address,
                        name=name,
                        direction=Direction.MET,
                        at=at,
                        dedupe_key=key,
                        message_id=source.uid or None,
                        subject=source.subject,
                        folder=record.calendar,
                    ),
                    counts_from=ends,
                )
            )
    return Evaluation(meetings=meetings, expanded_until=until if later else None)


def met(
    records: Iterable[EventRecord],
    me: frozenset[str],
    *,
    now: datetime,
    tz: tzinfo,
    max_participants: int = DEFAULT_MAX_PARTICIPANTS,
    keep_subjects: bool = True,
) -> list[Interaction]:
    """The meetings that count at ``now`` over several resources, each
    (occurrence, participant) once however many calendars hold it."""
    seen: set[tuple[str, str]] = set()
    result = []
    for record in records:
        evaluation = evaluate(
            record,
            me,
            now=now,
            tz=tz,
            max_participants=max_participants,
            keep_subjects=keep_subjects,
        )
        for interaction in evaluation.counted(now):
            if (interaction.dedupe_key, interaction.address) not in seen:
                seen.add((interaction.dedupe_key, interaction.address))
                result.append(interaction)
    return result


def storable(record: EventRecord, *, keep_subjects: bool) -> bytes:
    """The resource's reduced iCalendar as it may be stored: without SUMMARY
    where subjects are not kept (the connector has dropped all other text)."""
    if keep_subjects:
        return record.ical
    calendar = icalendar.Calendar.from_ical(record.ical)
    for event in calendar.walk("VEVENT"):
        event.pop("SUMMARY", None)
    data: bytes = calendar.to_ical()
    return data


def rules_fingerprint(
    me: frozenset[str], *, tz: tzinfo, max_participants: int, keep_subjects: bool
) -> str:
    """What the stored evaluations depend on besides the data: when it changes
    (an identity added, another zone, another crowd size), every stored
    resource must be evaluated again."""
    text = "\0".join([*sorted(me), str(tz), str(max_participants), str(keep_subjects)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]
