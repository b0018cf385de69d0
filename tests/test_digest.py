"""The digest's contents for hand-built contacts, its bulk headers, and its timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from syncd.config import parse, parse_at
from syncd.digest import compose_digest, digest_due
from syncd.rules import is_bulk
from syncd.store import ContactFacts

NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)  # Monday 08:00 in Berlin
DAY = timedelta(days=1)
WEEK = 7 * DAY
BERLIN = ZoneInfo("Europe/Berlin")


def config() -> Any:
    return parse(
        {"defaults": {"cadence": "90d"}, "notify": {"reply_after": "7d"}}, Path("test.toml")
    )


def facts(
    name: str,
    id: int,
    *,
    sent: datetime | None = None,
    received: datetime | None = None,
    snoozed: datetime | None = None,
    created: datetime = NOW - 400 * DAY,
    email: bool = True,
) -> ContactFacts:
    return ContactFacts(
        id=id,
        name=name,
        emails=[f"c{id}@example.org"] if email else [],
        cadence=None,
        tags=[],
        snoozed_until=snoozed,
        created_at=created,
        last_sent=sent,
        last_received=received,
        last_touch=None,
    )


def parts(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(("plain",))
    rich = msg.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()  # type: ignore[attr-defined]


def test_exact_contents() -> None:
    contacts = [
        facts("Priya", 1, sent=NOW - 100 * DAY),  # overdue by 10 days, I wrote last
        facts("Bob <script>", 2, received=NOW - 130 * DAY),  # overdue by 40 AND owed a reply
        facts("Carol", 3, sent=NOW - 85 * DAY),  # due in 5 days: coming
        facts("Dan", 4, sent=NOW - 10 * DAY),  # fine: not listed
        facts("Eve", 5, sent=NOW - 200 * DAY, snoozed=NOW + 5 * DAY),  # snoozed: not listed
        facts("Finn", 6, sent=NOW - 95 * DAY, email=False),  # overdue by 5, no address
        facts("Gus", 7, received=NOW - 20 * DAY),  # owed a reply only
    ]
    msg = compose_digest(contacts, config(), NOW, period=WEEK, to="me@example.org")
    assert msg is not None
    assert msg["Subject"] == "weakties: 2 overdue, 2 replies owed, 1 coming up"
    assert msg["From"] == msg["To"] == "me@example.org"
    plain, rich = parts(msg)
    assert plain == (
        "Overdue:\n"
        "- Priya: overdue by 10 days (you wrote last, 3 months ago) <mailto:c1@example.org>\n"
        "- Finn: overdue by 5 days (you wrote last, 3 months ago)\n"
        "\n"
        "Replies owed:\n"
        "- Bob <script>: wrote to you 4 months ago, not answered yet <mailto:c2@example.org>\n"
        "- Gus: wrote to you 20 days ago, not answered yet <mailto:c7@example.org>\n"
        "\n"
        "Coming up:\n"
        "- Carol: due in 5 days (Sat 07 Jun) <mailto:c3@example.org>\n"
    )
    assert "<script>" not in rich and "Bob &lt;script&gt;" in rich
    assert '<a href="mailto:c1@example.org">Priya</a>: overdue by 10 days' in rich
    assert rich.index("Priya") < rich.index("Finn") < rich.index("Bob") < rich.index("Carol")
    assert rich.count("Bob") == 1


def test_nothing_to_say_is_none() -> None:
    contacts = [
        facts("Dan", 4, sent=NOW - 10 * DAY),
        facts("Eve", 5, sent=NOW - 200 * DAY, snoozed=NOW + DAY),
    ]
    assert compose_digest(contacts, config(), NOW, period=WEEK, to="me@example.org") is None
    assert compose_digest([], config(), NOW, period=WEEK, to="me@example.org") is None


def test_coming_means_within_the_period() -> None:
    contacts = [facts("Carol", 3, sent=NOW - 85 * DAY)]  # due in 5 days
    assert compose_digest(contacts, config(), NOW, period=DAY, to="me@x.org") is None
    assert compose_digest(contacts, config(), NOW, period=WEEK, to="me@x.org") is not None


def test_headers_make_it_bulk_so_it_is_never_counted() -> None:
    msg = compose_digest(
        [facts("Priya", 1, sent=NOW - 100 * DAY)],
        config(),
        NOW,
        period=WEEK,
        to="me@example.org",
        sender="bot@example.org",
    )
    assert msg is not None
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"] == "bot@example.org"
    fields = {k.lower(): [str(v)] for k, v in msg.items()}
    assert is_bulk(fields)
    del fields["list-id"]
    assert is_bulk(fields)  # Auto-Submitted alone is enough
    del fields["auto-submitted"]
    assert not is_bulk(fields)


def test_parse_at() -> None:
    assert parse_at("Mon 08:00")[0] == 0
    assert parse_at("08:30")[0] is None
    for bad in ("Moon 08:00", "8 o'clock", "Mon 25:00", ""):
        with pytest.raises(ValueError) as info:
            parse_at(bad)
        assert "\n" not in str(info.value)


def simulate(
    every: timedelta, at: str, start: datetime, hours: int, awake: Any = lambda t: True
) -> list[datetime]:
    """Check every hour (while ``awake``), send when due; the send times."""
    sent: list[datetime] = []
    for h in range(hours):
        t = start + timedelta(hours=h)
        if awake(t) and digest_due(every, at, sent[-1] if sent else None, t, BERLIN):
            sent.append(t)
    return sent


def test_weekly_over_a_fortnight() -> None:
    start = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)  # Mon 09:00 Berlin, after the slot
    sent = simulate(WEEK, "Mon 08:00", start, 15 * 24)
    assert [t.astimezone(BERLIN).strftime("%a %d %H:%M") for t in sent] == [
        "Mon 02 09:00",
        "Mon 09 08:00",
        "Mon 16 08:00",
    ]


def test_daily_once_per_day_never_twice() -> None:
    start = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    sent = simulate(DAY, "08:00", start, 14 * 24)
    local = [t.astimezone(BERLIN) for t in sent]
    assert len({t.date() for t in local}) == len(local) == 14  # once a day
    assert all(t.strftime("%H:%M") == "08:00" for t in local)  # the first waits for 08:00


def test_missed_period_sent_once_at_next_start() -> None:
    start = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
    # the machine is off from Sun 8 to Thu 19: two Monday slots missed
    off = (datetime(2025, 6, 8, tzinfo=UTC), datetime(2025, 6, 19, 10, tzinfo=UTC))
    sent = simulate(WEEK, "Mon 08:00", start, 21 * 24, awake=lambda t: not off[0] <= t < off[1])
    assert [t.astimezone(BERLIN).strftime("%a %d %H:%M") for t in sent] == [
        "Mon 02 09:00",
        "Thu 19 12:00",
        "Mon 23 08:00",
    ]


def test_first_send_waits_for_the_first_slot() -> None:
    start = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)  # installed on a Wednesday
    sent = simulate(WEEK, "Mon 08:00", start, 8 * 24)
    assert [t.astimezone(BERLIN).strftime("%a %d %H:%M") for t in sent] == ["Mon 09 08:00"]


def test_restart_right_after_sending_does_not_send_again() -> None:
    sent_at = datetime(2025, 6, 9, 6, 0, tzinfo=UTC)  # Mon 08:00 Berlin
    for minutes in (0, 1, 60, 24 * 60, 6 * 24 * 60):
        assert not digest_due(
            WEEK, "Mon 08:00", sent_at, sent_at + timedelta(minutes=minutes), BERLIN
        )
    assert digest_due(WEEK, "Mon 08:00", sent_at, sent_at + WEEK, BERLIN)


def test_every_two_weeks_and_off() -> None:
    start = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
    sent = simulate(2 * WEEK, "Mon 08:00", start, 29 * 24)
    assert [t.astimezone(BERLIN).strftime("%d") for t in sent] == ["02", "16", "30"]
    assert simulate(None, "Mon 08:00", start, 24 * 14) == []  # type: ignore[arg-type]
