"""Meetings count as contact, end to end: ``weakties sync`` on a CalDAV account
(real Radicale and real Xandikos, tests/caldav_servers.py) and on ``ics``
accounts (a file, a directory, an https URL), then what ``status --json`` and
``contact show --json`` say; then changes on the server and the next sync.

Times are relative to the real clock: the CLI reads it, and "running now" and
"in the future" must be so when ``status`` runs.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import EventRecord
from connectors.ical import reduced
from syncd.meetings import evaluate
from syncd.model import Alert, AlertKind, Direction, Interaction
from syncd.notify.wording import compose, sentence
from syncd.store import Store
from tests.caldav_servers import DavServer, DavUser
from tests.helpers import Env, make_env
from tests.ical_helpers import cal, vevent
from tests.test_ics import Feed, feed  # noqa: F401  (the https feed fixture)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.now(UTC)
H = NOW.replace(minute=0, second=0, microsecond=0)  # the hour the suite started in
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)


def z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ev(uid: str, start: datetime, *people: str, **kw: Any) -> str:
    """An event I organize, one hour long from ``start``, with ``people`` attending."""
    return vevent(uid, z(start), z(start + HOUR), attendees=people, **kw)


WEEKLY_START = H - timedelta(days=3 * 365, hours=3)  # weekly for three years, no end
ALL_DAY = (NOW.astimezone(BERLIN) - timedelta(days=5)).date()

#: resource name -> iCalendar put on "Work" (same-uid also on "Family").
EVENTS: dict[str, bytes] = {
    "organizer-old": cal(ev("organizer-old", H - timedelta(days=30), "mailto:org@example.org")),
    "organizer": cal(ev("organizer", H - timedelta(days=2), "mailto:org@example.org")),
    "attendee": cal(
        vevent(
            "attendee",
            z(H - timedelta(days=3)),
            z(H - timedelta(days=3) + HOUR),
            organizer="ORGANIZER;CN=Ann Example:mailto:ann@example.org",
            attendees=("ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:ME+cal@Example.org",),
        )
    ),
    "declined-by-me": cal(
        vevent(
            "declined-by-me",
            z(H - timedelta(days=4)),
            z(H - timedelta(days=4) + HOUR),
            organizer="mailto:dora@example.org",
            attendees=("ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org",),
        )
    ),
    "declined-by-them": cal(
        ev(
            "declined-by-them",
            H - timedelta(days=5),
            "ATTENDEE;PARTSTAT=DECLINED:mailto:dee@example.org",
            "mailto:carl@example.org",
        )
    ),
    "cancelled": cal(
        ev("cancelled", H - timedelta(days=6), "mailto:cora@example.org", extra="STATUS:CANCELLED")
    ),
    # a weekly series of four: the last occurrence cancelled, the third moved to the future
    "overrides": cal(
        ev(
            "overrides",
            H - 10 * WEEK,
            "mailto:otto@example.org",
            extra="RRULE:FREQ=WEEKLY;COUNT=4",
        ),
        ev(
            "overrides",
            H - 7 * WEEK,
            "mailto:otto@example.org",
            extra=f"RECURRENCE-ID:{z(H - 7 * WEEK)}\nSTATUS:CANCELLED",
        ),
        ev(
            "overrides",
            H + 3 * WEEK,
            "mailto:otto@example.org",
            extra=f"RECURRENCE-ID:{z(H - 8 * WEEK)}",
        ),
    ),
    "exdate": cal(
        ev(
            "exdate",
            H - 6 * WEEK,
            "mailto:exa@example.org",
            extra=f"RRULE:FREQ=WEEKLY;COUNT=3\nEXDATE:{z(H - 4 * WEEK)}",
        )
    ),
    "weekly": cal(ev("weekly", WEEKLY_START, "mailto:wes@example.org", extra="RRULE:FREQ=WEEKLY")),
    "running": cal(
        vevent("running", z(H - HOUR), z(H + 3 * HOUR), attendees=("mailto:rune@example.org",))
    ),
    "future": cal(ev("future", H + timedelta(days=1), "mailto:fay@example.org")),
    "all-day": cal(
        vevent(
            "all-day",
            f"DTSTART;VALUE=DATE:{ALL_DAY:%Y%m%d}",
            None,
            attendees=("mailto:alba@example.org",),
        )
    ),
    # weekly in Berlin across the end of summer time (25 October 2026)
    "dst": cal(
        vevent(
            "dst",
            "DTSTART;TZID=Europe/Berlin:20261013T090000",
            "DTEND;TZID=Europe/Berlin:20261013T100000",
            attendees=("mailto:tzia@example.org",),
            extra="RRULE:FREQ=WEEKLY;COUNT=4",
        )
    ),
    "room": cal(
        ev(
            "room",
            H - timedelta(days=8),
            "ATTENDEE;CUTYPE=ROOM:mailto:room@example.org",
            "mailto:rita@example.org",
        )
    ),
    "at-max": cal(
        ev("at-max", H - timedelta(days=9), *(f"mailto:m{n}@example.org" for n in range(8)))
    ),
    "crowd": cal(
        ev("crowd", H - timedelta(days=9), *(f"mailto:c{n}@example.org" for n in range(9)))
    ),
    "no-attendees": cal(
        vevent(
            "no-attendees",
            z(H - timedelta(days=10)),
            z(H - timedelta(days=10) + HOUR),
            organizer="mailto:nina@example.org",
            attendees=(),
        )
    ),
    "same-uid": cal(ev("same-uid", H - timedelta(days=11), "mailto:dup@example.org")),
    "priya": cal(
        ev("priya", H - timedelta(days=3), "ATTENDEE;CN=Priya:MAILTO:Priya+cal@Example.ORG")
    ),
}

CONTACTS = {
    "Org": "org@example.org",
    "Ann": "ann@example.org",
    "Dora": "dora@example.org",
    "Dee": "dee@example.org",
    "Carl": "carl@example.org",
    "Cora": "cora@example.org",
    "Otto": "otto@example.org",
    "Exa": "exa@example.org",
    "Wes": "wes@example.org",
    "Rune": "rune@example.org",
    "Fay": "fay@example.org",
    "Alba": "alba@example.org",
    "Tzia": "tzia@example.org",
    "Room": "room@example.org",
    "Rita": "rita@example.org",
    "M0": "m0@example.org",
    "C0": "c0@example.org",
    "Nina": "nina@example.org",
    "Dup": "dup@example.org",
    "Priya": "priya@example.org",
    "Newbie": "newbie@example.org",
}


def _weekly_last(now: datetime) -> datetime:
    k = (now - HOUR - WEEKLY_START) // WEEK
    return WEEKLY_START + k * WEEK


def expected_met(now: datetime) -> dict[str, datetime | None]:
    return {
        "Org": H - timedelta(days=2),
        "Ann": H - timedelta(days=3),
        "Dora": None,  # I declined
        "Dee": None,  # they declined
        "Carl": H - timedelta(days=5),
        "Cora": None,  # cancelled
        "Otto": H - 9 * WEEK,  # the one 7 weeks ago cancelled, the one 8 weeks ago moved ahead
        "Exa": H - 5 * WEEK,  # the third (4 weeks ago) is an EXDATE
        "Wes": _weekly_last(now),
        "Rune": None,  # still running
        "Fay": None,  # future
        "Alba": datetime.combine(ALL_DAY, datetime.min.time(), BERLIN).astimezone(UTC),
        "Tzia": datetime(2026, 11, 3, 8, tzinfo=UTC),  # 09:00 CET
        "Room": None,  # a room is nobody
        "Rita": H - timedelta(days=8),
        "M0": H - timedelta(days=9),  # eight: at max_participants
        "C0": None,  # nine: a crowd
        "Nina": None,  # no attendees: names nobody
        "Dup": H - timedelta(days=11),
        "Priya": H - timedelta(days=3),
        "Newbie": None,
    }


def caldav_account(
    server: DavServer, user: DavUser, tmp_path: Path, name: str = "work", password: str = ""
) -> str:
    secret = tmp_path / f"{name}.password"
    secret.write_text((password or user.password) + "\n")
    os.chmod(secret, 0o600)
    values = {
        "name": name,
        "type": "caldav",
        "url": server.home_url(user),
        "username": user.username,
        "password_file": str(secret),
        "ca_file": str(server.ca_file),
        "timeout": 20,
    }
    return "[[account]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def ics_account(name: str, **values: Any) -> str:
    values = {"name": name, "type": "ics", **values}
    return "[[account]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


CAL_CONFIG = '[calendar]\ntimezone = "Europe/Berlin"\n'


def statuses(env: Env) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in env.json("status")}


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def sync_ok(env: Env) -> str:
    result = env.run("sync")
    assert result.exit_code == 0, result.output
    return result.stdout


def add_contacts(env: Env, contacts: dict[str, str]) -> None:
    for name, address in contacts.items():
        result = env.run("contact", "add", name, "--email", address)
        assert result.exit_code == 0, result.output


def received_mail(env: Env, address: str, when: datetime) -> None:
    """A mail from ``address`` stored as a mail sync would (the account "mail")."""
    store = Store(url=f"sqlite:///{env.db}")
    try:
        store.save_batch(
            "mail",
            [
                Interaction(
                    address=address,
                    name="",
                    direction=Direction.RECEIVED,
                    at=when,
                    dedupe_key=f"mid:{address}-{when.timestamp()}",
                    message_id=f"<{when.timestamp()}@example.org>",
                    subject="Can we talk?",
                    folder="INBOX",
                )
            ],
            {},
            datetime.now(UTC),
        )
    finally:
        store.close()


def test_every_rule_end_to_end_then_changes(
    dav_server: DavServer, dav_user: DavUser, tmp_path: Path
) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    family = dav_server.make_calendar(dav_user, "Family")
    for name, data in EVENTS.items():
        dav_server.put(dav_user, work, f"{name}.ics", data)
    dav_server.put(dav_user, family, "same-uid.ics", EVENTS["same-uid"])
    env = make_env(
        tmp_path,
        caldav_account(dav_server, dav_user, tmp_path),
        identity=("me@example.org",),
        extra=CAL_CONFIG,
    )
    add_contacts(env, CONTACTS)
    received_mail(env, "priya@example.org", H - timedelta(days=60))

    out = sync_ok(env)
    assert f"work: {len(EVENTS) + 1} events, " in out and "meetings new" in out
    rows = statuses(env)
    now = datetime.now(UTC)
    for name, want in expected_met(now).items():
        row = rows[name]
        assert at(row["last_met"]) == want, name
        if want is not None and name != "Priya":
            assert at(row["last_contact"]) == want and row["last_direction"] == "met", name
        if want is None and name != "Priya":
            assert row["last_contact"] is None and row["last_direction"] is None, name
    # a meeting after their mail is the last contact, and ends the reply owed
    priya = rows["Priya"]
    assert priya["last_direction"] == "met" and priya["reply_owed"] is False
    assert at(priya["last_received"]) == H - timedelta(days=60)

    # the table's words
    table = env.run("status")
    assert table.exit_code == 0
    (org_line,) = [line for line in table.stdout.splitlines() if line.startswith("Org ")]
    assert "met 2 days ago" in org_line

    # contact show: the meetings among the mails, each occurrence once
    shown = env.json("contact", "show", "Dup")["interactions"]
    assert [(e["direction"], e["account"], e["message_id"]) for e in shown] == [
        ("met", "work", "same-uid")
    ]
    assert shown[0]["folder"] in ("Work", "Family") and shown[0]["subject"] == "Coffee"
    tz_times = [at(e["at"]) for e in env.json("contact", "show", "Tzia")["interactions"]]
    assert tz_times == [
        datetime(2026, 11, 3, 8, tzinfo=UTC),
        datetime(2026, 10, 27, 8, tzinfo=UTC),  # after the change: 09:00 CET
        datetime(2026, 10, 20, 7, tzinfo=UTC),  # before: 09:00 CEST
        datetime(2026, 10, 13, 7, tzinfo=UTC),
    ]
    priya_show = env.json("contact", "show", "Priya")["interactions"]
    assert [e["direction"] for e in priya_show] == ["met", "received"]
    assert priya_show[0]["folder"] == "Work" and priya_show[0]["message_id"] == "priya"

    # --- changes on the server --------------------------------------------------------
    cancelled = ev("organizer", H - timedelta(days=2), "mailto:org@example.org")
    dav_server.put(dav_user, work, "organizer.ics", cal(cancelled.replace(
        "END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT")))  # fmt: skip
    dav_server.put(
        dav_user,
        work,
        "attendee.ics",
        cal(
            vevent(
                "attendee",
                z(H + timedelta(days=3)),
                z(H + timedelta(days=3) + HOUR),
                organizer="ORGANIZER;CN=Ann Example:mailto:ann@example.org",
                attendees=("ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:ME+cal@Example.org",),
            )
        ),
    )
    dav_server.put(
        dav_user,
        work,
        "room.ics",
        cal(
            ev(
                "room",
                H - timedelta(days=8),
                "ATTENDEE;CUTYPE=ROOM:mailto:room@example.org",
                "mailto:rita@example.org",
                "mailto:newbie@example.org",
            )
        ),
    )
    dav_server.delete(dav_user, work + "priya.ics")
    out = sync_ok(env)
    assert "work: 3 events, 1 meetings new" in out  # the deletion is no event
    rows = statuses(env)
    assert at(rows["Org"]["last_met"]) == H - timedelta(days=30)  # back to the one before
    assert at(rows["Org"]["last_contact"]) == H - timedelta(days=30)
    assert rows["Ann"]["last_met"] is None and rows["Ann"]["last_contact"] is None
    assert at(rows["Newbie"]["last_met"]) == H - timedelta(days=8)
    assert at(rows["Rita"]["last_met"]) == H - timedelta(days=8)
    priya = rows["Priya"]
    assert priya["last_met"] is None and priya["last_direction"] == "received"
    assert priya["reply_owed"] is True  # the mail is the last contact again
    untouched = expected_met(datetime.now(UTC))
    for name in ("Carl", "Otto", "Exa", "Wes", "Alba", "Tzia", "M0", "Dup"):
        assert at(rows[name]["last_met"]) == untouched[name], name

    # nothing changed: one request for the whole account
    before = dav_server.requests()
    assert "work: 0 events, 0 meetings new" in sync_ok(env)
    assert dav_server.requests() - before == 1


def test_bad_input_one_account_never_stops_the_others(
    dav_server: DavServer, dav_user: DavUser, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Radicale refuses malformed iCalendar at PUT: there only the ics account has some
    bad = None if dav_server.kind == "radicale" else "bad.ics"
    work = dav_server.make_calendar(dav_user, "Work")
    dav_server.put(dav_user, work, "good.ics", EVENTS["organizer"])
    if bad:
        dav_server.put(dav_user, work, bad, cal(vevent("bad", start="DTSTART:2026garbage")))
    wrong = dav_server.new_user()
    folder = tmp_path / "cals"
    folder.mkdir()
    (folder / "ok.ics").write_bytes(EVENTS["room"])
    (folder / "broken.ics").write_bytes(
        cal(
            ev("broken-rule", H - timedelta(days=1), "mailto:carl@example.org").replace(
                "END:VEVENT", "RRULE:FREQ=SOMETIMES\r\nEND:VEVENT"
            )
        )
    )
    wrong_account = caldav_account(
        dav_server, wrong, tmp_path, name="wrong", password="not-" + wrong.password
    )
    env = make_env(
        tmp_path,
        wrong_account,
        caldav_account(dav_server, dav_user, tmp_path),
        ics_account("folder", path=str(folder)),
        identity=("me@example.org",),
        extra=CAL_CONFIG,
    )
    add_contacts(env, {"Org": "org@example.org", "Rita": "rita@example.org"})
    with caplog.at_level(logging.WARNING):
        result = env.run("sync")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) >= 1 and "wrong" in errors[0] and "login failed" in errors[0]
    assert wrong.password not in result.output
    assert "work: " in result.stdout and "folder: " in result.stdout
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (folder_warning,) = [w for w in warnings if "broken" in w]
    assert str(folder / "broken.ics") in folder_warning and "broken-rule" in folder_warning
    if bad:
        (dav_warning,) = [w for w in warnings if "bad.ics" in w]
        assert "'Work'" in dav_warning
    rows = statuses(env)
    assert at(rows["Org"]["last_met"]) == H - timedelta(days=2)
    assert at(rows["Rita"]["last_met"]) == H - timedelta(days=8)

    (tmp_path / "insecure").mkdir()
    insecure = make_env(
        tmp_path / "insecure",
        caldav_account(dav_server, dav_user, tmp_path).replace("https://", "http://"),
    )
    result = insecure.run("sync")
    assert result.exit_code == 2
    assert "allow_insecure" in result.stderr and "Traceback" not in result.output


def test_ics_accounts_file_directory_and_url(
    feed: Feed,  # noqa: F811
    tmp_path: Path,
) -> None:
    one = tmp_path / "one.ics"
    one.write_bytes(EVENTS["organizer"])
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "a.ics").write_bytes(EVENTS["room"])
    (folder / "b.ics").write_bytes(EVENTS["exdate"])
    feed.body = EVENTS["priya"]
    env = make_env(
        tmp_path,
        ics_account("file", path=str(one)),
        ics_account("dir", path=str(folder)),
        ics_account("feed", url=feed.url, ca_file=str(feed.ca_file), timeout=10),
        identity=("me@example.org",),
        extra=CAL_CONFIG + "[privacy]\nstore_subjects = false\n",
    )
    add_contacts(env, {k: CONTACTS[k] for k in ("Org", "Rita", "Exa", "Priya")})
    out = sync_ok(env)
    assert "file: 1 events, 1 meetings new" in out
    assert "dir: 2 events, " in out and "feed: 1 events, 1 meetings new" in out
    rows = statuses(env)
    assert at(rows["Org"]["last_met"]) == H - timedelta(days=2)
    assert at(rows["Rita"]["last_met"]) == H - timedelta(days=8)
    assert at(rows["Exa"]["last_met"]) == H - 5 * WEEK
    assert at(rows["Priya"]["last_met"]) == H - timedelta(days=3)
    (shown,) = env.json("contact", "show", "Priya")["interactions"]
    assert shown["subject"] is None  # [privacy] store_subjects = false
    assert shown["direction"] == "met" and shown["account"] == "feed"
    assert shown["message_id"] == "priya"

    seen = len(feed.seen)
    assert "feed: 0 events, 0 meetings new" in sync_ok(env)
    assert len(feed.seen) == seen + 1 and feed.seen[-1].get("If-None-Match") == feed.etag

    (folder / "b.ics").unlink()  # a file gone from the directory: its meetings go
    sync_ok(env)
    assert statuses(env)["Exa"]["last_met"] is None


def test_notifications_say_met() -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    alert = Alert(
        AlertKind.LAPSE, 1, "Priya", "priya@example.org", Direction.MET, now - timedelta(days=213)
    )
    assert sentence(alert, now) == "You last met Priya 7 months ago."
    digest = compose([alert, alert], now)
    assert "Priya: you last met 7 months ago" in digest.body


def test_suggest_treats_a_meeting_as_two_way(tmp_path: Path) -> None:
    folder = tmp_path / "cals"
    folder.mkdir()
    for n in range(4):  # four meetings a month apart, never a mail
        start = H - timedelta(days=30 * n + 2)
        (folder / f"m{n}.ics").write_bytes(
            cal(ev(f"m{n}", start, "ATTENDEE;CN=Kim Lee:mailto:kim@example.org"))
        )
    env = make_env(tmp_path, ics_account("cal", path=str(folder)), identity=("me@example.org",))
    sync_ok(env)
    (found,) = env.json("suggest")
    assert found["email"] == "kim@example.org" and found["name"] == "Kim Lee"
    assert found["met"] == 4 and found["conversations"] == 4
    assert "met 4 times" in found["reason"]


ZONED = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nX-WR-CALNAME:Secret\r\n"
    b"BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\n"
    b"DTSTART:19701101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n"
    b"END:STANDARD\r\nEND:VTIMEZONE\r\n"
    b"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n"
    b"TZOFFSETTO:+0200\r\nDTSTART:19700329T020000\r\n"
    b"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n"
    b"TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19701025T030000\r\n"
    b"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    b"BEGIN:VEVENT\r\nUID:zoned\r\nDTSTAMP:20260101T000000Z\r\n"
    b"DTSTART;TZID=Europe/Berlin:20261020T090000\r\nDTEND;TZID=Europe/Berlin:20261020T100000\r\n"
    b'RRULE:FREQ=WEEKLY;COUNT=3\r\nORGANIZER;CN="Me: myself":mailto:me@example.org\r\n'
    b"ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bo\r\n b@example.org\r\n"
    b"DESCRIPTION:Secret notes that go on and on and on and on and on and on and o\r\n n\r\n"
    b"LOCATION:Secret room\r\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\nSUMMARY:Planning\r\n"
    b"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Secret\r\nTRIGGER:-PT15M\r\n"
    b"END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_a_parsed_record_evaluates_as_its_bytes() -> None:
    """The connectors hand on the reduced calendar already parsed; the meetings
    are the same as from the bytes the store keeps and evaluates again later."""
    me = frozenset({"me@example.org", "me@gmail.com", "me@contoso.com", "me@icloud.com"})
    shapes = {p.name: p.read_bytes() for p in (Path(__file__).parent / "data" / "ics").iterdir()}
    kw: dict[str, Any] = {"now": NOW, "tz": BERLIN, "horizon": timedelta(days=30)}
    for name, data in {**EVENTS, "zones-alarms-text": ZONED, **shapes}.items():
        for uid, ical, parsed in reduced(data):
            plain = EventRecord("Work", f"/{name}", uid, ical)
            one = evaluate(plain, me, **kw)
            assert one == evaluate(replace(plain, parsed=parsed), me, **kw), name
            # the kept lines of a one-UID resource mean what serialising it again means
            again = replace(plain, ical=parsed.to_ical())
            assert one == evaluate(again, me, **kw), name
            # neither the bytes nor the parsed calendar carry free text on
            for text in (b"DESCRIPTION", b"\nLOCATION", b"VALARM", b"\nX-MICROSOFT", b"Secret"):
                assert text not in ical and text not in again.ical, (name, text)
    (zoned,) = reduced(ZONED)
    assert b"TZID:Europe/Berlin" in zoned[1] and b"America/New_York" not in zoned[1]
    assert len(evaluate(EventRecord("W", "/z", zoned[0], zoned[1]), me, **kw).meetings) == 3
    # a single event beyond the horizon: nothing yet, and evaluated again later
    ((uid, ical, _),) = reduced(EVENTS["future"])
    later = evaluate(
        EventRecord("Work", "/f", uid, ical), me, now=NOW, tz=BERLIN, horizon=timedelta(hours=1)
    )
    assert later.meetings == [] and later.expanded_until == NOW + timedelta(hours=1)
