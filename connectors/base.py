"""What every connector yields, and the small interface it implements.

A connector knows one protocol and nothing else. Given the sync state it
saved last time, it yields :class:`Batch` es: mail connectors fill ``records``
with :class:`HeaderRecord` s, calendar connectors fill ``events`` with
:class:`EventRecord` s and ``removed`` with the resources that are gone; each
batch carries the state to save once its contents are stored. It never
decides who is a contact: that is ``syncd.rules``' (mail) and ``syncd.meetings``' (calendars) job.

Nothing in ``connectors/`` imports from ``syncd/``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

#: The header fields the rules read. Connectors fetch these and nothing else.
HEADER_FIELDS: tuple[str, ...] = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Message-ID",
    "Subject",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
)


class FolderRole(enum.Enum):
    """What a folder (or a Gmail label set) means for the rules."""

    NORMAL = "normal"  # inbox, archive, any user folder
    SENT = "sent"
    DRAFTS = "drafts"
    JUNK = "junk"
    TRASH = "trash"

    @property
    def counts(self) -> bool:
        """Drafts, junk and trash never count as interactions."""
        return self not in (FolderRole.DRAFTS, FolderRole.JUNK, FolderRole.TRASH)


@dataclass(frozen=True, slots=True)
class HeaderRecord:
    """One message as a connector saw it: raw headers plus where and when."""

    headers: bytes  # the raw header block, only the fields in HEADER_FIELDS
    server_time: datetime | None  # when the server received it (aware, any zone)
    folder: str  # where it was found, for the evidence shown to the user
    role: FolderRole
    #: The message's id in its source (IMAP UID, Gmail message id), for logs;
    #: '' when the connector has none.
    uid: str = ""


#: The iCalendar properties a calendar connector keeps (per VEVENT); every
#: other property (DESCRIPTION, LOCATION, COMMENT, CONTACT, URL, ATTACH, X-...)
#: and every sub-component but VTIMEZONE (VALARM, ...) is dropped before an
#: :class:`EventRecord` is made: who, when and the title, nothing else.
EVENT_PROPERTIES: tuple[str, ...] = (
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "STATUS",
    "ORGANIZER",
    "ATTENDEE",
    "SUMMARY",
    "SEQUENCE",
)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One calendar resource (one .ics object: all VEVENTs sharing a UID) as seen.

    ``ical`` is a VCALENDAR holding only the resource's VTIMEZONEs and its
    VEVENTs reduced to :data:`EVENT_PROPERTIES`, so it may be stored and
    evaluated again later (an event in the future counts once it is over,
    without the calendar changing).
    """

    calendar: str  # the calendar's display name (or the file's name), for evidence
    href: str  # the resource's stable id within the account (URL path, file path#UID)
    uid: str  # the events' UID ('' when the resource has none)
    ical: bytes  # the reduced VCALENDAR (see above)
    etag: str | None = None  # the server's ETag, when there is one
    #: ``ical`` already parsed (an ``icalendar.Calendar``), when the connector has it:
    #: evaluating the record then skips parsing it again. Never stored or compared.
    parsed: Any = field(default=None, compare=False, repr=False)


#: Per-account sync state: scope (a folder, "history", ...) -> JSON-able dict.
SyncState = Mapping[str, Mapping[str, Any]]


@dataclass(slots=True)
class Batch:
    """Records to store, and the state to save in the same transaction."""

    records: list[HeaderRecord]
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The connector's estimate of how many messages this pass will yield in
    #: all (for progress bars); None when unknown.
    expected_total: int | None = None
    #: Calendar sources: the resources new or changed since the cursor. A
    #: changed resource replaces what its href meant
    #: before; a removed one means nothing any more. Stored in the same
    #: transaction as ``state``. Both always empty for mail.
    events: list[EventRecord] = field(default_factory=list)
    #: hrefs of resources deleted since the cursor.
    removed: list[str] = field(default_factory=list)


class Connector(Protocol):
    """A logged-in source (mail or calendar). ``close()`` it when done (or use ``with``)."""

    def batches(self, state: SyncState) -> Iterator[Batch]:
        """Yield everything new since ``state``, in batches."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Connector: ...

    def __exit__(self, *exc: object) -> None: ...


class ConnectorError(Exception):
    """A failure the user can act on; ``str()`` is one line for them to read."""


class AuthError(ConnectorError):
    """The server refused the credentials (wrong password, revoked token)."""


class ConnectError(ConnectorError):
    """The server could not be reached or the connection broke."""


class TLSError(ConnectError):
    """The server's certificate could not be verified."""


class InsecureError(ConnectorError):
    """The configuration asks for something unsafe without opting in."""


#: Field metadata for settings that name a file (``field(metadata=PATH)``) or whose
#: first word is a program (``PROGRAM``, an argv list): the config loader expands
#: ``~`` and ``$VARS`` in them, once, for every settings class.
PATH: dict[str, str] = {"path": "file"}
PROGRAM: dict[str, str] = {"path": "program"}

#: A network timeout's default and its range, in seconds (each connect, TLS
#: handshake, login and command must answer within it).
DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 600.0


def timeout_seconds(value: float | timedelta) -> float:
    """A ``timeout`` setting (a duration such as "30s", or seconds) as seconds.

    Raises ValueError("timeout: ...") when it is out of range, as settings
    dataclasses do in ``__post_init__``.
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise ValueError(
            f"timeout: must be between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds, got {seconds:g}"
        )
    return seconds
