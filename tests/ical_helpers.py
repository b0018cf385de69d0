"""Hand-written iCalendar for tests: a VCALENDAR around VEVENTs built from a few fields."""

from __future__ import annotations


def cal(*events: str) -> bytes:
    body = "".join(events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + body + "END:VCALENDAR\r\n"
    ).encode()


def vevent(
    uid: str = "e1",
    start: str = "20261101T100000Z",
    end: str | None = "20261101T110000Z",
    *,
    organizer: str | None = "mailto:me@example.org",
    attendees: tuple[str, ...] = ("mailto:bob@example.org",),
    extra: str = "",
    summary: str = "Coffee",
) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        start if ":" in start else f"DTSTART:{start}",
    ]
    if end is not None:
        lines.append(end if ":" in end else f"DTEND:{end}")
    if organizer:
        lines.append(organizer if organizer.startswith("ORGANIZER") else f"ORGANIZER:{organizer}")
    for attendee in attendees:
        lines.append(attendee if attendee.startswith("ATTENDEE") else f"ATTENDEE:{attendee}")
    lines += [f"SUMMARY:{summary}", "DESCRIPTION:private notes"]
    lines += [x for x in extra.split("\n") if x]
    lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"
