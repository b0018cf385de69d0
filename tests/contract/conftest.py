"""Mail sources the connector contract runs against, one fixture per connector.

Each is a :class:`Mailbox`: ``deliver`` puts a raw message where a mail client
would file it ("inbox", "sent", "drafts", "junk", "trash", "archive"), and
``open`` returns a logged-in connector. The IMAP one is a real Dovecot
(``tests/dovecot.py``); the Gmail one is the Gmail API stand-in
(``tests/gmail_standin.py``) driven by the real google-api-python-client; the
memory one is ``connectors/memory.py``, no server at all.

Calendar sources the calendar half runs against, each a :class:`Calendar`:
``put`` / ``change`` / ``delete`` one resource (one .ics object) by name, and
``open`` returns a connector. CalDAV on a real Radicale and a real Xandikos
(``tests/caldav_servers.py``, one of each per session, a fresh user and
calendar per test); an ``ics`` directory (one file per resource); an ``ics``
https URL (``tests/ics_feed.py``, one server per session) publishing every
resource in one feed, as a calendar's secret address does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol, cast

import pytest

from connectors import caldav, gmail, ics, imap, memory
from connectors.base import Connector
from connectors.pacing import Backoff, TokenBucket
from tests.caldav_servers import DavServer
from tests.dovecot import Dovecot, ImapUser
from tests.gmail_standin import GmailStandin
from tests.ical_helpers import cal
from tests.ics_feed import Feed, serve_feed

ME = "me@example.com"

_IMAP_FOLDERS = {
    "inbox": "INBOX",
    "sent": "Sent",
    "drafts": "Drafts",
    "junk": "Junk",
    "trash": "Trash",
    "archive": "Archive",
}
_MEMORY_FOLDERS = _IMAP_FOLDERS
_GMAIL_LABELS = {
    "inbox": ["INBOX", "UNREAD"],
    "sent": ["SENT"],
    "drafts": ["DRAFT"],
    "junk": ["SPAM"],
    "trash": ["TRASH"],
    "archive": ["CATEGORY_PERSONAL"],
}


class Mailbox(Protocol):
    name: str

    def deliver(self, raw: bytes, where: str, at: datetime) -> None: ...

    def open(self) -> Connector: ...


class ImapMailbox:
    name = "imap"

    def __init__(self, dovecot: Dovecot, user: ImapUser) -> None:
        self.dovecot, self.user = dovecot, user

    def deliver(self, raw: bytes, where: str, at: datetime) -> None:
        self.dovecot.append(self.user.username, _IMAP_FOLDERS[where], raw, at)

    def open(self) -> Connector:
        settings = imap.ImapSettings(
            host=self.dovecot.host,
            username=self.user.username,
            port=self.dovecot.tls_port,
            ca_file=str(self.dovecot.ca_file),
        )
        return imap.connect(settings, self.user.password)


class GmailMailbox:
    name = "gmail"

    def __init__(self, standin: GmailStandin) -> None:
        self.standin = standin
        self.token = json.dumps(standin.authorized_user())
        self.sleeps: list[float] = []

    def deliver(self, raw: bytes, where: str, at: datetime) -> None:
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "surrogateescape")
        self.standin.add(head.replace("\r\n", "\n") + "\n", _GMAIL_LABELS[where], at)

    def open(self) -> Connector:
        settings = gmail.GmailSettings(client_secrets="unused.json", api_endpoint=self.standin.url)
        return gmail.connect(
            settings,
            self.token,
            save_token=self._saved,
            backoff=Backoff(base=0.5),
            sleep=self.sleeps.append,
            bucket=TokenBucket(10**9),
        )

    def _saved(self, token_json: str) -> None:
        self.token = token_json


class MemoryMailbox:
    name = "memory"

    def __init__(self) -> None:
        self.mailbox = memory.MemoryMailbox()

    def deliver(self, raw: bytes, where: str, at: datetime) -> None:
        self.mailbox.deliver(raw, _MEMORY_FOLDERS[where], at)

    def open(self) -> Connector:
        return memory.connect(self.mailbox, memory.MemorySettings(username=ME, batch_size=25))


@pytest.fixture
def memory_mailbox() -> MemoryMailbox:
    return MemoryMailbox()


@pytest.fixture
def gmail_mailbox() -> Iterator[GmailMailbox]:
    with GmailStandin(ME) as standin:
        yield GmailMailbox(standin)


@pytest.fixture
def imap_mailbox(dovecot: Dovecot, imap_user: ImapUser) -> ImapMailbox:
    return ImapMailbox(dovecot, imap_user)


@pytest.fixture(params=["imap", "gmail", "memory"])
def mailbox(request: pytest.FixtureRequest) -> Mailbox:
    """Each connector in turn: every contract test runs once per connector."""
    return cast(Mailbox, request.getfixturevalue(f"{request.param}_mailbox"))


# --- calendars ------------------------------------------------------------------


class Calendar(Protocol):
    name: str
    #: A pass after a change yields only the resources that changed (CalDAV, a
    #: directory of files); False where any change re-reads the whole source (a URL).
    incremental: bool
    #: A whole pass is one batch (a URL: one GET); else a batch per file or chunk.
    one_batch: bool

    def put(self, name: str, ics_bytes: bytes) -> None: ...

    def change(self, name: str, ics_bytes: bytes) -> None: ...

    def delete(self, name: str) -> None: ...

    def open(self) -> Connector: ...


class CaldavCalendar:
    """One calendar ("Work") of a fresh user on a real CalDAV server."""

    incremental = True
    one_batch = False

    def __init__(self, server: DavServer) -> None:
        self.server = server
        self.name = server.kind
        self.user = server.new_user()
        self.url = server.make_calendar(self.user, "Work")

    def put(self, name: str, ics_bytes: bytes) -> None:
        self.server.put(self.user, self.url, f"{name}.ics", ics_bytes)

    def change(self, name: str, ics_bytes: bytes) -> None:
        self.put(name, ics_bytes)

    def delete(self, name: str) -> None:
        self.server.delete(self.user, f"{self.url}{name}.ics")

    def open(self) -> Connector:
        settings = caldav.CaldavSettings(
            url=self.server.home_url(self.user),
            username=self.user.username,
            ca_file=str(self.server.ca_file),
            timeout=20,
        )
        return caldav.connect(settings, self.user.password)


class IcsDirCalendar:
    """A directory of .ics files, one per resource."""

    name = "ics-dir"
    incremental = True
    one_batch = False

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, exist_ok=True)

    def put(self, name: str, ics_bytes: bytes) -> None:
        (self.root / f"{name}.ics").write_bytes(ics_bytes)

    def change(self, name: str, ics_bytes: bytes) -> None:
        self.put(name, ics_bytes)

    def delete(self, name: str) -> None:
        (self.root / f"{name}.ics").unlink()

    def open(self) -> Connector:
        return ics.connect(ics.IcsSettings(path=str(self.root)))


def _inner(ics_bytes: bytes) -> str:
    """The components of a VCALENDAR, without its own BEGIN/END and header lines."""
    lines, depth = [], 0
    for line in ics_bytes.decode().split("\r\n"):
        if line.startswith("BEGIN:"):
            depth += 1
            if depth == 1:
                continue
        elif line.startswith("END:"):
            depth -= 1
            if depth == 0:
                continue
        elif depth == 1 and line.split(":", 1)[0] in ("VERSION", "PRODID", "CALSCALE"):
            continue
        if line:
            lines.append(line + "\r\n")
    return "".join(lines)


class IcsUrlCalendar:
    """An https feed publishing every resource in one VCALENDAR."""

    name = "ics-url"
    incremental = False
    one_batch = True

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.resources: dict[str, bytes] = {}
        self._publish()

    def _publish(self) -> None:
        self.feed.body = cal(*(_inner(data) for data in self.resources.values()))

    def put(self, name: str, ics_bytes: bytes) -> None:
        self.resources[name] = ics_bytes
        self._publish()

    def change(self, name: str, ics_bytes: bytes) -> None:
        self.put(name, ics_bytes)

    def delete(self, name: str) -> None:
        del self.resources[name]
        self._publish()

    def open(self) -> Connector:
        return ics.connect(
            ics.IcsSettings(url=self.feed.url, ca_file=str(self.feed.ca_file), timeout=10)
        )


@pytest.fixture(scope="session")
def ics_feed() -> Iterator[Feed]:
    with serve_feed(cal()) as feed:
        yield feed


@pytest.fixture
def radicale_calendar(radicale_server: DavServer) -> CaldavCalendar:
    return CaldavCalendar(radicale_server)


@pytest.fixture
def xandikos_calendar(xandikos_server: DavServer) -> CaldavCalendar:
    return CaldavCalendar(xandikos_server)


@pytest.fixture
def ics_dir_calendar(tmp_path: Path) -> IcsDirCalendar:
    return IcsDirCalendar(tmp_path / "calendars")


@pytest.fixture
def ics_url_calendar(ics_feed: Feed) -> IcsUrlCalendar:
    ics_feed.status = None
    ics_feed.seen.clear()
    return IcsUrlCalendar(ics_feed)


@pytest.fixture(params=["radicale", "xandikos", "ics_dir", "ics_url"])
def calendar(request: pytest.FixtureRequest) -> Calendar:
    """Each calendar source in turn: every calendar contract test runs once per source."""
    return cast(Calendar, request.getfixturevalue(f"{request.param}_calendar"))
