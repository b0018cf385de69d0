"""The .ics connector: a file, a directory, an https URL from a local server (ETag, 304)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import AuthError, ConnectError, EventRecord, InsecureError, TLSError
from connectors.ics import IcsSettings, connect
from syncd.meetings import met
from tests.dovecot import free_ports
from tests.helpers import event_pass
from tests.ical_helpers import cal, vevent
from tests.ics_feed import SECRET, Feed, serve_feed

DATA = Path(__file__).parent / "data" / "ics"
ME = frozenset({"me@example.org", "me@gmail.com", "me@contoso.com", "me@icloud.com"})
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")


def sync(
    settings: IcsSettings, state: dict[str, dict[str, Any]]
) -> tuple[list[EventRecord], list[str]]:
    with connect(settings) as conn:
        return event_pass(conn, state)


# --- files --------------------------------------------------------------------------


def test_one_file(tmp_path: Path) -> None:
    path = tmp_path / "google.ics"
    shutil.copy(DATA / "google.ics", path)
    state: dict[str, dict[str, Any]] = {}
    events, removed = sync(IcsSettings(path=str(path)), state)
    assert sorted(e.uid for e in events) == [
        "7kukuqrfedlm2f9t0vj1quq3ms@google.com",
        "holiday-2025@google.com",
    ]
    assert {e.calendar for e in events} == {"me@gmail.com"}  # X-WR-CALNAME
    assert removed == [f"file:{path.resolve()}/"]
    assert all(e.href.startswith(removed[0]) for e in events)
    assert len(met(events, ME, now=NOW, tz=TZ)) == 4
    assert sync(IcsSettings(path=str(path)), state) == ([], [])  # unchanged: not read


def test_a_directory_follows_changes_and_deletions(tmp_path: Path) -> None:
    for name in ("google.ics", "outlook.ics", "apple.ics"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a calendar")
    state: dict[str, dict[str, Any]] = {}
    events, _ = sync(IcsSettings(path=str(tmp_path)), state)
    assert {e.calendar for e in events} == {"me@gmail.com", "Calendar", "Home"}
    assert len(met(events, ME, now=NOW, tz=TZ)) == 4 + 2 + 1
    (tmp_path / "apple.ics").unlink()
    (tmp_path / "outlook.ics").write_bytes(cal(vevent("only-one")))
    os.utime(tmp_path / "outlook.ics", ns=(1, 1))
    events, removed = sync(IcsSettings(path=str(tmp_path)), state)
    assert [e.uid for e in events] == ["only-one"]
    assert [e.calendar for e in events] == ["outlook"]  # no X-WR-CALNAME: the file's name
    assert sorted(removed) == sorted(
        [
            f"file:{(tmp_path / 'apple.ics').resolve()}/",
            f"file:{(tmp_path / 'outlook.ics').resolve()}/",
        ]
    )
    assert str((tmp_path / "apple.ics").resolve()) not in state


def test_bad_event_in_a_file_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mixed.ics"
    path.write_bytes(cal(vevent("good"), vevent("broken", start="DTSTART:2026garbage")))
    with caplog.at_level(logging.WARNING):
        events, _ = sync(IcsSettings(path=str(path)), {})
    assert [e.uid for e in events] == ["good"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in warning and "broken" in warning


def test_a_file_that_is_no_calendar_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "junk.ics").write_text("hello")
    (tmp_path / "ok.ics").write_bytes(cal(vevent("ok")))
    with caplog.at_level(logging.WARNING):
        events, _ = sync(IcsSettings(path=str(tmp_path)), {})
    assert [e.uid for e in events] == ["ok"]
    assert any("junk.ics" in r.getMessage() for r in caplog.records)


def test_missing_path_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such file or directory"):
        sync(IcsSettings(path=str(tmp_path / "nope")), {})


# --- an https URL -------------------------------------------------------------------


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serve_feed((DATA / "google.ics").read_bytes()) as served:
        yield served


def test_url_fetch_then_304(feed: Feed) -> None:
    settings = IcsSettings(url=feed.url, ca_file=str(feed.ca_file), timeout=10)
    state: dict[str, dict[str, Any]] = {}
    events, removed = sync(settings, state)
    assert len(met(events, ME, now=NOW, tz=TZ)) == 4
    assert len(removed) == 1 and all(e.href.startswith(removed[0]) for e in events)
    assert SECRET not in repr(state) and all(SECRET not in e.href for e in events)
    assert sync(settings, state) == ([], [])  # 304
    assert feed.seen[-1]["If-None-Match"] == feed.etag
    assert "If-Modified-Since" in feed.seen[-1]
    feed.body = cal(vevent("new"))
    events, removed = sync(settings, state)
    assert [e.uid for e in events] == ["new"] and len(removed) == 1  # replaces the old
    assert len(feed.seen) == 3


def test_url_errors_never_show_the_secret(feed: Feed) -> None:
    good = IcsSettings(url=feed.url, ca_file=str(feed.ca_file), timeout=10)
    cases: list[tuple[IcsSettings, type[Exception], str, int | None]] = [
        (
            IcsSettings(url=feed.url, ca_file=str(feed.wrong_ca_file), timeout=10),
            TLSError,
            "certificate not trusted",
            None,
        ),
        (good, AuthError, "refused", 401),
        (
            IcsSettings(
                url=feed.url.replace(str(feed.port), str(free_ports(1)[0])),
                ca_file=str(feed.ca_file),
                timeout=10,
            ),
            ConnectError,
            "cannot connect",
            None,
        ),
    ]
    for settings, error, message, status in cases:
        feed.status = status
        with pytest.raises(error, match=message) as info:
            sync(settings, {})
        assert SECRET not in str(info.value)


def test_plain_http_is_refused(feed: Feed) -> None:
    with pytest.raises(ValueError, match="allow_insecure"):
        IcsSettings(url=feed.url.replace("https", "http"))
    settings = IcsSettings(url=feed.url.replace("https", "http"), allow_insecure=True)
    object.__setattr__(settings, "allow_insecure", False)  # as if validation were bypassed
    with pytest.raises(InsecureError):
        connect(settings)
