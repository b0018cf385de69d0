"""Mail sources the connector contract runs against, one fixture per connector.

Each is a :class:`Mailbox`: ``deliver`` puts a raw message where a mail client
would file it ("inbox", "sent", "drafts", "junk", "trash", "archive"), and
``open`` returns a logged-in connector. The IMAP one is a real Dovecot
(``tests/dovecot.py``); the Gmail one is the Gmail API stand-in
(``tests/gmail_standin.py``) driven by the real google-api-python-client; the
memory one is ``connectors/memory.py``, no server at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Protocol, cast

import pytest

from connectors import gmail, imap, memory
from connectors.base import Connector
from connectors.pacing import Backoff, TokenBucket
from tests.dovecot import Dovecot, ImapUser
from tests.gmail_standin import GmailStandin

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
