"""The CalDAV connector against real Radicale and Xandikos servers (tests/caldav_servers.py).

Events are PUT over CalDAV; what the connector hands on is run through the
meeting rules and compared with the rules on the same data read locally.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import (
    AuthError,
    ConnectError,
    ConnectorError,
    EventRecord,
    InsecureError,
    TLSError,
)
from connectors.caldav import CaldavConnector, CaldavSettings, connect
from connectors.ical import resources
from syncd.meetings import met
from tests.caldav_servers import DavServer, DavUser
from tests.dovecot import free_ports
from tests.helpers import event_pass
from tests.ical_helpers import cal, vevent

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")
ME = frozenset({"me@example.org"})

# A selection of the rule cases of tests/test_meetings.py, as resources on a server.
CASES: dict[str, bytes] = {
    "organizer": cal(vevent("organizer")),
    "attendee": cal(
        vevent(
            "attendee",
            organizer="ORGANIZER;CN=Ann:mailto:ann@example.org",
            attendees=("ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:ME+cal@Example.org",),
        )
    ),
    "declined-by-me": cal(
        vevent(
            "declined-by-me",
            organizer="mailto:ann@example.org",
            attendees=("ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org",),
        )
    ),
    "declined-by-them": cal(
        vevent(
            "declined-by-them",
            attendees=(
                "ATTENDEE;PARTSTAT=DECLINED:mailto:dee@example.org",
                "mailto:carl@example.org",
            ),
        )
    ),
    "cancelled": cal(vevent("cancelled", extra="STATUS:CANCELLED")),
    "room": cal(
        vevent(
            "room",
            attendees=("ATTENDEE;CUTYPE=ROOM:mailto:room@example.org", "mailto:rita@example.org"),
        )
    ),
    "no-attendees": cal(vevent("no-attendees", attendees=())),
    "crowd": cal(vevent("crowd", attendees=tuple(f"mailto:c{n}@example.org" for n in range(9)))),
    "at-max": cal(vevent("at-max", attendees=tuple(f"mailto:m{n}@example.org" for n in range(8)))),
    "future": cal(vevent("future", start="20270105T100000Z", end="20270105T110000Z")),
    "all-day": cal(vevent("all-day", start="DTSTART;VALUE=DATE:20261120", end=None)),
    "floating": cal(vevent("floating", start="20260701T100000", end="20260701T110000")),
    "dst": cal(
        vevent(
            "dst",
            start="DTSTART;TZID=Europe/Berlin:20261020T090000",
            end="DTEND;TZID=Europe/Berlin:20261020T100000",
            extra="RRULE:FREQ=WEEKLY;COUNT=3",
        )
    ),
    "recurring": cal(
        vevent(
            "recurring",
            start="20240105T090000Z",
            end="20240105T100000Z",
            extra="RRULE:FREQ=MONTHLY;COUNT=30\nEXDATE:20240205T090000Z",
        ),
        vevent(
            "recurring",
            start="20270301T090000Z",
            end="20270301T100000Z",
            extra="RECURRENCE-ID:20240305T090000Z",
        ),
        vevent(
            "recurring",
            start="20240405T090000Z",
            end="20240405T100000Z",
            extra="RECURRENCE-ID:20240405T090000Z\nSTATUS:CANCELLED",
        ),
        vevent(
            "recurring",
            start="20240505T090000Z",
            end="20240505T100000Z",
            attendees=("mailto:newcomer@example.org",),
            extra="RECURRENCE-ID:20240505T090000Z",
        ),
    ),
}


def settings(server: DavServer, user: DavUser, url: str | None = None, **kw: Any) -> CaldavSettings:
    return CaldavSettings(
        url=url or server.home_url(user),
        username=user.username,
        ca_file=str(server.ca_file),
        timeout=20,
        **kw,
    )


def sync(
    conn: CaldavConnector, state: dict[str, dict[str, Any]]
) -> tuple[list[EventRecord], list[str]]:
    """One pass; updates ``state`` as the store would (an empty scope is forgotten)."""
    return event_pass(conn, state)


def local(data: bytes, calendar: str = "Work") -> list[EventRecord]:
    return [EventRecord(calendar, f"/{uid}", uid, ical) for uid, ical in resources(data)]


def key(found: list[Any]) -> list[tuple[str, str, datetime]]:
    return sorted((i.address, i.dedupe_key, i.at) for i in found)


def test_full_sync_from_the_home_counts_as_the_rules_say(
    dav_server: DavServer, dav_user: DavUser
) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    family = dav_server.make_calendar(dav_user, "Family")
    dav_server.make_calendar(dav_user, "Tasks", components=("VTODO",))
    for name, data in CASES.items():
        dav_server.put(dav_user, work, f"{name}.ics", data)
    dav_server.put(dav_user, family, "organizer-copy.ics", CASES["organizer"])  # same UID
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        assert sorted(c.name for c in conn.calendars()) == ["Family", "Work"]
        events, removed = sync(conn, {})
    assert removed == []
    assert {e.calendar for e in events} == {"Work", "Family"}
    assert sorted(e.uid for e in events if e.calendar == "Work") == sorted(CASES)
    work_path = work.split("localhost", 1)[1].split(":", 1)[-1]
    assert all(e.href.endswith(".ics") and e.etag for e in events)
    assert any(
        e.href.endswith("/organizer.ics") and work_path.split("/", 1)[1] in e.href for e in events
    )
    expected = met([r for data in CASES.values() for r in local(data)], ME, now=NOW, tz=TZ)
    got = met(events, ME, now=NOW, tz=TZ)
    assert key(got) == key(expected)
    assert len(got) == 8 + 1 + 1 + 1 + 1 + 1 + 1 + 3 + 27  # at-max, ..., dst, recurring
    assert len([i for i in got if i.message_id == "organizer"]) == 1  # two calendars, once
    for event in events:
        assert b"DESCRIPTION" not in event.ical


def test_no_change_sync_costs_one_request(dav_server: DavServer, dav_user: DavUser) -> None:
    for name in ("Work", "Family", "Club"):
        url = dav_server.make_calendar(dav_user, name)
        dav_server.put(dav_user, url, "a.ics", cal(vevent(f"{name}-a")))
    state: dict[str, dict[str, Any]] = {}
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        sync(conn, state)
    before = dav_server.requests()
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        events, removed = sync(conn, state)
    assert (events, removed) == ([], [])
    assert dav_server.requests() - before == 1  # the listing, for all three calendars


def test_changes_and_deletions_are_reported(dav_server: DavServer, dav_user: DavUser) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    other = dav_server.make_calendar(dav_user, "Other")
    for n in range(5):
        dav_server.put(dav_user, work, f"e{n}.ics", cal(vevent(f"e{n}")))
    dav_server.put(dav_user, other, "o.ics", cal(vevent("o")))
    state: dict[str, dict[str, Any]] = {}
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        assert len(sync(conn, state)[0]) == 6
    dav_server.put(dav_user, work, "e1.ics", cal(vevent("e1", extra="STATUS:CANCELLED")))
    dav_server.put(
        dav_user,
        work,
        "e2.ics",
        cal(vevent("e2", start="20270101T100000Z", end="20270101T110000Z")),
    )
    dav_server.put(
        dav_user,
        work,
        "e3.ics",
        cal(vevent("e3", attendees=("mailto:bob@example.org", "mailto:zoe@example.org"))),
    )
    dav_server.delete(dav_user, work + "e4.ics")
    dav_server.put(dav_user, work, "new.ics", cal(vevent("new")))
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        events, removed = sync(conn, state)
    assert sorted(e.uid for e in events) == ["e1", "e2", "e3", "new"]  # only those fetched
    assert [r.rsplit("/", 1)[-1] for r in removed] == ["e4.ics"]
    found = met(events, ME, now=NOW, tz=TZ)
    assert sorted(i.address for i in found) == [
        "bob@example.org",
        "bob@example.org",
        "zoe@example.org",
    ]  # e3 and new
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        assert sync(conn, state) == ([], [])


def test_etag_fallback_without_sync_tokens(dav_server: DavServer, dav_user: DavUser) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    for n in range(3):
        dav_server.put(dav_user, work, f"e{n}.ics", cal(vevent(f"e{n}")))
    state: dict[str, dict[str, Any]] = {}

    def no_tokens(conn: CaldavConnector) -> CaldavConnector:  # a server with CTag/ETags only
        conn._listing = [replace(c, token=None) for c in conn._listing or []]
        return conn

    with no_tokens(connect(settings(dav_server, dav_user), dav_user.password)) as conn:
        assert len(sync(conn, state)[0]) == 3
    (saved,) = state.values()
    assert saved["token"] is None and len(saved["etags"]) == 3
    before = dav_server.requests()
    with no_tokens(connect(settings(dav_server, dav_user), dav_user.password)) as conn:
        assert sync(conn, state) == ([], [])
    assert dav_server.requests() - before == 1  # unchanged CTag
    dav_server.put(dav_user, work, "e0.ics", cal(vevent("e0", summary="Changed")))
    dav_server.delete(dav_user, work + "e2.ics")
    with no_tokens(connect(settings(dav_server, dav_user), dav_user.password)) as conn:
        events, removed = sync(conn, state)
    assert [e.uid for e in events] == ["e0"]
    assert [r.rsplit("/", 1)[-1] for r in removed] == ["e2.ics"]


def test_one_calendar_url_and_calendars_by_name(dav_server: DavServer, dav_user: DavUser) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    family = dav_server.make_calendar(dav_user, "Family")
    dav_server.put(dav_user, work, "w.ics", cal(vevent("w")))
    dav_server.put(dav_user, family, "f.ics", cal(vevent("f")))
    with connect(settings(dav_server, dav_user, url=family), dav_user.password) as conn:
        assert [e.uid for e in sync(conn, {})[0]] == ["f"]
    with connect(settings(dav_server, dav_user, calendars=["Work"]), dav_user.password) as conn:
        assert [(e.uid, e.calendar) for e in sync(conn, {})[0]] == [("w", "Work")]
    with (
        connect(settings(dav_server, dav_user, calendars=["Nope"]), dav_user.password) as conn,
        pytest.raises(ConnectorError, match="no calendar named 'Nope'"),
    ):
        sync(conn, {})


def test_a_deleted_calendar_takes_its_events_along(
    dav_server: DavServer, dav_user: DavUser
) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    gone = dav_server.make_calendar(dav_user, "Gone")
    dav_server.put(dav_user, work, "w.ics", cal(vevent("w")))
    dav_server.put(dav_user, gone, "g.ics", cal(vevent("g")))
    state: dict[str, dict[str, Any]] = {}
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        sync(conn, state)
    dav_server.delete(dav_user, gone)
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        events, removed = sync(conn, state)
    gone_path = "/" + gone.split("/", 3)[3]
    assert (events, removed) == ([], [gone_path])
    assert gone_path not in state


def test_malformed_resource_is_skipped_with_one_warning(
    dav_server: DavServer, dav_user: DavUser, caplog: pytest.LogCaptureFixture
) -> None:
    if dav_server.kind == "radicale":
        pytest.skip(
            "Radicale refuses malformed iCalendar at PUT (400) and does not serve "
            "a broken file from its store: nothing malformed reaches a client"
        )
    work = dav_server.make_calendar(dav_user, "Work")
    dav_server.put(dav_user, work, "good.ics", cal(vevent("good")))
    dav_server.put(dav_user, work, "bad.ics", cal(vevent("bad", start="DTSTART:2026garbage")))
    with (
        caplog.at_level(logging.WARNING),
        connect(settings(dav_server, dav_user), dav_user.password) as conn,
    ):
        events, removed = sync(conn, {})
    assert [e.uid for e in events] == ["good"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'Work'" in warnings[0] and "bad.ics" in warnings[0]
    assert [r.rsplit("/", 1)[-1] for r in removed] == ["bad.ics"]


def test_wrong_password(dav_server: DavServer, dav_user: DavUser) -> None:
    with pytest.raises(AuthError, match=f"login failed for {dav_user.username}") as info:
        connect(settings(dav_server, dav_user), "wrong-" + dav_user.password)
    assert dav_user.password not in str(info.value)


def test_untrusted_certificate(dav_server: DavServer, dav_user: DavUser) -> None:
    bad = replace(settings(dav_server, dav_user), ca_file=str(dav_server.wrong_ca_file))
    with pytest.raises(TLSError, match="certificate not trusted"):
        connect(bad, dav_user.password)


def test_plain_http_is_refused(dav_server: DavServer, dav_user: DavUser) -> None:
    url = dav_server.home_url(dav_user).replace("https://", "http://")
    with pytest.raises(ValueError, match="allow_insecure"):
        settings(dav_server, dav_user, url=url)
    forced = object.__new__(CaldavSettings)  # a settings object that skipped validation
    for name, value in vars(settings(dav_server, dav_user)).items():
        object.__setattr__(forced, name, value)
    object.__setattr__(forced, "url", url)
    with pytest.raises(InsecureError, match="plain http refused"):
        connect(forced, dav_user.password)


def test_unreachable_server(dav_server: DavServer, dav_user: DavUser) -> None:
    (port,) = free_ports(1)
    url = f"https://localhost:{port}/x/"
    with pytest.raises(ConnectError, match=f"localhost:{port}"):
        connect(settings(dav_server, dav_user, url=url), dav_user.password)


def test_a_server_root_url_finds_the_home(dav_server: DavServer, dav_user: DavUser) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    dav_server.put(dav_user, work, "w.ics", cal(vevent("w")))
    root = dav_server.base_url + "/"
    with connect(settings(dav_server, dav_user, url=root), dav_user.password) as conn:
        assert [(e.uid, e.calendar) for e in sync(conn, {})[0]] == [("w", "Work")]


def test_an_expired_sync_token_reads_the_calendar_again(
    dav_server: DavServer, dav_user: DavUser
) -> None:
    work = dav_server.make_calendar(dav_user, "Work")
    dav_server.put(dav_user, work, "a.ics", cal(vevent("a")))
    state: dict[str, dict[str, Any]] = {}
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        sync(conn, state)
    (path,) = state
    state[path]["token"] = state[path]["token"][:-8] + "00000000"  # unknown to the server
    dav_server.put(dav_user, work, "b.ics", cal(vevent("b")))
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        events, removed = sync(conn, state)
    assert sorted(e.uid for e in events) == ["a", "b"]
    assert removed == [path]  # what it held before goes, then everything comes again
    with connect(settings(dav_server, dav_user), dav_user.password) as conn:
        assert sync(conn, state) == ([], [])


@pytest.mark.parametrize("tokens", [True, False], ids=["sync-token", "etags"])
def test_a_pass_stopped_mid_calendar_resumes_with_the_rest_and_what_changed_since(
    dav_server: DavServer, dav_user: DavUser, monkeypatch: pytest.MonkeyPatch, tokens: bool
) -> None:
    monkeypatch.setattr("connectors.caldav.CHUNK", 2)
    work = dav_server.make_calendar(dav_user, "Work")
    for n in range(6):
        dav_server.put(dav_user, work, f"e{n}.ics", cal(vevent(f"e{n}")))

    def opened() -> CaldavConnector:
        conn = connect(settings(dav_server, dav_user), dav_user.password)
        if not tokens:  # a server with CTag/ETags only
            conn._listing = [replace(c, token=None) for c in conn._listing or []]
        return conn

    state: dict[str, dict[str, Any]] = {}
    with opened() as conn:
        first, _ = event_pass(conn, state, limit=1)  # stopped after one chunk
    (saved,) = state.values()
    assert len(first) == 2 and len(saved["todo"]) == 4
    done = sorted(e.uid for e in first)
    left = sorted({f"e{n}" for n in range(6)} - set(done))
    dav_server.put(dav_user, work, f"{done[0]}.ics", cal(vevent(done[0], summary="Changed")))
    dav_server.put(dav_user, work, f"{left[0]}.ics", cal(vevent(left[0], summary="Changed")))
    dav_server.delete(dav_user, f"{work}{left[1]}.ics")
    dav_server.put(dav_user, work, "new.ics", cal(vevent("new")))
    with opened() as conn:
        events, removed = event_pass(conn, state)
    with opened() as conn:
        assert event_pass(conn, state) == ([], [])
    assert sorted(e.uid for e in events) == sorted([done[0], left[0], *left[2:], "new"])
    assert [r.rsplit("/", 1)[-1] for r in removed] == [f"{left[1]}.ics"]
    assert all(b"Changed" in e.ical for e in events if e.uid in (done[0], left[0]))
    assert "todo" not in next(iter(state.values()))
