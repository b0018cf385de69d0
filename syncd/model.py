"""The domain's vocabulary: enums and value types every layer speaks.

Standard library only. The rules produce :class:`Interaction`s, the store
answers with :class:`ContactFacts` and :class:`Correspondent`s, the lapse
check decides :class:`Alert`s, importers and ``suggest --add`` hand the store
:class:`Draft`s and get :class:`Merged` back. None of them needs SQL to do so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property


class Direction(enum.StrEnum):
    """Which way one contact went. Stored as its value."""

    SENT = "sent"  # I wrote to them
    RECEIVED = "received"  # they wrote to me
    MET = "met"  # a past meeting on my calendar with them
    TOUCH = "touch"  # recorded by hand (``weakties touch``, "Mark as contacted")


#: The directions that come from a source (mail or calendar), as opposed to a touch.
SOURCE_DIRECTIONS = (Direction.SENT, Direction.RECEIVED, Direction.MET)


class AlertKind(enum.StrEnum):
    LAPSE = "lapse"  # overdue: last contact + cadence is past
    REPLY = "reply"  # their mail is the latest contact, older than reply_after


class ImportOutcome(enum.StrEnum):
    """What merging one :class:`Draft` into the contacts did."""

    ADDED = "added"
    MERGED = "merged"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


class NotificationAction(enum.StrEnum):
    """A notification's buttons."""

    WRITE = "write"  # open a mailto: link
    SNOOZE = "snooze"  # quiet for 30 days
    CONTACTED = "contacted"  # a touch, which ends the lapse


@dataclass(frozen=True, slots=True)
class Interaction:
    """One correspondent touched by one message or meeting, in one direction."""

    address: str  # normalised
    name: str  # display name as written in the source, decoded ('' if none)
    direction: Direction
    at: datetime  # aware, UTC
    dedupe_key: str
    message_id: str | None  # Message-ID, or the event's UID
    subject: str | None  # subject or event title; None where subjects are not kept
    folder: str  # mail folder or calendar name


@dataclass(frozen=True)
class ContactFacts:
    """A tracked contact and what the store knows of it."""

    id: int
    name: str
    emails: list[str]
    cadence: timedelta | None  # the contact's own; None means tag or default
    tags: list[str]
    snoozed_until: datetime | None
    created_at: datetime
    last_sent: datetime | None
    last_received: datetime | None
    last_touch: datetime | None
    last_met: datetime | None = None

    @cached_property  # asked many times per contact by status and the lapse check
    def last_contact(self) -> datetime | None:
        return max((t for _, t in self._lasts() if t is not None), default=None)

    @cached_property
    def last_direction(self) -> Direction | None:
        """Which way the last contact went (the first of sent, received, met, touch
        on a tie)."""
        last = self.last_contact
        for direction, at in self._lasts():
            if last is not None and at == last:
                return direction
        return None

    def _lasts(self) -> tuple[tuple[Direction, datetime | None], ...]:
        return (
            (Direction.SENT, self.last_sent),
            (Direction.RECEIVED, self.last_received),
            (Direction.MET, self.last_met),
            (Direction.TOUCH, self.last_touch),
        )


@dataclass
class Correspondent:
    """What the interactions say about one untracked two-way correspondent."""

    address: str
    sent: int  # distinct messages I sent them
    received: int  # distinct messages they sent me
    first: datetime
    last: datetime
    days: list[date]  # distinct days (UTC) with any interaction, ascending
    names: dict[str, int]  # display names seen -> in how many messages (and meetings)
    #: how many conversations the days make (``syncd.suggest.conversations``), when
    #: the store counted them; then ``days`` and ``names`` may be left empty
    conversations: int | None = None
    met: int = 0  # distinct meetings (occurrences) with them; each is a two-way exchange


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a contact's name, or None when it can.

    Names reach argv (the ``command`` notifier fills each placeholder into an
    argument of the user's program), terminals and notifications: one that
    starts with ``-`` would be read as an option, and control characters
    (line breaks, escapes, NUL) could rewrite what is shown.
    """
    if not name.strip():
        return "a name cannot be empty"
    if name.lstrip().startswith("-"):
        return f"a name cannot start with '-' (it would read as an option): {name!r}"
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in name):
        return f"a name cannot hold control characters: {name!r}"
    return None


def validate_name(name: str) -> str:
    """``name`` stripped; ValueError (one line, see :func:`name_problem`) when unusable."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name.strip()


@dataclass(frozen=True)
class Draft:
    """A contact to add or merge: a name (may be empty) and its addresses (may be none)."""

    name: str
    emails: list[str]
    cadence: timedelta | None = None


@dataclass(frozen=True)
class Merged:
    """What merging one :class:`Draft` did."""

    outcome: ImportOutcome
    contact: str  # the contact's name (for skipped: the draft's)
    reason: str | None = None  # why it was skipped


@dataclass(frozen=True)
class Alert:
    """Something to tell the user about one contact."""

    kind: AlertKind
    contact_id: int
    name: str
    email: str | None  # the contact's first address, for "Write"
    direction: Direction | None  # how the last contact went; None: never in touch
    basis: datetime  # the moment the alert is about (see syncd.lapses)
    subject: str | None = None  # of their unanswered mail (reply owed), when stored

    def age(self, now: datetime) -> timedelta:
        return now - self.basis


@dataclass(frozen=True)
class Told:
    """What the alert state remembers of the last time an alert kind was told."""

    basis: datetime
    at: datetime


@dataclass(frozen=True)
class Lease:
    """Which daemon polls an account, until when (several daemons, one database)."""

    account: str
    holder: str  # "hostname:pid"
    expires_at: datetime
    acquired_at: datetime
    last_poll_at: datetime | None

    def host(self) -> str:
        """The machine of the holder."""
        return self.holder.rsplit(":", 1)[0]
