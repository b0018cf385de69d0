"""iCalendar data as calendar connectors hand it on: parsed, checked, reduced.

:func:`resources` turns the bytes of one .ics object (a CalDAV resource, or a
whole .ics file) into one reduced VCALENDAR per UID: its VTIMEZONEs and its
VEVENTs with only :data:`connectors.base.EVENT_PROPERTIES`, so free text
(DESCRIPTION, LOCATION, alarms, X- properties) never leaves the connector.
Data that cannot be used raises :class:`MalformedError` with a short reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import icalendar

from connectors.base import EVENT_PROPERTIES


class MalformedError(ValueError):
    """The data is not a usable iCalendar object; ``str()`` says why, in one line."""


def _check_event(event: icalendar.Event) -> None:
    start = event.get("DTSTART")
    if start is None:
        raise MalformedError("VEVENT without DTSTART")
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = event.get(name)
        try:
            value = getattr(prop, "dt", None) if prop is not None else date.min
        except Exception:  # icalendar's broken-property errors have no common base
            value = None
        if not isinstance(value, date | datetime):
            raise MalformedError(f"VEVENT with an unreadable {name}")
    if event.errors:
        prop_name, reason = event.errors[0]
        raise MalformedError(f"{prop_name or 'VEVENT'}: {reason}")


def resources(
    data: bytes, on_bad: Callable[[str, MalformedError], None] | None = None
) -> list[tuple[str, bytes]]:
    """``(uid, reduced VCALENDAR bytes)`` per UID found in ``data`` (file order);
    see :func:`reduced`."""
    return [(uid, ical) for uid, ical, _ in reduced(data, on_bad)]


def reduced(
    data: bytes, on_bad: Callable[[str, MalformedError], None] | None = None
) -> list[tuple[str, bytes, icalendar.Calendar]]:
    """``(uid, reduced VCALENDAR bytes, the same as parsed)`` per UID found in
    ``data`` (file order).

    A calendar with no VEVENT gives ``[]`` (tasks, journals). Raises
    :class:`MalformedError`; with ``on_bad``, an unusable VEVENT is instead
    reported there (its UID, the error) and its UID left out, the rest kept
    (a file of many events; a CalDAV resource is one event and all-or-nothing).
    """
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise MalformedError(f"not iCalendar: {str(exc).splitlines()[0][:200]}") from None
    if not calendars:
        raise MalformedError("not iCalendar: no VCALENDAR")
    zones: list[icalendar.Timezone] = []
    by_uid: dict[str, list[icalendar.Event]] = {}
    bad: set[str] = set()
    for calendar in calendars:
        if calendar.name != "VCALENDAR":
            raise MalformedError(f"not iCalendar: {calendar.name} at the top")
        if calendar.errors:
            name, reason = calendar.errors[0]
            raise MalformedError(f"{name or 'VCALENDAR'}: {reason}")
        for component in calendar.subcomponents:
            if isinstance(component, icalendar.Timezone):
                zones.append(component)
            elif isinstance(component, icalendar.Event):
                uid = str(component.get("UID", ""))
                try:
                    _check_event(component)
                except MalformedError as exc:
                    if on_bad is None:
                        raise
                    on_bad(uid, exc)
                    bad.add(uid)
                by_uid.setdefault(uid, []).append(component)
    result: list[tuple[str, bytes, icalendar.Calendar]] = []
    for uid, events in by_uid.items():
        if uid in bad:
            continue
        used = {
            str(p.params.get("TZID"))
            for e in events
            for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
            for p in _props(e, name)
            if p.params.get("TZID")
        }
        kept = [str(zone.get("TZID")) in used for zone in zones]
        if len(calendars) == 1 and len(by_uid) == 1 and not bad:  # one resource, one UID
            result.append((uid, _kept_lines(data, kept), _strip(calendars[0], used)))
            continue
        reduced = _headed(icalendar.Calendar())
        for zone, keep in zip(zones, kept, strict=True):
            if keep:
                reduced.add_component(zone)
        for event in events:
            small = icalendar.Event()
            for name in EVENT_PROPERTIES:
                for prop in _props(event, name):
                    small.add(name, prop, encode=False)
            reduced.add_component(small)
        result.append((uid, reduced.to_ical(), reduced))
    return result


_PRODID = "-//weakties//reduced//EN"


def _headed(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """``calendar`` with the reduced calendar's own properties, and only those."""
    calendar.clear()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", _PRODID)
    return calendar


def _strip(calendar: icalendar.Calendar, used: set[str]) -> icalendar.Calendar:
    """A parsed one-UID calendar reduced in place (cheaper than building a new
    one): the same as ``_kept_lines`` keeps of it, its own properties replaced by
    the reduced calendar's, the VTIMEZONEs whose TZID is in ``used``, each
    VEVENT's :data:`EVENT_PROPERTIES` and nothing under it."""
    _headed(calendar)
    kept: list[icalendar.Component] = []
    for component in calendar.subcomponents:
        if isinstance(component, icalendar.Timezone) and str(component.get("TZID")) in used:
            kept.append(component)
        elif isinstance(component, icalendar.Event):
            for name in [n for n in component if n not in EVENT_PROPERTIES]:
                del component[name]
            component.subcomponents = []
            kept.append(component)
    calendar.subcomponents = kept
    return calendar


_KEEP = frozenset(name.encode() for name in EVENT_PROPERTIES)
_HEAD = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{_PRODID}\r\n".encode()


def _name(line: bytes) -> bytes:
    """A content line's property name: what comes before its first ';' or ':'."""
    end = min((i for i in (line.find(b";"), line.find(b":")) if i >= 0), default=len(line))
    return line[:end].strip().upper()


def _kept_lines(data: bytes, zones: list[bool]) -> bytes:
    """The reduced VCALENDAR of a one-UID resource, made by keeping the original
    content lines that the reduction keeps (what icalendar has just parsed and
    checked, so the lines are well formed): the VTIMEZONEs flagged in ``zones``
    (in file order) whole, and of each VEVENT its :data:`EVENT_PROPERTIES`
    lines, without sub-components (VALARM). The same as serialising the
    reduced calendar again, at a fraction of the cost."""
    out = [_HEAD]
    where: list[bytes] = []  # the open components, outermost first
    zone = -1
    keep = False  # whether the current logical line (and its folded tail) is kept
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the line before
            if keep:
                out.append(line + b"\r\n")
            continue
        if not line.strip():
            keep = False
            continue
        name = _name(line)
        value = line.partition(b":")[2].strip().upper()
        if name == b"BEGIN":
            where.append(value)
            if value == b"VTIMEZONE" and len(where) == 2:
                zone += 1
        inside = where[1] if len(where) >= 2 else b""
        if inside == b"VTIMEZONE":
            keep = 0 <= zone < len(zones) and zones[zone]
        elif inside == b"VEVENT":
            keep = len(where) == 2 and (name in _KEEP or name in (b"BEGIN", b"END"))
        else:
            keep = False
        if keep:
            out.append(line + b"\r\n")
        if name == b"END" and where:
            where.pop()
    out.append(b"END:VCALENDAR\r\n")
    return b"".join(out)


def _props(event: icalendar.Event, name: str) -> list[Any]:
    value = event.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
