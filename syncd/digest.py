"""The email digest: what it says (from the contacts' standings) and when it is due.

Pure composition, no I/O: ``compose_digest`` builds the one EmailMessage
(text/plain + text/html) or None when there is nothing to say; ``digest_due``
decides from the clock and the last send whether the digest goes out now.
The headers (``Auto-Submitted``, ``List-Id``) make ``syncd.rules.is_bulk``
true, so weakties never counts its own digest as an interaction.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote

from syncd.config import Config, parse_at
from syncd.durations import format_duration as _words
from syncd.lapses import alert_for, standings
from syncd.model import ContactFacts
from syncd.rules import OWN_LIST

LIST_ID = f"weakties digest {OWN_LIST}"


@dataclass(frozen=True)
class Entry:
    name: str
    email: str | None
    text: str  # the line's words after the name, plain text


@dataclass(frozen=True)
class Digest:
    overdue: list[Entry]
    replies: list[Entry]
    coming: list[Entry]

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.replies or self.coming)


_LAST = {
    "sent": "you wrote last",
    "received": "they wrote last",
    "met": "you met last",
    "touch": "last contact marked by hand",
}


def collect(
    contacts: list[ContactFacts],
    config: Config,
    now: datetime,
    period: timedelta,
    subjects: Mapping[int, str] | None = None,
) -> Digest:
    """Who goes into the digest, in its order (snoozed contacts never do);
    ``subjects``: per contact id, the subject of the mail a reply is owed to."""
    overdue: list[tuple[timedelta, Entry]] = []
    replies: list[tuple[datetime, Entry]] = []
    coming: list[tuple[datetime, Entry]] = []
    for s in standings(contacts, config, now):
        if s.snoozed:
            continue
        f = s.facts
        email = f.emails[0] if f.emails else None
        alert = alert_for(f, config, now)
        if alert is not None and str(alert.kind) == "reply":
            text = f"wrote to you {_words(now - alert.basis)} ago, not answered yet"
            subject = alert.subject or (subjects or {}).get(f.id)
            if subject:
                text += f" ({subject})"
            replies.append((alert.basis, Entry(f.name, email, text)))
        elif s.overdue_by is not None:
            last = f.last_contact
            if last is None:
                how = "never in touch"
            else:
                how = (
                    f"{_LAST.get(f.last_direction or '', 'last contact')}, {_words(now - last)} ago"
                )
            overdue.append(
                (s.overdue_by, Entry(f.name, email, f"overdue by {_words(s.overdue_by)} ({how})"))
            )
        elif s.next_due <= now + period:
            coming.append(
                (
                    s.next_due,
                    Entry(
                        f.name, email, f"due in {_words(s.next_due - now)} ({s.next_due:%a %d %b})"
                    ),
                )
            )
    return Digest(
        overdue=[e for _, e in sorted(overdue, key=lambda p: (-p[0], p[1].name.lower()))],
        replies=[e for _, e in sorted(replies, key=lambda p: (p[0], p[1].name.lower()))],
        coming=[e for _, e in sorted(coming, key=lambda p: (p[0], p[1].name.lower()))],
    )


def _mailto(email: str) -> str:
    return "mailto:" + quote(email, safe="@+")


def _plain(d: Digest) -> str:
    out: list[str] = []
    for title, entries in (
        ("Overdue", d.overdue),
        ("Replies owed", d.replies),
        ("Coming up", d.coming),
    ):
        if not entries:
            continue
        out.append(f"{title}:")
        for e in entries:
            link = f" <{_mailto(e.email)}>" if e.email else ""
            out.append(f"- {e.name}: {e.text}{link}")
        out.append("")
    return "\n".join(out)


def _html(d: Digest) -> str:
    out = ["<html><body>"]
    for title, entries in (
        ("Overdue", d.overdue),
        ("Replies owed", d.replies),
        ("Coming up", d.coming),
    ):
        if not entries:
            continue
        out.append(f"<h2>{title}</h2><ul>")
        for e in entries:
            name = html.escape(e.name)
            if e.email:
                name = f'<a href="{html.escape(_mailto(e.email), quote=True)}">{name}</a>'
            out.append(f"<li>{name}: {html.escape(e.text)}</li>")
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _subject(d: Digest) -> str:
    parts = [f"{len(d.overdue)} overdue"] if d.overdue else []
    if d.replies:
        parts.append(
            f"{len(d.replies)} " + ("reply owed" if len(d.replies) == 1 else "replies owed")
        )
    if d.coming:
        parts.append(f"{len(d.coming)} coming up")
    return "weakties: " + ", ".join(parts)


def compose_digest(
    contacts: list[ContactFacts],
    config: Config,
    now: datetime,
    *,
    period: timedelta,
    to: str,
    sender: str | None = None,
    subjects: Mapping[int, str] | None = None,
) -> EmailMessage | None:
    """The digest mail, or None when there is nothing to say."""
    d = collect(contacts, config, now, period, subjects)
    if d.empty:
        return None
    msg = EmailMessage()
    msg["From"] = sender or to
    msg["To"] = to
    msg["Subject"] = _subject(d)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("digest", domain="weakties.invalid")
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Id"] = LIST_ID
    msg.set_content(_plain(d))
    msg.add_alternative(_html(d), subtype="html")
    return msg


# --- when -------------------------------------------------------------------


def _slot_day(moment: datetime, day: int | None, clock: time, tz: tzinfo) -> date:
    """The local date of the latest scheduled slot at or before ``moment``."""
    local = moment.astimezone(tz)
    d = local.date()
    if local.time().replace(tzinfo=None) < clock:
        d -= timedelta(days=1)
    if day is not None:
        d -= timedelta(days=(d.weekday() - day) % 7)
    return d


def digest_due(
    every: timedelta | None, at: str, last_sent: datetime | None, now: datetime, tz: tzinfo
) -> bool:
    """Whether to send now: once per period at ``at`` (local), once after a missed one.

    Slots are every day (``at = "08:00"``) or every week (``at = "Mon 08:00"``)
    at that local time; a digest is due when the latest slot is at least
    ``every`` (whole days) after the slot of the last send. ``every`` None: off.
    Never sent yet: due from the first slot on, on that slot's local day.
    """
    if every is None:
        return False
    day, clock = parse_at(at)
    current = _slot_day(now, day, clock, tz)
    if last_sent is None:  # never sent: the first slot after install, on its day
        return current == now.astimezone(tz).date()
    done = _slot_day(last_sent, day, clock, tz)
    return (current - done).days >= max(1, every.days)
